"""The exceptions a user sees: bad input, carrying every problem found so all can be reported at once, a result that
could not be written, and a sweep that finished with runs missing."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """Bad input (a dataset, a curves table, a fit request): one readable line per problem.

    Library code collects every problem it can find before raising, so a user fixes them in one pass;
    the CLI prints each line to stderr and exits with code 2.

    Args:
        problems: one line per problem, each naming the file (or curve) and what is wrong.
    """

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else [str(p) for p in problems]
        if not self.problems:
            raise ValueError("InputError needs at least one problem")
        super().__init__("\n".join(self.problems))


class OutputError(InputError, OSError):
    """A result that could not be written (a full disk, no permission, a read-only file system): one line naming
    the file and the reason, exit code 2 like bad input. Also an ``OSError`` with the ``errno`` of the failure, so
    code that tolerates a failed write (a cache) still does."""

    def __init__(self, problem: str, errno: int | None = None):
        InputError.__init__(self, problem)
        self.errno = errno


def raise_if_any(problems: list[str]) -> None:
    """Raise :class:`InputError` when ``problems`` is not empty."""
    if problems:
        raise InputError(problems)


class SweepIncomplete(RuntimeError):
    """Some runs stopped with an error and were not recorded; they run again when the sweep is repeated."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__(f"{len(failures)} run{'s' if len(failures) != 1 else ''} stopped with an error:\n"
                         + "\n".join(failures))

"""The one place that turns what a command raised into an exit code and the lines a user reads.

- exit 2: bad input, from the library (:class:`~samplecast.errors.InputError`) or from click (a bad option value, a
  missing argument), one ``error:`` line per problem;
- exit 1: a sweep that finished with runs missing (:class:`~samplecast.errors.SweepIncomplete`);
- exit 130: Ctrl-C (``KeyboardInterrupt``, SIGINT) in any command, one line.

No command catches these itself.
"""

from __future__ import annotations

import click

from samplecast.errors import InputError, SweepIncomplete

#: Key of ``ctx.meta`` holding what a command prints when Ctrl-C stops it without saying more (e.g. how to resume).
ON_INTERRUPT = "samplecast.on_interrupt"


class BadInput(click.ClickException):
    """Exit code 2 with one ``error:`` line per problem, no traceback."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def show(self, file=None) -> None:  # noqa: D102 - click's hook
        for problem in self.problems:
            click.echo(f"error: {problem}", err=True, file=file)


class Interrupted(click.ClickException):
    """Exit code 130 with one line on stderr, no traceback."""

    exit_code = 130

    def show(self, file=None) -> None:  # noqa: D102 - click's hook
        click.echo(self.message, err=True, file=file)


class SamplecastGroup(click.Group):
    """A click group whose commands' errors are mapped to exit codes here (see the module's docstring)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise BadInput(exc.problems) from None
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            raise BadInput([f"{exc.format_message()} (see '{where} --help')"]) from None
        except SweepIncomplete as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt as exc:  # a library's own message (SweepInterrupted says how to resume) comes first
            raise Interrupted(str(exc) or ctx.meta.get(ON_INTERRUPT, "interrupted")) from None
        except RuntimeError as exc:
            # Python 3.11 wraps what a descriptor's __set_name__ raises in a RuntimeError, so Ctrl-C while a module
            # defining a dataclass is imported arrives as one
            if not isinstance(exc.__cause__, KeyboardInterrupt):
                raise
            raise Interrupted(ctx.meta.get(ON_INTERRUPT, "interrupted")) from None

"""The ``samplecast`` command line: one small function per command, each parsing options, calling the library, printing.

Bad input raised by the library as :class:`~samplecast.errors.InputError` is turned into one ``error:`` line per
problem on stderr and exit code 2, in one place (:class:`SamplecastGroup`), so no command repeats that handling.
"""

from __future__ import annotations

import click

from samplecast import __version__
from samplecast.errors import InputError


class BadInput(click.ClickException):
    """Exit code 2 with one ``error:`` line per problem, no traceback."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    def show(self, file=None) -> None:  # noqa: D102 - click's hook
        for problem in self.problems:
            click.echo(f"error: {problem}", err=True, file=file)


class SamplecastGroup(click.Group):
    """A click group that reports the library's :class:`InputError` as :class:`BadInput`."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise BadInput(exc.problems) from None


@click.group(cls=SamplecastGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="samplecast")
def cli() -> None:
    """How many images must you annotate before your segmentation model is good enough?

    samplecast trains a residual U-Net on growing, nested fractions of the data annotated so far (sweep),
    extrapolates the learning curve of Dice against training-set size (forecast), and writes a recommendation
    a planner can act on (report). Start with `samplecast demo`.
    """


def main() -> None:
    """Console-script entry point."""
    cli()

"""The ``samplecast`` click group and its commands (one thin module per command group)."""

from __future__ import annotations

import click

from samplecast import __version__
from samplecast.cli.demo import demo
from samplecast.cli.errors import SamplecastGroup
from samplecast.cli.forecast import backtest, forecast, report
from samplecast.cli.surrogate import surrogate
from samplecast.cli.sweep import sweep

@click.group(cls=SamplecastGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="samplecast")
def cli() -> None:
    """How many images must you annotate before your segmentation model is good enough?

    samplecast trains a residual U-Net on growing, nested fractions of the data annotated so far (sweep),
    extrapolates the learning curve of Dice against training-set size (forecast), and writes a recommendation
    a planner can act on (report). Start with `samplecast demo`.
    """


for command in (forecast, backtest, report, sweep, surrogate, demo):
    cli.add_command(command)

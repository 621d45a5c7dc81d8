"""The ``samplecast`` command line: the click group (commands.py), one thin module per command group, option types,
progress and the one mapping of errors to exit codes (errors.py). May import every samplecast package below it; nothing
imports cli.

The group is imported on first use (``from samplecast.cli import cli``), so the entry point :func:`main` is running
before any command's module loads, and Ctrl-C is one line and exit code 130 from the first moment.
"""

from __future__ import annotations

import sys

from samplecast import lazy_names

__all__ = ["cli", "main"]

__getattr__ = lazy_names(__name__, {"cli": "commands"})


def main() -> None:
    """Console-script entry point. Ctrl-C while a command runs is mapped in :mod:`.errors`; here, while the
    command line loads (before click runs) or after it has finished."""
    try:
        from samplecast.cli.commands import cli

        cli()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

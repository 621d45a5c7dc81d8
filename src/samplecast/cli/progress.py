"""How long jobs show progress: a rich bar or status line on a terminal, plain lines in a log file or a pipe."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console

#: Without a terminal, long jobs print a progress line at most this often (seconds), and not before.
PLAIN_PROGRESS_EVERY_S = 10.0


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Yield ``advance(done, total)``: a rich bar on a terminal, otherwise a plain line on stderr every
    :data:`PLAIN_PROGRESS_EVERY_S` seconds once a job has run that long (quick jobs print nothing)."""
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = [TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task(description, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
        return
    last = [time.monotonic()]

    def line(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= PLAIN_PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            click.echo(f"{description}: {done:,} of {total:,}", err=True)

    yield line


@contextmanager
def progress_lines() -> Iterator[Callable[[str], None]]:
    """Yield ``tell(line)`` for a long job that reports in lines: a status line on a terminal, otherwise each line on
    stderr with the time since the start."""
    started = time.monotonic()
    if sys.stderr.isatty():
        console = Console(stderr=True)
        with console.status("starting") as status:
            yield lambda line: status.update(line)
        return
    yield lambda line: click.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)


def plain_progress(every_s: float = 5.0):
    """A demo progress callback printing one line when the step of work changes, and at most every ``every_s``
    seconds while it goes on (for output that is not a terminal, where a progress bar would print nothing)."""
    last = {"what": None, "at": float("-inf")}

    def show(state) -> None:
        what, now = f"{state.stage}: {state.detail}", time.monotonic()
        if what != last["what"] or now - last["at"] >= every_s or (state.total and state.done == state.total):
            last.update(what=what, at=now)
            share = f" ({state.done / state.total:.0%})" if state.total else ""
            click.echo(f"{what}{share}")

    return show

"""Lifetime rules for the worker processes of a sweep: they ignore Ctrl-C (the parent decides what stops), die when
the parent dies, however it dies (``kill -9`` included), and are stopped at once when the parent is interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import FrameType
from typing import Any

_PR_SET_PDEATHSIG = 1


def become_worker() -> None:
    """Call first thing in a worker process: ignore SIGINT and end when the parent process ends.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); elsewhere a thread watches for
    the parent to go away. A worker whose parent died while it was starting up exits at once.
    """
    started_by = multiprocessing.parent_process()
    parent = started_by.pid if started_by is not None else os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    killed_with_parent = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            killed_with_parent = ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:  # the parent died before the rule was set
        os._exit(1)
    if not killed_with_parent:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()


@contextlib.contextmanager
def handling_sigint(handler: Callable[[int, FrameType | None], Any] | int) -> Iterator[None]:
    """Install ``handler`` for SIGINT (Ctrl-C) for the duration, then restore the previous one; signal handlers
    belong to the main thread, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Interrupt(BaseException):
    """Raised by the SIGINT handler of :func:`interrupts_reach_caller`. Not a ``KeyboardInterrupt``, which Lightning
    turns into a silent ``exit(1)``."""


@contextlib.contextmanager
def interrupts_reach_caller() -> Iterator[None]:
    """Around training with Lightning: Ctrl-C raises ``KeyboardInterrupt`` out of the block, past Lightning (which
    would end the process with exit code 1 and no message); a second Ctrl-C raises at once."""

    def interrupt(*_: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise _Interrupt

    try:
        with handling_sigint(interrupt):
            yield
    except _Interrupt:
        raise KeyboardInterrupt from None


def spawning_workers() -> contextlib.AbstractContextManager[None]:
    """Around starting worker processes: they start with SIGINT ignored (inherited), so a Ctrl-C while they import
    does not print their tracebacks; the parent alone handles it."""
    return handling_sigint(signal.SIG_IGN)


def _watch_parent(parent: int, poll_s: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(poll_s)
    os._exit(1)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes now, runs in flight included (their records are not written), instead of
    waiting for them to finish as ``shutdown`` does."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor exposes no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.join(timeout=10)

"""How many CPU threads each training run may use, so runs at once never oversubscribe the cores that are free.

A pure computation: nothing here changes torch's settings. The command line applies the share in its own process
(``torch.set_num_threads``) and passes it on to the worker processes of a sweep (:attr:`SweepConfig.threads`).
"""

from __future__ import annotations

import os
from pathlib import Path


def free_core_share(concurrent: int = 1, *, cores: int | None = None, load: float | None = None,
                    environ: dict[str, str] | None = None) -> int:
    """Threads for each of ``concurrent`` runs training at once (fused groups, worker processes): the cores not
    busy now (``cores`` less the load, rounded) shared between them, at least 1. An explicit ``OMP_NUM_THREADS``
    (a whole number >= 1) in ``environ`` wins.

    Args:
        concurrent: runs (or processes) training at the same time, >= 1.
        cores: CPU cores this process may run on; default those of its CPU affinity (``os.cpu_count()`` where
            the system has none).
        load: busy cores; default :func:`busy_cores`.
        environ: the environment; default ``os.environ``.

    Example:
        >>> free_core_share(2, cores=16, load=4.2, environ={})
        6
    """
    given = (os.environ if environ is None else environ).get("OMP_NUM_THREADS", "").strip()
    if given.isdigit() and int(given) >= 1:
        return int(given)
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = busy_cores() if load is None else load
    return max(1, (cores - round(load)) // max(1, concurrent))


def busy_cores(loadavg: str | None = None) -> float:
    """Cores other processes keep busy: the larger of the one-minute load average and the tasks runnable right now
    less this one (both from ``/proc/loadavg``, or ``loadavg`` given as its text), so work that started seconds
    ago, which the average has barely seen, counts in full. ``os.getloadavg()`` where there is no
    ``/proc/loadavg``; 0 where the system has neither.

    Example:
        >>> busy_cores("0.12 0.30 0.41 3/512 4242")
        2.0
    """
    if loadavg is None:
        try:
            loadavg = Path("/proc/loadavg").read_text()
        except OSError:
            try:
                return os.getloadavg()[0]
            except OSError:
                return 0.0
    fields = loadavg.split()
    runnable = int(fields[3].split("/")[0]) if len(fields) > 3 and "/" in fields[3] else 1
    return max(float(fields[0]), float(runnable - 1))

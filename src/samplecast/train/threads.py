"""How many CPU threads each training run may use, so runs at once never oversubscribe the cores that are free.

A pure computation: nothing here changes torch's settings. The command line applies the share in its own process
(``torch.set_num_threads``) and passes it on to the worker processes of a sweep (:attr:`SweepConfig.threads`).
"""

from __future__ import annotations

import os


def free_core_share(concurrent: int = 1, *, cores: int | None = None, load: float | None = None,
                    environ: dict[str, str] | None = None) -> int:
    """Threads for each of ``concurrent`` runs training at once (fused groups, worker processes): the cores not
    busy now (``cores`` less the one-minute load average, rounded) shared between them, at least 1. An explicit
    ``OMP_NUM_THREADS`` (a whole number >= 1) in ``environ`` wins.

    Args:
        concurrent: runs (or processes) training at the same time, >= 1.
        cores: CPU cores; default ``os.cpu_count()``.
        load: the one-minute load average; default ``os.getloadavg()[0]`` (0 where the system has none).
        environ: the environment; default ``os.environ``.

    Example:
        >>> free_core_share(2, cores=16, load=4.2, environ={})
        6
    """
    given = (os.environ if environ is None else environ).get("OMP_NUM_THREADS", "").strip()
    if given.isdigit() and int(given) >= 1:
        return int(given)
    cores = cores if cores is not None else os.cpu_count() or 1
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    return max(1, (cores - round(load)) // max(1, concurrent))

"""How long `samplecast forecast` takes on the shipped example with the default method; writes ``forecast_speed.md``.

    python benchmarks/forecast_speed.py --repeats 5

Each repeat runs the command in a fresh process (imports included, as a user meets it) and records its wall time
and the CPU time it used (user + system). On a shared machine the wall time includes waiting for other work; the CPU
time does not, and is what the command costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARGUMENTS = ["forecast", "data/kvasir_reference_curves.csv"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("-o", "--output", type=Path, default=HERE / "forecast_speed.md")
    args = parser.parse_args()
    rows = []
    for _ in range(args.repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "samplecast"), *ARGUMENTS], cwd=HERE.parent, check=True,
                       capture_output=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows.append((wall, cpu, os.getloadavg()[0]))
    lines = [
        "# Forecast speed: `samplecast forecast data/kvasir_reference_curves.csv` (default method)",
        "",
        f"Reproduce: `python benchmarks/forecast_speed.py --repeats {args.repeats}`. Machine: {platform.machine()} CPU, "
        f"{os.cpu_count()} cores shared with other work, Python {platform.python_version()}; {date.today()}.",
        "",
        "| run | wall (s) | CPU user+sys (s) | load average (1 min) |",
        "|---|---|---|---|",
        *(f"| {i} | {w:.2f} | {c:.2f} | {load:.1f} |" for i, (w, c, load) in enumerate(rows, start=1)),
        "",
        f"Median wall {sorted(r[0] for r in rows)[len(rows) // 2]:.2f} s, median CPU "
        f"{sorted(r[1] for r in rows)[len(rows) // 2]:.2f} s.",
    ]
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

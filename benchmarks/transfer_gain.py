"""What starting from another image set's weights bought, measured: test Dice of transfer runs against scratch runs of
the same sizes, seeds and test split, paired by seed.

    python benchmarks/transfer_gain.py data/lgg64_cpu_curves.csv data/transfer/lgg64_from_kvasir64_cpu_curves.csv \
        [more transfer tables ...] -o benchmarks/transfer_gain.md

Each transfer run is paired with the scratch run of the same depth, seed and training-set size (both sweeps draw the
same nested subsets for a seed, and test on the same cases), so the difference is the start's effect alone, up to
the run's own noise. Per size: the mean Dice of each scenario over seeds, the mean paired difference and its standard
deviation over seeds, and how many seeds it rests on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from samplecast.curves import OK_STATUSES, SCRATCH, load_table

KEYS = ["depth", "seed", "n_train"]


def paired(scratch: pd.DataFrame, transfer: pd.DataFrame) -> pd.DataFrame:
    """Per depth and size: mean Dice of each scenario, the mean and SD over seeds of the paired difference."""
    both = scratch[[*KEYS, "dice"]].merge(transfer[[*KEYS, "dice"]], on=KEYS, suffixes=("_scratch", "_transfer"))
    both["gain"] = both["dice_transfer"] - both["dice_scratch"]
    return both.groupby(["depth", "n_train"]).agg(
        seeds=("gain", "size"), scratch=("dice_scratch", "mean"), transfer=("dice_transfer", "mean"),
        gain=("gain", "mean"), gain_sd=("gain", "std")).reset_index()


def _ok(path: Path) -> pd.DataFrame:
    table = load_table(path)
    return table[table["status"].isin(OK_STATUSES)] if "status" in table else table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scratch", type=Path, help="curves table of the scratch sweep")
    parser.add_argument("transfer", type=Path, nargs="+", help="curves tables of transfer sweeps on the same data")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("transfer_gain.md"))
    args = parser.parse_args()
    scratch = _ok(args.scratch)
    lines = ["# Transfer against scratch, paired by seed", "",
             f"Scratch runs: `{args.scratch}`. Reproduce: `python benchmarks/transfer_gain.py {args.scratch} "
             + " ".join(str(p) for p in args.transfer) + "`.", ""]
    for path in args.transfer:
        transfer = _ok(path)
        scenario = ", ".join(sorted(set(transfer.get("scenario", pd.Series([SCRATCH])))))
        table = paired(scratch, transfer)
        lines += [f"## {scenario} (`{path}`)", "",
                  "| depth | cases | seeds | scratch Dice | transfer Dice | gain (mean) | gain SD over seeds |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r.depth} | {int(r.n_train)} | {r.seeds} | {r.scratch:.3f} | {r.transfer:.3f} | {r.gain:+.3f} | "
                  + ("-" if r.seeds < 2 else f"{r.gain_sd:.3f}") + " |" for r in table.itertuples()]
        lines.append("")
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

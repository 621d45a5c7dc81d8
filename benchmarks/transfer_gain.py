"""What starting from another image set's weights bought, measured: test Dice of transfer runs against scratch runs of
the same sizes, seeds and test split, paired by seed.

    python benchmarks/transfer_gain.py \
        --pair data/lgg64_cpu_curves.csv data/transfer/lgg64_from_kvasir64_cpu_curves.csv \
        --pair data/la2018_cpu_curves.csv data/transfer/la2018_from_acdc_heart_cpu_curves.csv \
        -o benchmarks/transfer_gain.md

Each transfer run is paired with the scratch run of the same depth, seed and training-set size (both sweeps draw the
same nested subsets for a seed, and test on the same cases), so the difference is the start's effect alone, up to
the run's own noise. Per size: the mean Dice of each scenario over seeds, the mean paired difference, its standard
deviation over seeds and a 95% interval of the mean (Student's t over the seeds), and the verdict: better or worse
when the interval excludes 0, else within the seeds' spread.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy import stats

from samplecast.curves import OK_STATUSES, SCRATCH, load_table

KEYS = ["depth", "seed", "n_train"]


def paired(scratch: pd.DataFrame, transfer: pd.DataFrame) -> pd.DataFrame:
    """Per depth and size: mean Dice of each scenario, the mean, SD and 95% interval over seeds of the paired
    difference, and the verdict."""
    both = scratch[[*KEYS, "dice"]].merge(transfer[[*KEYS, "dice"]], on=KEYS, suffixes=("_scratch", "_transfer"))
    both["gain"] = both["dice_transfer"] - both["dice_scratch"]
    table = both.groupby(["depth", "n_train"]).agg(
        seeds=("gain", "size"), scratch=("dice_scratch", "mean"), transfer=("dice_transfer", "mean"),
        gain=("gain", "mean"), gain_sd=("gain", "std")).reset_index()
    half = stats.t.ppf(0.975, (table["seeds"] - 1).clip(lower=1)) * table["gain_sd"] / table["seeds"] ** 0.5
    table["low"], table["high"] = table["gain"] - half, table["gain"] + half
    table["verdict"] = ["better" if lo > 0 else "worse" if hi < 0 else "within spread" if s > 1 else "-"
                        for lo, hi, s in zip(table["low"], table["high"], table["seeds"])]
    return table


def by_half(scratch: pd.DataFrame, transfer: pd.DataFrame) -> pd.DataFrame:
    """Per depth, the smaller and the larger half of the sizes: each seed's mean paired difference over the half,
    then their mean and 95% interval over seeds (more power than one size at a time: a seed is the unit)."""
    both = scratch[[*KEYS, "dice"]].merge(transfer[[*KEYS, "dice"]], on=KEYS, suffixes=("_scratch", "_transfer"))
    both["gain"] = both["dice_transfer"] - both["dice_scratch"]
    rows = []
    for depth, runs in both.groupby("depth"):
        sizes = sorted(runs["n_train"].unique())
        for name, half in (("smaller", sizes[: len(sizes) // 2]), ("larger", sizes[len(sizes) // 2:])):
            per_seed = runs[runs["n_train"].isin(half)].groupby("seed")["gain"].mean()
            k, mean, sd = len(per_seed), per_seed.mean(), per_seed.std()
            width = stats.t.ppf(0.975, max(k - 1, 1)) * sd / k**0.5 if k > 1 else float("nan")
            rows.append({"depth": depth, "half": name, "sizes": f"{int(half[0])}-{int(half[-1])}", "seeds": k,
                         "gain": mean, "low": mean - width, "high": mean + width})
    return pd.DataFrame(rows)


def _ok(path: Path) -> pd.DataFrame:
    table = load_table(path)
    return table[table["status"].isin(OK_STATUSES)] if "status" in table else table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", nargs=2, type=Path, action="append", required=True, metavar=("SCRATCH", "TRANSFER"),
                        help="curves tables of a scratch sweep and of a transfer sweep on the same data")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("transfer_gain.md"))
    args = parser.parse_args()
    lines = ["# Transfer against scratch, paired by seed", "",
             "Reproduce: `python benchmarks/transfer_gain.py "
             + " ".join(f"--pair {a} {b}" for a, b in args.pair) + "`. A 95% interval is Student's t over the seeds "
             "of the mean paired difference; *better* / *worse* when it excludes 0.", ""]
    for scratch_path, transfer_path in args.pair:
        scratch, transfer = _ok(scratch_path), _ok(transfer_path)
        scenario = ", ".join(sorted(set(transfer.get("scenario", pd.Series([SCRATCH])))))
        table = paired(scratch, transfer)
        lines += [f"## {scenario} against `{scratch_path}` (`{transfer_path}`)", "",
                  "| depth | cases | seeds | scratch Dice | transfer Dice | gain (mean) | gain SD | 95% interval | "
                  "verdict |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r.depth} | {int(r.n_train)} | {r.seeds} | {r.scratch:.3f} | {r.transfer:.3f} | {r.gain:+.3f} | "
                  + ("- | - " if r.seeds < 2 else f"{r.gain_sd:.3f} | {r.low:+.3f} to {r.high:+.3f} ")
                  + f"| {r.verdict} |" for r in table.itertuples()]
        lines += ["", "Each seed's mean difference over the smaller and the larger half of the sizes, then the mean over "
                  "seeds:", "", "| depth | half | cases | seeds | gain (mean) | 95% interval |", "|---|---|---|---|---|---|"]
        lines += [f"| {r.depth} | {r.half} | {r.sizes} | {r.seeds} | {r.gain:+.3f} | "
                  + ("-" if r.seeds < 2 else f"{r.low:+.3f} to {r.high:+.3f}") + " |"
                  for r in by_half(scratch, transfer).itertuples()]
        lines.append("")
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

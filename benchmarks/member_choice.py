"""Would member weights that depend on the curve itself beat the default method, held out by image set?

    python benchmarks/member_choice.py

Reads the scored forecasts of ``forecast_accuracy.py`` (``forecast_accuracy.csv``, run that first) and the real
curves of ``corpora.REAL_DATASETS``; writes ``member_choice.md``. Takes seconds: nothing is refitted, only the medians
the backtest recorded are recombined. (The medians of every method here are learned from no real curve: the LSTM's
interval widening is the only part learned from real curves, and it leaves the median where it is.)

1. **Hindsight.** The best method of each (curve, cutoff) picked after seeing the truth: no way of choosing among
   these methods can do better, so it says whether better weights alone could meet a target.
2. **A gate on the curve's own slope**, learned leave-one-image-set-out. The cases of the other image sets are split
   at a threshold of the prefix's gain per doubling of the size (least squares over the last half of the prefix, in
   log n): a curve still rising fast and one flattening get their own weights
   (:meth:`~samplecast.forecast.ensemble.StackingWeights.fit`, each image set weighing the same), and the threshold
   is the one with the lowest error there. Scored on the held-out image set, beside constant weights learned the same
   way and each member alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import real_curves  # noqa: E402

from samplecast.forecast.evaluate import seeds_together  # noqa: E402
from samplecast.forecast.ensemble import StackingWeights  # noqa: E402
from samplecast.forecast.methods import DEFAULT_METHOD  # noqa: E402

HERE = Path(__file__).resolve().parent
#: Methods a choice is made among: the LSTM and the ensemble's members.
MEMBERS: tuple[str, ...] = ("lstm", "pow2", "pow3", "average")
#: Methods the hindsight bound picks from: every method whose median is learned from no real curve.
CANDIDATES: tuple[str, ...] = ("pow2", "pow3", "pow4", "mmf4", "wbl4", "exp3", "average", "lstm")
#: Candidate thresholds: these quantiles of the slopes in the learning cases.
THRESHOLD_QUANTILES = np.linspace(0.1, 0.9, 17)
CASE = ["held_out", "source", "curve", "cutoff"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scores", type=Path, default=HERE / "forecast_accuracy.csv")
    parser.add_argument("-o", "--output", type=Path, default=HERE / "member_choice.md")
    args = parser.parse_args()
    scores = pd.read_csv(args.scores)
    if "transfer" in scores:  # the transfer curves are scored there, never learned from: left out here too
        scores = scores[scores["transfer"] != True].drop(columns="transfer")  # noqa: E712 - NaN on scratch rows
    results = with_slopes(scores)
    gated = held_out_gate(results)
    lines = report(results, gated, args.scores)
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def prefix_slope(n: np.ndarray, dice: np.ndarray) -> float:
    """Gain in Dice per doubling of the size over the last half (in log n) of the observed points (at least 2)."""
    x = np.log2(n)
    half = x >= (x[0] + x[-1]) / 2
    if half.sum() < 2:
        half = np.arange(len(x)) >= len(x) - 2
    return float(np.polyfit(x[half], dice[half], 1)[0])


def with_slopes(results: pd.DataFrame) -> pd.DataFrame:
    """The scored forecasts with the ``slope`` of the prefix each was made from (:func:`prefix_slope`): the mean of
    the configuration's seeds, as ``forecast_accuracy.py`` forecasts."""
    curves = {(source, curve.label): curve for source, listed in real_curves().items()
              for curve in seeds_together(listed)}
    slopes = {}
    for source, label, n_cut in results[["source", "curve", "n_cut"]].drop_duplicates().itertuples(index=False):
        curve = curves[(source, label)]
        prefix = curve.n <= n_cut
        slopes[(source, label, n_cut)] = prefix_slope(curve.n[prefix], curve.dice[prefix])
    keys = zip(results["source"], results["curve"], results["n_cut"])
    return results.assign(slope=[slopes[k] for k in keys])


def _weights(rows: pd.DataFrame) -> dict[str, float]:
    fitted = StackingWeights.fit(rows, MEMBERS, balance="held_out")
    return dict(zip(fitted.members, fitted.weights))


def _medians(rows: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    table = rows.pivot(index=CASE, columns="method", values="q50")
    if table.empty:
        return pd.Series(dtype=float, index=table.index)
    return sum(w * table[m] for m, w in weights.items())


def _balanced_mae(rows: pd.DataFrame, medians: pd.Series) -> float:
    truth = rows.drop_duplicates(CASE).set_index(CASE)["truth"].loc[medians.index]
    errors = (medians - truth).abs().groupby(level="held_out").mean()
    return float(errors.mean())


def fit_gate(rows: pd.DataFrame) -> tuple[float, dict[str, float], dict[str, float]]:
    """Threshold on the prefix slope and the weights below and above it, learned on ``rows`` (several image sets)."""
    best = None
    for threshold in np.quantile(rows["slope"], THRESHOLD_QUANTILES):
        below = rows["slope"] < threshold
        if rows[below]["held_out"].nunique() < 2 or rows[~below]["held_out"].nunique() < 2:
            continue
        low, high = _weights(rows[below]), _weights(rows[~below])
        medians = pd.concat([_medians(rows[below], low), _medians(rows[~below], high)])
        loss = _balanced_mae(rows, medians)
        if best is None or loss < best[0]:
            best = (loss, float(threshold), low, high)
    return best[1:]


def held_out_gate(results: pd.DataFrame) -> pd.DataFrame:
    """Per held-out image set and case: the truth, the gated and the constant-weight medians, both learned without
    that image set, and the threshold and weights the gate learned."""
    rows = results[results["method"].isin(MEMBERS)]
    rows = rows.assign(curve=rows["source"] + ": " + rows["curve"])  # labels repeat across files of one image set
    complete = rows.groupby(CASE)["method"].transform("nunique") == len(MEMBERS)
    rows = rows[complete]
    frames = []
    for images in sorted(rows["held_out"].unique()):
        learn, score = rows[rows["held_out"] != images], rows[rows["held_out"] == images]
        threshold, low, high = fit_gate(learn)
        constant = _weights(learn)
        below = score["slope"] < threshold
        gated = pd.concat([_medians(score[below], low), _medians(score[~below], high)])
        cases = score.drop_duplicates(CASE).set_index(CASE)
        frames.append(cases[["truth"]].assign(
            gate=gated.loc[cases.index], constant=_medians(score, constant).loc[cases.index],
            threshold=threshold, low=str(_rounded(low)), high=str(_rounded(high)), weights=str(_rounded(constant))))
    return pd.concat(frames).reset_index()


def _rounded(weights: dict[str, float]) -> dict[str, float]:
    return {m: round(w, 2) for m, w in weights.items() if w >= 0.005}


def report(results: pd.DataFrame, gated: pd.DataFrame, scores: Path) -> list[str]:
    """The markdown page."""
    cutoffs = sorted(results["cutoff"].unique())
    single = results[results["method"].isin(CANDIDATES)].assign(abs_error=lambda r: r["error"].abs())
    best = single.groupby(CASE)["abs_error"].min().groupby(level="cutoff").mean()
    members = {m: single[single["method"] == m].groupby("cutoff")["abs_error"].mean() for m in MEMBERS}
    gate = (gated["gate"] - gated["truth"]).abs().groupby(gated["cutoff"]).mean()
    constant = (gated["constant"] - gated["truth"]).abs().groupby(gated["cutoff"]).mean()
    head = "| | " + " | ".join(f"{c:.0%}" for c in cutoffs) + " |"
    rule = "|---|" + "---|" * len(cutoffs)

    def row(name: str, values: pd.Series) -> str:
        return f"| {name} | " + " | ".join(f"{values.get(c, np.nan):.4f}" for c in cutoffs) + " |"

    lines = [
        "# Curve-dependent member weights, held out by image set", "",
        f"Written by `python benchmarks/member_choice.py` from `{scores.name}` ({len(results[['source', 'curve']].drop_duplicates())} "
        f"curves in {results['source'].nunique()} files, {results['held_out'].nunique()} image sets). MAE of the "
        "median at the largest size, pooled over every held-out image set, by cutoff (the fraction of the largest "
        f"size observed). The default method is `{DEFAULT_METHOD}`.", "",
        head, rule,
        row("hindsight: best of " + ", ".join(CANDIDATES) + " per case", best),
        *(row(f"`{m}` alone", members[m]) for m in MEMBERS),
        row("constant weights (learned without the image set)", constant),
        row("gate on the prefix's gain per doubling (learned without the image set)", gate), "",
        "Per held-out image set (gate / constant / each member alone):", "",
        "| held out | cutoff | gate | constant | " + " | ".join(MEMBERS) + " |",
        "|---|---|---|---|" + "---|" * len(MEMBERS),
    ]
    per = single[single["method"].isin(MEMBERS)].groupby(["held_out", "cutoff", "method"])["abs_error"].mean()
    for (images, cutoff), part in gated.groupby(["held_out", "cutoff"]):
        alone = " | ".join(f"{per.get((images, cutoff, m), np.nan):.4f}" for m in MEMBERS)
        lines.append(f"| {images} | {cutoff:.0%} | {(part['gate'] - part['truth']).abs().mean():.4f} | "
                     f"{(part['constant'] - part['truth']).abs().mean():.4f} | {alone} |")
    lines += ["", "What the gate learned without each image set (threshold in Dice per doubling; weights below and "
              "above it; the constant weights):", "",
              "| held out | threshold | below | above | constant |", "|---|---|---|---|---|"]
    for images, part in gated.groupby("held_out"):
        first = part.iloc[0]
        lines.append(f"| {images} | {first['threshold']:.4f} | {first['low']} | {first['high']} | "
                     f"{first['weights']} |")
    return lines


if __name__ == "__main__":
    main()

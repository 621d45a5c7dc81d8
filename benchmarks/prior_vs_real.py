"""Do synthetic prior curves look like real segmentation learning curves? Writes ``benchmarks/prior_vs_real.png``.

    python benchmarks/prior_vs_real.py

Fits each prior shape to every real curve in ``data/`` (printing the parameters beside the prior's ranges, which
is how the ranges were set), then draws real and synthetic curves on the same axes, and compares two shape
statistics that do not depend on the size grid: the final Dice against the gain per doubling over the last half of
the curve (in log n), and the share of the total gain reached at 20% of the largest size; and the noise of each
curve's last points about a smooth fit. Prints, per real dataset, how often the prior shows a curve as steep at the
same final Dice (:func:`steeper_share`) and how noisy its last points are.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import optimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import real_curves  # noqa: E402

from samplecast.curves import Curve  # noqa: E402
from samplecast.forecast.parametric import ParametricForecaster  # noqa: E402
from samplecast.forecast.prior import SHAPES, PriorConfig, sample_prior, shape_values  # noqa: E402

OUT = Path(__file__).resolve().parent / "prior_vs_real.png"


def fit_shape(curve: Curve, shape: str) -> tuple[np.ndarray, float]:
    """Least-squares (plateau, floor, log scale, exponent) of one prior shape; returns parameters and RMSE."""
    def residuals(p):
        plateau, floor, log_scale, exponent = p
        return floor + (plateau - floor) * shape_values(shape, curve.n, np.exp(log_scale), exponent) - curve.dice

    best = min((optimize.least_squares(residuals, [0.85, 0.1, s0, e0], bounds=([0.3, 0, -3, 0.05], [1, 0.7, 9, 4]))
                for s0 in (0, 2, 4, 6) for e0 in (0.3, 0.7, 1.5)), key=lambda r: r.cost)
    return best.x, float(np.sqrt(2 * best.cost / len(curve.n)))


def statistics(curves: list[Curve]) -> np.ndarray:
    """Per curve: final Dice, Dice gain per doubling over the upper half of log n, share of gain reached at 20%."""
    out = []
    for c in curves:
        log_n = np.log2(c.n)
        upper = log_n >= (log_n[0] + log_n[-1]) / 2
        slope = np.polyfit(log_n[upper], c.dice[upper], 1)[0] if upper.sum() >= 2 else np.nan
        gain = c.dice[-1] - c.dice[0]
        at20 = np.interp(np.log2(0.2 * c.n[-1]), log_n, c.dice)
        out.append((c.dice[-1], slope, (at20 - c.dice[0]) / gain if gain > 0.02 else np.nan))
    return np.array(out)


def steeper_share(real: np.ndarray, prior: np.ndarray, window: float = 0.05) -> np.ndarray:
    """Per real curve (rows of :func:`statistics`): the share of prior curves ending within ``window`` of its final
    Dice that still gain at least as much per doubling over their upper half: how often the prior shows a curve as
    steep as this one at its level (small: the prior teaches the surrogate to expect flattening there)."""
    shares = []
    for final, slope, _ in real:
        near = np.abs(prior[:, 0] - final) <= window
        shares.append(float(np.mean(prior[near, 1] >= slope)) if near.any() else np.nan)
    return np.array(shares)


def noise_sd(curve: Curve) -> float:
    """Robust sd of the upper half (in log n) of a curve's points about its pow3 fit (1.4826 x median absolute
    residual, scaled by sqrt(k / (k - 3)) for the 3 fitted parameters): the noise on the last points, which a
    forecaster has to see through."""
    residuals = curve.dice - ParametricForecaster("pow3", n_boot=0).fit(curve.n, curve.dice).predict_mean(curve.n)
    log_n, k = np.log(curve.n), len(curve.n)
    upper = log_n >= (log_n[0] + log_n[-1]) / 2
    return float(1.4826 * np.median(np.abs(residuals[upper])) * np.sqrt(k / max(k - 3, 1)))


def main() -> None:
    real = real_curves()
    cfg = PriorConfig()
    print(f"prior ranges: plateau {cfg.plateau}, floor {cfg.floor}, scale {cfg.scale}, pow c {cfg.pow_c}, "
          f"mmf d {cfg.mmf_d}, wbl d {cfg.wbl_d}, noise floor {cfg.noise_floor}")
    print("| curve | shape | plateau | floor | scale | exponent | RMSE |\n|---|---|---|---|---|---|---|")
    for name, curves in real.items():
        for c in curves:
            for shape in SHAPES[:-1]:
                p, rmse = fit_shape(c, shape)
                print(f"| {name}: {c.label} | {shape} | {p[0]:.3f} | {p[1]:.3f} | {np.exp(p[2]):.1f} | {p[3]:.2f} "
                      f"| {rmse:.4f} |")

    prior = sample_prior(4000, seed=2024).curves()
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, curves) in enumerate(real.items()):
        for j, c in enumerate(curves):
            axes[0, 0].plot(c.n, c.dice, "o-", color=colours[k % len(colours)], ms=3, lw=1,
                            label=name if j == 0 else None)
    for i in rng.choice(len(prior), 40, replace=False):
        axes[0, 1].plot(prior[i].n, prior[i].dice, "-", color="0.3", alpha=0.5, lw=0.8, marker=".", ms=3)
    for ax, title in ((axes[0, 0], "real segmentation curves"), (axes[0, 1], "prior: 40 synthetic curves")):
        ax.set(xscale="log", xlim=(1.5, 6000), ylim=(0, 1), xlabel="training cases n", ylabel="test Dice",
               title=title)
    axes[0, 0].legend(fontsize=8, loc="lower right")

    s_prior = statistics(prior)
    axes[1, 0].hexbin(s_prior[:, 0], s_prior[:, 1], gridsize=35, extent=(0.2, 1.0, -0.02, 0.12), mincnt=1,
                      cmap="Greys", bins="log")
    axes[1, 1].hist(s_prior[:, 2][np.isfinite(s_prior[:, 2])], bins=40, range=(-0.2, 1.2), color="0.6",
                    density=True, label="prior")
    for k, (name, curves) in enumerate(real.items()):
        s = statistics(curves)
        axes[1, 0].plot(s[:, 0], s[:, 1], "o", color=colours[k % len(colours)], mec="k", label=name)
        for v in s[:, 2][np.isfinite(s[:, 2])]:
            axes[1, 1].axvline(v, color=colours[k % len(colours)], lw=1.5)
    print("| real curves | curves | gain per doubling, upper half (median) | prior curves as steep at their final Dice "
          "(median share) | noise about a pow3 fit (median) |\n|---|---|---|---|---|")
    for name, curves in real.items():
        s = statistics(curves)
        print(f"| {name} | {len(curves)} | {np.median(s[:, 1]):.3f} | {np.median(steeper_share(s, s_prior)):.1%} | "
              f"{np.median([noise_sd(c) for c in curves]):.4f} |")
    axes[1, 0].set(xlabel="final Dice", ylabel="Dice gain per doubling (upper half of the curve)",
                   title="shape: where real curves sit in the prior (grey density)")
    axes[1, 0].legend(fontsize=8, loc="upper left")
    axes[1, 1].set(xlabel="share of the curve's gain reached at 20% of its largest size", ylabel="density",
                   title="early rise: prior histogram, real curves as lines")
    axes[1, 1].legend(fontsize=8)

    sample = [prior[i] for i in rng.choice(len(prior), 400, replace=False) if len(prior[i].n) >= 5]
    prior_noise = np.array([noise_sd(c) for c in sample])
    axes[0, 2].hist(prior_noise, bins=40, range=(0, 0.05), color="0.6", density=True, label="prior")
    axes[1, 2].plot([c.n[-1] for c in sample], prior_noise, ".", color="0.6", ms=4, label="prior")
    real_noise = []
    for k, (name, curves) in enumerate(real.items()):
        sd = np.array([noise_sd(c) for c in curves])
        real_noise.extend(sd)
        for j, v in enumerate(sd):
            axes[0, 2].axvline(v, color=colours[k % len(colours)], lw=1.5, label=name if j == 0 else None)
        axes[1, 2].plot([c.n[-1] for c in curves], sd, "o", color=colours[k % len(colours)], mec="k", label=name)
    for name, values in (("real", real_noise), ("prior", prior_noise)):
        low, mid, high = np.percentile(values, [25, 50, 75])
        print(f"noise of the last points about a pow3 fit, {name}: median {mid:.4f} (IQR {low:.4f}-{high:.4f})")
    axes[0, 2].set(xlabel="robust sd of the upper half of the points about a pow3 fit", ylabel="density",
                   title="noise: prior histogram, real curves as lines")
    axes[0, 2].legend(fontsize=8)
    axes[1, 2].set(xscale="log", xlabel="largest size of the curve", ylabel="robust sd about a pow3 fit",
                   ylim=(0, 0.06), title="noise against pool size")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

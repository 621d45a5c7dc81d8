"""Synthetic segmentation learning curves: the prior the LSTM surrogate is pre-trained on.

A curve is drawn as ``dice(n) = floor + (plateau - floor) * h(n)`` with ``h`` a saturating shape rising from 0 to 1
(power law, Morgan-Mercer-Flodin, Weibull, exponential, or a two-phase mixture of two of them), measured on a size
grid like a real sweep (nested fractions 2%-100% of a pool of 50-5000 cases), with noise that shrinks with ``n`` as
seed-to-seed variance does, over a floor set by the finite test set, and occasional non-monotone bumps.

The ranges (:class:`PriorConfig`) were set from fits to the real curves shipped in ``data/`` and widened; the figure
``benchmarks/prior_vs_real.png`` compares the two.

Example:
    >>> from samplecast.forecast.prior import sample_prior
    >>> bank = sample_prior(1000, seed=0)
    >>> bank.n.shape == bank.dice.shape, int(bank.lengths.min()) >= 3
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from samplecast.curves import Curve

#: Shapes ``h(n)`` a synthetic curve can take (``mix`` blends two of the others at two scales).
SHAPES: tuple[str, ...] = ("pow", "mmf", "wbl", "exp", "mix")

#: Fraction schedules of real sweeps (each ends at the whole pool); geometric and doubling grids are drawn as well.
SCHEDULES: tuple[tuple[float, ...], ...] = (
    (0.02, 0.1, 0.2, 0.5, 1.0),
    (0.05, 0.1, 0.2, 0.3, 0.5, 1.0),
    (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
    (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    (0.05, 0.1, 0.25, 0.5, 1.0),
    (0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0),
    (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0),
)

#: Most points a synthetic curve has.
MAX_POINTS = 12


@dataclass(frozen=True)
class PriorConfig:
    """Ranges of the synthetic-curve prior (all ``(low, high)``; log-uniform where the name says so).

    Args:
        pool: pool size, log-uniform (the largest size of a sweep).
        plateau: asymptotic Dice, drawn as ``low + (high - low) * Beta(plateau_beta)``.
        plateau_beta: Beta shape of the plateau (mean near 0.6 of the range: most models saturate in 0.75-0.9).
        floor: Dice extrapolated to no data.
        scale: size at which ``h`` is about half-way, log-uniform, in cases.
        pow_c, mmf_d, wbl_d: shape exponents of the power-law, MMF and Weibull shapes.
        noise_train: seed-to-seed sd of Dice at 16 cases, log-uniform; shrinks as ``n^-0.5``.
        noise_floor: sd from the finite test set, log-uniform; does not shrink.
        bump_prob, bump_size: probability and amplitude range of a smooth non-monotone bump (in log n).
        outlier_prob, outlier_size: probability and size range of one low point (a run that trained badly).
        shape_weights: probability of each of :data:`SHAPES`.
        grid_weights: probability of a real-sweep schedule, a geometric grid, a doubling grid.
    """

    pool: tuple[float, float] = (50.0, 5000.0)
    plateau: tuple[float, float] = (0.45, 0.97)
    plateau_beta: tuple[float, float] = (3.0, 2.0)
    floor: tuple[float, float] = (0.0, 0.45)
    scale: tuple[float, float] = (1.0, 1500.0)
    pow_c: tuple[float, float] = (0.25, 2.0)
    mmf_d: tuple[float, float] = (0.5, 2.2)
    wbl_d: tuple[float, float] = (0.25, 1.2)
    noise_train: tuple[float, float] = (0.003, 0.04)
    noise_floor: tuple[float, float] = (0.001, 0.012)
    bump_prob: float = 0.3
    bump_size: tuple[float, float] = (0.005, 0.03)
    outlier_prob: float = 0.05
    outlier_size: tuple[float, float] = (0.02, 0.08)
    shape_weights: tuple[float, ...] = (0.25, 0.25, 0.2, 0.1, 0.2)
    grid_weights: tuple[float, float, float] = (0.5, 0.35, 0.15)

    def __post_init__(self) -> None:
        if len(self.shape_weights) != len(SHAPES):
            raise ValueError(f"shape_weights needs one weight per shape {SHAPES}, got {len(self.shape_weights)}")
        for name in ("pool", "scale", "noise_train", "noise_floor"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must satisfy 0 < low <= high, got {(low, high)}")
        if not 0 <= self.plateau[0] <= self.plateau[1] <= 1:
            raise ValueError(f"plateau must lie in [0, 1], got {self.plateau}")


@dataclass(frozen=True)
class CurveBank:
    """Many learning curves as padded arrays, the form training and batched forecasting use.

    Args:
        n: sizes, shape ``(B, L)``, ``nan`` after each curve's last point.
        dice: Dice at those sizes, shape ``(B, L)``, ``nan``-padded likewise.
        lengths: number of points of each curve, shape ``(B,)``.
        clean: noise-free Dice of synthetic curves (``None`` for measured ones).
    """

    n: np.ndarray
    dice: np.ndarray
    lengths: np.ndarray
    clean: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return len(self.lengths)

    def curves(self, dataset: str = "prior") -> list[Curve]:
        """The bank as :class:`~samplecast.curves.Curve` objects (``seed`` is the row index)."""
        return [Curve({"dataset": dataset, "seed": i}, self.n[i, :k], self.dice[i, :k])
                for i, k in enumerate(self.lengths)]

    def concat(self, other: CurveBank) -> CurveBank:
        """This bank followed by ``other`` (padding widened to the longer of the two)."""
        width = max(self.n.shape[1], other.n.shape[1])
        return CurveBank(np.concatenate([_widen(self.n, width), _widen(other.n, width)]),
                         np.concatenate([_widen(self.dice, width), _widen(other.dice, width)]),
                         np.concatenate([self.lengths, other.lengths]))


def bank_from_curves(curves: Sequence[Curve]) -> CurveBank:
    """Pad measured curves into a :class:`CurveBank`."""
    if not curves:
        raise ValueError("no curves to pad")
    width = max(len(c.n) for c in curves)
    n = np.full((len(curves), width), np.nan)
    dice = np.full((len(curves), width), np.nan)
    for i, c in enumerate(curves):
        n[i, : len(c.n)], dice[i, : len(c.n)] = c.n, c.dice
    return CurveBank(n, dice, np.array([len(c.n) for c in curves]))


def shape_values(shape: str, n: np.ndarray, scale: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """The saturating shape ``h(n)`` in [0, 1): ``scale`` is where it is roughly half-way, ``exponent`` its steepness.

    Arrays broadcast; ``exponent`` is ignored by ``exp``.
    """
    x = n / scale
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if shape == "pow":  # 1 - (1 + x)^-c: a power law in n for n >> scale
            return 1.0 - (1.0 + x) ** (-exponent)
        if shape == "mmf":  # Hill curve, sigmoidal in log n: the slow early phase of small training sets
            return x**exponent / (1.0 + x**exponent)
        if shape == "wbl":
            return 1.0 - np.exp(-np.log(2.0) * x**exponent)
        if shape == "exp":
            return 1.0 - np.exp(-np.log(2.0) * x)
    raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES[:-1])}")


def sample_prior(count: int, seed: int = 0, config: PriorConfig | None = None) -> CurveBank:
    """Draw ``count`` synthetic learning curves (3 to :data:`MAX_POINTS` points each), reproducibly from ``seed``."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    cfg = config or PriorConfig()
    rng = np.random.default_rng(seed)
    n = _size_grids(rng, count, cfg)
    lengths = np.sum(np.isfinite(n), axis=1)
    clean = _clean_curves(rng, n, cfg)
    dice = clean + _noise(rng, n, clean, cfg)
    dice = np.where(np.isfinite(n), np.clip(dice, 0.0, 1.0), np.nan)
    return CurveBank(n, dice, lengths, clean)


def _loguniform(rng: np.random.Generator, bounds: tuple[float, float], size) -> np.ndarray:
    return np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]), size))


def _size_grids(rng: np.random.Generator, count: int, cfg: PriorConfig) -> np.ndarray:
    """Sweep sizes ``ceil(f * pool)``, distinct, at least 3 per curve, ``nan``-padded to :data:`MAX_POINTS`."""
    out = np.full((count, MAX_POINTS), np.nan)
    pools = _loguniform(rng, cfg.pool, count)
    kinds = rng.choice(3, size=count, p=np.asarray(cfg.grid_weights) / sum(cfg.grid_weights))
    for i in range(count):
        while True:
            if kinds[i] == 0:
                fractions = np.asarray(SCHEDULES[rng.integers(len(SCHEDULES))])
            elif kinds[i] == 1:
                start = _loguniform(rng, (0.02, 0.15), None)
                fractions = np.geomspace(start, 1.0, rng.integers(4, MAX_POINTS + 1))
            else:
                first = rng.choice([4, 8, 16, 32])
                fractions = np.append(first * 2.0 ** np.arange(MAX_POINTS - 1), pools[i]) / pools[i]
                fractions = fractions[fractions <= 1.0][-MAX_POINTS:]
            sizes = np.unique(np.ceil(fractions * pools[i] - 1e-9))
            if len(sizes) >= 3:
                break
            pools[i] = _loguniform(rng, cfg.pool, None)
        out[i, : len(sizes)] = sizes
    return out


def _clean_curves(rng: np.random.Generator, n: np.ndarray, cfg: PriorConfig) -> np.ndarray:
    """Noise-free Dice of each curve at its sizes."""
    count = n.shape[0]
    plateau = cfg.plateau[0] + (cfg.plateau[1] - cfg.plateau[0]) * rng.beta(*cfg.plateau_beta, count)
    floor = np.minimum(rng.uniform(*cfg.floor, count), 0.6 * plateau)
    shapes = rng.choice(len(SHAPES), size=count, p=np.asarray(cfg.shape_weights) / sum(cfg.shape_weights))
    h = np.empty_like(n)
    for s, shape in enumerate(SHAPES):
        rows = np.flatnonzero(shapes == s)
        if rows.size == 0:
            continue
        if shape == "mix":  # two phases: a fast rise at a small scale, a slower gain at a larger one
            first = _shape_rows(rng, n[rows], rng.integers(4, size=rows.size), cfg)
            second = _shape_rows(rng, n[rows], rng.integers(4, size=rows.size), cfg)
            weight = rng.uniform(0.2, 0.8, (rows.size, 1))
            h[rows] = weight * first + (1 - weight) * second
        else:
            h[rows] = _shape_rows(rng, n[rows], np.full(rows.size, s), cfg)
    return floor[:, None] + (plateau - floor)[:, None] * h


def _shape_rows(rng: np.random.Generator, n: np.ndarray, shape_index: np.ndarray, cfg: PriorConfig) -> np.ndarray:
    """``h(n)`` per row, each row with its own shape (an index into :data:`SHAPES` without ``mix``) and parameters."""
    rows = n.shape[0]
    scale = _loguniform(rng, cfg.scale, (rows, 1))
    exponents = {"pow": cfg.pow_c, "mmf": cfg.mmf_d, "wbl": cfg.wbl_d, "exp": (1.0, 1.0)}
    out = np.empty_like(n)
    for s, shape in enumerate(SHAPES[:-1]):
        sel = shape_index == s
        if np.any(sel):
            exponent = rng.uniform(*exponents[shape], (int(sel.sum()), 1))
            out[sel] = shape_values(shape, n[sel], scale[sel], exponent)
    return out


def _noise(rng: np.random.Generator, n: np.ndarray, clean: np.ndarray, cfg: PriorConfig) -> np.ndarray:
    """Measurement noise (shrinking with n over a floor), smooth bumps and rare low outliers."""
    count = n.shape[0]
    train_sd = _loguniform(rng, cfg.noise_train, (count, 1)) * np.sqrt(16.0 / n)
    floor_sd = _loguniform(rng, cfg.noise_floor, (count, 1))
    noise = rng.standard_normal(n.shape) * np.sqrt(train_sd**2 + floor_sd**2)

    log_n = np.log(n)
    centre = rng.uniform(np.nanmin(log_n, axis=1), np.nanmax(log_n, axis=1))[:, None]
    width = rng.uniform(0.3, 1.0, (count, 1))
    amplitude = rng.uniform(*cfg.bump_size, (count, 1)) * rng.choice([-1.0, 1.0], (count, 1))
    amplitude *= rng.random((count, 1)) < cfg.bump_prob
    noise += amplitude * np.exp(-0.5 * ((log_n - centre) / width) ** 2)

    lengths = np.sum(np.isfinite(n), axis=1)
    has_outlier = rng.random(count) < cfg.outlier_prob
    where = (rng.random(count) * lengths).astype(int)
    noise[np.flatnonzero(has_outlier), where[has_outlier]] -= rng.uniform(*cfg.outlier_size, int(has_outlier.sum()))
    return noise


def _widen(values: np.ndarray, width: int) -> np.ndarray:
    return np.pad(values, ((0, 0), (0, width - values.shape[1])), constant_values=np.nan)

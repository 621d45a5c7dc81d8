"""What a report shows about each curve, computed once from its plan: the forecast bands out to the reach, the
expected Dice there, and what more data buys (marginal value); and the short labels that tell curves apart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from samplecast.curves import GROUP_DEFAULTS, Curve
from samplecast.errors import raise_if_any
from samplecast.forecast.base import QUANTILES, CurveForecaster, quantile_name
from samplecast.forecast.predict import DEFAULT_REACH
from samplecast.forecast.reach import size_reaching
from samplecast.plan import sentences
from samplecast.plan.recommendation import CurvePlan, Recommendation, TargetRow, dice_at, reach
from samplecast.schema import SIZE, UNIT

#: Points of the forecast bands and marginal-value curves a report draws.
CURVE_POINTS = 160
#: The forecast band is drawn at least this many times beyond the largest size measured (past the pool when the pool
#: is closer, which the figure marks), so a forecast over a pool barely beyond the data is not a sliver.
MIN_DRAWN = 2.0
#: The quantile levels of the forecast band a report draws.
BAND_LEVELS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
_SLOPE_SPAN = 1.25
#: The Dice gain the report prices: what annotating up to the size where the median forecast gains it costs.
PRICED_GAIN = 0.01


@dataclass(frozen=True)
class Observed:
    """The measured curve: sizes, mean Dice, spread across seeds (``None`` for one seed) and runs per size."""

    n: tuple[float, ...] = field(metadata=SIZE)
    dice: tuple[float, ...] = field(metadata=UNIT)
    sd: tuple[float | None, ...] = field(metadata=SIZE)
    count: tuple[int, ...] = field(metadata=SIZE)

    SAME_LENGTH: ClassVar[tuple[str, ...]] = ("n", "dice", "sd", "count")


@dataclass(frozen=True)
class Band:
    """Quantiles of the forecast Dice on a grid of sizes out to the reach (the learning-curve figure's band)."""

    n: tuple[float, ...] = field(metadata=SIZE)
    q10: tuple[float, ...] = field(metadata=UNIT)
    q25: tuple[float, ...] = field(metadata=UNIT)
    q50: tuple[float, ...] = field(metadata=UNIT)
    q75: tuple[float, ...] = field(metadata=UNIT)
    q90: tuple[float, ...] = field(metadata=UNIT)

    SAME_LENGTH: ClassVar[tuple[str, ...]] = ("n", "q10", "q25", "q50", "q75", "q90")


@dataclass(frozen=True)
class Marginal:
    """Median Dice, and Dice gained by ``value_step`` more cases and by doubling, at each size."""

    n: tuple[float, ...] = field(metadata=SIZE)
    dice: tuple[float, ...] = field(metadata=UNIT)
    gain_per_step: tuple[float, ...]
    gain_per_doubling: tuple[float, ...]

    SAME_LENGTH: ClassVar[tuple[str, ...]] = ("n", "dice", "gain_per_step", "gain_per_doubling")


@dataclass(frozen=True)
class MarginalPoint:
    """:class:`Marginal` at one size (today's), and the size at which the median forecast is :data:`PRICED_GAIN`
    above its value there (``None`` when not within the horizon: what that gain costs is read off it)."""

    n: float = field(metadata=SIZE)
    dice: float = field(metadata=UNIT)
    gain_per_step: float
    gain_per_doubling: float
    n_for_gain: int | None = field(default=None, metadata=SIZE)


@dataclass(frozen=True)
class Expected:
    """Dice expected at ``n`` cases (the pool, or 4x today without one): median, range at the confidence, and the
    Dice reached with the confidence."""

    n: int = field(metadata=SIZE)
    q50: float = field(metadata=UNIT)
    low: float = field(metadata=UNIT)
    high: float = field(metadata=UNIT)
    floor: float = field(metadata=UNIT)


@dataclass(frozen=True)
class CurveView:
    """Everything a report shows about one curve: its key and labels, the measurements, the forecast table (one
    ``{"n", "q05", ..., "q95"}`` per size), the recommendation and its sentences (those of the round plan also
    apart), warnings, the reach drawn, the band, the target table, the expected Dice, and the marginal value (along
    the curve, and at today's size)."""

    key: dict[str, str | int | float]
    label: str
    short_label: str
    observed: Observed
    forecast: tuple[dict[str, float], ...]
    recommendation: Recommendation
    sentences: tuple[str, ...]
    round_sentences: tuple[str, ...]
    warnings: tuple[str, ...]
    reach: int = field(metadata=SIZE)
    band: Band
    targets: tuple[TargetRow, ...]
    expected: Expected
    marginal: Marginal
    marginal_now: MarginalPoint

    def __post_init__(self) -> None:
        """Checks a plan document's schema cannot state: each forecast row holds a size and every quantile of Dice,
        in [0, 1] and in order; the sizes of each table increase."""
        problems, names = [], ["n", *(quantile_name(q) for q in QUANTILES)]
        for i, row in enumerate(self.forecast):
            values = [row.get(name) for name in names[1:]]
            if sorted(row) != sorted(names):
                problems.append(f"forecast[{i}]: expected the fields {', '.join(names)}, got {', '.join(row)}")
            elif not (row["n"] > 0 and all(0 <= v <= 1 for v in values) and values == sorted(values)):
                problems.append(f"forecast[{i}]: expected a positive size and quantiles of Dice in [0, 1], each at "
                                "least the one before")
        for name, n in (("observed.n", self.observed.n), ("band.n", self.band.n), ("marginal.n", self.marginal.n),
                        ("forecast", [row.get("n", 0) for row in self.forecast])):
            if any(b <= a for a, b in zip(n, n[1:])):
                problems.append(f"{name}: sizes must increase")
        raise_if_any(problems)


def beyond_pool_column(views: Sequence[CurveView]) -> bool:
    """Whether the target table has its column of sizes needed beyond the pool: some level needs one."""
    return any(level.n_beyond_pool is not None for view in views for level in view.targets)


def short_labels(curves: Sequence[Curve]) -> list[str]:
    """Curve labels without the key parts every curve shares (``depth 5`` rather than ``kvasir / resunet / depth 5``).

    A single curve, or curves that differ in no key, keep their full label.
    """
    if len(curves) < 2:
        return [c.label for c in curves]
    varying = [name for name in curves[0].key if len({str(c.key.get(name)) for c in curves}) > 1]
    if not varying:
        return [c.label for c in curves]
    return [Curve({k: c.key[k] for k in varying}, c.n, c.dice).label for c in curves]


def default_title(curves: Sequence[Curve]) -> str:
    """``How many cases to annotate: <dataset>`` when the curves name their dataset(s)."""
    names = list(dict.fromkeys(str(c.key.get("dataset", "")) for c in curves))
    names = [n for n in names if n and n != GROUP_DEFAULTS["dataset"]]
    return "How many cases to annotate" + (f": {', '.join(names)}" if names else "")


def value_step(n_max: float) -> int:
    """A round number of cases to price marginal gains in (1, 2 or 5 times a power of ten), near a tenth of
    ``n_max``: 100 for a curve measured up to 800 cases, 10 for one up to 100."""
    if n_max < 10:
        return 1
    target = math.log10(n_max / 10)
    candidates = [m * 10**e for e in range(int(target) - 1, int(target) + 2) for m in (1, 2, 5)]
    return int(min(candidates, key=lambda c: abs(math.log10(c) - target)))


def marginal_value(model: CurveForecaster, sizes: Sequence[float], step: int) -> Marginal:
    """Median Dice gained by ``step`` more cases and by doubling the data, at each size.

    The gain per ``step`` cases is the slope of the median forecast across ``n / 1.25`` to ``1.25 n`` times ``step``:
    a local rate that does not jitter with the forecast's sampling noise the way a difference over a few cases would.
    """
    n = np.asarray(sizes, dtype=float)
    median = model.predict(np.concatenate([n, n / _SLOPE_SPAN, n * _SLOPE_SPAN, 2 * n]))
    now, below, above, double = np.split(median, 4)
    slope = (above - below) / (n * (_SLOPE_SPAN - 1 / _SLOPE_SPAN))
    return Marginal(_round(n), _round(now), _round(slope * step, 6), _round(double - now, 6))


def _round(values: np.ndarray, places: int = 4) -> tuple[float, ...]:
    return tuple(round(float(v), places) for v in values)


def curve_view(plan: CurvePlan, short_label: str, step: int) -> CurveView:
    """Everything the report shows about one curve, priced in ``step`` cases."""
    curve, model, rec = plan.forecast.curve, plan.forecast.model, plan.recommendation
    far = max(reach(plan), int(round(MIN_DRAWN * curve.n_max)))
    grid = np.geomspace(curve.n[0], far, CURVE_POINTS)
    band = model.predict_quantiles(grid, BAND_LEVELS)
    expected_n = rec.pool_size or int(round(DEFAULT_REACH * curve.n_max))
    marginal = marginal_value(model, [*grid, rec.n_observed], step)  # the curve, and today's size last
    columns = (marginal.n, marginal.dice, marginal.gain_per_step, marginal.gain_per_doubling)
    return CurveView(
        key=dict(curve.key), label=curve.label, short_label=short_label,
        observed=Observed(_round(curve.n, 2), _round(curve.dice),
                          tuple(None if not math.isfinite(v) else round(float(v), 4) for v in curve.sd),
                          tuple(int(c) for c in curve.count)),
        forecast=tuple(plan.forecast.records()),
        recommendation=rec,
        sentences=tuple(rec.sentences()),
        round_sentences=tuple(sentences.round_sentences(rec.next_round)) if rec.next_round is not None else (),
        warnings=tuple(plan.warnings),
        reach=far,
        band=Band(_round(grid, 2), *(_round(band[:, j]) for j in range(len(BAND_LEVELS)))),
        targets=plan.targets,
        expected=Expected(expected_n, **(rec.dice_at_pool or dice_at(model, expected_n, rec.confidence))),
        marginal=Marginal(*(c[:-1] for c in columns)),
        marginal_now=MarginalPoint(*(c[-1] for c in columns), n_for_gain=size_reaching(
            model, marginal.dice[-1] + PRICED_GAIN, 0.5, rec.n_observed, rec.horizon)),
    )

"""A backtest of decisions: replay the planner's workflow on complete curves and score what it made a planner do.

For each complete curve, prefix (what was annotated when the planner asked) and target (the Dice the curve measures at
a share of its largest size, minus a margin, so it is reachable within the pool), each policy decides how many cases
to annotate; the Dice at the sizes it asks for is revealed from the complete curve (interpolated in ``log n`` between
measured sizes) and, for the round planner, added to the curve it plans the next round from. Scores: whether the
target was reached, the cases annotated against the fewest that sufficed (the smallest size at which the revealed
curve reaches the target), "not reachable" answers for targets the curve reaches, rounds used and the total cost with
the shortfall.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from samplecast.curves import Curve
from samplecast.errors import raise_if_any
from samplecast.forecast.base import CurveForecaster, clone
from samplecast.forecast.evaluate.forecasts import backtest_prefix
from samplecast.forecast.parametric import LogLinearPowerLaw
from samplecast.forecast.reach import size_reaching
from samplecast.forecast.rounds import DEFAULT_SHORTFALL, RoundPlanner, shortfall_amount
from samplecast.forecast.together import fit_in_sweep, pool_fitted, sweep_groups

#: Prefixes the planner starts from, as fractions of each curve's largest size.
DECISION_CUTOFFS: tuple[float, ...] = (0.1, 0.2)
#: Targets: the Dice each curve measures at these fractions of its largest size, minus :data:`TARGET_MARGIN`.
TARGET_AT: tuple[float, ...] = (0.5, 1.0)
TARGET_MARGIN = 0.02
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class OneShot:
    """Annotate once, up to the size whose forecast reaches the target with ``confidence`` (the recommendation's
    ``n_for_target``); "not reachable within the pool" annotates nothing."""

    confidence: float = 0.8

    @property
    def name(self) -> str:
        return f"one-shot {self.confidence:.0%}"


@dataclass(frozen=True)
class Rounds:
    """The round planner with ``rounds`` rounds (:class:`~samplecast.forecast.rounds.RoundPlanner`), planned again after
    each."""

    rounds: int = 3
    shortfall_cost: float | str = DEFAULT_SHORTFALL

    @property
    def name(self) -> str:
        shortfall = "" if self.shortfall_cost == DEFAULT_SHORTFALL else f" (shortfall {self.shortfall_cost})"
        return f"{self.rounds} round{'s' if self.rounds != 1 else ''}{shortfall}"


@dataclass(frozen=True)
class PowerLawOnce:
    """The classic baseline: a power law fitted to the prefix (``pow2``), annotate once where its median reaches the
    target."""

    @property
    def name(self) -> str:
        return "power law (median)"


Policy = OneShot | Rounds | PowerLawOnce
#: The policies compared by default, side by side.
DEFAULT_POLICIES: tuple[Policy, ...] = (OneShot(0.5), OneShot(0.8), OneShot(0.95), Rounds(1), Rounds(2), Rounds(3),
                                        Rounds(5), PowerLawOnce())


@dataclass(frozen=True)
class Revealed:
    """A complete curve seen through a planner's eyes: the Dice a model trained on ``n`` cases measures, interpolated
    in ``log n`` between the measured sizes (the largest size is the pool)."""

    curve: Curve

    def dice(self, n: float) -> float:
        return float(np.interp(math.log(n), np.log(self.curve.n), self.curve.dice))

    def fewest_reaching(self, target: float, start: float) -> int | None:
        """The smallest whole size from ``start`` to the pool at which the revealed Dice reaches ``target``."""
        sizes = np.arange(math.ceil(start), int(self.curve.n_max) + 1, dtype=float)
        hit = np.flatnonzero(np.interp(np.log(sizes), np.log(self.curve.n), self.curve.dice) >= target)
        return int(sizes[hit[0]]) if hit.size else None


def _grown(curve: Curve, n: int, dice: float) -> Curve:
    """``curve`` with one more measured size (the run a new round trains)."""
    return Curve(curve.key, np.append(curve.n, float(n)), np.append(curve.dice, dice))


def play(policy: Policy, forecaster: CurveForecaster, prefix: Curve, revealed: Revealed, target: float, pool: int,
         cost_per_case: float = 1.0, fitted: CurveForecaster | None = None,
         partners: Sequence[tuple[Curve, Revealed]] = ()) -> dict:
    """Run one policy from ``prefix`` to its last decision; returns the final size, whether the target was reached,
    whether the policy answered "not reachable" (stopped without reaching it), and the rounds used. ``fitted`` is
    ``forecaster`` already fitted on ``prefix``, shared by the policies that start from it (fitted here if not
    given); later rounds fit a clone on the grown curve. ``partners`` are the other depths of the curve's sweep (their
    prefix and complete curve): every fit pools their forecasts (:class:`~samplecast.forecast.together.SweepMean`),
    and each round trains them at the size it asks for too."""
    current, rounds_used, said_stop = prefix, 0, False
    others = [other for other, _ in partners]
    if isinstance(policy, Rounds):
        for left in range(policy.rounds, 0, -1):
            model = (fitted if current is prefix and fitted is not None else
                     fit_in_sweep(forecaster, current, others))
            plan = RoundPlanner(left, policy.shortfall_cost).plan(model, current, target_dice=target, pool_size=pool,
                                                                  cost_per_case=cost_per_case)
            if plan.annotate_to is None:
                said_stop = plan.stop_reason != "reached"
                break
            rounds_used += 1
            current = _grown(current, plan.annotate_to, revealed.dice(plan.annotate_to))
            others = [_grown(other, plan.annotate_to, seen.dice(plan.annotate_to))
                      for other, (_, seen) in zip(others, partners)]
            if current.dice[-1] >= target:
                break
        final = int(current.n_max)
    else:
        if isinstance(policy, PowerLawOnce):
            model = LogLinearPowerLaw().fit_curve(prefix)
        else:
            model = fitted if fitted is not None else fit_in_sweep(forecaster, prefix, others)
        quantile = 0.5 if isinstance(policy, PowerLawOnce) else 1 - policy.confidence
        n = size_reaching(model, target, quantile, prefix.n_max, pool)
        said_stop = n is None
        final = int(prefix.n_max) if n is None else max(int(n), int(prefix.n_max))
        rounds_used = int(final > prefix.n_max)
    return {"final": final, "reached": revealed.dice(final) >= target - _TOLERANCE, "said_unreachable": said_stop,
            "rounds_used": rounds_used}


def replay_decisions(
    curves: Sequence[Curve],
    forecaster: CurveForecaster,
    *,
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    cutoffs: Sequence[float] = DECISION_CUTOFFS,
    target_at: Sequence[float] = TARGET_AT,
    margin: float = TARGET_MARGIN,
    shortfall_cost: float | str = DEFAULT_SHORTFALL,
    depths_together: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """One row per (curve, cutoff, target, policy): the planner's workflow replayed on complete curves.

    Costs are counted in cases (one case costs 1); a missed target costs ``shortfall_cost`` (``"2x"``: twice the
    pool). Targets already measured in the prefix are skipped (there is nothing to decide). ``forecaster`` is cloned
    for every fit; with ``depths_together`` every fit pools the other depths of the curve's sweep, cut at the same
    size and trained at the sizes each round asks for, as a planner sweeping every depth would see them.
    ``progress(done, total)`` is called after each curve.

    Raises:
        InputError: for cutoffs or target shares outside (0, 1], or when no curve gives a decision to replay.
    """
    problems = [f"cutoffs must lie strictly between 0 and 1 (got {c:g})" for c in cutoffs if not 0 < c < 1]
    problems += [f"target_at must lie in (0, 1] (got {t:g})" for t in target_at if not 0 < t <= 1]
    raise_if_any(problems)
    prefixes = {cutoff: [backtest_prefix(curve, cutoff) for curve in curves] for cutoff in cutoffs}
    groups = {cutoff: sweep_groups(cut, together=depths_together) for cutoff, cut in prefixes.items()}
    fits: dict[tuple[float, int], CurveForecaster] = {}

    def fit(cutoff: float, i: int) -> CurveForecaster:  # one fit serves every policy and every partner
        if (cutoff, i) not in fits:
            fits[cutoff, i] = clone(forecaster).fit_curve(prefixes[cutoff][i])
        return fits[cutoff, i]

    rows = []
    for done, curve in enumerate(curves, start=1):
        i, revealed, pool = done - 1, Revealed(curve), int(curve.n_max)
        for cutoff in cutoffs:
            prefix, group = prefixes[cutoff][i], groups[cutoff][i]
            if prefix is None:
                continue
            partners = [(prefixes[cutoff][k], Revealed(curves[k])) for k in group[1:]]
            fitted = pool_fitted(forecaster, [fit(cutoff, k) for k in group],
                                 [prefixes[cutoff][k].dice[-1] for k in group])
            for share in target_at:
                target = round(revealed.dice(share * curve.n_max) - margin, 4)
                if np.max(prefix.dice) >= target:
                    continue
                need = revealed.fewest_reaching(target, prefix.n_max)
                for policy in policies:
                    outcome = play(policy, forecaster, prefix, revealed, target, pool, fitted=fitted,
                                   partners=partners)
                    shortfall = shortfall_amount(getattr(policy, "shortfall_cost", shortfall_cost), pool)
                    rows.append({
                        **curve.key, "curve": curve.label, "cutoff": cutoff, "target_at": share, "target": target,
                        "n_cut": int(prefix.n_max), "pool": pool, "need": need, "policy": policy.name, **outcome,
                        "cases_ratio": outcome["final"] / need if need else math.nan,
                        "cost": (outcome["final"] - prefix.n_max) + (0.0 if outcome["reached"] else shortfall),
                    })
        if progress is not None:
            progress(done, len(curves))
    raise_if_any([] if rows else ["no curve gives a decision to replay: a curve needs at least 3 sizes below a "
                                  "cutoff and a target it has not measured yet"])
    return pd.DataFrame(rows)


def summarize_decisions(rows: pd.DataFrame, by: Sequence[str] = ("policy",)) -> pd.DataFrame:
    """Per policy: decisions, share of targets reached, median and 90th percentile of cases annotated against the
    fewest that sufficed (over decisions that reached the target), share of "not reachable" answers, mean rounds
    used, and mean cost as a share of the pool (annotation plus shortfall)."""
    reached = rows[rows["reached"]]
    grouped = rows.groupby(list(by), sort=False)
    table = grouped.agg(
        decisions=("reached", "size"),
        reached=("reached", "mean"),
        said_unreachable=("said_unreachable", "mean"),
        rounds_used=("rounds_used", "mean"),
        cost_share=("cost", lambda c: float(np.mean(c / rows.loc[c.index, "pool"]))),
    )
    ratio = reached.groupby(list(by), sort=False)["cases_ratio"]
    table["cases_ratio_median"] = ratio.median()
    table["cases_ratio_p90"] = ratio.quantile(0.9)
    return table.reset_index()


def held_out_decisions(
    corpus: Mapping[str, Sequence[Curve]],
    image_sets: Mapping[str, str],
    forecasters: Mapping[str, CurveForecaster],
    *,
    policies: Sequence[Policy] = DEFAULT_POLICIES,
    progress: Callable[[str], None] | None = None,
    **replay: Any,
) -> pd.DataFrame:
    """:func:`replay_decisions` on every source of ``corpus`` (name -> complete curves), each with the forecaster
    learned without its image set (``forecasters``: image set -> forecaster); rows gain ``source`` and ``held_out``
    (the image set). ``replay`` passes cutoffs, target shares and the margin on."""
    missing = sorted({image_sets.get(name, name) for name in corpus} - set(forecasters))
    raise_if_any([f"no forecaster learned without image set {images}" for images in missing])
    frames = []
    for name, curves in corpus.items():
        images = image_sets.get(name, name)
        frames.append(replay_decisions(curves, forecasters[images], policies=policies, **replay)
                      .assign(source=name, held_out=images))
        if progress is not None:
            progress(f"replayed decisions on {name} ({len(curves)} curves, held out: {images})")
    return pd.concat(frames, ignore_index=True)

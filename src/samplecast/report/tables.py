"""The report's tables as rows of text, read off a plan document (:class:`samplecast.plan.PlanDocument`); nothing
here calls a forecaster, so the report shows exactly the numbers ``samplecast forecast --json`` wrote.

Example:
    >>> document = PlanDocument.read("forecast.json")   # doctest: +SKIP
    >>> glance_rows(document)[0]                        # doctest: +SKIP
    ['configuration', 'cases now', 'Dice now', 'cases for 0.80', 'more cases', 'plateau from', ...]
"""

from __future__ import annotations

from collections.abc import Callable

from samplecast.plan import OwnTrust, PlanDocument, Recommendation, ShippedTrust, TrustRow
from samplecast.plan.views import PRICED_GAIN, beyond_pool_column
from samplecast.plan.wording import cost_of, estimate, more_than, size_text

Rows = list[list[str]]


def round_rows(document: PlanDocument) -> Rows:
    """The plan in rounds: per curve, the size to annotate up to now, its cost and chance, the sizes planned for the
    later rounds, the chance of reaching the target by the end and the cases expected in all."""
    cost = document.options.cost_per_case is not None
    rows = [["configuration", "annotate up to now", "more cases"] + (["cost"] if cost else [])
            + ["chance now", "rounds planned", "chance by the end", "cases expected"]]
    for view in document.curves:
        plan = view.recommendation.next_round
        if plan is None:
            continue
        if plan.annotate_to is None:
            stop = {"reached": "stop: reached", "pool_used": "stop: pool used", "not_worth": "stop: does not pay"}
            rows.append([view.short_label, stop[plan.stop_reason], "0"] + (["0"] if cost else [])
                        + ["–", "–", f"{plan.chance_by_end:.0%}", f"{plan.n_observed:,}"])
            continue
        rows.append([view.short_label, size_text(plan.annotate_to, plan.n_observed),
                     f"{more_than(plan.annotate_to, plan.n_observed):,}"]
                    + ([cost_text(cost_of(plan.annotate_to, plan.n_observed, plan.cost_per_case))] if cost else [])
                    + [f"{plan.chances[0]:.0%}", " → ".join(size_text(n, plan.n_observed) for n in plan.schedule),
                       f"{plan.chance_by_end:.0%}", estimate(plan.expected_cases)])
    return rows


def decision_rows(shipped: ShippedTrust) -> Rows:
    """The backtest of decisions, pooled over the held-out image sets: one row per planning policy."""
    rows = [["policy", "decisions", "target reached", "cases / fewest needed (median)", "\"not reachable\" or stop",
             "rounds used"]]
    for r in shipped.decisions:
        ratio = f"{r.cases_ratio_median:.2f}x" if r.cases_ratio_median is not None else "–"
        rows.append([r.policy, f"{r.decisions:,}", f"{r.reached:.0%}", ratio, f"{r.said_unreachable:.0%}",
                     f"{r.rounds_used:.1f}"])
    return rows


def n_text(value: int | None, rec: Recommendation) -> str:
    """A size of one curve's answers: ``> horizon`` for a level not reached within it, ``≤ N`` at the smallest size
    measured (already there), exact within the sizes measured and rounded beyond them."""
    if value is None:
        return f"> {rec.horizon:,}"
    if rec.n_smallest is not None and value <= rec.n_smallest:
        return f"≤ {value:,}"
    return size_text(value, rec.n_observed)


def more_text(value: int | None, rec: Recommendation) -> str:
    """Cases more than today to reach the size ``value`` as shown."""
    return "–" if value is None else f"{more_than(value, rec.n_observed):,}"


def span_text(low: int | None, high: int | None, rec: Recommendation) -> str:
    """A range of sizes; open-ended (``≥ low``) when its upper end lies beyond the horizon, ``≤ N`` when it lies
    wholly at the smallest size measured."""
    if low is None:
        return "–"
    if high is None:
        return f"≥ {n_text(low, rec)}"
    if rec.n_smallest is not None and high <= rec.n_smallest:
        return n_text(high, rec)
    return f"{n_text(low, rec)}–{n_text(high, rec)}"


def cost_text(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "–"


def cost_to(value: int | None, rec: Recommendation) -> str:
    """The cost of annotating up to the size ``value`` as shown."""
    return "–" if value is None or rec.cost_per_case is None else cost_text(cost_of(value, rec.n_observed,
                                                                                    rec.cost_per_case))


def glance_rows(document: PlanDocument) -> Rows:
    """The "at a glance" table of page 1: per curve, cases and Dice now, the answer, the plateau and the pool."""
    options = document.options
    confidence = options.confidence
    target, cost, pool = options.target_dice, options.cost_per_case is not None, options.pool_size
    heading = ["configuration", "cases now", "Dice now"]
    heading += [f"cases for {target:.2f}", "more cases"] if target is not None else []
    heading += ["cost"] if target is not None and cost else []
    heading += ["plateau from"] + ([f"Dice with {pool:,} ({confidence:.0%} range)"] if pool else [])
    rows = [heading]
    for view in document.curves:
        r = view.recommendation
        row = [view.short_label, f"{r.n_observed:,}", f"{r.dice_now:.3f}"]
        if target is not None:
            row += [n_text(r.n_for_target, r), more_text(r.n_for_target, r)]
            row += [cost_to(r.n_for_target, r)] if cost else []
        row.append(n_text(r.n_plateau, r))
        if pool:
            d = r.dice_at_pool
            row.append(f"{d['q50']:.3f} ({d['low']:.2f}–{d['high']:.2f})")
        rows.append(row)
    return rows


def target_rows(document: PlanDocument) -> tuple[Rows, list[int]]:
    """The cases-needed table: per curve and Dice level, cases at the confidence, by the median, the range at the
    confidence, more than today, their cost, and where the pool does not suffice the size the forecast would need
    beyond it (labelled an extrapolation); and the body rows of the planner's own target (to emphasise)."""
    options = document.options
    with_cost = options.cost_per_case is not None
    confidence = options.confidence
    beyond = beyond_pool_column(document.curves)
    heading = ["configuration", "target Dice", f"needed ({confidence:.0%} conf.)", "median",
               f"{confidence:.0%} range", "more than today"] + (["cost"] if with_cost else [])
    heading += ["beyond the pool"] if beyond else []
    rows, emphasis = [heading], []
    for view in document.curves:
        rec = view.recommendation
        for level in view.targets:
            if options.target_dice is not None and abs(level.target_dice - options.target_dice) < 1e-9:
                emphasis.append(len(rows) - 1)
            row = [view.short_label, f"{level.target_dice:.2f}", n_text(level.n_needed, rec),
                   n_text(level.n_median, rec), span_text(level.n_low, level.n_high, rec),
                   more_text(level.n_needed, rec)]
            row += [cost_to(level.n_needed, rec)] if with_cost else []
            beyond_pool = "–" if level.n_beyond_pool is None else size_text(level.n_beyond_pool, rec.n_observed)
            rows.append(row + ([beyond_pool] if beyond else []))
    return rows, emphasis


def expected_rows(document: PlanDocument) -> Rows:
    """Expected Dice at the pool (or at 4x today's cases without a pool), with its range at the confidence."""
    options = document.options
    with_cost = options.cost_per_case is not None
    heading = ["configuration", "cases", "expected Dice (median)", f"{options.confidence:.0%} range",
               f"Dice with {options.confidence:.0%} confidence"] + (["cost"] if with_cost else [])
    rows = [heading]
    for view in document.curves:
        e, observed = view.expected, view.recommendation.n_observed
        more = max(0, e.n - observed)
        rows.append([view.short_label, f"{e.n:,}", f"{e.q50:.3f}", f"{e.low:.3f}–{e.high:.3f}",
                     f"≥ {e.floor:.3f}"]
                    + ([cost_text(more * options.cost_per_case)] if with_cost else []))
    return rows


def marginal_rows(document: PlanDocument) -> Rows:
    """What the next cases buy at today's size: Dice from ``value_step`` more, from doubling, the plateau and the
    cost of 0.01 Dice."""
    options, step = document.options, document.value_step
    with_cost = options.cost_per_case is not None
    heading = ["configuration", "cases now", f"Dice from {step:,} more", "Dice from doubling", "plateau from",
               f"+{PRICED_GAIN:.2f} Dice at"]
    heading += [f"cost of +{PRICED_GAIN:.2f} Dice"] if with_cost else []
    rows = [heading]
    for view in document.curves:
        r, now = view.recommendation, view.marginal_now
        row = [view.short_label, f"{r.n_observed:,}", f"{now.gain_per_step:+.4f}",
               f"{now.gain_per_doubling:+.4f}", n_text(r.n_plateau, r), n_text(now.n_for_gain, r)]
        row += [cost_to(now.n_for_gain, r)] if with_cost else []
        rows.append(row)
    return rows


_TRUST_HEADING = ["share of each curve kept", "forecast reach", "forecasts", "error (MAE)", "bias",
                  "80% interval held", "90% interval held", "80% width"]


def _trust_row(row: TrustRow) -> list[str]:
    return [f"{row.cutoff:.0%}", f"{1 / row.cutoff:.0f}x", f"{row.curves}",
            f"{row.mae:.3f}", f"{row.bias:+.3f}", f"{row.coverage80:.0%}", f"{row.coverage90:.0%}",
            f"{row.width80:.3f}"]


def shipped_trust_rows(shipped: ShippedTrust) -> tuple[Rows, Rows]:
    """The shipped leave-one-dataset-out backtest: one row per cutoff over all held-out datasets, and one per held-out
    dataset and cutoff."""
    overall = [_TRUST_HEADING] + [_trust_row(r) for r in shipped.pooled]
    per_set = [["held-out dataset", *_TRUST_HEADING]] + [[str(r.held_out), *_trust_row(r)] for r in shipped.per_set]
    return overall, per_set


def own_trust_rows(own: OwnTrust) -> Rows:
    """The backtest on the user's own curves, one row per cutoff (and scenario, for curves of several)."""
    if any(r.scenario is not None for r in own.rows):
        return [["scenario", *_TRUST_HEADING]] + [[str(r.scenario), *_trust_row(r)] for r in own.rows]
    return [_TRUST_HEADING] + [_trust_row(r) for r in own.rows]


def input_rows(document: PlanDocument) -> Rows:
    """The inputs of the plan: curves file and checksum, runs, method, options, seeds, date and software."""
    o, source = document.options, document.source
    rows = [["input", "value"]]
    for file in source.files:
        rows += [["curves table", file.path], ["SHA-256", file.sha256]]
    if not source.files:
        rows.append(["curves table", "built in memory (no file)"])
    horizon = (f"the pool ({o.pool_size:,} cases)" if o.pool_size is not None else
               _searched(document, lambda r: r.horizon))
    if o.pool_size is not None and any(v.recommendation.beyond_horizon for v in document.curves):
        horizon += ("; the size a target would need beyond the pool (an extrapolation) up to "
                    + _searched(document, lambda r: r.beyond_horizon or o.pool_size))
    rows += [
        ["runs used", f"{source.runs} (rows with status ok)"],
        ["method", document.method],
        ["target Dice", f"{o.target_dice:.2f}" if o.target_dice is not None else "none"],
        ["confidence", f"{o.confidence:.0%}"],
        ["plateau gain", f"{o.plateau_gain:g} Dice per doubling"],
        ["pool size", f"{o.pool_size:,}" if o.pool_size is not None else "not given"],
        ["sizes searched up to", horizon],
        ["cost per case", f"{o.cost_per_case:,.2f}" if o.cost_per_case is not None else "not given"],
        ["seeds and depths", ("seeds averaged into one curve per configuration" if source.average_seeds else
                              "one curve per seed") + ("; depths of a sweep forecast together" if source.depths_together
                                                       else "; each depth forecast alone")],
        ["written", document.created],
        ["software", ", ".join(f"{k} {v}" for k, v in document.versions.items())],
    ]
    return rows


def _searched(document: PlanDocument, limit: Callable[[Recommendation], int]) -> str:
    """How far each curve's sizes were searched (``limit`` of its recommendation), with the multiple of its largest
    size measured that is."""
    found = sorted({(limit(v.recommendation), limit(v.recommendation) / max(v.recommendation.n_observed, 1))
                    for v in document.curves})
    return ", ".join(f"{n:,}" for n, _ in found) + " cases (" + ", ".join(sorted({f"{x:.0f}x" for _, x in found})) \
        + " the largest size measured)"


def curve_rows(document: PlanDocument) -> Rows:
    """The curves behind the plan: sizes measured, runs, Dice at the largest size."""
    rows = [["curve", "sizes measured (n)", "runs", "Dice at largest"]]
    for view in document.curves:
        observed = view.observed
        rows.append([view.label, ", ".join(f"{x:,.0f}" for x in observed.n), f"{sum(observed.count)}",
                     f"{observed.dice[-1]:.3f}"])
    return rows

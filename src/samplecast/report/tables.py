"""The report's tables as rows of text, read off a plan document (:class:`samplecast.plan.PlanDocument`); nothing
here calls a forecaster, so the report shows exactly the numbers ``samplecast forecast --json`` wrote.

Example:
    >>> document = PlanDocument.read("forecast.json")   # doctest: +SKIP
    >>> glance_rows(document)[0]                        # doctest: +SKIP
    ['configuration', 'cases now', 'Dice now', 'cases for 0.80', 'more cases', 'plateau from', ...]
"""

from __future__ import annotations

from samplecast.plan import OwnTrust, PlanDocument, ShippedTrust, TrustRow

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
        rows.append([view.short_label, f"{plan.annotate_to:,}", f"{plan.more:,}"]
                    + ([cost_text(plan.cost_now)] if cost else [])
                    + [f"{plan.chances[0]:.0%}", " → ".join(f"{n:,}" for n in plan.schedule),
                       f"{plan.chance_by_end:.0%}", f"{round(plan.expected_cases):,}"])
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


def n_text(value: int | None, horizon: int) -> str:
    """A size, or ``> horizon`` for a level not reached within it."""
    return f"{value:,}" if value is not None else f"> {horizon:,}"


def more_text(value: int | None) -> str:
    return f"{value:,}" if value is not None else "–"


def span_text(low: int | None, high: int | None) -> str:
    """A range of sizes; open-ended (``≥ low``) when its upper end lies beyond the horizon."""
    if low is None:
        return "–"
    return f"{low:,}–{high:,}" if high is not None else f"≥ {low:,}"


def cost_text(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "–"


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
            row += [n_text(r.n_for_target, r.horizon), more_text(r.additional_to_target)]
            row += [cost_text(r.cost_to_target)] if cost else []
        row.append(n_text(r.n_plateau, r.horizon))
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
    beyond = any(level.n_beyond_pool is not None for view in document.curves for level in view.targets)
    heading = ["configuration", "target Dice", f"needed ({confidence:.0%} conf.)", "median",
               f"{confidence:.0%} range", "more than today"] + (["cost"] if with_cost else [])
    heading += ["beyond the pool"] if beyond else []
    rows, emphasis = [heading], []
    for view in document.curves:
        horizon = view.recommendation.horizon
        for level in view.targets:
            if options.target_dice is not None and abs(level.target_dice - options.target_dice) < 1e-9:
                emphasis.append(len(rows) - 1)
            row = [view.short_label, f"{level.target_dice:.2f}", n_text(level.n_needed, horizon),
                   n_text(level.n_median, horizon), span_text(level.n_low, level.n_high),
                   more_text(level.additional)]
            row += [cost_text(level.cost)] if with_cost else []
            rows.append(row + ([more_text(level.n_beyond_pool)] if beyond else []))
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
    heading = ["configuration", "cases now", f"Dice from {step:,} more", "Dice from doubling", "plateau from"]
    heading += ["cost of +0.01 Dice"] if with_cost else []
    rows = [heading]
    for view in document.curves:
        r, now = view.recommendation, view.marginal_now
        row = [view.short_label, f"{r.n_observed:,}", f"{now.gain_per_step:+.4f}",
               f"{now.gain_per_doubling:+.4f}", n_text(r.n_plateau, r.horizon)]
        if with_cost:
            per_case = now.gain_per_step / step
            row.append(cost_text(0.01 / per_case * options.cost_per_case) if per_case > 0 else "–")
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
    rows = [["input", "value"], ["curves table", source.file or "built in memory (no file)"]]
    if source.sha256:
        rows.append(["SHA-256", source.sha256])
    horizon = (f"the pool ({o.pool_size:,} cases)" if o.pool_size is not None else
               ", ".join(sorted({f"{v.recommendation.horizon:,}" for v in document.curves})) + " cases")
    rows += [
        ["runs used", f"{source.runs} (rows with status ok)"],
        ["method", document.method],
        ["target Dice", f"{o.target_dice:.2f}" if o.target_dice is not None else "none"],
        ["confidence", f"{o.confidence:.0%}"],
        ["plateau gain", f"{o.plateau_gain:g} Dice per doubling"],
        ["pool size", f"{o.pool_size:,}" if o.pool_size is not None else "not given"],
        ["sizes searched up to", horizon],
        ["cost per case", f"{o.cost_per_case:,.2f}" if o.cost_per_case is not None else "not given"],
        ["seeds", "averaged into one curve per configuration" if source.average_seeds else "one curve per seed"],
        ["written", document.created],
        ["software", ", ".join(f"{k} {v}" for k, v in document.versions.items())],
    ]
    return rows


def curve_rows(document: PlanDocument) -> Rows:
    """The curves behind the plan: sizes measured, runs, Dice at the largest size."""
    rows = [["curve", "sizes measured (n)", "runs", "Dice at largest"]]
    for view in document.curves:
        observed = view.observed
        rows.append([view.label, ", ".join(f"{x:,.0f}" for x in observed.n), f"{sum(observed.count)}",
                     f"{observed.dice[-1]:.3f}"])
    return rows

"""How accurate and how honest is each forecasting method on real curves of image sets it never learned from?

    nice python benchmarks/forecast_accuracy.py --lcpfn /work/lcpfn/lcpfn.pt

``--surrogate WEIGHTS.npz`` judges another pre-trained LSTM (``train_surrogate.py``) the same way, its median shift and
interval correction learned again without each scored image set, as the shipped one's are.

Two processes, one torch thread each; on the 43 curves of four image sets, with the LSTM and LC-PFN, it took 1.1 min
wall on a busy 2-core x86_64 machine (CPU: 1.1 min in the backtest, 0.3 min in the second process), growing about in
proportion to the number of curves.

Writes ``forecast_accuracy.md`` (keeping its hand-written ``## Findings`` section) and ``forecast_accuracy.csv`` (every
scored forecast):

1. Leave one image set out (:func:`samplecast.forecast.folds.held_out_folds`) on every real curve file of
   ``corpora.REAL_DATASETS`` found in ``data/``: each method forecasts the largest size of each complete curve from
   prefixes cut at 10/20/30/50% of it, the mean of its configuration's seeds up to there (as ``samplecast forecast``
   does by default), scored against the curve's own seed; whatever a method learns from real curves is learned without
   the image set scored. LC-PFN (``lcpfn_baseline.py``, trained on samplecast's synthetic prior only) is scored when
   ``--lcpfn`` names its checkpoint.
2. Per image set, the noise floor: how far two seeds of one configuration land apart at the largest size.
3. The issue's targets for the default method, checked.
4. Before and after: the median bias of the previous design (``forecast_accuracy_before.csv``) on the same curves.
5. Seed variation: each forecast checked against the other seeds' Dice at the largest size.
6. The same backtest from each seed's own prefix (``forecast_accuracy_one_seed.csv``), as a sweep of one seed gives.
7. The methods with the depths of a sweep forecast together (``forecast_accuracy_depths_together.csv``, what
   ``--depths-together`` does), beside the default, which forecasts each depth alone.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

# One torch thread per process: the networks are small and the curves short, so more threads only contend (the
# second process scores the other methods); set before anything imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import IMAGES, REAL_DATASETS, TRANSFER_DATASETS, real_curves, transfer_curves  # noqa: E402
from findings import kept_findings  # noqa: E402

from samplecast.curves import Curve  # noqa: E402
from samplecast.forecast.evaluate import seeds_together, summarize  # noqa: E402
from samplecast.forecast.evaluate.forecasts import configuration_interval  # noqa: E402
from samplecast.forecast.folds import (  # noqa: E402
    LearnedParts, held_out_folds, learned_forecasters, scored, with_other_seeds)
from samplecast.forecast.calibration import SpreadCalibration  # noqa: E402
from samplecast.forecast.base import QUANTILES, quantile_name  # noqa: E402
from samplecast.forecast.ensemble import default_members  # noqa: E402
from samplecast.forecast.methods import DEFAULT_METHOD, make_forecaster  # noqa: E402
from samplecast.forecast.surrogate import load_surrogate  # noqa: E402

HERE = Path(__file__).resolve().parent
#: Methods scored beside the default one (``lstm`` with its median shift and interval widening relearned without each
#: image set).
SCORED: tuple[str, ...] = ("last1", "pow2", "pow3", "pow4", "mmf4", "wbl4", "exp3", "average", "lstm")
#: Methods backtested from each seed's own prefix too (beside the ensemble and its members).
ONE_SEED: tuple[str, ...] = ("lstm",)
#: The single parametric families the default method is held against.
FAMILIES: tuple[str, ...] = ("pow2", "pow3", "pow4", "mmf4", "wbl4", "exp3")
#: Methods that learn nothing from a corpus (each fits only the curve it forecasts): the only ones scored outside
#: the held-out backtest, so any other method is held out by it.
PER_CURVE: tuple[str, ...] = ("last1", *FAMILIES, "average")
#: Row order of every table; methods not named here follow in the order they were scored.
ORDER: tuple[str, ...] = tuple(dict.fromkeys((*SCORED, "lcpfn", "lstm", DEFAULT_METHOD)))
#: Targets of the issue "A forecaster that does not bet against the curve" for the default method, held out by image
#: set.
MAE_TARGETS: dict[float, float] = {0.2: 0.020, 0.1: 0.030}
BIAS_TARGET = 0.008
COVERAGE80_RANGE = (0.75, 0.90)
FAMILY_MARGIN = 0.005
POOLED = "all"
#: Methods scored with the depths of a sweep forecast together too (the ensemble is scored with them).
DEPTHS: tuple[str, ...] = ("pow2", "pow3", "pow4", "average", "lstm")
#: Why a method of :data:`ORDER` may be missing from a run.
NOT_SCORED: dict[str, str] = {
    "lcpfn": "pass `--lcpfn CHECKPOINT`, trained by `lcpfn_baseline.py`",
    "lstm": "not in `SCORED`",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=HERE / "forecast_accuracy.md")
    parser.add_argument("--lcpfn", type=Path, help="LC-PFN checkpoint written by lcpfn_baseline.py (row left out "
                                                  "without it)")
    parser.add_argument("--surrogate", type=Path, help="pre-trained LSTM weights (.npz) to judge instead of the "
                                                       "shipped ones, e.g. from train_surrogate.py")
    args = parser.parse_args()
    started = time.time()
    corpus = real_curves()
    surrogate = load_surrogate(args.surrogate) if args.surrogate else None
    # Forecasts are made as `samplecast forecast` makes them by default, from the mean of each configuration's seeds,
    # and scored against each seed's own Dice; the one-seed backtest (what a sweep of one seed gives) runs beside.
    together = {name: seeds_together(curves) for name, curves in corpus.items()}
    # Methods fitted per curve are scored on the other core while the held-out backtest runs (except the ensemble's
    # members, which the backtest scores anyway).
    members = {forecaster.name for forecaster in default_members()}
    apart = [m for m in SCORED if m in PER_CURVE and m not in members]
    with ProcessPoolExecutor(max_workers=1) as pool:
        fixed = pool.submit(unlearned_rows, together, apart, args.lcpfn)
        one_seed = pool.submit(held_out_folds, corpus, IMAGES, beside=ONE_SEED, surrogate=surrogate)
        depths = pool.submit(held_out_folds, together, IMAGES, beside=DEPTHS, depths_together=True,
                             surrogate=surrogate)
        results, learned = held_out_folds(together, IMAGES, beside=[m for m in SCORED if m not in apart],
                                          progress=print, surrogate=surrogate)
        results = pd.concat([results, fixed.result()], ignore_index=True)
        one_seed = one_seed.result()[0]
        depths = depths.result()[0]
    transfer = transfer_rows({name: seeds_together(curves) for name, curves in transfer_curves().items()}, learned)
    pd.concat([results, transfer.assign(transfer=True)], ignore_index=True).round(5).to_csv(
        args.output.with_suffix(".csv"), index=False)
    one_seed.round(5).to_csv(args.output.with_name(args.output.stem + "_one_seed.csv"), index=False)
    depths.round(5).to_csv(args.output.with_name(args.output.stem + "_depths_together.csv"), index=False)
    before = pd.read_csv(HERE / "forecast_accuracy_before.csv")
    before = before[before["held_out"].isin(corpus)]  # the real curves; the earlier study also scored others
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    minutes = ((time.time() - started) / 60, *((u.ru_utime + u.ru_stime) / 60 for u in used))
    lines = report(corpus, results, before.assign(width90=before["q95"] - before["q05"]), learned, args, minutes)
    lines += _transfer_section(transfer, results)
    lines += _one_seed_section(one_seed, results)
    lines += _depths_section(depths, results)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output}")


def unlearned_rows(corpus: Mapping[str, Sequence[Curve]], methods: Sequence[str], lcpfn: Path | None) -> pd.DataFrame:
    """Backtest rows of methods that learn nothing from real curves (named ``methods``, and LC-PFN from the checkpoint
    ``lcpfn``, trained on synthetic curves only) on every curve: every image set is held out from them."""
    forecasters = [make_forecaster(name) for name in methods]
    if lcpfn is not None:
        from lcpfn_baseline import LCPFNForecaster, load

        forecasters.append(LCPFNForecaster(load(lcpfn)))
    rows = scored(corpus, IMAGES, forecasters)
    return rows.assign(held_out=rows["images"])


def transfer_rows(curves: Mapping[str, Sequence[Curve]], learned: Mapping[str, LearnedParts]) -> pd.DataFrame:
    """Backtest rows of every method on the transfer curves, each image set held out as for the scratch curves: with
    the parts learned without the transfer curves' image set when the corpus has it, else with the shipped forecaster
    (built from the scratch curves of ``data/``, none of them of these images). Transfer curves are never learned
    from."""
    frames = []
    for name, part in curves.items():
        images = IMAGES.get(name, name)
        parts = learned.get(images)
        forecasters = [make_forecaster(m) for m in PER_CURVE]
        forecasters += (learned_forecasters(parts) if parts is not None
                        else [make_forecaster(m) for m in dict.fromkeys(("lstm", DEFAULT_METHOD))])
        rows = scored({name: part}, IMAGES, forecasters)
        frames.append(rows[rows["method"].isin([*SCORED, "ensemble", DEFAULT_METHOD])].assign(held_out=images))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def noise_floor(corpus: Mapping[str, Sequence[Curve]]) -> pd.DataFrame:
    """Per image set (and pooled): the spread between seeds of Dice at the largest size, over every configuration
    (file, dataset, model, depth) measured with two or more seeds to the same largest size.

    ``sd`` is the mean over configurations of the seeds' standard deviation (ddof 1), ``gap`` the mean absolute
    difference between two seeds of a configuration (for two seeds, ``gap = sqrt(2) * sd``).
    """
    rows = []
    for source, curves in corpus.items():
        finals: dict[tuple, list[float]] = {}
        for curve in curves:
            config = tuple((k, v) for k, v in curve.key.items() if k != "seed") + (("n", curve.n_max),)
            finals.setdefault(config, []).append(float(curve.dice[-1]))
        for dice in (np.array(d) for d in finals.values() if len(d) >= 2):
            rows.append({"images": IMAGES.get(source, source), "seeds": len(dice), "sd": dice.std(ddof=1),
                         "gap": np.mean([abs(a - b) for a, b in itertools.combinations(dice, 2)])})
    table = pd.DataFrame(rows, columns=["images", "seeds", "sd", "gap"])
    table = pd.concat([table, table.assign(images=POOLED)], ignore_index=True)
    return table.groupby("images", sort=False).agg(configurations=("sd", "size"), seeds=("seeds", "max"),
                                                   sd=("sd", "mean"), gap=("gap", "mean"))


def seed_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Each forecast from one seed's prefix, paired with every other seed of its configuration measured to the same
    size (:func:`~samplecast.forecast.folds.with_other_seeds`): whether its 80% interval holds the other seed's Dice
    (``other80``) and its own (``own80``), and the two seeds' gap."""
    paired = with_other_seeds(results)
    paired = paired[paired["curve"].str.contains(" vs seed ", regex=False)]
    own = paired["q50"] - paired["error"]  # the error was scored against the fitted seed's own Dice
    return paired.assign(other80=paired["truth"].between(paired["q10"], paired["q90"]),
                         own80=own.between(paired["q10"], paired["q90"]), gap=(paired["truth"] - own).abs())


def summaries(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize` per held-out image set and pooled over all of them (``held_out`` = ``"all"``), with the
    standard error of the bias (``bias_se``)."""
    keys = ["held_out", "method", "cutoff"]
    both = pd.concat([results, results.assign(held_out=POOLED)], ignore_index=True)
    se = both.groupby(keys, sort=False)["error"].agg(lambda e: e.std(ddof=1) / np.sqrt(len(e))).rename("bias_se")
    return summarize(both, by=keys).merge(se.reset_index(), on=keys)


def targets(table: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """The issue's targets for the default method, measured on :func:`summaries` rows (``table``) of the scored
    ``results``: one row per target with the figures it was judged on and whether it holds."""
    pooled = table[(table["held_out"] == POOLED) & (table["method"] == DEFAULT_METHOD)].set_index("cutoff")
    checks = []
    for cutoff, limit in MAE_TARGETS.items():
        mae = pooled.loc[cutoff, "mae"] if cutoff in pooled.index else np.nan
        rows = results[(results["method"] == DEFAULT_METHOD) & np.isclose(results["cutoff"], cutoff)]
        low, high = configuration_interval(rows, rows["error"].abs())
        checks.append((f"MAE from a {cutoff:.0%} prefix <= {limit}",
                       f"{mae:.4f} ({_k(pooled, cutoff)}; 95% interval over configurations {low:.3f}-{high:.3f})",
                       mae <= limit))
    low, high = COVERAGE80_RANGE
    bias = [f"{cutoff:.0%}: {r.bias:+.4f} +- {r.bias_se:.4f}" for cutoff, r in pooled.sort_index().iterrows()]
    checks.append((f"mean signed error within +-{BIAS_TARGET} at every cutoff (+- its standard error)",
                   ", ".join(bias), bool((pooled["bias"].abs() <= BIAS_TARGET).all())))
    checks.append((f"80% coverage {low:.0%}-{high:.0%} at every cutoff", _per_cutoff(pooled["coverage80"], "{:.0%}"),
                   bool(pooled["coverage80"].between(low, high).all())))
    gaps = family_margins(table)
    worst = gaps.loc[gaps["margin"].idxmax()]
    checks.append((f"on no held-out image set more than {FAMILY_MARGIN} MAE worse than the best single family",
                   f"worst: {worst.held_out} from {worst.cutoff:.0%}, {worst.margin:+.4f} against {worst.best}",
                   bool((gaps["margin"] <= FAMILY_MARGIN).all())))
    return pd.DataFrame(checks, columns=["target", "measured", "met"])


def paired_mae_difference(before: pd.DataFrame, after: pd.DataFrame) -> str:
    """The MAE of ``after`` minus that of ``before`` on the forecasts both scored (same file, curve and cutoff), per
    cutoff, with its 95% interval over configurations: whether a change is larger than this corpus can tell."""
    key = ["source", "curve", "cutoff"]
    paired = before.merge(after[[*key, "error"]], on=key, suffixes=("", "_after"))
    parts = []
    for cutoff, rows in paired.groupby("cutoff", sort=True):
        change = rows["error_after"].abs() - rows["error"].abs()
        low, high = configuration_interval(rows, change)
        parts.append(f"{cutoff:.0%}: {change.mean():+.4f} [{low:+.4f}, {high:+.4f}]")
    return ", ".join(parts)


def family_margins(table: pd.DataFrame) -> pd.DataFrame:
    """Per held-out image set and cutoff: the default method's MAE minus the best single family's, and that family."""
    held = table[table["held_out"] != POOLED]
    families = held[held["method"].isin(FAMILIES)]
    best = families.loc[families.groupby(["held_out", "cutoff"])["mae"].idxmin(),
                        ["held_out", "cutoff", "method", "mae"]]
    default = held[held["method"] == DEFAULT_METHOD][["held_out", "cutoff", "mae"]]
    merged = default.merge(best, on=["held_out", "cutoff"], suffixes=("", "_best"))
    return merged.assign(margin=merged["mae"] - merged["mae_best"], best=merged["method"])


def _per_cutoff(values: pd.Series, fmt: str) -> str:
    return ", ".join(f"{cutoff:.0%}: {fmt.format(value)}" for cutoff, value in values.sort_index().items())


def _k(pooled: pd.DataFrame, cutoff: float) -> str:
    return f"{pooled.loc[cutoff, 'curves']} forecasts" if cutoff in pooled.index else "no forecast"


# --- Markdown -----------------------------------------------------------------------------------------------------

#: The cell formats of the three tables each scope gets: median error, intervals, data needed.
ERROR = ("MAE / bias", lambda r: f"{r.mae:.4f} / {r.bias:+.4f}")
INTERVALS = ("cov80 / w80 - cov90 / w90",
             lambda r: f"{r.coverage80:.0%} / {r.width80:.3f} - {r.coverage90:.0%} / {r.width90:.3f}")
NEEDED = ("needed ratio / within 2x",
          lambda r: f"{_ratio(r.needed_ratio)} / {r.needed_within2x:.0%}")


def _ratio(value: float) -> str:
    return f"{value:.2f}" if np.isfinite(value) else "never"


def grid(table: pd.DataFrame, fmt: tuple[str, Callable], columns: str = "cutoff") -> list[str]:
    """A markdown table of ``table`` rows: one row per method (in :data:`ORDER`), one column per value of
    ``columns`` (each headed with its forecast count ``k``), cells formatted by ``fmt``; a cell over fewer forecasts
    than its column's count says how many."""
    label, cell = fmt
    keys = list(dict.fromkeys(table[columns]))
    keys = sorted((c for c in keys if c != POOLED), key=float) + [c for c in keys if c == POOLED]
    counts = {c: int(table.loc[table[columns] == c, "curves"].max()) for c in keys}
    indexed = table.set_index(["method", columns])
    lines = [f"| method ({label}) | " + " | ".join(f"{_heading(c)} (k {counts[c]})" for c in keys) + " |",
             "|---|" + "---|" * len(keys)]
    for method in _ordered(table["method"]):
        cells = []
        for c in keys:
            if (method, c) not in indexed.index:
                cells.append("-")
                continue
            row = indexed.loc[(method, c)]
            cells.append(cell(row) + (f" (k {row.curves})" if row.curves < counts[c] else ""))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def _heading(column: float | str) -> str:
    return column if isinstance(column, str) else f"{column:.0%}"


def _ordered(methods: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(methods))
    return [m for m in ORDER if m in present] + [m for m in present if m not in ORDER]


def scope(table: pd.DataFrame, held_out: str, formats: Sequence[tuple[str, Callable]]) -> list[str]:
    """The tables of one held-out image set (or of all pooled), one per format, separated by blank lines."""
    rows = table[table["held_out"] == held_out]
    return list(itertools.chain.from_iterable([*grid(rows, fmt), ""] for fmt in formats))[:-1]


def report(corpus: Mapping[str, Sequence[Curve]], results: pd.DataFrame, before: pd.DataFrame,
           learned: Mapping[str, LearnedParts], args: argparse.Namespace,
           minutes: tuple[float, float, float]) -> list[str]:
    """The lines of ``forecast_accuracy.md``; ``minutes`` is the time the backtest took (wall clock, then CPU in this
    process and in the second one)."""
    table = summaries(results)
    floor = noise_floor(corpus)
    sets = sorted(set(results["held_out"]))
    findings = kept_findings(args.output)
    command = ("nice python benchmarks/forecast_accuracy.py" + (f" --lcpfn {args.lcpfn}" if args.lcpfn else "")
               + (f" --surrogate {args.surrogate}" if args.surrogate else ""))
    lines = [
        "# Forecast accuracy on real learning curves of held-out image sets",
        "",
        f"Reproduce: `{command}`"
        + (f" (checkpoint from `nice python benchmarks/lcpfn_baseline.py --epochs 60 -o {args.lcpfn}`)"
           if args.lcpfn else "")
        + f". Machine: {platform.machine()} CPU, {os.cpu_count()} cores shared with other "
        f"work, no GPU, Python {platform.python_version()}, {_torch()}; took {minutes[0]:.1f} min ("
        f"CPU: {minutes[1]:.1f} min in one process, {minutes[2]:.1f} min in the other, run side by side). Every "
        "scored forecast: `forecast_accuracy.csv`; the previous design's: `forecast_accuracy_before.csv`.",
        "",
        *_protocol(corpus, results),
        "",
        *([findings, ""] if findings else []),
        "## Targets for the default method (`" + DEFAULT_METHOD + "`), held out by image set",
        "",
        "Pooled over every held-out image set (MAE and bias of the median at the largest size).",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {t.target} | {t.measured} | {'yes' if t.met else '**no**'} |"
          for t in targets(table, results).itertuples()),
        "",
        "Default method's MAE minus the best single family's (" + ", ".join(FAMILIES) + "), per held-out image set:",
        "",
        *_margins(table),
        "",
        "## Noise floor per image set",
        "",
        "How far two runs that differ only in the seed land apart at the largest size: the truth every forecast is "
        "scored against is one such run. `sd` is the mean over configurations of the standard deviation between "
        "seeds (ddof 1); `gap` the mean absolute Dice difference between two seeds of a configuration.",
        "",
        "| image set | configurations with >= 2 seeds | most seeds | sd | gap |",
        "|---|---|---|---|---|",
        *(_floor_row(images, floor) for images in [*sets, POOLED]),
        "",
        f"## All held-out image sets ({', '.join(sets)})",
        "",
        *scope(table, POOLED, (ERROR, INTERVALS, NEEDED)),
        "",
        *_before_after(results, before),
        "",
        *_seed_section(seed_rows(results)),
        "",
        "## Per held-out image set",
    ]
    for images in sets:
        files = sorted({name for name in corpus if IMAGES.get(name, name) == images})
        sd = f"noise floor sd {floor.loc[images, 'sd']:.4f}" if images in floor.index else "noise floor not measured"
        count = len(results.loc[results["held_out"] == images, ["source", "curve"]].drop_duplicates())
        lines += ["", f"### {images}", "",
                  f"{count} curves from "
                  f"{', '.join(f'`{REAL_DATASETS[n].name}`' for n in files)}; {sd}. Learned without it: "
                  f"{_learned(learned[images])}.", "",
                  *scope(table, images, (ERROR, INTERVALS, NEEDED)),
                  *(_by_file(results[results["held_out"] == images]) if len(files) > 1 else [])]
    return lines


def _one_seed_section(one_seed: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    """The same backtest with every forecast made from one seed's prefix (as a sweep of one seed, or
    ``--seeds-apart``, gives), beside the figures above, for the methods both scored."""
    methods = [m for m in _ordered(one_seed["method"]) if m in set(results["method"])]
    rows = []
    for label, frame in (("one seed", one_seed), ("seeds together", results)):
        part = frame[frame["method"].isin(methods)]
        rows.append(summarize(part, by=["method", "cutoff"]).assign(method=lambda t: t["method"] + f" ({label})"))
    table = pd.concat(rows, ignore_index=True).assign(held_out=POOLED)
    return ["", "## From one seed's prefix", "",
            "The backtest above forecasts each curve from the mean of its configuration's seeds up to the cutoff, as "
            "`samplecast forecast` does by default, and scores it against the seed's own Dice at the largest size. "
            "Here each curve is forecast from its own seed's prefix alone, as a sweep of one seed (or "
            "`--seeds-apart`) gives, on the same curves, held out the same way (`forecast_accuracy_one_seed.csv`); "
            "curves measured with one seed are the same in both.", "",
            *grid(table, ERROR), "", *grid(table, INTERVALS)]


def pinball(results: pd.DataFrame) -> pd.Series:
    """Each forecast's mean pinball loss over the levels of :data:`QUANTILES` against its truth: a proper score of
    the whole forecast, median and intervals together (lower is better)."""
    levels = np.array(QUANTILES)
    diff = results["truth"].to_numpy()[:, None] - results[[quantile_name(q) for q in QUANTILES]].to_numpy()
    return pd.Series(np.maximum(levels * diff, (levels - 1) * diff).mean(axis=1), index=results.index)


def scored_summaries(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`summaries` with each group's mean :func:`pinball` loss (column ``pinball``)."""
    keys = ["held_out", "method", "cutoff"]
    both = pd.concat([results, results.assign(held_out=POOLED)], ignore_index=True)
    loss = both.assign(pinball=pinball(both)).groupby(keys, sort=False)["pinball"].mean().reset_index()
    return summaries(results).merge(loss, on=keys)


PINBALL = ("MAE / bias / cov80 / pinball", lambda r: f"{r.mae:.4f} / {r.bias:+.4f} / {r.coverage80:.0%} / "
                                                     f"{r.pinball:.4f}")


def _depths_section(together: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    """Methods with the depths of a sweep forecast together (``--depths-together``: each part learned from real curves
    learned on such forecasts) beside the same methods forecasting each depth alone (the default, as scored above),
    held out by image set: pooled, and per held-out image set for the default method."""
    methods = sorted(set(together["method"]))
    both = pd.concat([results[results["method"].isin(methods)].assign(method=lambda t: t["method"] + " (apart)"),
                      together.assign(method=lambda t: t["method"] + " (together)")], ignore_index=True)
    table = scored_summaries(both)
    default = table[table["method"].str.startswith(f"{DEFAULT_METHOD} (")]
    lines = ["", "## Depths of one sweep together or apart", "",
             "Above, as `samplecast forecast` does by default, each curve is forecast alone. Here, as `--depths-"
             "together` does, each curve is forecast with the other depths of its sweep cut at the same size (same "
             "file, dataset, model, scenario and seed): its gain beyond its last Dice is the mean of the gains its "
             "method forecasts for them all, and every part learned from real curves (the LSTM's interval correction, "
             "the ensemble's weights and correction) is learned on such forecasts, without the image set scored. "
             "`pinball` is the mean pinball loss over the seven quantile levels, a proper score of the median and the "
             "intervals together.", "",
             *grid(table[table["held_out"] == POOLED], PINBALL), "",
             "MAE together minus apart, paired on the same forecasts, with its 95% interval over configurations "
             "(negative: together is better): "
             + "; ".join(f"`{m}` {paired_mae_difference(*(f[f['method'] == m] for f in (results, together)))}"
                         for m in methods) + ".", "",
             f"`{DEFAULT_METHOD}` per held-out image set:", ""]
    for held_out, part in default[default["held_out"] != POOLED].groupby("held_out", sort=True):
        lines += ["", f"**{held_out}**", "", *grid(part, PINBALL)]
    return lines


def _transfer_section(transfer: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    """Every method on the transfer curves (held out by image set, as above), and the default method on the scratch
    curves of the same images beside them: the figures above hold scratch curves only."""
    if transfer.empty:
        return ["", "## Transfer curves", "", "No transfer curves in `data/transfer/` yet."]
    lines = ["", "## Transfer curves (not in any figure above)", "",
             "Curves of runs that started from weights trained on another image set (`sweep --init-from`), scored "
             "exactly as the scratch curves: every part learned from real curves was learned without the image set "
             "scored, and no transfer curve was ever learned from."]
    for source, rows in transfer.groupby("source", sort=True):
        images = rows["held_out"].iloc[0]
        count = len(rows[["curve"]].drop_duplicates())
        curves = f"{count} curve{'s' if count != 1 else ''} of {images}"
        lines += ["", f"### `{TRANSFER_DATASETS[source].name}` ({curves})", "",
                  *scope(summaries(rows), POOLED, (ERROR, INTERVALS, NEEDED))]
        scratch = results[(results["held_out"] == images) & (results["method"] == DEFAULT_METHOD)]
        if len(scratch):
            both = pd.concat([scratch.assign(method=f"{DEFAULT_METHOD} on scratch curves"),
                              rows[rows["method"] == DEFAULT_METHOD].assign(method=f"{DEFAULT_METHOD} on transfer "
                                                                                   "curves")])
            lines += ["", f"The default method on the scratch and the transfer curves of {images}:", "",
                      *scope(summaries(both), POOLED, (ERROR, INTERVALS))]
    return lines


def _by_file(results: pd.DataFrame) -> list[str]:
    """The default method's MAE / bias / 80% coverage per curves file of one image set (several targets or protocols
    measured on the same images)."""
    rows = summarize(results[results["method"] == DEFAULT_METHOD], by=["source", "cutoff"])
    cutoffs = sorted(rows["cutoff"].unique())
    lines = ["", f"`{DEFAULT_METHOD}` per file (MAE / bias / 80% coverage):", "",
             "| file | " + " | ".join(_heading(c) for c in cutoffs) + " |", "|---|" + "---|" * len(cutoffs)]
    for source, part in rows.groupby("source", sort=True):
        cells = part.set_index("cutoff")
        lines.append(f"| `{REAL_DATASETS[source].name}` | " + " | ".join(
            f"{cells.loc[c, 'mae']:.4f} / {cells.loc[c, 'bias']:+.4f} / {cells.loc[c, 'coverage80']:.0%}"
            if c in cells.index else "-" for c in cutoffs) + " |")
    return lines


def _floor_row(images: str, floor: pd.DataFrame) -> str:
    if images not in floor.index:
        return f"| {images} | 0 | 1 | not measured | not measured |"
    r = floor.loc[images]
    return f"| {images} | {r.configurations:.0f} | {r.seeds:.0f} | {r.sd:.4f} | {r.gap:.4f} |"


def _torch() -> str:
    try:
        return f"torch {importlib.metadata.version('torch')}"
    except importlib.metadata.PackageNotFoundError:
        return "without torch"


def _protocol(corpus: Mapping[str, Sequence[Curve]], results: pd.DataFrame) -> list[str]:
    by_set: dict[str, list[str]] = {}
    for name, curves in corpus.items():
        by_set.setdefault(IMAGES.get(name, name), []).append(f"`{REAL_DATASETS[name].name}` ({len(curves)})")
    described = "; ".join(f"{images}: {', '.join(files)}" for images, files in sorted(by_set.items()))
    return [
        f"Protocol: leave one image set out. The {sum(len(c) for c in corpus.values())} real curves of `data/` (one "
        f"per configuration and seed; in brackets, curves per file) come from {len(by_set)} image sets: {described}. "
        "Each complete curve is cut where its sizes reach 10/20/30/50% of its largest size (a cutoff leaving fewer "
        "than 3 points is skipped, so small pools have no 10% prefix) and each method forecasts Dice at the largest "
        "size from the mean of the curve's configuration's seeds up to the cutoff (as `samplecast forecast` does by "
        "default; a configuration measured with one seed is its own curve), scored against the curve's own seed's "
        "Dice there. Whatever a method learns from real curves (the ensemble's weights and interval correction, the "
        "LSTM's median shift and interval correction) is learned on the other image sets only; the families learn "
        "nothing beyond each curve's own fit; the LSTM's network and LC-PFN learned from synthetic curves only. "
        "Nothing scored was learned from.",
        "",
        "Columns: **MAE** of the median and **bias** (mean of median minus truth) at the largest size; **cov80** / "
        "**cov90** how often the 80% / 90% interval held the truth, **w80** / **w90** their mean widths; **needed "
        "ratio** the median over forecasts of (size at which the median forecast reaches the measured final Dice) / "
        "(final size), 1 being exact, `never` when most forecasts never reach it within 64x; **within 2x** the share "
        "of forecasts whose ratio lies in [0.5, 2]; **k** forecasts per column.",
        "",
        f"Methods: {', '.join(_ordered(results['method']))}."
        + "".join(f" Not scored in this run: `{method}` ({why})." for method, why in NOT_SCORED.items()
                  if method not in set(results["method"])),
    ]


def _margins(table: pd.DataFrame) -> list[str]:
    margins = family_margins(table)
    cutoffs = sorted(margins["cutoff"].unique())
    lines = ["| held out | " + " | ".join(f"{c:.0%}" for c in cutoffs) + " |", "|---|" + "---|" * len(cutoffs)]
    for images, rows in margins.groupby("held_out"):
        cells = rows.set_index("cutoff")
        lines.append(f"| {images} | " + " | ".join(
            f"{cells.loc[c, 'margin']:+.4f} ({cells.loc[c, 'best']})" if c in cells.index else "-" for c in cutoffs)
            + " |")
    return lines


def _before_after(results: pd.DataFrame, before: pd.DataFrame) -> list[str]:
    """Issue 10 point 3: medians of fitted families are best fits, not medians of bootstrap refits."""
    curves = before[["held_out", "curve"]].drop_duplicates().rename(columns={"held_out": "source"})
    after = results.merge(curves, on=["source", "curve"])
    methods = sorted(set(before["method"]) & {"pow3", "pow2", "average", "lstm", DEFAULT_METHOD})
    old = summarize(before[before["method"].isin(methods)], by=("method", "cutoff")).assign(held_out=POOLED)
    new = summarize(after[after["method"].isin(methods)], by=("method", "cutoff")).assign(held_out=POOLED)
    return [
        "## Before and after on the same curves",
        "",
        f"The previous design was scored on {len(curves)} curves ({', '.join(sorted(set(before['held_out'])))}), "
        "before HC18 was measured. `pow3` and `average` then took the median of bootstrap refits as the forecast, and "
        "the `ensemble` stacked the LSTM, `pow3` and `pow2` with weights per extrapolation distance. Before:",
        "",
        *scope(old, POOLED, (ERROR, INTERVALS)),
        "",
        "After, the same curves (the ensemble now also learns from the image sets measured since, when it is not "
        "the one held out):",
        "",
        *scope(new, POOLED, (ERROR, INTERVALS)),
    ]


def _seed_section(pairs: pd.DataFrame) -> list[str]:
    if pairs.empty:
        return ["## Seed variation", "", "No configuration has two seeds measured to the same size."]
    both = pd.concat([pairs, pairs.assign(cutoff=POOLED)], ignore_index=True)
    table = both.groupby(["method", "cutoff"], sort=False).agg(
        curves=("other80", "size"), other80=("other80", "mean"), own80=("own80", "mean"),
        width80=("width80", "mean"), gap=("gap", "mean")).reset_index().assign(held_out=POOLED)
    files = sorted(set(pairs["source"]))
    return [
        "## Seed variation",
        "",
        f"On the multi-seed sweeps ({', '.join(f'`{REAL_DATASETS[n].name}`' for n in files)}), each forecast (held "
        "out as above, from the seeds' mean) is checked against the *other* seeds' measured Dice at the largest "
        "size: the share whose 80% interval held it, then in brackets the same check against the scored seed's own "
        "Dice. Mean Dice gap between the paired seeds at the largest size: " + _per_cutoff(
            pairs.groupby("cutoff")["gap"].mean(), "{:.4f}") + ".",
        "",
        *grid(table, ("other seed in 80% (own)", lambda r: f"{r.other80:.0%} ({r.own80:.0%})")),
    ]


def _learned(parts: LearnedParts) -> str:
    """The parts learned without an image set, in words: the ensemble's weights and interval correction, the LSTM's
    median shift and interval correction."""
    stacking = parts.stacking
    weights = ", ".join(f"{m} {w:.2f}" for m, w in zip(stacking.members, stacking.weights))
    text = f"ensemble {weights}, {_spread(stacking.calibration)}"
    if parts.surrogate is None:
        return text
    shift = parts.surrogate.shift
    moved = ("no shift" if shift is None else
             f"shift rise {shift.rise:.2f}, scale {shift.scale:g} doublings, full gain {shift.full_gain:g}")
    return f"{text}; lstm {moved}, {_spread(parts.surrogate.calibration)}"


def _spread(calibration: SpreadCalibration | None) -> str:
    return ("no correction" if calibration is None else
            f"scale {calibration.scale:.2f}, widen {calibration.widen:.3f}, floor {calibration.floor:.3f}")


if __name__ == "__main__":
    main()

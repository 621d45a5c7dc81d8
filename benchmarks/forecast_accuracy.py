"""How accurate and how honest is each forecasting method on held-out curves? Writes ``forecast_accuracy.md``.

    nice python benchmarks/forecast_accuracy.py --lcpfn /tmp/lcpfn.pt     # about 10 min on 2 CPU cores, 2 with the
                                                                          # parametric backtests cached

Each held-out set is scored separately: every real segmentation dataset in ``data/``, LCDB classification curves
(real curves from another field, from OpenML data sets disjoint from those used for stacking), and synthetic prior
curves (the distribution the surrogate was trained on, as a ceiling). Complete curves are cut at 10/20/30/50% of
their largest size (prefixes of at least 3 points) and each method forecasts the largest size.

Nothing scored is learned from: the LSTM is trained on synthetic curves only; its conformal calibration and the
ensemble's weights are learned, for each held-out set, on the real segmentation datasets (``corpora.stacking_corpus``)
measured on other images (Kvasir-SEG curves are scored with weights learned on LA-2018 curves, and the reverse).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpora import lcdb_scored, stacking_corpus, without_images_of  # noqa: E402
from stacking import PARAMETRIC, fine_tune, fit_stack, lstm_results, parametric_results  # noqa: E402

from samplecast.forecast.backtest import DEFAULT_CUTOFFS, backtest, conformalize, summarize  # noqa: E402
from samplecast.forecast.ensemble import EnsembleForecaster  # noqa: E402
from samplecast.forecast.prior import sample_prior  # noqa: E402
from samplecast.forecast.surrogate import load_surrogate  # noqa: E402

HERE = Path(__file__).resolve().parent
ORDER = ("last1", "pow3", "pow3+conformal", "pow2", "pow4", "mmf4", "wbl4", "exp3", "lcpfn", "lstm (raw)",
         "lstm (raw)+conformal", "lstm", "ensemble")
#: Methods also re-scored with intervals calibrated on the other held-out sets (cross-conformal).
CONFORMALIZED = ("pow3", "lstm (raw)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--surrogate", type=Path, default=None, help="surrogate .pt (default: the shipped one)")
    parser.add_argument("--lcpfn", type=Path, default=None, help="LC-PFN trained by lcpfn_baseline.py")
    parser.add_argument("--lcdb-curves", type=int, default=25)
    parser.add_argument("--prior-curves", type=int, default=25)
    parser.add_argument("--fine-tune-epochs", type=int, default=0,
                        help="fine-tune the LSTM on the real curves of other images before calibrating (0: off)")
    parser.add_argument("--scores", type=Path, default=None,
                        help="re-write the report from a saved forecast_accuracy.csv instead of scoring again")
    parser.add_argument("-o", "--output", type=Path, default=HERE / "forecast_accuracy.md",
                        help="report (markdown); the scores go beside it as .csv")
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if args.scores is not None:
        results, minutes = pd.read_csv(args.scores), None
    else:
        results = score(args)
        results.round(5).to_csv(args.output.with_suffix(".csv"), index=False)
        minutes = (time.time() - started) / 60
    conformal = conformalize(results[results["method"].isin(CONFORMALIZED)], group="held_out")
    write_report(pd.concat([results, conformal], ignore_index=True), args, minutes)


def score(args: argparse.Namespace) -> pd.DataFrame:
    """Backtest every method on every held-out set; one row per (set, curve, cutoff, method)."""
    torch.set_num_threads(1)
    started = time.time()
    raw = load_surrogate(args.surrogate).with_calibration(None)
    stack_pool = stacking_corpus()  # every real dataset is scored, and a stacking source for the other images
    lcdb_test = lcdb_scored(args.lcdb_curves)
    prior_test = sample_prior(args.prior_curves, seed=777_777).curves("prior")
    held_out = {**stack_pool, "lcdb (classification)": lcdb_test, "prior (synthetic)": prior_test}

    lcpfn = None
    if args.lcpfn is not None:
        from lcpfn_baseline import LCPFNForecaster, _patch_for_current_torch

        _patch_for_current_torch()
        lcpfn = torch.load(args.lcpfn, weights_only=False).eval()

    tables = []
    for name, curves in held_out.items():
        corpus = without_images_of(stack_pool, name)
        tuned = fine_tune(raw, corpus, args.fine_tune_epochs)
        calibrated, weights = fit_stack(corpus, tuned)
        members = pd.concat([parametric_results(_slug(name), curves, ("last1", *PARAMETRIC)),
                             lstm_results(curves, calibrated)], ignore_index=True)
        ensemble = backtest(curves, ("ensemble",), DEFAULT_CUTOFFS,
                            factories={"ensemble": lambda: EnsembleForecaster(weights, calibrated)})
        parts = [members, lstm_results(curves, tuned, method="lstm (raw)"), ensemble]
        if lcpfn is not None:
            parts.append(backtest(curves, ("lcpfn",), DEFAULT_CUTOFFS,
                                  factories={"lcpfn": lambda: LCPFNForecaster(lcpfn)}))
        results = pd.concat(parts, ignore_index=True)
        results.insert(0, "held_out", name)
        tables.append(results)
        print(f"{name}: {len(curves)} curves scored ({time.time() - started:.0f}s)", flush=True)
    return pd.concat(tables, ignore_index=True)


def write_report(results: pd.DataFrame, args: argparse.Namespace, minutes: float | None) -> None:
    """Markdown tables per held-out set: methods as rows, cutoffs as column groups. The hand-written ``## Findings``
    section of an existing report is kept, above the tables; re-read it against the new numbers."""
    summary = summarize(results, by=("held_out", "method", "cutoff"))
    findings = _findings(args.output)
    lines = [
        "# Forecast accuracy on held-out learning curves",
        "",
        f"Reproduce: `nice python benchmarks/forecast_accuracy.py"
        f"{' --lcpfn PATH' if args.lcpfn else ''} --lcdb-curves {args.lcdb_curves} --prior-curves {args.prior_curves}`"
        f" (LC-PFN trained by `benchmarks/lcpfn_baseline.py`). Machine: {platform.machine()} CPU, 2 cores shared, "
        f"no GPU{f'; took {minutes:.0f} min' if minutes is not None else ''}. Every scored forecast: "
        f"`{(args.scores or args.output.with_suffix('.csv')).name}`.",
        "",
        *([findings, "", "## Tables", ""] if findings else []),
        "Per method and cutoff (share of the largest size observed): **MAE** of the median at the largest size, "
        "**bias** (median minus truth), **cov80/cov90** (how often the 80%/90% interval held the truth), "
        "**w80** (mean 80% interval width), **need** (median data-needed ratio: the size at which the median "
        "forecast reaches the Dice measured at the largest size, over that size; 1 is exact, 2 means twice the data "
        "a planner needed; inf: never reached within 64x), **2x** (share of forecasts whose data-needed ratio is "
        "within a factor 2), **k** (forecasts scored). A cutoff is scored where the prefix has at least "
        "3 points. `lstm (raw)` is the network's own intervals; `lstm` and `ensemble` carry the conformal calibration "
        "learned without the held-out set; `+conformal` rows widen a method's intervals by a calibration learned on "
        "the other held-out sets (`samplecast.forecast.backtest.conformalize`).",
    ]
    for name, block in summary.groupby("held_out", sort=False):
        cutoffs = sorted(block["cutoff"].unique())
        lines += ["", f"## {name}", "", "| method | " + " | ".join(
            f"{c:.0%}: MAE / bias / cov80 / cov90 / w80 / need / 2x (k)" for c in cutoffs) + " |",
            "|---|" + "---|" * len(cutoffs)]
        for method in [m for m in ORDER if m in set(block["method"])]:
            cells = []
            for cutoff in sorted(block["cutoff"].unique()):
                row = block[(block["method"] == method) & (block["cutoff"] == cutoff)]
                if row.empty:
                    cells.append("-")
                    continue
                r = row.iloc[0]
                cells.append(f"{r.mae:.3f} / {r.bias:+.3f} / {r.coverage80:.0%} / {r.coverage90:.0%} / "
                             f"{r.width80:.3f} / {r.needed_ratio:.2f} / {r.needed_within2x:.0%} ({r.curves})")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    args.output.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output}")


def _findings(report: Path) -> str:
    """The ``## Findings`` section of an existing report (up to the next ``## `` heading), or an empty string."""
    text = report.read_text() if report.exists() else ""
    start = text.find("\n## Findings")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start + 1:end if end >= 0 else len(text)].strip()


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


if __name__ == "__main__":
    main()

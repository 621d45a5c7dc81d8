"""Write and execute ``forecast_walkthrough.ipynb``; run after an API change (nbformat, nbclient and ipykernel are in
the ``dev`` extra), and commit the result.

    python notebooks/build_walkthrough.py

The notebook is kept as source here, so a change to it is a reviewable diff, and its committed outputs come from one
clean top-to-bottom run. ``tests/test_notebook.py`` builds and executes it the same way, so a change that breaks it
fails the tests.
"""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

CELLS = [
    ("md", """# Forecasting how many cases to annotate: the library API

This notebook walks through samplecast's Python API on the learning curves shipped with it: a residual U-Net trained
on nested fractions (2% to 100%) of the 800 training images of Kvasir-SEG, at three depths
(`data/kvasir_reference_curves.csv`). It answers the planner's question, *how many images must we annotate to reach
Dice 0.80?*, the way `samplecast forecast` and `samplecast report` do, one step at a time.

The same steps on the command line:

```
samplecast forecast data/kvasir_reference_curves.csv --target-dice 0.8 --pool-size 3000 --cost-per-case 5 --json forecast.json
samplecast report --plan forecast.json -o report.pdf
```"""),
    ("code", """from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display

CURVES = Path("..") / "data" / "kvasir_reference_curves.csv"
pd.read_csv(CURVES)"""),
    ("md", """## 1. Load the curves

`load_curves` validates the table (every problem is reported at once, as one `InputError`) and groups the rows into
curves keyed by `(dataset, model, depth)`: the seeds of a configuration are one curve of their mean, which forecasts
better than any one seed (`average_seeds=False` keeps a curve per seed). A `Curve` holds the distinct sizes `n`, the
mean Dice at each, and the spread across seeds where there are several."""),
    ("code", """from samplecast.curves import load_curves

curves = load_curves(CURVES)
for curve in curves:
    print(f"{curve.label:40s} n = {curve.n.astype(int).tolist()}  Dice = {curve.dice.round(3).tolist()}")"""),
    ("md", """## 2. Forecast one curve

Every forecaster is an estimator object, like a scikit-learn estimator: its options go to the constructor,
`fit_curve(curve)` learns, and `predict_quantiles(n, levels)` gives quantiles of Dice at any sizes. `make_forecaster`
turns a method name into one; `forecast_curve` fits a clone of it on a curve and tabulates the standard quantiles on
a doubling grid up to the pool size. The default method, `lstm` (the command line's default too), is a small LSTM
pre-trained on synthetic learning curves, with a shift of its median and a widening of its intervals learned on the
real segmentation sweeps in `data/`."""),
    ("code", """from samplecast.forecast.methods import DEFAULT_METHOD, METHOD_NAMES, make_forecaster
from samplecast.forecast.predict import forecast_curve

print("methods:", ", ".join(METHOD_NAMES), "| default:", DEFAULT_METHOD)
forecaster = make_forecaster(DEFAULT_METHOD)
depth5 = curves[1]
fc = forecast_curve(depth5, forecaster, pool_size=3000)
pd.DataFrame(fc.records()).set_index("n")"""),
    ("md", """The fitted model answers any other question too, e.g. the 80% interval of Dice at 1,500 cases:"""),
    ("code", """q10, q50, q90 = fc.model.predict_quantiles([1500], (0.1, 0.5, 0.9))[0]
print(f"Dice at 1,500 cases: {q50:.3f} (80% interval {q10:.3f} to {q90:.3f})")"""),
    ("md", """## 3. Recommend a size

`recommend` reads the planner's answers off the forecaster's quantiles: the smallest `n` whose 20% quantile reaches
the target (Dice at least 0.80 with 80% confidence: at least 4 chances in 5), the median-forecast size and the range
of sizes at the same 80%, where doubling the data stops paying, and the costs. No answer exceeds the pool: a target
the pool cannot reach is said so, with the size the forecast would need beyond it given separately."""),
    ("code", """from samplecast.plan import PlanOptions, recommend

options = PlanOptions(target_dice=0.80, confidence=0.8, pool_size=3000, cost_per_case=5)
rec = recommend(fc.model, depth5, options)
for sentence in rec.sentences():
    print(sentence)"""),
    ("code", """rec.to_dict()"""),
    ("md", """## 4. All configurations at once

`plan_curves` is what `samplecast forecast` runs: a forecast and a recommendation per curve. Comparing depths shows
which configuration is the cheaper way to the target."""),
    ("code", """from samplecast.plan import plan_curves

plans = plan_curves(curves, options, forecaster)
pd.DataFrame([
    {"curve": p.forecast.curve.label, "Dice now": p.forecast.curve.dice[-1],
     "n for Dice 0.80": p.recommendation.n_for_target, "80% range of n": p.recommendation.n_target_range,
     "more cases": p.recommendation.additional_to_target, "cost": p.recommendation.cost_to_target,
     "plateau from": p.recommendation.n_plateau, "Dice at 3,000": p.recommendation.dice_at_pool["q50"]}
    for p in plans
]).set_index("curve").convert_dtypes()"""),
    ("md", """The report's table of target levels is read off the forecast by the same search as the recommendation
(one search per curve), so it matches it exactly (`<NA>` where a level is not reached within the pool):"""),
    ("code", """from dataclasses import asdict

pd.DataFrame([asdict(row) for row in plans[1].targets]).set_index("target_dice").convert_dtypes()"""),
    ("md", """## 5. Plot

A learning curve with its forecast, drawn from `predict_quantiles` on a fine grid (log-scaled size axis: each step
to the right multiplies the data)."""),
    ("code", """import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.5, 3.6))
for plan, color in zip(plans, ["tab:blue", "tab:orange", "tab:green"]):
    curve, model = plan.forecast.curve, plan.forecast.model
    n = np.geomspace(curve.n[0], 3000, 200)
    q = model.predict_quantiles(n, (0.1, 0.5, 0.9))
    ax.fill_between(n, q[:, 0], q[:, 2], color=color, alpha=0.15, lw=0)
    ax.plot(n, q[:, 1], color=color, label=f"depth {curve.key['depth']}")
    ax.plot(curve.n, curve.dice, "o", color=color, mfc="white")
ax.axhline(0.80, color="grey", ls="--", lw=0.8)
ax.set(xscale="log", xlabel="training cases (n)", ylabel="test Dice", title="Kvasir-SEG: forecast with 80% intervals")
ax.legend(frameon=False)
plt.show()"""),
    ("md", """`plan_document` computes everything the report shows into one typed document, a `PlanDocument` (what
`samplecast forecast --json` writes with `to_json()`, and `report --plan` reads back with `PlanDocument.read`); the
report's figures draw it without calling the model again. Its own figure, one panel per configuration, with the target
and the recommended sizes marked:"""),
    ("code", """from samplecast.plan import plan_document
from samplecast.report.figures import learning_curves_figure

document = plan_document(plans, DEFAULT_METHOD, source=CURVES)
learning_curves_figure(document.curves)"""),
    ("md", """## 6. How wrong has the forecaster been?

A backtest cuts complete curves short, forecasts the largest size from the part kept, and scores the forecast
against the measurement. Here the classical methods and the default one on these curves (the default method has
learned from them, so its line is in-sample: the figures a report quotes come from the leave-one-dataset-out backtest
shipped with the package (written by `samplecast surrogate build`), where every image set is scored by a method learned
without it)."""),
    ("code", """from samplecast.forecast.evaluate import backtest, summarize

results = backtest(curves, [make_forecaster(m) for m in ("last1", "pow3", DEFAULT_METHOD)], cutoffs=[0.2, 0.5])
summarize(results).round(3)"""),
    ("md", """## 7. The report

`render_report` typesets the plan document as the planner's PDF; `samplecast report` is this with the command
line's options, and `samplecast report --plan forecast.json` renders a document `forecast --json` wrote."""),
    ("code", """import tempfile

from pypdf import PdfReader

from samplecast.report import render_report

path = render_report(document, Path(tempfile.mkdtemp()) / "kvasir_report.pdf")
print(f"{path.name}: {len(PdfReader(path).pages)} pages")"""),
]


def build() -> nbformat.NotebookNode:
    """The notebook, unexecuted."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    make = {"md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    notebook.cells = [make[kind](source) for kind, source in CELLS]
    return notebook


def execute(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` run top to bottom in a fresh kernel, from this folder (its paths are relative to it); a cell
    that raises raises here."""
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    return notebook


def main() -> None:
    path = HERE / "forecast_walkthrough.ipynb"
    nbformat.write(execute(build()), path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

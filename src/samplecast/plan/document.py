"""The plan document: every number and sentence a report shows, computed once by :func:`plan_document`, written as
versioned JSON by ``samplecast forecast --json`` and read back, checked field by field, by
:meth:`PlanDocument.read` for ``samplecast report --plan``, so the PDF and the JSON cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from samplecast import __version__, schema
from samplecast.curves import as_paths, sources_words
from samplecast.errors import InputError, raise_if_any
from samplecast.files import check_input_file, put_text
from samplecast.forecast.base import QUANTILES
from samplecast.forecast.folder import ForecasterFolder
from samplecast.forecast.predict import DEFAULT_REACH
from samplecast.forecast.together import SweepMean
from samplecast.plan import sentences
from samplecast.plan.options import PlanOptions
from samplecast.plan.recommendation import CurvePlan
from samplecast.plan.scenarios import ScenarioComparison, compare_scenarios
from samplecast.schema import NON_EMPTY, OMIT_EMPTY, SIZE, UNIT
from samplecast.plan.trust import Trust, trust_figures
from samplecast.plan.views import (
    MIN_DRAWN,
    PRICED_GAIN,
    CurveView,
    beyond_pool_column,
    curve_view,
    default_title,
    short_labels,
    value_step,
)

#: Version of the plan document's layout.
DOCUMENT_FORMAT = 3
#: The largest plan document read, in bytes (a document of 100 curves is under 2 MB).
MAX_BYTES = 20 * 1024 * 1024
#: The longest title a document holds.
MAX_TITLE = 500


@dataclass(frozen=True)
class CurvesFile:
    """A curves table a plan was made from, and its SHA-256."""

    path: str
    sha256: str


@dataclass(frozen=True)
class Source:
    """The curves tables a plan came from (none for curves made in memory), the runs used, whether seeds were
    averaged into one curve per configuration, and whether the depths of a sweep were forecast together (false in
    documents written before they could be)."""

    files: tuple[CurvesFile, ...]
    runs: int = field(metadata=SIZE)
    average_seeds: bool
    depths_together: bool = False


@dataclass(frozen=True)
class Captions:
    """What each figure and table of the report shows, in words: the learning curves, the target table, the title
    of the expected-Dice table, the marginal value, and how the plan in rounds is made."""

    learning_curves: str
    targets: str
    expected: str
    marginal: str
    rounds: str


@dataclass(frozen=True)
class PlanDocument:
    """Everything a report shows, and where it came from.

    Args:
        format: :data:`DOCUMENT_FORMAT`.
        method: the forecasting method's name.
        forecaster: ``"shipped"`` or the forecaster folder the plans were forecast with.
        quantiles: the levels of each curve's forecast table.
        options: what the planner asked for.
        title: the report's title (at most :data:`MAX_TITLE` characters).
        subtitle: the line under it: the curves file, the method and the date.
        question: the question in words, ending with what the confidence means.
        best_configuration: the configuration reaching the target with the fewest cases, in words (several curves).
        source: the curves files, their checksums, the runs used.
        created: when the plan was made (``YYYY-MM-DD HH:MM UTC``).
        versions: samplecast, Python and the packages it ran with.
        value_step: the cases marginal gains are priced in.
        warnings: the curves' warnings, in one list.
        captions: what each figure and table shows, in words.
        curves: one :class:`~samplecast.plan.views.CurveView` per curve (each with its recommendation, whose
            ``next_round`` is carried as it is).
        trust: the backtests and caveats (:class:`~samplecast.plan.trust.Trust`).
        comparisons: the scenarios of one configuration side by side
            (:class:`~samplecast.plan.scenarios.ScenarioComparison`); empty, and then left out of the JSON, when no
            configuration was measured under two scenarios, so such a document reads as it did before scenarios.

    Example:
        >>> document = plan_document(plans, "ensemble", source="curves.csv")   # doctest: +SKIP
        >>> PlanDocument.from_json(document.to_json()) == document             # doctest: +SKIP
        True
    """

    format: int
    method: str
    forecaster: str
    quantiles: tuple[float, ...] = field(metadata=UNIT)
    options: PlanOptions
    title: str = field(metadata={"max_length": MAX_TITLE})
    subtitle: str
    question: str
    best_configuration: str | None
    source: Source
    created: str
    versions: dict[str, str]
    value_step: int = field(metadata=SIZE)
    warnings: tuple[str, ...]
    captions: Captions
    curves: tuple[CurveView, ...] = field(metadata=NON_EMPTY)
    trust: Trust
    comparisons: tuple[ScenarioComparison, ...] = field(default=(), metadata=OMIT_EMPTY)

    def __post_init__(self) -> None:
        problems = [f"comparisons[{i}].{side}.curve: {answer.curve} is not one of the {len(self.curves)} curves"
                    for i, c in enumerate(self.comparisons) for side, answer in (("baseline", c.baseline),
                                                                                 ("alternative", c.alternative))
                    if answer.curve >= len(self.curves)]
        raise_if_any(problems)

    def to_dict(self) -> dict[str, Any]:
        """The document as plain JSON values."""
        return schema.dump(self)

    def to_json(self) -> str:
        """The document as JSON text (what ``samplecast forecast --json`` writes)."""
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, document: Any, origin: str = "plan") -> PlanDocument:
        """A document from JSON values, checked field by field.

        Raises:
            InputError: one line per problem, each naming ``origin`` and the field's path.
        """
        if isinstance(document, dict) and document.get("format") == 2:
            document = _from_format_2(document)
        if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
            found = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise InputError(f"{origin}: not a samplecast plan document of format {DOCUMENT_FORMAT} (found "
                             f"{found!r}); write one with samplecast forecast --json")
        return schema.load(cls, document, origin)

    @classmethod
    def from_json(cls, text: str, origin: str = "plan") -> PlanDocument:
        """A document from JSON text (see :meth:`from_dict`)."""
        try:
            return cls.from_dict(json.loads(text), origin)
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
        except RecursionError:
            raise InputError(f"{origin}: nested too deeply to be a plan document") from None

    @classmethod
    def read(cls, path: str | Path) -> PlanDocument:
        """The document in the file ``path``: a regular file of at most :data:`MAX_BYTES`, checked before it is
        parsed, then read as :meth:`from_json`.

        Raises:
            InputError: one line per problem, each naming ``path``.
        """
        path = check_input_file(path, "a plan document (JSON written by samplecast forecast --json)", MAX_BYTES)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.reason} at byte {exc.start})") from None
        return cls.from_json(text, str(path))

    def write(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` (its folder made if needed)."""
        return put_text(path, self.to_json())


def plan_document(
    plans: Sequence[CurvePlan],
    method: str,
    *,
    source: str | Path | Sequence[str | Path] | None = None,
    created: datetime | None = None,
    folder: ForecasterFolder | None = None,
    backtest_summary: dict[str, Any] | None = None,
    comparisons: Sequence[ScenarioComparison] | None = None,
) -> PlanDocument:
    """The plan document: every number, sentence and warning the report shows, and where it came from.

    Args:
        plans: from :func:`~samplecast.plan.recommendation.plan_curves`.
        method: the forecasting method's name.
        source: the curves file (or files) the plans came from (checksummed, named in the report).
        created: when it was made; default now.
        folder: the forecaster folder the plans were forecast with (:class:`ForecasterFolder`), named in the document;
            default the one shipped with the package.
        backtest_summary: the out-of-sample backtest of the methods as its JSON document (see
            :mod:`samplecast.forecast.evaluate.summary`); default the one in ``folder``.
        comparisons: the scenarios compared (:func:`~samplecast.plan.scenarios.compare_scenarios` of ``plans``,
            computed when not given).
    """
    from samplecast.forecast.evaluate import read_summary

    if not plans:
        raise ValueError("a plan document needs at least one curve plan")
    curves = [p.forecast.curve for p in plans]
    step = value_step(max(c.n_max for c in curves))
    views = tuple(curve_view(p, label, step) for p, label in zip(plans, short_labels(curves)))
    options = plans[0].options
    created = (created or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    folder = folder or ForecasterFolder.open()
    summary = (read_summary(folder.backtest_summary(), str(folder.summary)) if backtest_summary is None
               else read_summary(backtest_summary))
    paths = as_paths(source)
    files = tuple(CurvesFile(str(p), hashlib.sha256(Path(p).read_bytes()).hexdigest()) for p in paths)
    runs = int(sum(c.count.sum() for c in curves))
    reaches = [(v.recommendation.n_for_target / v.recommendation.n_observed, v.label) for v in views
               if v.recommendation.n_for_target is not None and v.recommendation.n_observed > 0]
    return PlanDocument(
        format=DOCUMENT_FORMAT, method=method, forecaster=folder.name, quantiles=tuple(QUANTILES), options=options,
        title=default_title(curves),
        subtitle=sentences.subtitle(sources_words(paths) if paths else None, len(views), runs, method, created),
        question=sentences.question(options),
        best_configuration=sentences.best_configuration(
            options, [(v.recommendation.n_for_target, v.short_label, v.recommendation.n_observed) for v in views]),
        source=Source(files, runs, all("seed" not in c.key for c in curves),
                      any(isinstance(p.forecast.model, SweepMean) for p in plans)),
        created=created,
        versions=_versions(),
        value_step=step,
        warnings=plan_warnings(plans, paths),
        captions=Captions(sentences.learning_curves_caption(options, DEFAULT_REACH, MIN_DRAWN),
                          sentences.targets_caption(options, beyond_pool_column(views)),
                          sentences.expected_title(options, DEFAULT_REACH),
                          sentences.marginal_caption(step, options, PRICED_GAIN), sentences.rounds_caption(options)),
        curves=views,
        trust=trust_figures(method, curves, plans[0].forecast.model, paths, summary, reaches, folder.name),
        comparisons=tuple(compare_scenarios(plans) if comparisons is None else comparisons),
    )


def plan_warnings(plans: Sequence[CurvePlan], source: str | Path | Sequence[str | Path] | None = None
                  ) -> tuple[str, ...]:
    """Every warning of a plan: each curve's, then one per curves table (``source``) whose sweep record says its
    convergence check failed (:func:`~samplecast.train.record.budget_warnings`)."""
    from samplecast.train.record import budget_warnings

    return (*(w for p in plans for w in p.warnings), *budget_warnings(as_paths(source)))


def _versions() -> dict[str, str]:
    from samplecast.versions import package_versions

    installed = package_versions(("numpy", "scipy", "pandas", "statsmodels", "torch", "matplotlib", "fpdf2"))
    return {"samplecast": __version__, "python": platform.python_version(),
            **{k: v or "not installed" for k, v in installed.items()}}


def _from_format_2(document: dict[str, Any]) -> dict[str, Any]:
    """A plan document of format 2 (one curves file, ``source.file`` and ``source.sha256``) in format 3's layout."""
    source = document.get("source")
    if not isinstance(source, dict) or "files" in source:
        return {**document, "format": DOCUMENT_FORMAT}
    file, sha256 = source.get("file"), source.get("sha256")
    files = [] if file is None and sha256 is None else [{"path": file, "sha256": sha256}]
    kept = {k: v for k, v in source.items() if k not in ("file", "sha256")}
    return {**document, "format": DOCUMENT_FORMAT, "source": {"files": files, **kept}}

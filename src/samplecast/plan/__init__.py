"""The plan: options, the recommendation search, curve views, trust figures, every sentence a planner reads, and the
typed, versioned plan document. May import curves, forecast, errors and the sweep record beside a curves table
(``train.record``); never report or cli.
"""

from samplecast.plan.document import (
    DOCUMENT_FORMAT,
    MAX_BYTES,
    Captions,
    CurvesFile,
    PlanDocument,
    Source,
    plan_document,
    plan_warnings,
)
from samplecast.forecast.rounds import DEFAULT_SHORTFALL, RoundPlan, RoundPlanner
from samplecast.plan.options import DEFAULT_ROUNDS, HORIZON_FACTOR, PlanOptions, check_pool, interval_levels
from samplecast.plan.recommendation import (
    CurvePlan,
    PlanProgress,
    Recommendation,
    TargetRow,
    curve_warnings,
    dice_at,
    plan_curves,
    reach,
    recommend,
    target_levels,
    target_table,
)
from samplecast.plan.scenarios import ScenarioAnswer, ScenarioComparison, compare_scenarios
from samplecast.plan.sentences import chances, confidence_words
from samplecast.plan.trust_sentences import CAVEATS
from samplecast.plan.trust import (
    OWN_CUTOFFS,
    BacktestSet,
    DecisionRow,
    OwnTrust,
    ShippedTrust,
    Trust,
    TrustRow,
    own_trust,
    shipped_trust,
)
from samplecast.plan.views import (
    Band,
    CurveView,
    Expected,
    Marginal,
    MarginalPoint,
    Observed,
    default_title,
    marginal_value,
    short_labels,
    value_step,
)

__all__ = [
    "CAVEATS", "DEFAULT_ROUNDS", "DEFAULT_SHORTFALL", "DOCUMENT_FORMAT", "HORIZON_FACTOR", "MAX_BYTES", "OWN_CUTOFFS",
    "Band", "BacktestSet", "Captions", "CurvesFile", "DecisionRow", "CurvePlan", "CurveView", "Expected", "Marginal",
    "MarginalPoint", "Observed", "OwnTrust", "PlanDocument", "PlanOptions", "PlanProgress", "Recommendation",
    "RoundPlan", "RoundPlanner", "ScenarioAnswer", "ScenarioComparison", "ShippedTrust", "Source", "TargetRow", "Trust",
    "TrustRow", "chances", "check_pool", "compare_scenarios", "confidence_words", "curve_warnings", "default_title",
    "dice_at", "interval_levels", "marginal_value",
    "own_trust", "plan_curves", "plan_document", "plan_warnings", "reach", "recommend", "shipped_trust", "short_labels",
    "target_levels", "target_table", "value_step"
]

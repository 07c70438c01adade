"""Fairness of access (均好度): Gini, Lorenz curves, worst decile, ranking of units.

:mod:`~geoplan.fairness.measures` holds the measures (functions of values and
weights); :mod:`~geoplan.fairness.result` the analysis of an audit, declared
as :data:`ANALYSIS` (it uses the life-circle and compound results when they ran).
"""

from ..analysis import Analysis
from .measures import gini, inequality_table, lorenz, rank_units, weighted_mean, weighted_quantile, worst_decile
from .result import (
    DEFAULTS,
    FairnessResult,
    category_distances_capped,
    fairness_for_audit,
    park_distances,
    run_fairness,
)

__all__ = [
    "ANALYSIS",
    "DEFAULTS",
    "FairnessResult",
    "category_distances_capped",
    "fairness_for_audit",
    "gini",
    "inequality_table",
    "lorenz",
    "park_distances",
    "rank_units",
    "run_fairness",
    "weighted_mean",
    "weighted_quantile",
    "worst_decile",
]

#: The fairness analysis of an audit (after the life circles and the compound model, when asked for).
ANALYSIS = Analysis("fairness", fairness_for_audit, uses=("lifecircle", "compounds"))

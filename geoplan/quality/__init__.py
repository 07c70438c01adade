"""Trust in every figure (issue #17): how complete the data behind each figure is, and the range it could take.

:mod:`~geoplan.quality.completeness` measures the map per unit (residential land
far from any walkable way, footway share of the network, built-up land with a
mapped land use, facilities against GB 50180, parks against a register) and
grades it; :mod:`~geoplan.quality.sensitivity` recomputes the headline coverage
figures over the choices that move them (park definition, access-point rule,
snap distance, walking speed, mapped vs inferred residential land).  The
analysis of an audit is declared as :data:`ANALYSIS`; its thresholds are in
``presets/quality.yaml``.
"""

from ..analysis import Analysis
from .completeness import (
    MEASURES,
    facility_supply,
    footway_share,
    grade,
    grade_units,
    landuse_mapped,
    register_match,
    residential_far_from_ways,
)
from .result import QualityResult, load_settings, quality_for_audit, run_quality
from .sensitivity import CHOICES, Sensitivity, SensitivityRun, run_sensitivity

__all__ = [
    "ANALYSIS",
    "CHOICES",
    "MEASURES",
    "QualityResult",
    "Sensitivity",
    "SensitivityRun",
    "facility_supply",
    "footway_share",
    "grade",
    "grade_units",
    "landuse_mapped",
    "load_settings",
    "quality_for_audit",
    "register_match",
    "residential_far_from_ways",
    "run_quality",
    "run_sensitivity",
]

#: The trust analysis of an audit (after the life circles, whose facilities it counts).
ANALYSIS = Analysis("quality", quality_for_audit, uses=("lifecircle",))

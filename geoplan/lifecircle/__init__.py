"""15-minute community life circles (十五分钟社区生活圈): what every home reaches on foot.

Public API
----------
life_circle(network, origins, facilities, rules)
    Per origin: walking distance/time to the nearest facility of every category
    (one bounded kernel pass per category), categories reached at 5/10/15
    minutes, completeness.
isochrones(network, points, minutes=(5, 10, 15), speed_kmh=4.5, buffer_m=25)
    Walking areas from the reached street network (never convex hulls).
e2sfca(network, origins, population, facilities, capacity, threshold_m=1000)
    Enhanced two-step floating catchment with a Gaussian decay.
load_lifecircle_rules("gb50180")
    The preset (levels, walking profiles, categories and their OSM tags, local catchments).
run_lifecircle(audit_result)
    The analysis of an audit (declared as :data:`ANALYSIS`).
"""

from ..analysis import Analysis
from .access import completeness, life_circle, scenario_change, summarise_units
from .facilities import osm_facilities, read_register, snap_facilities
from .isochrones import isochrones
from .origins import grid_origins, origins_from_audit
from .result import LifeCircleResult, run_lifecircle, run_lifecircle_for_audit
from .rules import LifeCircleRules, load_lifecircle_rules
from .supply import e2sfca, e2sfca_from_distances, gaussian_weight

__all__ = [
    "ANALYSIS",
    "LifeCircleResult",
    "LifeCircleRules",
    "completeness",
    "e2sfca",
    "e2sfca_from_distances",
    "gaussian_weight",
    "grid_origins",
    "isochrones",
    "life_circle",
    "load_lifecircle_rules",
    "origins_from_audit",
    "osm_facilities",
    "read_register",
    "run_lifecircle",
    "scenario_change",
    "snap_facilities",
    "summarise_units",
]


def reach_m(cfg) -> float:  # noqa: ANN001
    """Farthest walk the life-circle analysis measures under an audit configuration."""
    s = dict(cfg.extra.get("lifecircle") or {})
    rules = load_lifecircle_rules(s.get("preset", "gb50180"), s)
    return max(rules.search_limit(c, float(s.get("search_limit_m") or 0)) for c in rules.category_ids)


#: The life-circle analysis of an audit.
ANALYSIS = Analysis("lifecircle", run_lifecircle_for_audit, reach_m=reach_m)

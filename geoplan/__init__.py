"""geoplan: spatial planning indicators from OpenStreetMap.

Park service-radius coverage, greenway connectivity and 15-minute life
circles, measured by straight line and by walking distance, per district and
per sub-district, written as maps and tables for planning reports.

The public API::

    import geoplan
    cfg = geoplan.load_config(pbf="xicheng.osm.pbf", units="jiedao.gpkg")
    result = geoplan.run_audit(cfg)
    geoplan.write_audit(result, "out/xicheng-2025")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .audit import AuditResult, run_audit
from .compare import compare_audits, write_comparison
from .config import AuditConfig, Rules, Tier, list_presets, load_config, load_rules
from .errors import DataError, GeoplanError, GeoplanWarning, UsageError
from .network import Reach, Snapped, Sources, WalkNetwork, build_network, multi_source, point_distances, reached_edge_parts
from .outputs import write_audit
from .parks import access_points, park_coverage, select_parks, site_pocket_parks
from .residents import residential_cells
from .sources.osm import OSMSource, bundled_sample
from .study import Study, load_study

# analyses that join every audit (each registers itself with geoplan.registry)
from . import lifecircle, greenways, compounds, fairness  # noqa: E402,F401  isort: skip

__all__ = [
    "__version__",
    "AuditConfig", "AuditResult", "Rules", "Tier", "load_config", "load_rules", "list_presets",
    "GeoplanError", "UsageError", "DataError", "GeoplanWarning",
    "WalkNetwork", "Sources", "Snapped", "Reach", "build_network", "multi_source", "point_distances", "reached_edge_parts",
    "OSMSource", "bundled_sample", "Study", "load_study", "residential_cells",
    "select_parks", "access_points", "park_coverage", "site_pocket_parks",
    "run_audit", "write_audit", "compare_audits", "write_comparison",
]

"""geoplan: spatial planning indicators from OpenStreetMap.

Park service-radius coverage, greenway connectivity and 15-minute life
circles, measured by straight line and by walking distance, per district and
per sub-district, written as maps and tables for planning reports.

The public API::

    import geoplan
    cfg = geoplan.load_config(pbf="xicheng.osm.pbf", units="jiedao.gpkg")
    result = geoplan.run_audit(cfg)
    geoplan.write_audit(result, "out/xicheng-2025")

The package is built in floors, each importing only from the floors below
(see ``docs/ARCHITECTURE.md``): base (``errors``, ``settings``, ``i18n``,
private ``_util``/``_folder``), inputs and kernel (``sources``, ``config``,
``network``, ``study``), analyses (``parks``, ``lifecircle``, ``greenways``,
``compounds``, ``fairness``, ``whatif``, ``compare``, ``audit``), present
(``maps``, ``presenters``, ``report``, ``outputs``, ``batch``) and command (``cli``).
"""

from __future__ import annotations

from ._version import __version__
from .audit import ANALYSES, AuditResult, run_audit
from .analysis import Analysis
from .compare import compare_audits
from .config import AuditConfig, Rules, Tier, list_presets, load_config, load_rules
from .errors import DataError, GeoplanError, GeoplanWarning, UsageError
from .network import Reach, Snapped, Sources, WalkNetwork, build_network, multi_source, point_distances, reached_edge_parts
from .outputs import write_audit
from .parks import access_points, park_coverage, select_parks, site_pocket_parks
from .presenters.compare import write_comparison
from .residents import residential_cells
from .sources.osm import OSMSource, bundled_sample
from .study import Study, load_study

__all__ = [
    "__version__",
    "AuditConfig", "AuditResult", "Rules", "Tier", "load_config", "load_rules", "list_presets",
    "Analysis", "ANALYSES",
    "GeoplanError", "UsageError", "DataError", "GeoplanWarning",
    "WalkNetwork", "Sources", "Snapped", "Reach", "build_network", "multi_source", "point_distances", "reached_edge_parts",
    "OSMSource", "bundled_sample", "Study", "load_study", "residential_cells",
    "select_parks", "access_points", "park_coverage", "site_pocket_parks",
    "run_audit", "write_audit", "compare_audits", "write_comparison",
]

"""Greenway connectivity (绿道连通性): components, gaps, links to build, and what the network connects.

Usable on its own::

    from geoplan.greenways import (read_greenway_layers, greenway_network, connectivity_indices,
                                   find_gaps, joining_links, corridor_continuity)
    segs = read_greenway_layers(["环二环城市绿道.geojson"], datum="gcj02").to_crs("EPSG:32650")
    gw = greenway_network(segs, snap_m=5)
    connectivity_indices(gw)                     # length, components, alpha/beta/gamma ... per level
    gaps = find_gaps(gw, walk, max_gap_m=300)    # walk: a geoplan WalkNetwork in the same CRS
    links = joining_links(gaps, gw)              # minimum spanning tree over components
    corridor_continuity(segs, "环二环", walk=walk)

and as part of ``geoplan audit`` (registered under ``greenways``; settings in
the ``greenways:`` section of the configuration, defaults in
``presets/greenways.yaml``) and ``geoplan greenways``.
"""

from __future__ import annotations

from ..i18n import register_labels
from ..registry import register
from .corridor import CorridorContinuity, corridor_continuity
from .extract import osm_greenways, read_greenway_layers
from .gaps import JoiningLinks, find_gaps, greenway_access, joining_links, with_links
from .patches import PatchConnectivity, decay_theta, iic_pc, park_links, patch_connectivity
from .reach import GreenwayReach, greenway_reach, parks_linked
from .result import GreenwayResult, analyse_greenways, load_greenway_segments, run_greenways_for_audit
from .settings import load_settings
from .topology import GreenwayNetwork, anchors, connectivity_indices, graph_indices, greenway_network

__all__ = [
    "osm_greenways", "read_greenway_layers", "load_settings", "load_greenway_segments",
    "GreenwayNetwork", "greenway_network", "connectivity_indices", "graph_indices", "anchors",
    "find_gaps", "joining_links", "JoiningLinks", "with_links", "greenway_access",
    "GreenwayReach", "greenway_reach", "parks_linked",
    "PatchConnectivity", "patch_connectivity", "park_links", "decay_theta", "iic_pc",
    "CorridorContinuity", "corridor_continuity",
    "GreenwayResult", "analyse_greenways", "run_greenways_for_audit",
]

register_labels({
    "level": ("Level", "级别"),
    "length_m": ("Length (m)", "长度（米）"),
    "length_km": ("Length (km)", "长度（公里）"),
    "components": ("Connected components", "连通片数"),
    "component": ("Component", "连通片"),
    "largest_component_m": ("Largest component (m)", "最大连通片长度（米）"),
    "largest_component_share_pct": ("Largest component share (%)", "最大连通片占比（%）"),
    "share_pct": ("Share (%)", "占比（%）"),
    "edges": ("Edges (e)", "边数 e"),
    "vertices": ("Vertices (v)", "节点数 v"),
    "alpha": ("Alpha index", "α 指数"),
    "beta": ("Beta index", "β 指数"),
    "gamma": ("Gamma index", "γ 指数"),
    "cyclomatic": ("Cyclomatic number", "环路数 μ"),
    "dangling_ends": ("Dangling ends", "断头端点数"),
    "junctions": ("Junctions", "交叉节点数"),
    "graph_edges": ("Graph edges (noded)", "打断后边数"),
    "graph_vertices": ("Graph vertices (noded)", "打断后节点数"),
    "gap_id": ("Gap", "断点编号"),
    "component_a": ("Component A", "连通片 A"),
    "component_b": ("Component B", "连通片 B"),
    "straight_m": ("Straight gap (m)", "直线间距（米）"),
    "walk_m": ("Walk (m)", "步行距离（米）"),
    "network_m": ("Along streets (m)", "沿路网（米）"),
    "detour_ratio": ("Detour ratio", "绕行系数"),
    "status": ("Status", "状态"),
    "via": ("Via", "途经道路"),
    "cumulative_m": ("Cumulative (m)", "累计长度（米）"),
    "linked": ("Linked", "已连接"),
    "gw_distance_m": ("To greenway (m)", "距绿道（米）"),
    "dIIC": ("dIIC (%)", "dIIC（%）"),
    "dPC": ("dPC (%)", "dPC（%）"),
    "dPC_intra": ("dPC intra (%)", "dPC 内部（%）"),
    "dPC_flux": ("dPC flux (%)", "dPC 通量（%）"),
    "dPC_connector": ("dPC connector (%)", "dPC 连接（%）"),
    "gap_m": ("Gap (m)", "间距（米）"),
    "near_street": ("Nearest street", "邻近道路"),
    "continuous_length_m": ("Longest continuous (m)", "最长连续长度（米）"),
    "continuous_share_pct": ("Continuous share (%)", "连续占比（%）"),
    "greenway_km": ("Greenway (km)", "绿道长度（公里）"),
    "density_km_per_km2": ("Density (km/km²)", "绿道密度（公里/平方公里）"),
    "km_per_10k_residents": ("km per 10,000 residents", "万人绿道长度（公里）"),
    "land_within_walk_pct": ("Residential land within walk (%)", "步行可达居住用地（%）"),
    "residents_within_walk_pct": ("Residents within walk (%)", "步行可达居民（%）"),
})

register("greenways", run_greenways_for_audit)

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
    "straight_land_within_walk_pct": ("Residential land within the straight-line distance (%)", "直线距离内居住用地（%）"),
    "straight_residents_within_walk_pct": ("Residents within the straight-line distance (%)", "直线距离内居民（%）"),
    "within_m2": ("Land within reach (m²)", "可达居住用地（㎡）"),
    "within_residents": ("Residents within reach", "可达居民数"),
    "EC_PC_m2": ("Equivalent connected area EC(PC) (m²)", "等效连通面积 EC(PC)（㎡）"),
    "EC_PC_share_pct": ("EC(PC) / park area (%)", "EC(PC) 占公园面积（%）"),
    "IIC": ("Integral Index of Connectivity (IIC)", "整体连通性指数 IIC"),
    "PC": ("Probability of Connectivity (PC)", "连通概率指数 PC"),
    "access_a_m": ("Access from A (m)", "A 端接入距离（米）"),
    "access_b_m": ("Access to B (m)", "B 端接入距离（米）"),
    "area_km2": ("Area (km²)", "面积（平方公里）"),
    "break_id": ("Break", "断点编号"),
    "breaks": ("Breaks", "断点数"),
    "breaks_without_walk": ("Breaks with no walk around", "无步行绕行的断点"),
    "corridor": ("Corridor", "廊道"),
    "gap_total_m": ("Total of the gaps (m)", "断点间距合计（米）"),
    "largest_gap_m": ("Largest gap (m)", "最大间距（米）"),
    "walk_gap_total_m": ("Total walk around the breaks (m)", "断点绕行步行合计（米）"),
    "highway": ("OSM highway", "OSM 道路类型"),
    "i": ("Park i (row)", "公园 i（行号）"),
    "j": ("Park j (row)", "公园 j（行号）"),
    "iic_threshold_m": ("IIC link threshold (m)", "IIC 连接阈值（米）"),
    "in_iic": ("In the IIC graph", "计入 IIC"),
    "landscape_area_m2": ("Landscape area A_L (m²)", "景观总面积 A_L（㎡）"),
    "lat": ("Latitude", "纬度"),
    "lon": ("Longitude", "经度"),
    "levels": ("Levels", "级别"),
    "levels_a": ("Levels of A", "A 的级别"),
    "levels_b": ("Levels of B", "B 的级别"),
    "line_id": ("Line", "线编号"),
    "segment_id": ("Feature", "要素编号"),
    "segments": ("Features", "要素数"),
    "link_rank": ("Rank by dPC", "按 dPC 排序"),
    "names": ("Names", "名称"),
    "names_a": ("Names of A", "A 的名称"),
    "names_b": ("Names of B", "B 的名称"),
    "park_a": ("Park A", "公园 A"),
    "park_b": ("Park B", "公园 B"),
    "park_id_a": ("Park id A", "公园编号 A"),
    "park_id_b": ("Park id B", "公园编号 B"),
    "park_links": ("Park links", "公园连接数"),
    "parks_linked": ("Parks linked", "已连接公园数"),
    "pattern": ("Name pattern", "名称匹配"),
    "piece_a": ("Piece A", "段 A"),
    "piece_b": ("Piece B", "段 B"),
    "pieces": ("Continuous pieces", "连续段数"),
    "probability": ("Probability p_ij", "连通概率 p_ij"),
    "scenario": ("Scenario", "情景"),
    "snap_m": ("End-joining tolerance (m)", "端点连接容差（米）"),
    "source": ("Source", "来源"),
    "theta_per_m": ("Decay θ (1/m)", "衰减系数 θ（1/米）"),
    "tolerance_m": ("Tolerance (m)", "容差（米）"),
    "total_length_m": ("Total length (m)", "总长度（米）"),
})

register("greenways", run_greenways_for_audit)

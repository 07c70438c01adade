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

and as part of ``geoplan audit`` (declared as :data:`ANALYSIS`; settings in
the ``greenways:`` section of the configuration, defaults in
``presets/greenways.yaml``) and ``geoplan greenways``.
"""

from __future__ import annotations

from ..analysis import Analysis
from .corridor import CorridorContinuity, corridor_continuity
from .extract import osm_greenways, read_greenway_layers
from .gaps import JoiningLinks, find_gaps, greenway_access, joining_links, with_links
from .patches import PatchConnectivity, decay_theta, iic_pc, park_links, patch_connectivity
from .reach import GreenwayReach, greenway_reach, parks_linked
from .result import GreenwayResult, analyse_greenways, load_greenway_segments, run_greenways_for_audit
from .settings import load_settings
from .topology import GreenwayNetwork, anchors, connectivity_indices, graph_indices, greenway_network

__all__ = [
    "ANALYSIS",
    "osm_greenways", "read_greenway_layers", "load_settings", "load_greenway_segments",
    "GreenwayNetwork", "greenway_network", "connectivity_indices", "graph_indices", "anchors",
    "find_gaps", "joining_links", "JoiningLinks", "with_links", "greenway_access",
    "GreenwayReach", "greenway_reach", "parks_linked",
    "PatchConnectivity", "patch_connectivity", "park_links", "decay_theta", "iic_pc",
    "CorridorContinuity", "corridor_continuity",
    "GreenwayResult", "analyse_greenways", "run_greenways_for_audit",
]

#: The greenway analysis of an audit.
ANALYSIS = Analysis("greenways", run_greenways_for_audit)

"""The greenway analysis without the park audit: a street network and greenways are enough.

``geoplan greenways --network-only`` (and the automatic fallback when the
extract has no residential land, e.g. a streets-only extract) measures the
greenway topology, gaps, joining links, park links (parks from the extract
when it has any) and corridors, and writes them to a folder of its own:
``tables/*.csv``, ``greenways.xlsx``, ``summary.json``, ``geoplan.gpkg`` and
an offline ``map.html``.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import shapely

from ..errors import DataError
from ..settings import WarningLog
from ..sources.osm import OSMSource, bundled_sample
from ..sources.tags import match_tags
from ..study import park_polygons, read_walking_network
from .result import GreenwayResult, analyse_greenways, greenway_datum, load_greenway_segments
from .settings import load_settings

__all__ = ["run_network_only"]


def run_network_only(cfg: Any, progress: Callable[[str], None] | None = None) -> tuple[GreenwayResult, gpd.GeoDataFrame]:
    """Greenway analysis of an extract's walking network, without residential land.

    Parameters
    ----------
    cfg : AuditConfig
        ``inputs.pbf`` (default: the bundled sample), ``crs``, ``parks`` tags and
        the ``greenways`` section in ``extra``.
    progress : callable, optional

    Returns
    -------
    result : GreenwayResult
    streets : GeoDataFrame
        The walking network's edges (for the basemap).
    """
    with WarningLog(reemit=True) as caught:  # kept for the folder's geoplan.log
        res, streets = _run_network_only(cfg, progress)
    res.warnings = list(caught.records)
    return res, streets


def _run_network_only(cfg: Any, progress: Callable[[str], None] | None) -> tuple[GreenwayResult, gpd.GeoDataFrame]:
    say = progress or (lambda m: None)
    s = load_settings(cfg.extra.get("greenways", {}))
    s["datum"] = greenway_datum(s, cfg.inputs.datums)
    pbf = cfg.inputs.pbf or str(bundled_sample())
    say(f"reading {pbf}")
    osm = OSMSource(pbf)
    walk, _ = read_walking_network(cfg, osm, progress=say)
    crs = walk.crs
    tags = cfg.parks["osm_tags"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pk = osm.features(tags)
    parks = None
    if len(pk):
        pk = park_polygons(cfg, pk[match_tags(pk, tags)], crs)
        if len(pk):
            parks = gpd.GeoDataFrame({"park_id": np.arange(1, len(pk) + 1),
                                      "name": pk["name"].fillna("").astype(str).to_numpy() if "name" in pk else "",
                                      "area_m2": pk.area.to_numpy()}, geometry=pk.geometry.values, crs=crs)
    segs, prov = load_greenway_segments(s, crs, osm, parks, datums=cfg.inputs.datums, network=walk)
    if len(segs) == 0:
        raise DataError(f"no greenways found in {prov}.", hint="Give a greenway layer with --greenways FILE.")
    area = float(shapely.convex_hull(shapely.multipoints(np.c_[walk.x, walk.y])).area)
    res = analyse_greenways(segs, walk, parks=parks, landscape_area=area, settings=s,
                            provenance={"greenways": prov, "osm": str(pbf)}, progress=say)
    res.notes.append("network-only run: no residential land or residents were measured; the landscape area of "
                     "IIC/PC is the convex hull of the walking network.")
    return res, walk.edges[["geometry"]]

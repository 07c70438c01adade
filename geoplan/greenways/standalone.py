"""The greenway analysis without the park audit: a street network and greenways are enough.

``geoplan greenways --network-only`` (and the automatic fallback when the
extract has no residential land, e.g. a streets-only extract) measures the
greenway topology, gaps, joining links, park links (parks from the extract
when it has any) and corridors, and writes them to a folder of its own:
``tables/*.csv``, ``greenways.xlsx``, ``summary.json``, ``geoplan.gpkg`` and
an offline ``map.html``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import shapely

from ..errors import GeoplanWarning
from .result import GreenwayResult, analyse_greenways, load_greenway_segments
from .settings import load_settings

__all__ = ["run_network_only", "write_greenways"]


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else round(f, 6)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


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
    from ..network import build_network
    from ..sources.osm import OSMSource, bundled_sample
    from ..study import _match_tags, choose_crs

    say = progress or (lambda m: None)
    s = load_settings(cfg.extra.get("greenways", {}))
    pbf = cfg.inputs.pbf or str(bundled_sample())
    say(f"reading {pbf}")
    osm = OSMSource(pbf)
    nodes, edges = osm.walking_network()
    hull = shapely.convex_hull(shapely.multipoints(np.c_[nodes["lon"], nodes["lat"]]))
    crs = choose_crs(hull, cfg.crs)
    say("building the walking network")
    walk = build_network(nodes, edges, crs)
    tags = cfg.parks["osm_tags"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pk = osm.features(tags)
    parks = None
    if len(pk):
        pk = pk[_match_tags(pk, tags) & pk.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(pk):
            pk = pk.to_crs(crs)
            parks = gpd.GeoDataFrame({"park_id": np.arange(1, len(pk) + 1),
                                      "name": pk["name"].fillna("").astype(str).to_numpy() if "name" in pk else "",
                                      "area_m2": pk.area.to_numpy()}, geometry=pk.geometry.values, crs=crs)
    segs, prov = load_greenway_segments(s, crs, osm, parks)
    if len(segs) == 0:
        from ..errors import DataError

        raise DataError(f"no greenways found in {prov}.", hint="Give a greenway layer with --greenways FILE.")
    area = float(shapely.convex_hull(shapely.multipoints(np.c_[walk.x, walk.y])).area)
    res = analyse_greenways(segs, walk, parks=parks, landscape_area=area, settings=s,
                            provenance={"greenways": prov, "osm": str(pbf)}, progress=say)
    res.notes.append("network-only run: no residential land or residents were measured; the landscape area of "
                     "IIC/PC is the convex hull of the walking network.")
    return res, walk.edges[["geometry"]]


def write_greenways(result: GreenwayResult, out: str | Path, *, lang: str = "en", overwrite: bool = False,
                    maps: bool = True, streets: gpd.GeoDataFrame | None = None,
                    progress: Callable[[str], None] | None = None) -> Path:
    """Write a greenway result to a new folder, atomically.

    Returns
    -------
    Path of the folder.
    """
    from ..outputs import atomic_folder, write_tables_xlsx

    say = progress or (lambda m: None)
    with atomic_folder(out, overwrite=overwrite) as tmp:
        say("writing tables")
        tables = {f"greenways_{k}" if not k.startswith("greenways") else k: v for k, v in result.tables().items()}
        (tmp / "tables").mkdir()
        for name, df in tables.items():
            df.to_csv(tmp / "tables" / f"{name}.csv", index=False, float_format="%.6f", lineterminator="\n")
        write_tables_xlsx(tables, tmp / "greenways.xlsx", lang)
        (tmp / "summary.json").write_text(json.dumps({"greenways": _clean(result.summary())}, ensure_ascii=False,
                                                     indent=2, sort_keys=True) + "\n", encoding="utf-8")
        say("writing the GeoPackage")
        for name, gdf in result.layers().items():
            g = gdf.copy()
            for c in g.columns:
                if c != g.geometry.name and g[c].dtype == object:
                    g[c] = g[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
            g.to_file(tmp / "geoplan.gpkg", layer=f"greenways_{name}", driver="GPKG", engine="pyogrio")
        if maps:
            say("drawing the map")
            try:
                from ..maps import interactive_map, save_map

                base = {"streets": streets} if streets is not None else None
                title = "绿道连通性" if lang == "zh" else "Greenway connectivity"
                m = interactive_map(result.map_layers(lang), title=title, basemap="osm-data" if base else "auto",
                                    basemap_layers=base)
                save_map(m, tmp / "map.html")
            except Exception as exc:  # a map failure must not lose the tables
                warnings.warn(f"greenways: the map could not be drawn ({type(exc).__name__}: {exc}).", GeoplanWarning,
                              stacklevel=2)
    return Path(out).resolve()

"""Which lines are greenways: OpenStreetMap filters, or a user line layer with a level field.

OpenStreetMap ways are greenways when any of the configured groups matches
(``presets/greenways.yaml``, section ``osm``):

``name``        the name (``name``, ``name:zh``, ``name:en``) contains 绿道 or "greenway";
``cycleway``    ``highway=cycleway``;
``designated``  ``footway``/``path`` ... with ``bicycle=designated`` or ``foot=designated``;
``route``       the way is a member of a ``route=hiking|foot|bicycle`` relation;
``park``        a footway/path/... lying mostly inside a park polygon.

Every segment gets a ``level`` (city / district / community): from a route
relation's ``network`` tag (ncn/rcn → city, lcn → district ...), else from
its name (城市绿道 → city ...), else the default.  A user layer's level comes
from its level field (values such as 市级 / 区级 / 社区级 are understood),
else from the ``level`` setting, else from the name.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import DataError, GeoplanWarning, UsageError
from ..sources.layers import find_name_field, read_layer
from ..sources.osm import OSMSource
from ..sources.tags import tag_values
from .settings import load_settings

__all__ = ["osm_greenways", "read_greenway_layers", "normalize_levels", "level_from_names"]

_COLUMNS = ["segment_id", "osm_id", "name", "level", "source", "highway"]


def normalize_levels(values: pd.Series, levels_cfg: dict) -> pd.Series:
    """Level values mapped to the configured names (市级 → city, 区级 → district ...).

    Unknown values are kept as they are (stripped); missing values become None.
    """
    aliases = {str(k).strip().lower(): v for k, v in (levels_cfg.get("aliases") or {}).items()}
    order = [str(x) for x in levels_cfg.get("order", [])]

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        s = str(v).strip()
        if not s:
            return None
        low = s.lower()
        if low in order:
            return low
        return aliases.get(low, s)

    return values.map(one)


def level_from_names(names: pd.Series, levels_cfg: dict) -> pd.Series:
    """Level implied by a name (``levels.name_patterns``), None where no pattern matches."""
    out = pd.Series([None] * len(names), index=names.index, dtype=object)
    pats = levels_cfg.get("name_patterns") or {}
    # lowest level first so that the highest matching level wins
    for lv in reversed([x for x in levels_cfg.get("order", []) if x in pats]):
        for p in pats[lv] or []:
            hit = names.fillna("").str.contains(str(p), case=False, regex=False)
            out[hit] = lv
    return out


def _highest(a: pd.Series, b: pd.Series, order: list[str]) -> pd.Series:
    rank = {lv: i for i, lv in enumerate(order)}
    ra = a.map(lambda x: rank.get(x, 999) if x is not None else 1000)
    rb = b.map(lambda x: rank.get(x, 999) if x is not None else 1000)
    return a.where(ra <= rb, b)


def _route_members(osm: OSMSource, routes: Iterable[str], levels_cfg: dict) -> pd.DataFrame:
    """Way members of route relations: ``way_id``, ``route_level``, ``route_name``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rel = osm.osm.get_data_by_custom_criteria(custom_filter={"route": list(routes)}, filter_type="keep",
                                                      keep_nodes=False, keep_ways=False, keep_relations=True)
        except Exception:  # pyrosm raises bare errors when a file has no relations
            rel = None
    if rel is None or len(rel) == 0:
        return pd.DataFrame({"way_id": pd.Series([], dtype=np.int64), "route_level": [], "route_name": []})
    net_map = levels_cfg.get("route_network") or {}
    order = list(levels_cfg.get("order", []))
    rows = []
    for _, r in rel.iterrows():
        tags = r.get("tags")
        tags = json.loads(tags) if isinstance(tags, str) and tags else (tags if isinstance(tags, dict) else {})
        members = r.get("members") if "members" in rel.columns else None
        if members is None or (isinstance(members, float) and np.isnan(members)):
            members = tags.get("members", [])
        if isinstance(members, str):
            members = json.loads(members)
        network = r.get("network") if "network" in rel.columns else None
        network = network if isinstance(network, str) else tags.get("network")
        lv = net_map.get(str(network).strip().lower()) if network else None
        name = r.get("name") if "name" in rel.columns and isinstance(r.get("name"), str) else tags.get("name", "")
        for m in members or []:
            if isinstance(m, dict) and m.get("member_type") == "way":
                rows.append((int(m["member_id"]), lv, name or ""))
    if not rows:
        return pd.DataFrame({"way_id": pd.Series([], dtype=np.int64), "route_level": [], "route_name": []})
    df = pd.DataFrame(rows, columns=["way_id", "route_level", "route_name"])
    rank = {x: i for i, x in enumerate(order)}
    df["_r"] = df["route_level"].map(lambda x: rank.get(x, 999) if x else 1000)
    return df.sort_values(["way_id", "_r"]).drop_duplicates("way_id").drop(columns="_r")


def osm_greenways(osm: OSMSource, crs: Any, settings: dict | None = None,
                  parks: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Greenway ways of an OpenStreetMap extract.

    Parameters
    ----------
    osm : OSMSource
    crs : CRS-like
        Projected metric CRS of the result.
    settings : dict, optional
        Greenway settings (:func:`~geoplan.greenways.settings.load_settings`);
        sections ``osm`` and ``levels`` are used.
    parks : GeoDataFrame, optional
        Park polygons (any CRS) for the "paths inside parks" group.

    Returns
    -------
    GeoDataFrame in ``crs``
        ``segment_id`` (= ``osm_id``, the way id), ``name``, ``level``,
        ``source`` (the matching groups, e.g. ``"cycleway+route"``), ``highway``
        and line geometry.  Empty (with these columns) when nothing matches.
    """
    s = settings or load_settings()
    f = s["osm"]
    lv_cfg = s["levels"]
    ways = osm.features({"highway": True}, nodes=False, relations=False)
    if ways is None or len(ways) == 0 or "highway" not in ways.columns:
        return _empty(crs)
    ways = ways[ways["highway"].notna() & ~ways["highway"].isin(f.get("exclude_highways") or [])]
    area = tag_values(ways, "area")
    poly = ways.geom_type.isin(["Polygon", "MultiPolygon"])
    ways = ways[~(poly & (area == "yes"))].copy()
    if ways.empty:
        return _empty(crs)
    hw = ways["highway"].astype(str)
    names = tag_values(ways, "name").fillna("")
    for k in ("name:zh", "name:en"):
        alt = tag_values(ways, k).fillna("")
        names = names.where(names != "", alt)
    groups: dict[str, pd.Series] = {}
    pats = [str(p) for p in f.get("name_patterns") or []]
    if pats:
        hit = pd.Series(False, index=ways.index)
        for k in ("name", "name:zh", "name:en"):
            vals = tag_values(ways, k).fillna("")
            for p in pats:
                hit |= vals.str.contains(p, case=False, regex=False)
        groups["name"] = hit
    groups["cycleway"] = hw.isin(f.get("highways") or [])
    des = f.get("designated") or {}
    d_hit = pd.Series(False, index=ways.index)
    for k in des.get("keys") or []:
        d_hit |= tag_values(ways, k).isin(["designated"])
    groups["designated"] = d_hit & hw.isin(des.get("highways") or [])
    members = _route_members(osm, f.get("routes") or [], lv_cfg) if f.get("routes") else None
    way_id = pd.to_numeric(ways["id"], errors="coerce").fillna(-1).astype(np.int64)
    if members is not None and len(members):
        groups["route"] = way_id.isin(members["way_id"])
    pp = f.get("park_paths") or {}
    if parks is not None and len(parks) and pp.get("highways"):
        cand = hw.isin(pp["highways"]).to_numpy()
        share = np.zeros(len(ways))
        if cand.any():
            pk = shapely.union_all(parks.to_crs(crs).geometry.values)
            g = ways.geometry.values[cand]
            g = gpd.GeoSeries(g, crs=ways.crs).to_crs(crs).values
            g = np.where(shapely.get_type_id(g) >= 3, shapely.boundary(g), g)
            L = shapely.length(g)
            shapely.prepare(pk)
            inside = shapely.length(shapely.intersection(g, pk))
            share[cand] = np.divide(inside, L, out=np.zeros_like(L), where=L > 0)
        groups["park"] = pd.Series(share >= float(pp.get("min_share_inside", 0.5)), index=ways.index)
    any_hit = pd.Series(False, index=ways.index)
    for v in groups.values():
        any_hit |= v
    if not any_hit.any():
        return _empty(crs)
    src = pd.Series("", index=ways.index)
    for gname, v in groups.items():
        src = src.where(~v, src.where(src == "", src + "+") + gname)
    sel = any_hit.to_numpy()
    out = gpd.GeoDataFrame({"osm_id": way_id[sel].to_numpy(), "name": names[sel].to_numpy(),
                            "source": src[sel].to_numpy(), "highway": hw[sel].to_numpy()},
                           geometry=ways.geometry.values[sel], crs=ways.crs or "EPSG:4326").to_crs(crs)
    level = pd.Series([None] * len(out), dtype=object)
    if members is not None and len(members):
        m = out[["osm_id"]].merge(members, left_on="osm_id", right_on="way_id", how="left")
        level = m["route_level"].where(m["route_level"].notna(), None).astype(object)
        rn = m["route_name"].fillna("")
        out["name"] = out["name"].where(out["name"] != "", rn.to_numpy())
    by_name = level_from_names(out["name"], lv_cfg)
    order = list(lv_cfg.get("order", []))
    level = _highest(level.reset_index(drop=True), by_name.reset_index(drop=True), order)
    out["level"] = level.fillna(lv_cfg.get("default", "community")).to_numpy()
    out.insert(0, "segment_id", out["osm_id"].to_numpy())
    return out[[*_COLUMNS, "geometry"]].reset_index(drop=True)


def _empty(crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in _COLUMNS}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def read_greenway_layers(
    paths: str | Path | Iterable[str | Path],
    *,
    datum: str | None = None,
    name_field: str | None = None,
    level_field: str | None = None,
    level: str | None = None,
    settings: dict | None = None,
) -> gpd.GeoDataFrame:
    """Read one or more greenway line layers (converted to WGS 84).

    Parameters
    ----------
    paths : path or list of paths
        GeoJSON, GeoPackage, Shapefile ... with line features.
    datum : str, optional
        Declared datum (``gcj02`` for AMap/Gaode digitising, which is routinely
        labelled EPSG:4326): every vertex is converted to WGS 84.
    name_field : str, optional
        Field with the greenway name; default ``name`` when present, else the
        file name (one file per greenway is common).
    level_field : str, optional
        Field with the level (``city``/``district``/``community`` or
        市级/区级/社区级 ...).
    level : str, optional
        Level of features without one (no level field or an empty value).
    settings : dict, optional
        Greenway settings (for the level aliases and name patterns).

    Returns
    -------
    GeoDataFrame in EPSG:4326
        ``segment_id``, ``osm_id`` (-1), ``name``, ``level`` (``unspecified``
        where nothing says), ``source`` (``layer:<file name>``), ``highway``
        (None) and the other fields of the layers.
    """
    s = settings or load_settings()
    lv_cfg = s["levels"]
    if isinstance(paths, (str, Path)):
        paths = [paths]
    parts = []
    for p in paths:
        p = Path(p)
        g = read_layer(p, datum=datum, what="greenways", geom_types=("line",))
        if name_field:
            if name_field not in g.columns:
                raise DataError(f"greenway layer {p} has no field {name_field!r}.",
                                hint=f"Its fields are: {', '.join(c for c in g.columns if c != 'geometry')}.")
            name = g[name_field].fillna("").astype(str)
        else:  # the field that holds names (name, 名称, 绿道名称, greenway ...), else the file's name
            found = find_name_field(g, "name", what=f"greenway layer {p}", distinct=False)
            if found.guessed:
                warnings.warn(f"{found.note} Give --name-field to use another.", GeoplanWarning, stacklevel=2)
            if found.field:
                name = g[found.field].fillna("").astype(str).where(lambda x: x.str.strip() != "", p.stem)
            else:
                name = pd.Series([p.stem] * len(g), index=g.index)
        lv = pd.Series([None] * len(g), index=g.index, dtype=object)
        if level_field:
            if level_field not in g.columns:
                raise DataError(f"greenway layer {p} has no field {level_field!r}.",
                                hint=f"Its fields are: {', '.join(c for c in g.columns if c != 'geometry')}.")
            lv = normalize_levels(g[level_field], lv_cfg)
        if level:
            lv = lv.where(lv.notna(), normalize_levels(pd.Series([level]), lv_cfg).iloc[0])
        lv = lv.where(lv.notna(), level_from_names(name, lv_cfg))
        keep = [c for c in g.columns if c not in ("geometry", *_COLUMNS)]
        df = gpd.GeoDataFrame({"osm_id": -1, "name": name.to_numpy(), "level": lv.fillna("unspecified").to_numpy(),
                               "source": f"layer:{p.name}", "highway": None, **{c: g[c].to_numpy() for c in keep}},
                              geometry=g.geometry.values, crs="EPSG:4326")
        parts.append(df)
    if not parts:
        raise UsageError("no greenway layer given.")
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "segment_id", np.arange(1, len(out) + 1))
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def corridor_mask(names: pd.Series, pattern: str) -> pd.Series:
    """Rows whose name matches a corridor pattern (regular expression, case-insensitive)."""
    try:
        return names.fillna("").str.contains(pattern, case=False, regex=True)
    except re.error:
        return names.fillna("").str.contains(pattern, case=False, regex=False)

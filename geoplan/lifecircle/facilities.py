"""Facilities of the life circle: from OpenStreetMap tags, from user registers, or both.

Every facility becomes one or more *entry points* on the walking network:
a point facility is its own entry; a polygon (a school campus, a park) or a
line is entered where it comes nearest to a walkable street (the point of the
shape closest to the network), so a large campus is not measured from its
middle.  Entry points are snapped onto edges with :meth:`WalkNetwork.snap`;
the snap distance is walked.

A facility table has one row per entry point: ``fac_id`` (shared by the
entries of one facility), ``category``, ``name``, ``source`` (``osm``,
``register``, ``planned``, ``park-audit``), ``ref`` (OSM id or register row)
and a point geometry in the network CRS.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import DataError, GeoplanWarning, UsageError
from ..network import Snapped, WalkNetwork
from ..sources.tags import tag_table, tag_values
from .rules import LifeCircleRules
from ..sources.layers import read_layer
from .vocabularies import IGNORED
from .vocabularies import MAPPED
from .vocabularies import Reading
from .vocabularies import UNMAPPED
from .vocabularies import classify_register
from .vocabularies import detect_vocabulary
from .vocabularies import list_vocabularies
from .vocabularies import load_vocabulary

__all__ = [
    "FACILITY_COLUMNS",
    "classify_features",
    "combine_facilities",
    "drop_duplicates",
    "entry_points",
    "osm_facilities",
    "read_register",
    "read_register_values",
    "snap_facilities",
]

FACILITY_COLUMNS = ["fac_id", "category", "name", "source", "ref"]


def _empty(crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series([], dtype=object) for c in FACILITY_COLUMNS},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def classify_features(features: pd.DataFrame, rules: LifeCircleRules) -> pd.DataFrame:
    """Which categories each OSM feature belongs to.

    Parameters
    ----------
    features : DataFrame
        Features read by pyrosm (tag columns and/or a ``tags`` JSON column).
    rules : LifeCircleRules

    Returns
    -------
    DataFrame
        ``row`` (position in ``features``) and ``category``; a feature may belong
        to several categories (a 九年一贯制 school is a primary and a middle school).
    """
    if len(features) == 0:
        return pd.DataFrame({"row": np.empty(0, np.int64), "category": np.empty(0, object)})
    tags = tag_table(features, rules.tag_keys())
    rows, cats = [], []
    for c in rules.categories:
        hit = np.zeros(len(features), dtype=bool)
        for r in c.osm:
            hit |= r.match(tags)
        for r in (c.exclude or rules.exclude_default):
            hit &= ~r.match(tags)
        idx = np.nonzero(hit)[0]
        rows.append(idx)
        cats.append(np.full(len(idx), c.id, dtype=object))
    return pd.DataFrame({"row": np.concatenate(rows), "category": np.concatenate(cats)})


def osm_facilities(osm: Any, rules: LifeCircleRules, crs: Any, categories: list[str] | None = None) -> gpd.GeoDataFrame:
    """Facilities of every category from an OpenStreetMap extract (one read of the file).

    Parameters
    ----------
    osm : OSMSource
        The study's extract (``study.osm``).
    rules : LifeCircleRules
    crs : CRS-like
        Projected CRS of the result.
    categories : list of str, optional
        Only these categories (default: all).

    Returns
    -------
    GeoDataFrame
        :data:`FACILITY_COLUMNS` plus the feature's own geometry (points,
        lines or polygons) in ``crs``; ``fac_id`` is not yet assigned.
    """
    if osm is None:
        return _empty(crs)
    feats = osm.features(rules.fetch_filter())
    if feats is None or len(feats) == 0:
        return _empty(crs)
    feats.attrs = {}  # pandas deep-copies attrs on every operation
    feats = feats[feats.geometry.notna() & ~feats.geometry.is_empty].reset_index(drop=True)
    cls = classify_features(feats, rules)
    if categories is not None:
        cls = cls[cls["category"].isin(categories)]
    sel = feats.iloc[cls["row"].to_numpy()]
    name = tag_values(sel, "name")
    osm_type = sel["osm_type"].astype(str).to_numpy() if "osm_type" in sel else np.full(len(sel), "")
    ref = [f"{t}/{i}" for t, i in zip(osm_type, sel["id"].to_numpy())] if "id" in sel else [""] * len(sel)
    out = gpd.GeoDataFrame(
        {"fac_id": pd.Series([None] * len(sel), dtype=object), "category": cls["category"].to_numpy(),
         "name": name.to_numpy(), "source": "osm", "ref": ref},
        geometry=sel.geometry.values, crs=sel.crs or "EPSG:4326",
    )
    return out.to_crs(crs).reset_index(drop=True)


def _category_of(values: pd.Series, rules: LifeCircleRules, category_map: Mapping | None, unknown: str,
                 source: str) -> pd.Series:
    """Map register values to category ids (ids, labels, aliases, then the user's map)."""
    aliases = rules.alias_map()
    user = {str(k).strip().lower(): v for k, v in (category_map or {}).items()}
    bad_targets = sorted({str(v) for v in user.values() if v is not None and str(v) not in rules.category_ids})
    if bad_targets:
        raise UsageError(f"category_map for {source} maps to unknown categories {bad_targets}.",
                         hint=f"Known categories: {', '.join(rules.category_ids)} (or null to ignore a value).")
    key = values.astype(str).str.strip()
    low = key.str.lower()
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    ignored = pd.Series(False, index=values.index)
    in_user = low.isin(list(user))
    out[in_user] = low[in_user].map(user)
    ignored |= in_user & out.isna()
    rest = ~in_user
    out[rest] = low[rest].map(aliases)
    missing = out.isna() & ~ignored
    if missing.any():
        counts = key[missing].value_counts()
        shown = ", ".join(f"{v!r} ({n})" for v, n in counts.head(12).items())
        more = f" and {len(counts) - 12} more" if len(counts) > 12 else ""
        if unknown == "drop":
            warnings.warn(f"{source}: ignored {int(missing.sum())} rows of unknown categories: {shown}{more}.",
                          GeoplanWarning, stacklevel=3)
        else:
            raise DataError(
                f"{source}: unknown facility categories {shown}{more}.",
                hint=(f"Known categories: {', '.join(rules.category_ids)} (or their labels and aliases). "
                      "Map other values with category_map (value: category, or null to ignore), "
                      "or set unknown_categories: drop."),
            )
    return out


def read_register(
    path: str | Path,
    rules: LifeCircleRules,
    crs: Any,
    *,
    category_field: str | None = None,
    name_field: str | None = None,
    datum: str | None = None,
    layer: str | None = None,
    category_map: Mapping | None = None,
    unknown_categories: str = "error",
    source: str = "register",
    vocabulary: str | None = "auto",
) -> gpd.GeoDataFrame:
    """Read a facility register (CSV with coordinates, GeoPackage, GeoJSON, Shapefile ...).

    Parameters
    ----------
    path : str or Path
        The register; CSV files may be UTF-8 or GBK and need coordinate columns
        (``lon``/``lat``, ``wgs_lng``/``wgs_lat`` ...).
    rules : LifeCircleRules
    crs : CRS-like
        Projected CRS of the result.
    category_field : str, optional
        Column holding the category: an id (``kindergarten``), a label
        (``幼儿园``) or an alias of the preset, or a value of a vocabulary (an
        OpenStreetMap value, an AMap type code or name, a Baidu industry tag).
        Default: ``category`` when its values are ids, labels or aliases, else
        the column a vocabulary knows best (``typecode``, ``fclass``, ``type``,
        ``tag`` ...); a field named here is the only one read.
    name_field : str, optional
        Column with facility names (default: ``name`` or ``名称`` when present).
    datum : str, optional
        ``wgs84``, ``gcj02``, ``bd09`` or an EPSG code (web-map exports are GCJ-02).
    layer : str, optional
        Layer of a multi-layer file.
    category_map : mapping, optional
        Extra ``value -> category`` pairs; a value mapped to ``None`` is ignored.
    unknown_categories : {"error", "drop"}
        What to do with values that map to no category (``unmapped`` values of a vocabulary).
    source : str
        ``register`` or ``planned``: written to the ``source`` column.
    vocabulary : str, optional
        ``auto`` (default: the category column as ids, labels and aliases when
        every value is one, else the vocabulary of
        ``geoplan/presets/vocabularies`` that knows most of the rows), ``none``
        (ids, labels and aliases only), ``osm``, ``amap``, ``baidu`` or a YAML file.

    Returns
    -------
    GeoDataFrame
        :data:`FACILITY_COLUMNS` and geometries in ``crs`` (a row of the register
        with several categories gives one row per category).

    Raises
    ------
    DataError
        Missing file or field, or values of no known category (naming the file,
        the values and the known categories).
    """
    return read_register_values(path, rules, crs, category_field=category_field, name_field=name_field, datum=datum,
                                layer=layer, category_map=category_map, unknown_categories=unknown_categories,
                                source=source, vocabulary=vocabulary)[0]


def _plain_share(values: pd.Series, rules: LifeCircleRules, category_map: Mapping | None) -> float:
    """Share of the non-empty values that are category ids, labels, aliases or keys of ``category_map``."""
    v = values.dropna().astype(str).str.strip().str.lower()
    v = v[v != ""]
    if v.empty:
        return 0.0
    known = set(rules.alias_map()) | {str(k).strip().lower() for k in (category_map or {})}
    return float(v.isin(known).mean())


def _plain_values_table(values: pd.Series, cats: pd.Series, category_map: Mapping | None, field_: str) -> pd.DataFrame:
    """The values table of a register read as ids, labels and aliases (same columns as a vocabulary's)."""
    user = {str(k).strip().lower() for k, v in (category_map or {}).items() if v is None}
    key = values.astype(str).str.strip()
    rows = []
    for v, grp in key.groupby(key, sort=True):
        c = cats.loc[grp.index].dropna()
        status = MAPPED if len(c) else (IGNORED if v.lower() in user else UNMAPPED)
        rows.append({"vocabulary": "categories", "field": field_, "value": v, "rows": len(grp), "status": status,
                     "categories": ", ".join(f"{k} {n}" for k, n in c.value_counts().sort_index().items()),
                     "rule": "id, label or alias" if len(c) else ""})
    return pd.DataFrame(rows, columns=["vocabulary", "field", "value", "rows", "status", "categories", "rule"])


def read_register_values(
    path: str | Path,
    rules: LifeCircleRules,
    crs: Any,
    *,
    category_field: str | None = None,
    name_field: str | None = None,
    datum: str | None = None,
    layer: str | None = None,
    category_map: Mapping | None = None,
    unknown_categories: str = "error",
    source: str = "register",
    vocabulary: str | None = "auto",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, str]:
    """:func:`read_register`, plus how every value of the register was read.

    Returns
    -------
    facilities : GeoDataFrame
        As :func:`read_register`.
    values : DataFrame
        One row per distinct value: ``vocabulary``, ``field``, ``value``, ``rows``,
        ``status`` (``mapped``, ``not a facility``, ``unmapped``, ``ignored (category_map)``),
        ``categories`` (with counts) and ``rule`` (the table entry that matched).
    note : str
        One sentence: rows read, mapped, not facilities and unmapped, and the vocabulary.
    """
    path = Path(path)
    what = "planned facilities" if source == "planned" else "facilities"
    where = f"{what} layer {path}"
    gdf = read_layer(path, layer=layer, datum=datum, what=what)
    if name_field is None:
        name_field = next((c for c in ("name", "Name", "NAME", "名称", "mc") if c in gdf.columns), None)
    names = gdf[name_field].astype(object) if name_field and name_field in gdf.columns else None
    voc = "none" if vocabulary in (None, False) else str(vocabulary).strip().lower()
    given = category_field is not None
    category_field = category_field or "category"
    has_field = category_field in gdf.columns
    if given and not has_field:
        raise DataError(f"{what} layer {path} has no column {category_field!r}.",
                        hint=f"Its columns are: {', '.join(c for c in gdf.columns if c != 'geometry')}. "
                             "Set category_field to the column holding the category.")
    reading: Reading | None = None
    if voc not in ("none", "plain", "categories"):
        cats_ = rules.category_ids
        vocabs = [load_vocabulary(v, cats_) for v in list_vocabularies()] if voc == "auto" else \
            [load_vocabulary(vocabulary, cats_)]
        plain = _plain_share(gdf[category_field], rules, category_map) if has_field else 0.0
        if voc != "auto" or plain < 1.0:
            # a category field the user named is the only one read; otherwise any column a vocabulary knows
            reading, share = detect_vocabulary(gdf, vocabs, category_field if has_field else None, only_column=given)
            if voc == "auto" and reading is not None and plain >= share:
                reading = None
            if reading is None and voc != "auto":
                raise DataError(
                    f"{where}: no column is read by the vocabulary {vocabulary!r} (it knows {share:.0%} of the rows "
                    f"at best).",
                    hint=f"Its columns are: {', '.join(c for c in gdf.columns if c != 'geometry')}. Set category_field "
                         "to the column holding the type (or choose another vocabulary: osm, amap, baidu).")
    if reading is None:
        if not has_field:
            raise DataError(f"{what} layer {path} has no column {category_field!r}.",
                            hint=f"Its columns are: {', '.join(c for c in gdf.columns if c != 'geometry')}. "
                                 "Set category_field to the column holding the category.")
        cat = _category_of(gdf[category_field], rules, category_map, unknown_categories, where)
        values = _plain_values_table(gdf[category_field], cat, category_map, category_field)
        pos = np.nonzero(cat.notna().to_numpy())[0]
        rows = pd.DataFrame({"row": pos, "category": cat.to_numpy(object)[pos]})
        how = f"categories in {category_field}"
    else:
        rows, values = classify_register(gdf, reading, rules, names=names, category_map=category_map,
                                         classify=classify_features)
        _check_unmapped(values[values["status"] == UNMAPPED], unknown_categories, where, reading.describe())
        how = reading.describe()
    sel = gdf.iloc[rows["row"].to_numpy()]
    out = gpd.GeoDataFrame(
        {"fac_id": pd.Series([None] * len(sel), dtype=object), "category": rows["category"].to_numpy(object),
         "name": names.iloc[rows["row"].to_numpy()].to_numpy() if names is not None else np.full(len(sel), None),
         "source": source, "ref": [f"{path.name}:{i + 1}" for i in sel.index]},
        geometry=sel.geometry.values, crs=gdf.crs,
    )
    extra = [c for c in gdf.columns if c not in out.columns and c != gdf.geometry.name]
    for c in extra:  # keep the register's own fields (capacity ...)
        out[c] = sel[c].to_numpy()
    values.insert(0, "layer", path.name)
    note = _register_note(where, how, len(gdf), values, rows)
    return out.to_crs(crs).reset_index(drop=True), values, note


def _check_unmapped(unmapped: pd.DataFrame, unknown: str, where: str, how: str) -> None:
    if unmapped.empty:
        return
    shown = ", ".join(f"{v!r} ({n})" for v, n in zip(unmapped["value"].head(12), unmapped["rows"].head(12)))
    more = f" and {len(unmapped) - 12} more" if len(unmapped) > 12 else ""
    n = int(unmapped["rows"].sum())
    if unknown == "drop":
        warnings.warn(f"{where}: {n} rows of values {how} does not know were left out: {shown}{more} "
                      "(listed in the table lifecircle_register_values).", GeoplanWarning, stacklevel=4)
        return
    raise DataError(
        f"{where}: {n} rows have values {how} does not know: {shown}{more}.",
        hint="Map them with category_map (value: category, or null to ignore), or set unknown_categories: drop "
             "(they are then listed, not used).",
    )


def _register_note(where: str, how: str, n_rows: int, values: pd.DataFrame, rows: pd.DataFrame) -> str:
    by = values.groupby("status")["rows"].sum()
    cats = rows["category"].nunique() if len(rows) else 0
    parts = [f"{int(by.get(s, 0)):,} {s}" for s in ("mapped", "not a facility", "unmapped", "ignored (category_map)")
             if by.get(s, 0)]
    note = (f"{where}: {n_rows:,} rows read as {how}: {', '.join(parts) or 'none'}; "
            f"{len(rows):,} facilities in {cats} categories")
    un = values[values["status"] == "unmapped"]
    if len(un):
        note += "; unmapped values: " + ", ".join(f"{v!r} ({n})" for v, n in zip(un["value"], un["rows"]))
    return note


def drop_duplicates(fac: gpd.GeoDataFrame, tolerance_m: float = 1.0, what: str = "facilities") -> gpd.GeoDataFrame:
    """Drop facilities of the same category within ``tolerance_m`` of an earlier one, with a warning.

    Locations are compared by representative point (projected metres).
    """
    if len(fac) < 2:
        return fac
    pts = shapely.point_on_surface(fac.geometry.values)
    tree = shapely.STRtree(pts)
    a, b = tree.query(pts, predicate="dwithin", distance=tolerance_m)
    cat = fac["category"].to_numpy()
    dup = (a < b) & (cat[a] == cat[b])
    drop = np.unique(b[dup])
    if len(drop):
        by = pd.Series(cat[drop]).value_counts()
        warnings.warn(
            f"{what}: dropped {len(drop)} duplicate rows (same category within {tolerance_m:g} m): "
            + ", ".join(f"{k} {v}" for k, v in by.items()),
            GeoplanWarning, stacklevel=2,
        )
        fac = fac.drop(index=fac.index[drop])
    return fac


def combine_facilities(*parts: gpd.GeoDataFrame | None, crs: Any, tolerance_m: float = 1.0) -> gpd.GeoDataFrame:
    """Concatenate facility tables, drop duplicates and assign ``fac_id`` (1..n) where missing.

    Rows that already carry a ``fac_id`` (several access points of one park)
    keep sharing one id.
    """
    parts = [p.to_crs(crs) for p in parts if p is not None and len(p)]
    if not parts:
        return _empty(crs)
    fac = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)
    fac = drop_duplicates(fac, tolerance_m).reset_index(drop=True)
    given = fac["fac_id"].astype(object)
    key = np.where(given.isna(), "row:" + pd.Series(np.arange(len(fac))).astype(str),
                   "id:" + fac["source"].astype(str) + ":" + given.astype(str))
    fac["fac_id"] = pd.factorize(pd.Series(key))[0].astype(np.int64) + 1
    return fac


def entry_points(fac: gpd.GeoDataFrame, network: WalkNetwork) -> np.ndarray:
    """Where each facility is entered: the point itself, or the point of a polygon/line nearest to the network.

    Returns
    -------
    ndarray of shapely Points in the network CRS.
    """
    geoms = fac.geometry.values
    out = np.array(geoms, dtype=object)
    not_pt = ~np.isin(shapely.get_type_id(geoms), [0])  # 0 = Point
    if not_pt.any():
        g = geoms[not_pt]
        near = network.tree.query_nearest(g, all_matches=False, return_distance=False)
        order = np.argsort(near[0], kind="stable")
        edges = network.edges.geometry.values[near[1][order]]
        lines = shapely.shortest_line(g, edges)
        out[not_pt] = shapely.get_point(lines, 0)
    multi = shapely.get_type_id(out) == 4  # MultiPoint
    if multi.any():
        out[multi] = shapely.point_on_surface(out[multi])
    return out


def snap_facilities(fac: gpd.GeoDataFrame, network: WalkNetwork) -> gpd.GeoDataFrame:
    """Entry points of the facilities, snapped onto the network edges.

    Returns
    -------
    GeoDataFrame
        The facilities with point geometries (the entry points) and ``snap_edge``,
        ``snap_along``, ``snap_m`` (metres from the entry to the street).
    """
    fac = fac.copy()
    if len(fac) == 0:
        for c, dt in (("snap_edge", np.int64), ("snap_along", float), ("snap_m", float)):
            fac[c] = np.empty(0, dtype=dt)
        return fac
    pts = entry_points(fac, network)
    s = network.snap(pts)
    fac = fac.set_geometry(gpd.GeoSeries(pts, crs=fac.crs, index=fac.index))
    fac["snap_edge"] = s.edge
    fac["snap_along"] = s.along
    fac["snap_m"] = s.offset
    return fac


def snapped_of(fac: pd.DataFrame) -> Snapped:
    """The :class:`Snapped` of facilities prepared by :func:`snap_facilities`."""
    return Snapped(fac["snap_edge"].to_numpy(np.int64), fac["snap_along"].to_numpy(float), fac["snap_m"].to_numpy(float))

"""What if: a new park, a new gate in a compound wall, a new facility — who gains, at once.

After an audit, :func:`save_state` keeps what a what-if needs (the walking
network and the compound network as arrays, the residential cells and where
they join each network, and the per-cell distance of every park tier and
per-home distance of every life-circle category) in ``state.pkl`` of the
output folder.  :func:`what_if` then recomputes only what a proposal changes:

* **proposed parks**: their tiers and access points, then one bounded kernel
  pass per tier they fall in (per network model), taken as the minimum with
  the saved per-cell distances; parks that touch an existing park are merged
  with it as the audit would, and then the passes of every tier are redone
  (still without re-snapping a single cell);
* **proposed gates** in compound walls: the compound network is rebuilt
  with the gates' connectors, only the homes whose way out can change are
  snapped again (those in the compounds the gates open, those whose compound
  gains its first gate, those nearer to a new connector than to their path),
  the others are carried over; the passes of every park tier and life-circle
  category are redone on the new network (the network changed);
* **proposed facilities**: one bounded pass per category they add.

The result equals a full re-run with the proposal added (the tests check it)
and reports the residents and residential land newly served per unit, the
coverage after, and a map of the change.  ``geoplan whatif AUDIT_FOLDER
--parks FILE --gates FILE --facilities FILE`` is the same from the command line.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import DataError, GeoplanWarning, UsageError
from .network import Snapped, Sources, WalkNetwork, multi_source, point_distances

__all__ = [
    "STATE_FILE",
    "ModelState",
    "WhatIfResult",
    "WhatIfState",
    "add_parser",
    "build_state",
    "load_state",
    "save_state",
    "what_if",
]

#: File name of the saved state inside an audit folder.
STATE_FILE = "state.pkl"
STATE_VERSION = 1


# ---------------------------------------------------------------------------
# the saved state
# ---------------------------------------------------------------------------
@dataclass
class ModelState:
    """One network model (``plain`` or ``compounds``) of the saved state.

    Attributes
    ----------
    name : str
    network : WalkNetwork
    cell_snap : Snapped
        Where every residential cell joins ``network``.
    tier_dist : dict
        Tier id -> walking distance of every cell to the nearest park of the tier
        (``inf`` beyond the tier's radius).
    cnet : CompoundNetwork or None
        The compound network (``compounds`` model).
    cell_csnap : CompoundSnap or None
    origin_snap : Snapped or None
        Where every life-circle origin joins ``network``.
    origin_csnap : CompoundSnap or None
    facilities : GeoDataFrame or None
        Life-circle facilities snapped on ``network`` (``snap_edge`` ...).
    cat_dist : dict
        Category id -> distance of every origin to the nearest facility (``inf`` beyond the bound).
    """

    name: str
    network: WalkNetwork
    cell_snap: Snapped
    tier_dist: dict
    cnet: Any = None
    cell_csnap: Any = None
    origin_snap: Snapped | None = None
    origin_csnap: Any = None
    facilities: gpd.GeoDataFrame | None = None
    cat_dist: dict = field(default_factory=dict)


@dataclass
class WhatIfState:
    """Everything a what-if needs from an audit.

    Attributes
    ----------
    crs : pyproj CRS
    lang : str
    rules : Rules
    units : GeoDataFrame
        ``unit_id``, ``unit_name`` polygons.
    historic : GeoDataFrame
    cells : GeoDataFrame
        Residential cells (``cell_id``, ``unit_id``, ``unit_name``, ``historic``,
        ``area_m2``, ``residents``).
    raw_parks : GeoDataFrame
        Park features before selection (to merge a proposal touching one).
    parks, access : GeoDataFrame
        Selected parks (with ``tier``) and their access points.
    entrances : GeoDataFrame
        Mapped gates and entrances (access points of proposed parks).
    access_kw : dict
    merge, merge_tolerance : bool, float
    has_historic : bool
    models : dict
        ``plain`` and, when the compound analysis ran, ``compounds`` (:class:`ModelState`).
    compound_settings : dict or None
    lc_rules, lc_settings, lc_origins
        Life-circle rules, settings and origins (``origin_id``, ``residents``,
        ``unit_id``, ``unit_name``, points), when the life-circle analysis ran.
    provenance : dict
    """

    crs: Any
    lang: str
    rules: Any
    units: gpd.GeoDataFrame
    historic: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    raw_parks: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame
    access: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame
    access_kw: dict
    merge: bool
    merge_tolerance: float
    has_historic: bool
    models: dict
    compound_settings: dict | None = None
    lc_rules: Any = None
    lc_settings: dict | None = None
    lc_origins: gpd.GeoDataFrame | None = None
    provenance: dict = field(default_factory=dict)
    version: int = STATE_VERSION
    cell_points: np.ndarray | None = None

    @property
    def tiers(self) -> list:
        """The rule tiers."""
        return list(self.rules.tiers)

    def lc_limits(self, categories: list[str] | None = None) -> dict:
        """Search bound (m) of each life-circle category, as the life-circle analysis used."""
        r = self.lc_rules
        floor = float((self.lc_settings or {}).get("search_limit_m") or 0)
        return {c: r.search_limit(c, floor) for c in (categories or r.category_ids)}


def _cell_points(cells: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.point_on_surface(np.asarray(cells.geometry.values, dtype=object))


def build_state(result: Any) -> WhatIfState:
    """The what-if state of an audit (in memory; :func:`save_state` writes it).

    Parameters
    ----------
    result : AuditResult
        With park coverage; the ``compounds`` and ``lifecircle`` analyses are
        included when they ran.

    Returns
    -------
    WhatIfState
    """
    from .compounds.result import BASE_CELL_COLUMNS
    from .parks import access_points

    st = result.study
    cov = result.parks
    cfg = result.config
    cells = cov.cells[[c for c in BASE_CELL_COLUMNS if c in cov.cells.columns]].copy()
    pts = _cell_points(cells)
    acc_kw = dict(cfg.parks.get("access_points", {}))
    counted = cov.parks[cov.parks["tier"].notna()]
    access = cov.access if "network" in cov.methods and len(cov.access) else access_points(counted, st.network, st.entrances, **acc_kw)
    net = st.network
    comp = result.analyses.get("compounds")
    snap = comp.plain_cell_snap if comp is not None and comp.plain_cell_snap is not None else net.snap(pts)
    if "network" in cov.methods:
        tier_dist = {t.id: cov.cells[f"net_dist:{t.id}"].to_numpy(float).copy() for t in cov.rules.tiers}
    else:
        tier_dist = _tier_passes(net, counted, access, cov.rules, snap)
    models = {"plain": ModelState("plain", net, snap, tier_dist)}
    if comp is not None:
        models["compounds"] = ModelState(
            "compounds", comp.cnet.network, comp.cell_snap.snapped,
            {t.id: comp.coverage.cells[f"net_dist:{t.id}"].to_numpy(float).copy() for t in cov.rules.tiers},
            cnet=comp.cnet, cell_csnap=comp.cell_snap)
    state = WhatIfState(
        crs=st.crs, lang=cfg.lang, rules=cov.rules, units=st.units[["unit_id", "unit_name", "geometry"]].copy(),
        historic=st.historic, cells=cells, raw_parks=st.parks, parks=cov.parks, access=access,
        entrances=st.entrances, access_kw=acc_kw, merge=bool(cfg.parks.get("merge_touching", True)),
        merge_tolerance=float(cfg.parks.get("merge_tolerance_m", 1.0)), has_historic=bool(cov.has_historic),
        models=models, compound_settings=dict(comp.settings) if comp is not None else None,
        provenance=dict(st.provenance), cell_points=pts)
    lc = result.analyses.get("lifecircle")
    if lc is not None:
        o = lc.origins
        keep = [c for c in ("origin_id", "residents", "unit_id", "unit_name") if c in o.columns]
        state.lc_rules, state.lc_settings = lc.rules, dict(lc.settings)
        state.lc_origins = gpd.GeoDataFrame(o[keep].copy(), geometry=o.geometry.values, crs=o.crs)
        cats = lc.rules.category_ids
        m = models["plain"]
        m.origin_snap = comp.plain_origin_snap if comp is not None and comp.plain_origin_snap is not None else \
            net.snap(o.geometry.values)
        m.facilities = lc.facilities
        m.cat_dist = {c: o[f"dist:{c}"].to_numpy(float).copy() for c in cats}
        if comp is not None and comp.lc_origins is not None:
            mc = models["compounds"]
            mc.origin_snap = comp.lc_origin_snap
            mc.facilities = comp.lc_facilities
            mc.cat_dist = {c: comp.lc_origins[f"dist:{c}"].to_numpy(float).copy() for c in cats}
            mc.origin_csnap = comp.lc_origin_csnap
    return state


def _clear_caches(state: WhatIfState) -> None:
    for m in state.models.values():
        for net in (m.network, getattr(m.cnet, "network", None)):
            if net is not None:
                net._tree = None
                net._index_of_id = None
        if m.cnet is not None:
            m.cnet._poly_tree = None


def save_state(result: Any, folder: str | Path) -> Path:
    """Write the what-if state of an audit as ``state.pkl`` into ``folder``.

    Called by :func:`geoplan.outputs.write_audit` on its temporary folder, so
    the state is part of the atomic output.

    Parameters
    ----------
    result : AuditResult
    folder : path

    Returns
    -------
    Path of the state file.
    """
    state = result if isinstance(result, WhatIfState) else build_state(result)
    _clear_caches(state)
    path = Path(folder) / STATE_FILE
    with open(path, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_state(path: str | Path) -> WhatIfState:
    """Read a saved state (an audit folder or its ``state.pkl``).

    The state is a Python pickle: read only states your own audits wrote (a
    pickle from elsewhere can run code when it is read).

    Raises
    ------
    DataError
        No state file, or one written by another version of geoplan.
    """
    p = Path(path)
    if p.is_dir():
        p = p / STATE_FILE
    if not p.exists():
        raise DataError(f"no what-if state at {p}.",
                        hint="Run `geoplan audit` first (it writes state.pkl into its output folder) and give that folder.")
    try:
        with open(p, "rb") as fh:
            state = pickle.load(fh)
    except Exception as exc:
        raise DataError(f"cannot read the what-if state {p} ({type(exc).__name__}: {exc}).",
                        hint="Run the audit again with this version of geoplan.") from exc
    if not isinstance(state, WhatIfState) or getattr(state, "version", None) != STATE_VERSION:
        raise DataError(f"{p} was written by another version of geoplan.", hint="Run the audit again.")
    return state


# ---------------------------------------------------------------------------
# kernel helpers
# ---------------------------------------------------------------------------
def _tier_passes(net: WalkNetwork, counted: pd.DataFrame, access: gpd.GeoDataFrame, rules: Any, snapped: Snapped,
                 tiers: list[str] | None = None) -> dict:
    """Per tier: distance of every point to the nearest park of the tier (one pass each)."""
    from .compounds.result import tier_distances

    return tier_distances(net, counted, access, rules, snapped, tiers)


def _category_passes(net: WalkNetwork, fac: pd.DataFrame, snapped: Snapped, limits: dict) -> dict:
    out = {}
    for c, limit in limits.items():
        f = fac[fac["category"] == c] if len(fac) else fac
        if len(f) == 0:
            out[c] = np.full(len(snapped), np.inf)
            continue
        s = Snapped(f["snap_edge"].to_numpy(np.int64), f["snap_along"].to_numpy(float), f["snap_m"].to_numpy(float))
        reach = multi_source(net, Sources.on_edges(s, pd.factorize(f["fac_id"])[0]), float(limit))
        out[c] = point_distances(net, reach, snapped)[0]
    return out


def _carry(cn_old: Any, cn_new: Any, snapped: Snapped) -> Snapped:
    """Points snapped on one compound network, on another built from the same plain network."""
    e = snapped.edge.astype(np.int64)
    a = snapped.along.astype(float).copy()
    base_e = e.copy()
    conn_old = cn_old.connectors
    is_conn = np.isin(e, conn_old["edge"].to_numpy()) if len(conn_old) else np.zeros(len(e), bool)
    p = cn_old.pieces
    if len(p):
        piece = pd.Series(p["old_edge"].to_numpy(), index=p["new_edge"].to_numpy())
        start = pd.Series(p["start"].to_numpy(), index=p["new_edge"].to_numpy())
        inp = np.isin(e, p["new_edge"].to_numpy()) & ~is_conn
        base_e[inp] = piece.reindex(e[inp]).to_numpy()
        a[inp] = a[inp] + start.reindex(e[inp]).to_numpy()
    out = cn_new.remap(Snapped(np.where(is_conn, 0, base_e), np.where(is_conn, 0.0, a), snapped.offset))
    edge, along = out.edge.copy(), out.along.copy()
    if is_conn.any():
        key_old = conn_old.set_index("edge")[["gate_id", "compound_id"]]
        new = cn_new.connectors.set_index(["gate_id", "compound_id"])["edge"]
        k = key_old.reindex(e[is_conn])
        edge[is_conn] = new.reindex(pd.MultiIndex.from_arrays([k["gate_id"], k["compound_id"]])).to_numpy()
        along[is_conn] = snapped.along[is_conn]
    return Snapped(edge, along, out.offset)


def _inner_length(cn: Any) -> dict:
    """Per compound: length of the mapped paths (not connectors) its homes may snap to."""
    from .compounds.snapping import CONNECTOR

    hw = cn.network.edges["highway"].to_numpy() if "highway" in cn.network.edges else None
    out = {}
    for cid, e in cn.inner.items():
        e = np.asarray(e)
        if hw is not None:
            e = e[hw[e] != CONNECTOR]
        out[int(cid)] = float(cn.network.edge_length[e].sum())
    return out


def _resnap(cn_old: Any, cn_new: Any, old: Any, pts: np.ndarray, new_gates: gpd.GeoDataFrame) -> Any:
    """Compound snapping on a network with more gates: re-snap only the points whose way out can change."""
    from .compounds.snapping import CompoundSnap, compound_snap

    n = len(pts)
    if n == 0:
        return old
    # the compound a point leaves by changes only for points inside a compound that had no gate
    # before (it, or a compound nested in it, is the point's innermost compound)
    polys_old = cn_old.compounds.polygons.set_index("compound_id")
    opened = [int(c) for c in set(new_gates["compound_id"].astype(int)) if int(polys_old.loc[c, "n_gates"]) == 0]
    nested = set(opened)
    if opened:
        geoms = cn_old.compounds.polygons
        tree = shapely.STRtree(geoms.geometry.values)
        _, inside = tree.query(polys_old.loc[opened].geometry.values, predicate="contains")
        nested |= set(geoms["compound_id"].to_numpy()[inside].astype(int).tolist())
    affected = np.isin(old.in_compound, list(nested))
    # compounds the new gates open, and compounds whose usable inner paths changed (paths only:
    # splitting a path in two leaves its length; the new gates' own connectors are covered above)
    changed = set(new_gates["compound_id"].astype(int).tolist())
    len_old, len_new = _inner_length(cn_old), _inner_length(cn_new)
    for cid in set(len_old) | set(len_new):
        if abs(len_old.get(cid, 0.0) - len_new.get(cid, 0.0)) > 1e-6:
            changed.add(int(cid))
    near = max(float(cn_new.connector_max_m), 1.0) + 15.0
    g_new = new_gates.geometry.values
    if len(g_new) and len(cn_new.gate_pos):
        gp = cn_new.gate_pos
        gtree = shapely.STRtree(shapely.points(gp["x"].to_numpy(), gp["y"].to_numpy()))
        _, gi = gtree.query(g_new, predicate="dwithin", distance=2 * near)
        changed |= set(gp["compound_id"].to_numpy()[gi].astype(int).tolist())
    affected |= np.isin(old.compound_id, list(changed))
    # points nearer to a new connector than to where they join now
    new_conn = cn_new.connectors[cn_new.connectors["gate_id"].isin(new_gates["gate_id"])]
    if len(new_conn):
        geoms = cn_new.network.edges.geometry.values[new_conn["edge"].to_numpy()]
        tree = shapely.STRtree(geoms)
        pi, _ = tree.query(pts, predicate="dwithin", distance=old.snapped.offset + 1e-6)
        affected[np.unique(pi)] = True
    out_snap = _carry(cn_old, cn_new, old.snapped)
    res = CompoundSnap(out_snap, old.compound_id.copy(), old.in_compound.copy(), old.mode.copy(), old.gate_id.copy())
    idx = np.nonzero(affected)[0]
    if len(idx):
        fresh = compound_snap(cn_new, pts[idx])
        for arr, val in ((res.snapped.edge, fresh.snapped.edge), (res.snapped.along, fresh.snapped.along),
                         (res.snapped.offset, fresh.snapped.offset), (res.compound_id, fresh.compound_id),
                         (res.in_compound, fresh.in_compound), (res.mode, fresh.mode), (res.gate_id, fresh.gate_id)):
            arr[idx] = val
    return res


# ---------------------------------------------------------------------------
# the what-if
# ---------------------------------------------------------------------------
@dataclass
class WhatIfResult:
    """What a proposal changes.

    Attributes
    ----------
    proposals : dict
        ``parks`` (selected, with tier), ``gates`` (with the compound they open),
        ``facilities`` (with category): the proposals as used.
    overall : DataFrame
        Per model (``plain``, ``compounds``): residential land and residents, covered
        before and after, newly served (and no longer served), percentages.
    by_unit : DataFrame
        The same per unit.
    lifecircle : DataFrame or None
        Per model, unit (``all`` for the whole area) and level: complete before/after,
        residents gaining a complete circle.
    cells : GeoDataFrame
        Residential cells whose park coverage changed (``status`` = ``new`` or ``lost``), per model.
    cell_dist : dict
        Model -> DataFrame of the per-cell distances after (``net_dist:<tier>``, ``net_dist``).
    origin_dist : dict
        Model -> DataFrame of the per-origin category distances after (``dist:<c>``).
    timings : dict
        Seconds per step (``total`` included).
    notes : list of str
    """

    proposals: dict
    overall: pd.DataFrame
    by_unit: pd.DataFrame
    lifecircle: pd.DataFrame | None
    cells: gpd.GeoDataFrame
    cell_dist: dict
    origin_dist: dict
    timings: dict
    notes: list = field(default_factory=list)
    crs: Any = None

    def coverage(self, model: str = "plain", when: str = "after", measure: str = "residents") -> float:
        """Coverage (%) of the whole area before or after the proposal."""
        r = self.overall[self.overall["model"] == model].iloc[0]
        return float(r[f"{'residents' if measure == 'residents' else 'land'}_pct_{when}"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV and XLSX."""
        t = {"whatif_overall": self.overall, "whatif_by_unit": self.by_unit}
        if self.lifecircle is not None:
            t["whatif_lifecircle"] = self.lifecircle
        for k, v in self.proposals.items():
            if v is not None and len(v):
                t[f"whatif_proposed_{k}"] = pd.DataFrame(v.drop(columns="geometry"))
        return t

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Layers for the GeoPackage."""
        out = {"whatif_changed_cells": self.cells}
        for k, v in self.proposals.items():
            if v is not None and len(v):
                out[f"whatif_proposed_{k}"] = v
        return {k: v for k, v in out.items() if len(v)}

    def summary(self) -> dict:
        """Headline figures as plain data."""
        def num(x: Any) -> Any:
            x = float(x)
            return None if math.isnan(x) or math.isinf(x) else round(x, 4)

        out: dict = {"proposals": {k: len(v) for k, v in self.proposals.items() if v is not None},
                     "timings_s": {k: round(v, 4) for k, v in self.timings.items()}, "notes": list(self.notes)}
        for _, r in self.overall.iterrows():
            out.setdefault("park_coverage", {})[r["model"]] = {
                k: num(r[k]) for k in ("residents_pct_before", "residents_pct_after", "land_pct_before", "land_pct_after",
                                       "new_residents", "new_land_m2", "lost_residents", "lost_land_m2")}
        if self.lifecircle is not None:
            lc = self.lifecircle[self.lifecircle["unit_id"].astype(str) == "all"]
            for _, r in lc.iterrows():
                out.setdefault("lifecircle", {}).setdefault(r["model"], {})[r["level"]] = {
                    "complete_before_pct": num(r["complete_before_pct"]), "complete_after_pct": num(r["complete_after_pct"]),
                    "gain_residents": num(r["gain_residents"])}
        return out

    def headline(self, lang: str = "en") -> str:
        """One line per model."""
        lines = []
        for _, r in self.overall.iterrows():
            m = r["model"]
            if lang == "zh":
                lines.append(f"{'封闭小区模型' if m == 'compounds' else '普通模型'}：新增服务居民 {r['new_residents']:,.0f}，"
                             f"居住用地 {r['new_land_m2']:,.0f} ㎡；居民覆盖率 {r['residents_pct_before']:.2f}% → {r['residents_pct_after']:.2f}%")
            else:
                lines.append(f"{m}: {r['new_residents']:,.0f} residents and {r['new_land_m2']:,.0f} m² of residential land newly served; "
                             f"residents covered {r['residents_pct_before']:.2f}% → {r['residents_pct_after']:.2f}%")
        return "\n".join(lines)

    def map_layers(self, lang: str = "en") -> list:
        """Newly served (and no longer served) residential land, and the proposals."""
        from .maps.layers import MapLayer

        zh = lang == "zh"
        layers = []
        c = self.cells
        if len(c):
            model = "compounds" if (c["model"] == "compounds").any() else "plain"
            d = c[c["model"] == model][["unit_name", "status", "residents", "area_m2", "geometry"]]
            d = d.dissolve(by=["unit_name", "status"], aggfunc={"residents": "sum", "area_m2": "sum"}).reset_index()
            d["residents"] = d["residents"].round(0)
            d["area_m2"] = d["area_m2"].round(0)
            layers.append(MapLayer(d, "方案带来的变化" if zh else "Change made by the proposal", kind="polygon", column="status",
                                   categories={"new": "#1a9850", "lost": "#d73027"},
                                   category_labels={"new": "新增服务" if zh else "newly served",
                                                    "lost": "不再服务" if zh else "no longer served"},
                                   fill_opacity=0.7, weight=0.5,
                                   tooltip=[("unit_name", "单元" if zh else "Unit"), ("residents", "居民" if zh else "Residents"),
                                            ("area_m2", "面积（㎡）" if zh else "Area (m²)")]))
        p = self.proposals.get("parks")
        if p is not None and len(p):
            layers.append(MapLayer(p[["park_id", "tier", "area_m2", "geometry"]].assign(tier=p["tier"].fillna("none")),
                                   "拟建公园" if zh else "Proposed parks", kind="polygon", color="#006d2c", fill_color="#74c476",
                                   fill_opacity=0.8, weight=2,
                                   tooltip=[("tier", "分级" if zh else "Tier"), ("area_m2", "面积（㎡）" if zh else "Area (m²)")]))
        g = self.proposals.get("gates")
        if g is not None and len(g):
            layers.append(MapLayer(g[["gate_id", "compound_id", "geometry"]], "拟开出入口" if zh else "Proposed gates", kind="point",
                                   color="#a63603", fill_color="#fd8d3c", radius_px=6))
        f = self.proposals.get("facilities")
        if f is not None and len(f):
            layers.append(MapLayer(f[["category", "geometry"]], "拟建设施" if zh else "Proposed facilities", kind="point",
                                   color="#08519c", fill_color="#6baed6", radius_px=6,
                                   tooltip=[("category", "类别" if zh else "Category")]))
        return layers

    def write(self, out: str | Path, *, overwrite: bool = False, lang: str = "en", maps: bool = True,
              units: gpd.GeoDataFrame | None = None) -> Path:
        """Write tables (CSV, XLSX), layers (GeoPackage), ``summary.json`` and ``map.html`` atomically."""
        from .outputs import atomic_folder, write_tables_xlsx

        with atomic_folder(out, overwrite=overwrite) as tmp:
            tables = self.tables()
            (tmp / "tables").mkdir()
            for name, df in tables.items():
                df.to_csv(tmp / "tables" / f"{name}.csv", index=False, float_format="%.6f", lineterminator="\n")
            write_tables_xlsx(tables, tmp / "whatif.xlsx", lang)
            (tmp / "summary.json").write_text(json.dumps(_clean(self.summary()), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                              encoding="utf-8")
            for name, gdf in self.layers().items():
                _gpkg_clean(gdf).to_file(tmp / "whatif.gpkg", layer=name, driver="GPKG", engine="pyogrio")
            if maps:
                from .maps import interactive_map, save_map

                layers = self.map_layers(lang)
                if units is not None and len(units):
                    from .maps.layers import MapLayer

                    layers.insert(0, MapLayer(units[["unit_name", "geometry"]], "统计单元" if lang == "zh" else "Units",
                                              kind="polygon", color="#444444", fill_opacity=0.0, weight=1.5,
                                              tooltip=[("unit_name", "单元" if lang == "zh" else "Unit")]))
                if layers:
                    title = "方案评估" if lang == "zh" else "What-if"
                    save_map(interactive_map(layers, title=title), tmp / "map.html")
        return Path(out).resolve()


def _gpkg_clean(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Field names and values that open cleanly in QGIS (the audit writer's rules when available)."""
    try:
        from .outputs import _gpkg_ready

        return _gpkg_ready(gdf)
    except ImportError:  # pragma: no cover
        g = gdf.copy()
        for c in g.columns:
            if c != g.geometry.name and g[c].dtype == object:
                g[c] = g[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
        return g


def _clean(v: Any) -> Any:
    from .outputs import _clean as clean

    return clean(v)


def _read_proposal(layer: Any, crs: Any, what: str, geom: tuple[str, ...], datum: str | None = None) -> gpd.GeoDataFrame | None:
    if layer is None:
        return None
    if isinstance(layer, (str, Path)):
        from .sources.layers import read_layer

        layer = read_layer(layer, datum=datum, what=what, geom_types=geom)
    if not isinstance(layer, gpd.GeoDataFrame):
        raise UsageError(f"the proposed {what} must be a GeoDataFrame or a file.")
    if layer.crs is None:
        raise DataError(f"the proposed {what} have no CRS.", hint="Set one, e.g. gdf.set_crs('EPSG:4326').")
    layer = layer.to_crs(crs)
    return layer[~layer.geometry.is_empty & layer.geometry.notna()].reset_index(drop=True)


def _groups(df: pd.DataFrame) -> tuple[np.ndarray, list]:
    """Unit code of every row (0..k-1, sorted by unit id) and the (unit_id, unit_name) of each code."""
    uid = df["unit_id"].to_numpy()
    codes, uniq = pd.factorize(uid, sort=True)
    names = pd.Series(df["unit_name"].to_numpy()).groupby(codes).first()
    return codes, [(u, names.iloc[i]) for i, u in enumerate(uniq)]


def _coverage_tables(state: WhatIfState, before: dict, after: dict) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    cells = state.cells
    area = cells["area_m2"].to_numpy(float)
    res = cells["residents"].to_numpy(float)
    codes, keys = _groups(cells)
    k = len(keys)
    rows, changed = [], []
    for model, dist in after.items():
        d_b = np.min(np.vstack(list(before[model].values())), axis=0) if before[model] else np.full(len(cells), np.inf)
        d_a = np.min(np.vstack(list(dist.values())), axis=0) if dist else np.full(len(cells), np.inf)
        b, a = np.isfinite(d_b), np.isfinite(d_a)
        new, lost = a & ~b, b & ~a
        cols = {"land_m2": area, "residents": res, "covered_m2_before": area * b, "covered_m2_after": area * a,
                "covered_residents_before": res * b, "covered_residents_after": res * a, "new_land_m2": area * new,
                "new_residents": res * new, "lost_land_m2": area * lost, "lost_residents": res * lost}
        per = {c: np.bincount(codes, weights=v, minlength=k) for c, v in cols.items()}
        t = pd.DataFrame({"model": model, "unit_id": ["all", *[u for u, _ in keys]],
                          "unit_name": ["all", *[n for _, n in keys]],
                          **{c: np.concatenate([[v.sum()], per[c]]) for c, v in cols.items()}})
        rows.append(t)
        if (new | lost).any():
            idx = np.nonzero(new | lost)[0]
            changed.append(gpd.GeoDataFrame({
                "model": model, "cell_id": cells["cell_id"].to_numpy()[idx], "unit_id": cells["unit_id"].to_numpy()[idx],
                "unit_name": cells["unit_name"].to_numpy()[idx], "status": np.where(new[idx], "new", "lost"),
                "area_m2": area[idx], "residents": res[idx], "dist_before": np.where(np.isinf(d_b[idx]), np.nan, d_b[idx]),
                "dist_after": np.where(np.isinf(d_a[idx]), np.nan, d_a[idx])}, geometry=cells.geometry.values[idx], crs=cells.crs))
    t = pd.concat(rows, ignore_index=True)
    for w in ("before", "after"):
        t[f"land_pct_{w}"] = 100 * t[f"covered_m2_{w}"] / t["land_m2"].where(t["land_m2"] > 0)
        t[f"residents_pct_{w}"] = 100 * t[f"covered_residents_{w}"] / t["residents"].where(t["residents"] > 0)
    t["residents_change_pp"] = t["residents_pct_after"] - t["residents_pct_before"]
    t["land_change_pp"] = t["land_pct_after"] - t["land_pct_before"]
    cols = ["model", "unit_id", "unit_name", "land_m2", "residents", "land_pct_before", "land_pct_after", "land_change_pp",
            "residents_pct_before", "residents_pct_after", "residents_change_pp", "new_land_m2", "new_residents",
            "lost_land_m2", "lost_residents", "covered_m2_before", "covered_m2_after", "covered_residents_before",
            "covered_residents_after"]
    t = t[cols]
    is_all = t["unit_id"].astype(str) == "all"
    overall = t[is_all].reset_index(drop=True)
    by_unit = t[~is_all].reset_index(drop=True)
    cells_out = (gpd.GeoDataFrame(pd.concat(changed, ignore_index=True), geometry="geometry", crs=cells.crs) if changed else
                 gpd.GeoDataFrame({"model": [], "cell_id": [], "unit_id": [], "unit_name": [], "status": [], "area_m2": [],
                                   "residents": []}, geometry=gpd.GeoSeries([], crs=cells.crs), crs=cells.crs))
    return overall, by_unit, cells_out


def what_if(
    state: WhatIfState | str | Path,
    *,
    parks: Any = None,
    gates: Any = None,
    facilities: Any = None,
    category_field: str = "category",
    datums: Mapping[str, str] | None = None,
) -> WhatIfResult:
    """Who gains from proposed parks, gates in compound walls or facilities.

    Parameters
    ----------
    state : WhatIfState or path
        From :func:`build_state` / :func:`load_state` (an audit folder or its ``state.pkl``).
    parks : GeoDataFrame or path, optional
        Proposed park polygons (any CRS).
    gates : GeoDataFrame or path, optional
        Proposed gates (points) in compound walls; each opens every compound whose
        outline is within the gate tolerance (15 m).  Needs the compound analysis.
    facilities : GeoDataFrame or path, optional
        Proposed facilities (points or polygons) with a category column (ids of the
        life-circle rules, e.g. ``kindergarten``).  Needs the life-circle analysis.
    category_field : str
        The category column of ``facilities``.
    datums : mapping, optional
        Declared datums of the proposal files (``{"parks": "gcj02"}``).

    Returns
    -------
    WhatIfResult

    Notes
    -----
    The state is not modified: every call starts from the audit.
    """
    t0 = time.perf_counter()
    timings: dict = {}
    if not isinstance(state, WhatIfState):
        state = load_state(state)
        timings["load_state"] = time.perf_counter() - t0
    datums = dict(datums or {})
    crs = state.crs
    notes: list[str] = []
    p_parks = _read_proposal(parks, crs, "parks", ("polygon",), datums.get("parks"))
    p_gates = _read_proposal(gates, crs, "gates", ("point",), datums.get("gates"))
    p_fac = _read_proposal(facilities, crs, "facilities", ("point", "polygon"), datums.get("facilities"))
    if p_parks is None and p_gates is None and p_fac is None:
        raise UsageError("nothing proposed.", hint="Give proposed parks, gates or facilities.")
    if p_gates is not None and "compounds" not in state.models:
        raise UsageError("proposed gates need the compound model, which this audit did not run.",
                         hint="Run the audit with the compound analysis installed (compounds: enabled: true).")
    if p_fac is not None and state.lc_rules is None:
        raise UsageError("proposed facilities need the life-circle analysis, which this audit did not run.")

    # -- parks ---------------------------------------------------------------
    t = time.perf_counter()
    all_parks, all_access, new_access, full_parks = state.parks, state.access, None, False
    sel = None
    if p_parks is not None and len(p_parks):
        all_parks, all_access, new_access, sel, full_parks = _add_parks(state, p_parks)
        if full_parks:
            notes.append("a proposed park touches an existing one: they were merged as in the audit and every tier recomputed")
    counted = all_parks[all_parks["tier"].notna()]
    timings["proposed parks: selection and access points"] = time.perf_counter() - t

    # -- gates: the compound network changes ------------------------------------
    models = dict(state.models)
    p_gates_used = None
    if p_gates is not None and len(p_gates):
        t = time.perf_counter()
        models["compounds"], p_gates_used = _with_gates(state, models["compounds"], p_gates, notes)
        timings["proposed gates: compound network and snapping"] = time.perf_counter() - t

    # -- park passes ----------------------------------------------------------
    t = time.perf_counter()
    before = {m: state.models[m].tier_dist for m in models}
    after: dict = {}
    for name, m in models.items():
        redo = full_parks or (name == "compounds" and p_gates_used is not None)
        if redo:
            after[name] = _tier_passes(m.network, counted, all_access, state.rules, m.cell_snap)
        elif new_access is not None and len(new_access):
            tiers = sorted(set(new_access["tier"]))
            nd = _tier_passes(m.network, new_access[["park_id", "tier"]].drop_duplicates(), new_access.drop(columns="tier"),
                              state.rules, m.cell_snap, tiers)
            after[name] = {k: (np.minimum(v, nd[k]) if k in nd else v) for k, v in m.tier_dist.items()}
        else:
            after[name] = m.tier_dist
    timings["park passes"] = time.perf_counter() - t
    overall, by_unit, changed = _coverage_tables(state, before, after)

    # -- life circles ----------------------------------------------------------
    lc_table = None
    origin_dist: dict = {}
    fac_used = None
    if state.lc_rules is not None and (p_fac is not None or p_gates_used is not None):
        t = time.perf_counter()
        lc_table, origin_dist, fac_used = _lifecircle(state, models, p_fac, category_field, p_gates_used is not None)
        timings["life-circle passes"] = time.perf_counter() - t

    timings["total"] = time.perf_counter() - t0
    cell_dist = {m: pd.DataFrame({**{f"net_dist:{k}": v for k, v in d.items()},
                                  "net_dist": np.min(np.vstack(list(d.values())), axis=0)}) for m, d in after.items()}
    proposals = {"parks": sel, "gates": p_gates_used, "facilities": fac_used}
    return WhatIfResult({k: v for k, v in proposals.items() if v is not None}, overall, by_unit, lc_table, changed,
                        cell_dist, origin_dist, timings, notes, crs)


def _add_parks(state: WhatIfState, proposed: gpd.GeoDataFrame) -> tuple:
    """Select proposed parks (tiers), their access points, and whether every tier must be redone."""
    from .parks import access_points, select_parks

    names = proposed["name"].to_numpy() if "name" in proposed else np.full(len(proposed), "proposed", dtype=object)
    raw = gpd.GeoDataFrame({"name": names}, geometry=proposed.geometry.values, crs=state.crs)
    touching = False
    if state.merge and len(state.raw_parks):
        tree = shapely.STRtree(state.raw_parks.geometry.values)
        i, _ = tree.query(raw.geometry.values, predicate="dwithin", distance=state.merge_tolerance)
        touching = len(i) > 0
    if touching:
        allraw = gpd.GeoDataFrame(pd.concat([state.raw_parks, raw], ignore_index=True), geometry="geometry", crs=state.crs)
        parks = select_parks(allraw, state.rules, state.historic, merge=state.merge, merge_tolerance=state.merge_tolerance)
        counted = parks[parks["tier"].notna()]
        access = access_points(counted, state.models["plain"].network, state.entrances, **state.access_kw)
        new_ids = set(parks["park_id"][parks.geometry.intersects(shapely.union_all(raw.geometry.values))])
        sel = parks[parks["park_id"].isin(new_ids)].copy()
        sel["proposed"] = True
        return parks, access, None, sel, True
    sel = select_parks(raw, state.rules, state.historic, merge=state.merge, merge_tolerance=state.merge_tolerance)
    sel["park_id"] = sel["park_id"] + int(state.parks["park_id"].max() if len(state.parks) else 0)
    sel["proposed"] = True
    counted = sel[sel["tier"].notna()]
    if len(counted) < len(sel):
        warnings.warn(f"{len(sel) - len(counted)} proposed parks are below every tier of {state.rules.name} and serve nobody.",
                      GeoplanWarning, stacklevel=3)
    access = access_points(counted, state.models["plain"].network, state.entrances, **state.access_kw) if len(counted) else \
        state.access.iloc[:0]
    parks = gpd.GeoDataFrame(pd.concat([state.parks, sel.drop(columns="proposed")], ignore_index=True), geometry="geometry",
                             crs=state.crs)
    all_access = gpd.GeoDataFrame(pd.concat([state.access, access], ignore_index=True), geometry="geometry", crs=state.crs)
    new_access = access.merge(counted[["park_id", "tier"]], on="park_id")
    return parks, all_access, new_access, sel, False


def _with_gates(state: WhatIfState, m: ModelState, gates: gpd.GeoDataFrame, notes: list) -> tuple[ModelState, gpd.GeoDataFrame]:
    """The compound model with proposed gates: new compound network, carried-over and re-snapped homes."""
    from .compounds.snapping import compound_network

    s = state.compound_settings or {}
    tol = float(s.get("gate_tolerance_m", 15.0))
    cn_old = m.cnet
    comp2 = cn_old.compounds.with_gates(gates, tolerance_m=tol, kind="proposed")
    new_rows = comp2.gates[comp2.gates["kind"] == "proposed"]
    new_rows = new_rows[new_rows["gate_id"] > (int(cn_old.compounds.gates["gate_id"].max()) if len(cn_old.compounds.gates) else 0)]
    if len(new_rows) == 0:
        raise DataError(f"no proposed gate lies within {tol:g} m of a compound outline.",
                        hint="Place gates on the walls of the compounds (see the compounds layer of the audit).")
    placed = shapely.STRtree(new_rows.geometry.values)
    hit, _ = placed.query(gates.geometry.values, predicate="dwithin", distance=1e-6)
    if len(np.unique(hit)) < len(gates):
        notes.append(f"{len(gates) - len(np.unique(hit))} proposed gates are not on a compound outline and were ignored")
    base = state.models["plain"].network
    cn_new = compound_network(base, comp2, connector_max_m=float(s.get("connector_max_m", 60.0)), reuse=cn_old)
    pts = state.cell_points if state.cell_points is not None else _cell_points(state.cells)
    csnap = _resnap(cn_old, cn_new, m.cell_csnap, pts, new_rows)
    m2 = ModelState("compounds", cn_new.network, csnap.snapped, m.tier_dist, cnet=cn_new, cell_csnap=csnap)
    if state.lc_origins is not None and m.origin_csnap is not None:
        oc = _resnap(cn_old, cn_new, m.origin_csnap, state.lc_origins.geometry.values, new_rows)
        m2.origin_csnap, m2.origin_snap = oc, oc.snapped
        from .compounds.result import snap_facilities_compound

        m2.facilities = snap_facilities_compound(cn_new, m.facilities) if m.facilities is not None else None
        m2.cat_dist = m.cat_dist
    used = gpd.GeoDataFrame(new_rows[["gate_id", "compound_id", "kind", "geometry"]], geometry="geometry", crs=state.crs)
    return m2, used


def _lifecircle(state: WhatIfState, models: dict, p_fac: gpd.GeoDataFrame | None, category_field: str,
                gates_changed: bool) -> tuple[pd.DataFrame, dict, gpd.GeoDataFrame | None]:
    from .lifecircle import snap_facilities

    rules = state.lc_rules
    fac_used = None
    if p_fac is not None:
        if category_field not in p_fac.columns:
            raise DataError(f"the proposed facilities have no {category_field!r} column.",
                            hint=f"Give each a category (one of {', '.join(rules.category_ids)}).")
        cat = p_fac[category_field].astype(str)
        alias = rules.alias_map()
        cat = cat.map(lambda c: alias.get(c.strip().lower(), c))
        bad = sorted(set(cat) - set(rules.category_ids))
        if bad:
            raise DataError(f"unknown facility categories {bad}.", hint=f"Known: {', '.join(rules.category_ids)}.")
        fac_used = gpd.GeoDataFrame({"category": cat.to_numpy(), "name": p_fac["name"].to_numpy() if "name" in p_fac else None,
                                     "source": "proposed"}, geometry=p_fac.geometry.values, crs=state.crs)
    o = state.lc_origins
    rows, origin_dist = [], {}
    for name, m in models.items():
        if m.origin_snap is None:
            continue
        dist = {c: v for c, v in m.cat_dist.items()}
        newf = None
        if fac_used is not None:
            start = int(pd.to_numeric(m.facilities["fac_id"], errors="coerce").max()) if m.facilities is not None and len(m.facilities) else 0
            f = fac_used.assign(fac_id=np.arange(start + 1, start + 1 + len(fac_used)))
            if name == "compounds":
                from .compounds.result import snap_facilities_compound

                # entry points of polygons on the plain network, as the life-circle analysis finds them
                f = snap_facilities(f, state.models["plain"].network)
                newf = snap_facilities_compound(m.cnet, f)
            else:
                newf = snap_facilities(f, m.network)
        if gates_changed and name == "compounds":
            allf = m.facilities if newf is None else pd.concat([m.facilities, newf], ignore_index=True)
            dist = _category_passes(m.network, allf, m.origin_snap, state.lc_limits())
        elif newf is not None:
            cats = sorted(set(newf["category"]))
            nd = _category_passes(m.network, newf, m.origin_snap, state.lc_limits(cats))
            dist = {c: (np.minimum(v, nd[c]) if c in nd else v) for c, v in dist.items()}
        before_c = _complete(state.models[name].cat_dist, rules)
        after_c = _complete(dist, rules)
        after = pd.DataFrame({"origin_id": o["origin_id"].to_numpy(), "residents": o["residents"].to_numpy(float),
                              "unit_id": o["unit_id"].to_numpy(), "unit_name": o["unit_name"].to_numpy(),
                              **{f"dist:{c}": dist[c] for c in rules.category_ids},
                              **{f"complete:{k}": v for k, v in after_c.items()}})
        origin_dist[name] = after
        sc = _scenario(o, before_c, after_c, [lv.id for lv in rules.levels])
        sc.insert(0, "model", name)
        rows.append(sc)
    table = pd.concat(rows, ignore_index=True) if rows else None
    return table, origin_dist, fac_used


def _complete(dist: dict, rules: Any) -> dict:
    """Per level: does each origin reach every required category of the level within its distance
    (the definition of :func:`geoplan.lifecircle.completeness`, as boolean arrays)."""
    out = {}
    n = len(next(iter(dist.values()))) if dist else 0
    for lv in rules.levels:
        ok = np.ones(n, bool)
        for c in rules.required_at(lv.id):
            ok &= dist[c] <= lv.distance_m
        out[lv.id] = ok
    return out


def _scenario(origins: pd.DataFrame, before: dict, after: dict, levels: list[str]) -> pd.DataFrame:
    """Per unit (and ``all``) and level: complete before/after (% of residents), residents and homes gaining.

    The columns of :func:`geoplan.lifecircle.scenario_change`; residents weigh each origin (one
    each when no residents are known)."""
    res = np.nan_to_num(origins["residents"].to_numpy(float))
    w = res if res.sum() > 0 else np.ones(len(res))
    codes, keys = _groups(origins)
    k = len(keys)
    W = np.concatenate([[w.sum()], np.bincount(codes, weights=w, minlength=k)])
    R = np.concatenate([[res.sum()], np.bincount(codes, weights=res, minlength=k)])
    parts = []
    for lid in levels:
        b, a = before[lid], after[lid]
        gain = a & ~b

        def tot(v: np.ndarray) -> np.ndarray:
            return np.concatenate([[v.sum()], np.bincount(codes, weights=v, minlength=k)])

        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append(pd.DataFrame({
                "unit_id": ["all", *[u for u, _ in keys]], "unit_name": ["all", *[n for _, n in keys]], "level": lid,
                "residents": R, "complete_before_pct": np.where(W > 0, 100 * tot(w * b) / W, np.nan),
                "complete_after_pct": np.where(W > 0, 100 * tot(w * a) / W, np.nan),
                "gain_residents": tot(res * gain), "gain_origins": tot(gain.astype(float)).astype(int)}))
    t = pd.concat(parts, ignore_index=True)
    t["change_pp"] = t["complete_after_pct"] - t["complete_before_pct"]
    return t


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def add_parser(subparsers: Any) -> None:
    """Add ``geoplan whatif`` to the command line."""
    p = subparsers.add_parser("whatif", help="who gains from proposed parks, gates or facilities (after an audit)",
                              description="Recompute only what a proposal changes, from the state an audit saved "
                                          "(state.pkl in its output folder).")
    p.add_argument("audit", help="output folder of `geoplan audit` (or its state.pkl)")
    p.add_argument("--parks", help="proposed park polygons (any layer format)")
    p.add_argument("--gates", help="proposed gates in compound walls (points)")
    p.add_argument("--facilities", help="proposed facilities (points/polygons with a category field)")
    p.add_argument("--category-field", default="category", help="category field of --facilities (default: category)")
    p.add_argument("--datum", action="append", metavar="LAYER=DATUM",
                   help="datum of a proposal layer: parks=gcj02, gates=wgs84 ... (repeatable)")
    p.add_argument("--out", help="output folder (default: <audit>-whatif)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--lang", choices=["zh", "en"], help="language of the tables and map (default: the audit's)")
    p.add_argument("--no-maps", action="store_true", help="skip map.html")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_whatif)


def cmd_whatif(args: argparse.Namespace) -> int:
    """Run ``geoplan whatif``."""
    from .cli import Reporter, _parse_datums

    say = Reporter(args.quiet)
    src = Path(args.audit)
    folder = src if src.is_dir() else src.parent
    out = Path(args.out) if args.out else folder.parent / f"{folder.name}-whatif"
    if out.exists() and not args.overwrite:
        raise UsageError(f"output folder {out.resolve()} already exists.", hint="Choose another --out or pass --overwrite.")
    say("reading the audit state")
    t = time.perf_counter()
    state = load_state(src)
    t_load = time.perf_counter() - t
    say("recomputing what the proposal changes")
    res = what_if(state, parks=args.parks, gates=args.gates, facilities=args.facilities,
                  category_field=args.category_field, datums=_parse_datums(args.datum))
    res.timings["load_state"] = t_load
    lang = args.lang or state.lang
    say(f"answered in {res.timings['total']:.2f} s; writing {out}")
    path = res.write(out, overwrite=args.overwrite, lang=lang, maps=not args.no_maps, units=state.units)
    if not args.quiet:
        print(res.headline(lang))
        print(f"\n→ {path}")
    return 0

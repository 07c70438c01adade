"""What a proposal changes: new parks, gates in compound walls, facilities — recomputed from a saved state.

:func:`what_if` recomputes only what a proposal changes:

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
and reports the residents and residential land newly served per unit and the
coverage after.
"""

from __future__ import annotations

import math
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

from .._util import ShowsInJupyter
from ..compounds.result import snap_facilities_compound
from ..compounds.snapping import CONNECTOR, CompoundSnap, compound_network, compound_snap
from ..errors import DataError, GeoplanWarning, UsageError
from ..lifecircle import snap_facilities
from ..lifecircle.access import category_distances
from ..network import Snapped, WalkNetwork
from ..parks import access_points, select_parks
from ..sources.layers import read_layer
from ..study import check_layer_datum
from .state import ModelState, WhatIfState, cell_points, load_state, tier_passes

__all__ = ["WhatIfResult", "what_if"]

# ---------------------------------------------------------------------------
# kernel helpers
# ---------------------------------------------------------------------------
def _category_passes(net: WalkNetwork, fac: pd.DataFrame, snapped: Snapped, limits: dict) -> dict:
    """Per category, the walking distance of every point to its nearest facility (``inf`` beyond the limit)."""
    return {c: d for c, (d, _) in category_distances(net, snapped, fac, limits).items()}


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
class WhatIfResult(ShowsInJupyter):
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

    def indicator(self, target: dict) -> float | None:
        """The measured value of a target: a what-if defines no target indicator (None)."""
        return None


def _read_proposal(layer: Any, crs: Any, what: str, geom: tuple[str, ...], datum: str | None = None) -> gpd.GeoDataFrame | None:
    if layer is None:
        return None
    if isinstance(layer, (str, Path)):
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
        From :func:`build_state` / :func:`load_state` (an audit folder or its ``whatif-state.json``).
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
    for name, given, layer in (("parks", parks, p_parks), ("gates", gates, p_gates), ("facilities", facilities, p_fac)):
        if layer is not None:  # a proposal drawn on an AMap basemap is GCJ-02: warn as for every user layer
            check_layer_datum(layer, state.models["plain"].network, name, datums.get(name),
                              f"proposed {name} {given if isinstance(given, (str, Path)) else ''}".strip())
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
            after[name] = tier_passes(m.network, counted, all_access, state.rules, m.cell_snap)
        elif new_access is not None and len(new_access):
            tiers = sorted(set(new_access["tier"]))
            nd = tier_passes(m.network, new_access[["park_id", "tier"]].drop_duplicates(), new_access.drop(columns="tier"),
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
    pts = state.cell_points if state.cell_points is not None else cell_points(state.cells)
    csnap = _resnap(cn_old, cn_new, m.cell_csnap, pts, new_rows)
    m2 = ModelState("compounds", cn_new.network, csnap.snapped, m.tier_dist, cnet=cn_new, cell_csnap=csnap)
    if state.lc_origins is not None and m.origin_csnap is not None:
        oc = _resnap(cn_old, cn_new, m.origin_csnap, state.lc_origins.geometry.values, new_rows)
        m2.origin_csnap, m2.origin_snap = oc, oc.snapped
        m2.facilities = snap_facilities_compound(cn_new, m.facilities) if m.facilities is not None else None
        m2.cat_dist = m.cat_dist
    used = gpd.GeoDataFrame(new_rows[["gate_id", "compound_id", "kind", "geometry"]], geometry="geometry", crs=state.crs)
    return m2, used


def _lifecircle(state: WhatIfState, models: dict, p_fac: gpd.GeoDataFrame | None, category_field: str,
                gates_changed: bool) -> tuple[pd.DataFrame, dict, gpd.GeoDataFrame | None]:
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
    (the definition of :func:`geoplan.lifecircle.completeness`, as boolean arrays).
    """
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
    each when no residents are known).
    """
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

"""The compound analysis of an audit: park coverage and life circles with and without walls.

:func:`run_compounds` re-runs the network park coverage (and, when the
life-circle analysis ran, the life circles) with compound-aware snapping on
the compound network, and reports every figure side by side with the
ordinary run, per unit: the difference is the walk that walls add (or, where
a gate links paths OpenStreetMap left apart, the walk that gates save).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._util import ShowsInJupyter
from .._util import finite
from ..network import Snapped, distances_by_group
from ..parks import access_points, park_coverage
from ..parks.coverage import ParkCoverage, tier_sources
from .extract import Compounds, compound_settings, load_compounds
from .snapping import CompoundNetwork, CompoundSnap, compound_network, compound_snap
from .walks import walk_split, walks_by_compound, walks_by_unit
from ..fairness import park_distances
from ..lifecircle import life_circle
from ..lifecircle import snap_facilities
from ..lifecircle import summarise_units
from ..parks.coverage import summarise

__all__ = [
    "BASE_CELL_COLUMNS",
    "CompoundResult",
    "compare_coverage",
    "compare_lifecircle",
    "run_compounds",
    "run_compounds_for_audit",
    "snap_facilities_compound",
]

#: Columns of residential cells before any coverage is measured.
BASE_CELL_COLUMNS = ["cell_id", "unit_id", "unit_name", "historic", "area_m2", "residents", "geometry"]

#: Distance cap (m) of the per-cell walk to the nearest park used for "walk added by walls".
ADDED_WALK_CAP_M = 3000.0


def tier_distances(network: Any, counted: pd.DataFrame, access: gpd.GeoDataFrame, rules: Any, snapped: Snapped,
                   tiers: list[str] | None = None, share: float | None = None) -> dict:
    """Per tier: walking distance of every point to the nearest park of the tier (one kernel pass each,
    bounded by the tier's radius; ``inf`` beyond), as :func:`~geoplan.parks.coverage.network_cover` measures it
    (``share``: the main-piece share park entrances are snapped with, default the network's).
    """
    src = tier_sources(network, counted, access, rules, share=share)
    if tiers is not None:
        src = {k: v for k, v in src.items() if k in tiers}
    passes = distances_by_group(network, src, snapped, {t.id: t.radius_m for t in rules.tiers})
    return {k: g.dist for k, g in passes.items()}


def network_coverage_table(cells: gpd.GeoDataFrame, counted: pd.DataFrame, access: gpd.GeoDataFrame, rules: Any,
                           network: Any, snapped: Snapped, has_historic: bool,
                           share: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Network coverage tables (overall, by unit) without the zones and blind spots of a full run."""
    d = tier_distances(network, counted, access, rules, snapped, share=share)
    c = pd.DataFrame(cells.drop(columns="geometry"))
    for k, v in d.items():
        c[f"net_dist:{k}"] = v
    c["net_dist"] = np.min(np.vstack(list(d.values())), axis=0) if d else np.inf
    return (summarise(c, rules, ("network",), has_historic),
            summarise(c, rules, ("network",), has_historic, by=["unit_id", "unit_name"]))


def compare_coverage(plain: pd.DataFrame, comp: pd.DataFrame, keys: list[str], links: pd.DataFrame | None = None,
                     nearest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Side-by-side coverage tables (network method) without and with the compound model.

    Parameters
    ----------
    plain, comp : DataFrame
        ``by_unit`` or ``overall`` tables of :func:`~geoplan.parks.park_coverage`.
    keys : list of str
        Row keys besides ``scope`` and ``tier`` (``["unit_id", "unit_name"]`` or ``[]``).
    links : DataFrame, optional
        The same table on the compound network with ordinary snapping (gate links
        only, no walls): adds ``*_links`` columns, so that the change splits into
        what gate links give (links - plain) and what walls take (compounds - links).
    nearest : DataFrame, optional
        The same table on the plain network with homes and park entrances snapped to the
        nearest street of any piece (the old rule): adds ``land_pct_nearest``,
        ``residents_pct_nearest`` and ``residents_snapping_pp`` (plain - nearest), what
        snapping to the main network changed.

    Returns
    -------
    DataFrame
        ``scope``, ``tier``, keys, ``land_m2``, ``residents``, ``land_pct``,
        ``land_pct_compounds``, ``land_diff_pp``, ``residents_pct``,
        ``residents_pct_compounds``, ``residents_diff_pp``, covered land and residents
        of both; with ``links``: ``land_pct_links``, ``residents_pct_links``,
        ``residents_walls_pp`` and ``residents_links_pp``.
    """
    k = ["scope", "tier", *keys]
    a = plain[plain["method"] == "network"][[*k, "land_m2", "residents", "covered_m2", "land_pct", "covered_residents",
                                              "residents_pct"]]
    b = comp[comp["method"] == "network"][[*k, "covered_m2", "land_pct", "covered_residents", "residents_pct"]]
    m = a.merge(b, on=k, how="outer", suffixes=("", "_compounds"))
    m["land_diff_pp"] = m["land_pct_compounds"] - m["land_pct"]
    m["residents_diff_pp"] = m["residents_pct_compounds"] - m["residents_pct"]
    cols = [*k, "land_m2", "residents", "land_pct", "land_pct_compounds", "land_diff_pp", "residents_pct",
            "residents_pct_compounds", "residents_diff_pp", "covered_m2", "covered_m2_compounds", "covered_residents",
            "covered_residents_compounds"]
    if links is not None:
        c = links[links["method"] == "network"][[*k, "land_pct", "residents_pct"]].rename(
            columns={"land_pct": "land_pct_links", "residents_pct": "residents_pct_links"})
        m = m.merge(c, on=k, how="left")
        m["residents_links_pp"] = m["residents_pct_links"] - m["residents_pct"]
        m["residents_walls_pp"] = m["residents_pct_compounds"] - m["residents_pct_links"]
        cols += ["land_pct_links", "residents_pct_links", "residents_links_pp", "residents_walls_pp"]
    if nearest is not None:
        c = nearest[nearest["method"] == "network"][[*k, "land_pct", "residents_pct"]].rename(
            columns={"land_pct": "land_pct_nearest", "residents_pct": "residents_pct_nearest"})
        m = m.merge(c, on=k, how="left")
        m["residents_snapping_pp"] = m["residents_pct"] - m["residents_pct_nearest"]
        cols += ["land_pct_nearest", "residents_pct_nearest", "residents_snapping_pp"]
    return m[cols]


def compare_lifecircle(plain: pd.DataFrame, comp: pd.DataFrame, levels: list[str], keys: list[str],
                       links: pd.DataFrame | None = None) -> pd.DataFrame:
    """Side-by-side life-circle completeness per level without and with the compound model.

    Parameters
    ----------
    plain, comp : DataFrame
        ``by_unit`` or ``overall`` tables of :func:`~geoplan.lifecircle.summarise_units`.
    levels : list of str
    keys : list of str
    links : DataFrame, optional
        The same on the compound network with ordinary snapping (adds ``complete_pct_links``).

    Returns
    -------
    DataFrame
        keys, ``level``, ``residents``, ``complete_pct``, ``complete_pct_compounds``,
        ``complete_diff_pp``, ``score_pct``, ``score_pct_compounds``, ``score_diff_pp``
        (and ``complete_pct_links``).
    """
    rows = []

    def _join(x: pd.DataFrame, y: pd.DataFrame) -> pd.DataFrame:
        return x.merge(y, on=keys, how="outer") if keys else pd.concat([x.reset_index(drop=True), y.reset_index(drop=True)], axis=1)

    for lid in levels:
        a = plain[[*keys, "residents", f"complete_{lid}_pct", f"score_{lid}_pct"]].rename(
            columns={f"complete_{lid}_pct": "complete_pct", f"score_{lid}_pct": "score_pct"})
        b = comp[[*keys, f"complete_{lid}_pct", f"score_{lid}_pct"]].rename(
            columns={f"complete_{lid}_pct": "complete_pct_compounds", f"score_{lid}_pct": "score_pct_compounds"})
        m = _join(a, b)
        if links is not None:
            m = _join(m, links[[*keys, f"complete_{lid}_pct"]].rename(columns={f"complete_{lid}_pct": "complete_pct_links"}))
        m.insert(len(keys), "level", lid)
        m["complete_diff_pp"] = m["complete_pct_compounds"] - m["complete_pct"]
        m["score_diff_pp"] = m["score_pct_compounds"] - m["score_pct"]
        rows.append(m)
    out = pd.concat(rows, ignore_index=True)
    cols = [*keys, "level", "residents", "complete_pct", "complete_pct_compounds", "complete_diff_pp", "score_pct",
            "score_pct_compounds", "score_diff_pp"]
    return out[cols + (["complete_pct_links"] if links is not None else [])]


def snap_facilities_compound(cn: CompoundNetwork, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Facility entry points snapped by the compound model (a kindergarten inside a 小区 is
    reached through the 小区's gates), with ``snap_edge``, ``snap_along``, ``snap_m`` on the
    compound network.
    """
    f = facilities.copy()
    if len(f) == 0:
        return f
    cs = compound_snap(cn, f.geometry.values)
    f["snap_edge"] = cs.snapped.edge
    f["snap_along"] = cs.snapped.along
    f["snap_m"] = cs.snapped.offset
    f["compound_mode"] = cs.mode
    return f


@dataclass
class CompoundResult(ShowsInJupyter):
    """What the compound model changed.

    Attributes
    ----------
    settings : dict
    compounds : Compounds
    cnet : CompoundNetwork
    cell_snap : CompoundSnap
        How every residential cell joins the compound network.
    coverage : ParkCoverage
        Network park coverage with the compound model.
    plain : ParkCoverage
        The ordinary network coverage it is compared with (the audit's).
    links : tuple of DataFrame
        Coverage (overall, by unit) with ordinary snapping on the compound network: what
        gate links alone change.
    coverage_by_unit, coverage_overall : DataFrame
        Side by side (:func:`compare_coverage`).
    cells : GeoDataFrame
        Per residential cell: snapping mode, compound, park distance with/without
        (capped at 3 km), ``added_walk_m`` and the coverage status change.
    compound_table : DataFrame
        Per compound: gates, residents, snapping modes, mean walk to the nearest
        park with/without, residents who lose or gain coverage; largest added walk first.
    lc_by_unit, lc_overall : DataFrame or None
        Life-circle summaries (:func:`~geoplan.lifecircle.summarise_units`) with the compound model.
    lifecircle_by_unit, lifecircle_overall : DataFrame or None
        Side by side (:func:`compare_lifecircle`).
    lc_origins : GeoDataFrame or None
        The life-circle table per origin with the compound model.
    lc_origin_snap : Snapped or None
    lc_origin_csnap : CompoundSnap or None
        How every life-circle origin joins the compound network.
    plain_cell_snap, plain_origin_snap : Snapped or None
        Cells and life-circle origins snapped on the plain network (kept for the
        fairness analysis and the what-if state).
    walks_by_unit : DataFrame or None
        Per unit: the walk to the nearest park split into the walk saved by better
        snapping, saved by gate links and added by walls
        (:func:`~geoplan.compounds.walks.walks_by_unit`); the same per compound is in
        ``compound_table``.
    lc_facilities : GeoDataFrame or None
        Facilities snapped by the compound model.
    """

    settings: dict
    compounds: Compounds
    cnet: CompoundNetwork
    cell_snap: CompoundSnap
    coverage: ParkCoverage
    plain: ParkCoverage
    links: tuple
    coverage_by_unit: pd.DataFrame
    coverage_overall: pd.DataFrame
    cells: gpd.GeoDataFrame
    compound_table: pd.DataFrame
    lc_by_unit: pd.DataFrame | None = None
    lc_overall: pd.DataFrame | None = None
    lifecircle_by_unit: pd.DataFrame | None = None
    lifecircle_overall: pd.DataFrame | None = None
    lc_origins: gpd.GeoDataFrame | None = None
    lc_origin_snap: Snapped | None = None
    lc_facilities: gpd.GeoDataFrame | None = None
    lc_rules: Any = None
    lc_origin_csnap: CompoundSnap | None = None
    plain_cell_snap: Snapped | None = None
    plain_origin_snap: Snapped | None = None
    notes: list = field(default_factory=list)
    walks_by_unit: pd.DataFrame | None = None

    # -- figures ------------------------------------------------------------
    def coverage_pair(self, scope: str = "all", measure: str = "residents") -> tuple[float, float]:
        """(without, with) the compound model, percent, whole area, all tiers."""
        o = self.coverage_overall
        r = o[(o["scope"] == scope) & (o["tier"] == "all")].iloc[0]
        col = "residents_pct" if measure == "residents" else "land_pct"
        return float(r[col]), float(r[f"{col}_compounds"])

    def complete_pair(self, level: str | None = None) -> tuple[float, float] | None:
        """(without, with) share of residents with a complete life circle at ``level`` (default the largest)."""
        if self.lifecircle_overall is None:
            return None
        o = self.lifecircle_overall
        lid = level or o["level"].iloc[-1]
        r = o[o["level"] == lid].iloc[0]
        return float(r["complete_pct"]), float(r["complete_pct_compounds"])

    # -- the interface the writers use ----------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV and XLSX."""
        p = self.compounds.polygons
        t = {
            "compounds_coverage_overall": self.coverage_overall,
            "compounds_coverage_by_unit": self.coverage_by_unit,
            "compounds_list": self.compound_table,
            "compounds_ungated": pd.DataFrame(p[p["n_gates"] == 0].drop(columns="geometry")),
            "compounds_gates": pd.DataFrame(self.compounds.gates.drop(columns="geometry")),
        }
        if self.walks_by_unit is not None:
            t["compounds_walk_by_unit"] = self.walks_by_unit
        if self.compounds.rejected is not None:
            t["compounds_without_evidence"] = pd.DataFrame(self.compounds.rejected.drop(columns="geometry"))
        if self.lifecircle_overall is not None:
            t["compounds_lifecircle_overall"] = self.lifecircle_overall
            t["compounds_lifecircle_by_unit"] = self.lifecircle_by_unit
        return {k: finite(v) for k, v in t.items()}

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Layers for the GeoPackage."""
        c = self.cnet.connectors
        conn = self.cnet.network.edges.iloc[c["edge"].to_numpy()] if len(c) else None
        out = {
            "compounds": self.compounds.polygons.merge(
                self.compound_table.drop(columns=[x for x in ("name", "kind", "n_gates", "area_m2") if x in self.compound_table]),
                on="compound_id", how="left"),
            "compounds_gates": self.compounds.gates,
            "compounds_cells": finite(self.cells),
        }
        if conn is not None and len(conn):
            out["compounds_gate_connectors"] = gpd.GeoDataFrame(
                {"gate_id": c["gate_id"].to_numpy(), "compound_id": c["compound_id"].to_numpy(),
                 "length_m": c["length"].to_numpy()}, geometry=conn.geometry.values, crs=conn.crs)
        if self.lc_origins is not None:
            keep = [x for x in self.lc_origins.columns if x in ("origin_id", "residents", "unit_id", "unit_name", "snap_m")
                    or x.startswith(("dist:", "complete:", "n:"))]
            out["compounds_lifecircle_origins"] = finite(gpd.GeoDataFrame(self.lc_origins[keep], geometry=self.lc_origins.geometry.values,
                                                                          crs=self.lc_origins.crs))
        return {k: finite(v) for k, v in out.items()}

    def summary(self) -> dict:
        """Headline figures (``summary.json`` under ``compounds``)."""
        def num(x: Any) -> Any:
            x = float(x)
            return None if math.isnan(x) or math.isinf(x) else round(x, 4)

        p = self.compounds.polygons
        g = self.compounds.gates
        modes = self.cells.groupby("mode")["residents"].sum()
        tot = float(self.cells["residents"].sum())
        o = self.coverage_overall[self.coverage_overall["tier"] == "all"]
        out = {
            "compounds": len(p),
            "by_kind": {str(k): int(v) for k, v in p["kind"].value_counts().sort_index().items()},
            "without_gates": int((p["n_gates"] == 0).sum()),
            "gates": int(g["gate_id"].nunique()) if len(g) else 0,
            "gates_by_kind": {str(k): int(v) for k, v in g.drop_duplicates("gate_id")["kind"].value_counts().sort_index().items()} if len(g) else {},
            "gate_connectors": len(self.cnet.connectors),
            "residents_by_mode_pct": {str(k): num(100 * v / tot) if tot > 0 else None for k, v in modes.items()},
            "park_coverage": {str(r["scope"]): {"land_pct": num(r["land_pct"]), "land_pct_compounds": num(r["land_pct_compounds"]),
                                                "residents_pct": num(r["residents_pct"]),
                                                "residents_pct_compounds": num(r["residents_pct_compounds"]),
                                                "residents_pct_gate_links_only": num(r["residents_pct_links"]),
                                                "land_pct_gate_links_only": num(r["land_pct_links"])}
                              for _, r in o.iterrows()},
            "largest_unit_differences": [
                {"unit": str(r["unit_name"]), "residents_diff_pp": num(r["residents_diff_pp"]), "land_diff_pp": num(r["land_diff_pp"])}
                for _, r in self._largest_units().iterrows()],
            "largest_compound_differences": [
                {"compound": str(r["name"]) if isinstance(r["name"], str) else f"#{int(r['compound_id'])}",
                 "kind": str(r["kind"]), "mean_added_walk_m": num(r["added_walk_m"]),
                 "residents": num(r["residents"])} for _, r in self.compound_table.head(5).iterrows()],
            "mean_added_walk_m": num(np.average(self.cells["added_walk_m"], weights=self.cells["residents"]))
            if tot > 0 else None,
            "mean_walk_added_by_walls_m": num(np.average(self.cells["walls_walk_m"], weights=self.cells["residents"]))
            if tot > 0 else None,
            "notes": list(self.notes),
        }
        out.update(self._trust_summary(num, tot))
        if self.lifecircle_overall is not None:
            out["lifecircle_complete_pct"] = {str(r["level"]): {"plain": num(r["complete_pct"]),
                                                                "compounds": num(r["complete_pct_compounds"])}
                                              for _, r in self.lifecircle_overall.iterrows()}
        return out

    def _trust_summary(self, num: Any, tot: float) -> dict:
        """Evidence behind the compounds, and the walk split into snapping, gate links and walls."""
        p = self.compounds.polygons
        c = self.cells
        w = c["residents"].to_numpy(float)
        out: dict = {
            "evidence_required": list(self.settings.get("evidence") or []),
            "regional_rule": self.settings.get("regional_rule") if isinstance(self.settings.get("regional_rule"), (str, type(None)))
            else "given",
            "by_evidence": {str(k): int(v) for k, v in p["evidence"].value_counts().sort_index().items()} if "evidence" in p else {},
            "candidates_without_evidence": int(len(self.compounds.rejected)) if self.compounds.rejected is not None else None,
            "residents_in_compounds_pct": num(100 * w[c["in_compound"].to_numpy() > 0].sum() / tot) if tot > 0 else None,
        }
        if "snapping_saved_m" in c and tot > 0:
            out["walk_m"] = {
                "cap_m": ADDED_WALK_CAP_M,
                "mean_saved_by_snapping": num(np.average(c["snapping_saved_m"], weights=w)),
                "mean_saved_by_gate_links": num(np.average(c["links_saved_m"], weights=w)),
                "mean_added_by_walls": num(np.average(c["walls_added_m"], weights=w)),
                "residents_on_fragments_pct": num(100 * w[c["on_fragment"].to_numpy(bool)].sum() / tot),
                "residents_shorter_by_snapping_pct": num(100 * w[c["snapping_saved_m"].to_numpy() > 1.0].sum() / tot),
                "residents_longer_by_walls_pct": num(100 * w[c["walls_added_m"].to_numpy() > 1.0].sum() / tot),
            }
            ins = c["in_compound"].to_numpy() > 0
            if w[ins].sum() > 0:
                out["walk_m"]["mean_added_by_walls_in_compounds"] = num(np.average(c["walls_added_m"][ins], weights=w[ins]))
        o = self.coverage_overall
        if "residents_pct_nearest" in o:
            r = o[(o["scope"] == "all") & (o["tier"] == "all")].iloc[0]
            out["residents_pct_by_model"] = {"nearest_street": num(r["residents_pct_nearest"]), "main_network": num(r["residents_pct"]),
                                             "gate_links": num(r["residents_pct_links"]), "compounds": num(r["residents_pct_compounds"])}
        return out

    def _largest_units(self, n: int = 5) -> pd.DataFrame:
        b = self.coverage_by_unit
        b = b[(b["scope"] == "all") & (b["tier"] == "all")].copy()
        b["_abs"] = b["residents_diff_pp"].abs()
        return b.sort_values("_abs", ascending=False, kind="stable").head(n)

    def indicator(self, target: dict) -> float | None:
        """The measured value of a target: the compound model defines no target indicator (None)."""
        return None


def _compound_table(cells: pd.DataFrame, compounds: Compounds) -> pd.DataFrame:
    p = compounds.polygons
    c = cells[cells["in_compound"] > 0]
    w = c["residents"].to_numpy(float)
    df = pd.DataFrame({"compound_id": c["in_compound"].to_numpy(), "cells": 1, "residents": w,
                       "w_plain": w * c["park_m_plain"].to_numpy(), "w_comp": w * c["park_m_compounds"].to_numpy(),
                       "w_links": w * c["park_m_links"].to_numpy(),
                       "w_snap_plain": w * c["snap_m_plain"].to_numpy(), "w_snap": w * c["snap_m_compounds"].to_numpy(),
                       "lost_res": w * (c["change"] == "lost"), "gained_res": w * (c["change"] == "gained"),
                       "area_m2_res": c["area_m2"].to_numpy(),
                       "gate_mode": (c["mode"] == "gate").astype(int), "inner_mode": (c["mode"] == "inner").astype(int)})
    s = df.groupby("compound_id").sum()
    W = s["residents"].where(s["residents"] > 0)
    t = pd.DataFrame({
        "cells": s["cells"], "residential_m2": s["area_m2_res"], "residents": s["residents"],
        "cells_inner_paths": s["inner_mode"], "cells_to_gate": s["gate_mode"],
        "snap_m": s["w_snap_plain"] / W, "snap_m_compounds": s["w_snap"] / W,
        "park_m": s["w_plain"] / W, "park_m_links": s["w_links"] / W, "park_m_compounds": s["w_comp"] / W,
        "residents_losing_coverage": s["lost_res"], "residents_gaining_coverage": s["gained_res"],
    })
    t["added_walk_m"] = t["park_m_compounds"] - t["park_m"]
    t["walls_walk_m"] = t["park_m_compounds"] - t["park_m_links"]
    keep = [c for c in ("compound_id", "name", "kind", "evidence", "n_gates", "walled_share", "area_m2") if c in p.columns]
    t = p[keep].merge(t.reset_index(), on="compound_id", how="left")
    t["cells"] = t["cells"].fillna(0).astype(int)
    t = t.sort_values(["added_walk_m", "residents"], ascending=[False, False], kind="stable", na_position="last")
    return t.reset_index(drop=True)


def run_compounds(result: Any, settings: Mapping | None = None) -> CompoundResult | None:
    """Park coverage and life circles with the compound model, side by side with the audit's.

    Parameters
    ----------
    result : AuditResult
    settings : mapping, optional
        Default ``result.config.extra["compounds"]`` over
        :data:`~geoplan.compounds.extract.DEFAULTS`.

    Returns
    -------
    CompoundResult, or None when the model is switched off (``enabled: false``).
    """
    s = compound_settings(settings if settings is not None else result.config.extra.get("compounds"))
    if not s.get("enabled", True):
        return None
    st = result.study
    cov = result.parks
    notes: list[str] = []
    compounds = load_compounds(result, s)
    cn = compound_network(st.network, compounds, connector_max_m=float(s["connector_max_m"]))
    cells = cov.cells[[c for c in BASE_CELL_COLUMNS if c in cov.cells.columns]]
    pts = shapely.point_on_surface(cells.geometry.values)
    cs = compound_snap(cn, pts)
    access = cov.access if "network" in cov.methods and len(cov.access) else None
    counted = cov.parks[cov.parks["tier"].notna()]
    if access is None:
        acc_kw = dict(result.config.parks.get("access_points", {}))
        access = access_points(counted, st.network, st.entrances, **acc_kw)
    has_hist = bool(cov.has_historic)
    if "network" in cov.methods:
        plain = cov
    else:
        plain = park_coverage(cells, cov.parks, cov.rules, methods=("network",), network=st.network, access=access,
                              has_historic=has_hist)
        notes.append("the audit measured straight-line coverage only: the ordinary network run was added for the comparison")
    comp = park_coverage(cells, cov.parks, cov.rules, methods=("network",), network=cn.network, access=access,
                         snapped=cs.snapped, has_historic=has_hist)
    # the compound network with ordinary snapping: what gate links alone change
    links = network_coverage_table(cells, counted, access, cov.rules, cn.network, cn.network.snap(pts), has_hist)
    # the plain network with homes and park entrances on the nearest street of any piece (the old rule):
    # what snapping to the main network changed
    nearest_snap = st.network.snap(pts, share=0.0)
    nearest = network_coverage_table(cells, counted, access, cov.rules, st.network, nearest_snap, has_hist, share=0.0)
    by_unit = compare_coverage(plain.by_unit, comp.by_unit, ["unit_id", "unit_name"], links[1], nearest[1])
    overall = compare_coverage(plain.overall, comp.overall, [], links[0], nearest[0])


    cap = ADDED_WALK_CAP_M
    plain_snap = st.network.snap(pts)
    d_plain = park_distances(st.network, cov.parks, access, plain_snap, cap)
    d_nearest = park_distances(st.network, cov.parks, access, nearest_snap, cap, share=0.0)
    d_comp = park_distances(cn.network, cov.parks, access, cs.snapped, cap)
    d_links = park_distances(cn.network, cov.parks, access, cn.network.snap(pts), cap)
    pc = plain.cells["net_covered"].to_numpy()
    cc = comp.cells["net_covered"].to_numpy()
    cell_out = gpd.GeoDataFrame({
        "cell_id": cells["cell_id"].to_numpy(), "unit_id": cells["unit_id"].to_numpy(), "unit_name": cells["unit_name"].to_numpy(),
        "area_m2": cells["area_m2"].to_numpy(), "residents": cells["residents"].to_numpy(float),
        "in_compound": cs.in_compound, "compound_id": cs.compound_id, "mode": cs.mode, "gate_id": cs.gate_id,
        "snap_m_plain": plain.cells["net_snap_m"].to_numpy(), "snap_m_compounds": cs.snapped.offset,
        "net_dist_plain": plain.cells["net_dist"].to_numpy(), "net_dist_compounds": comp.cells["net_dist"].to_numpy(),
        "on_fragment": plain_snap.on_fragment, "park_m_nearest": d_nearest,
        "park_m_plain": d_plain, "park_m_links": d_links, "park_m_compounds": d_comp, "added_walk_m": d_comp - d_plain,
        "walls_walk_m": d_comp - d_links,
        "change": np.where(pc & ~cc, "lost", np.where(cc & ~pc, "gained", "same")),
    }, geometry=cells.geometry.values, crs=cells.crs)
    cell_out = cell_out.join(walk_split(cell_out))
    table = _compound_table(cell_out, compounds)
    wc = walks_by_compound(cell_out)
    table = table.merge(wc[["compound_id", "park_m_nearest", "walk_saved_by_snapping_m", "walk_saved_by_gate_links_m",
                            "walk_added_by_walls_m", "residents_on_fragments"]], on="compound_id", how="left")

    res = CompoundResult(dict(s), compounds, cn, cs, comp, plain, links, by_unit, overall, cell_out, table, notes=notes,
                         plain_cell_snap=plain_snap, walks_by_unit=walks_by_unit(cell_out))
    lc = result.analyses.get("lifecircle")
    if lc is not None:
        _lifecircle(res, lc, st.network)
    n_un = int((compounds.polygons["n_gates"] == 0).sum())
    if n_un:
        notes.append(f"{n_un} compounds have no mapped gate: their homes snap to the nearest street as before "
                     "(see compounds_ungated; add their gates to a gate layer)")
    return res


def _lifecircle(res: CompoundResult, lc: Any, network: Any) -> None:
    """Life circles of the same origins and facilities with the compound model."""
    o = lc.origins
    keep = [c for c in ("origin_id", "residents", "unit_id", "unit_name") if c in o.columns]
    origins = gpd.GeoDataFrame(o[keep].copy(), geometry=o.geometry.values, crs=o.crs)
    osnap = compound_snap(res.cnet, origins.geometry.values)
    fac = snap_facilities_compound(res.cnet, lc.facilities)
    table = life_circle(res.cnet.network, origins, fac, lc.rules, search_limit_m=lc.settings.get("search_limit_m"),
                        origin_snap=osnap.snapped)
    table["compound_mode"] = osnap.mode
    table["in_compound"] = osnap.in_compound
    by_unit, _ = summarise_units(table, lc.rules, facilities=fac)
    overall, _ = summarise_units(table, lc.rules, by=[], facilities=fac)
    # gate links only: ordinary snapping on the compound network

    fac_l = snap_facilities(lc.facilities.drop(columns=["snap_edge", "snap_along", "snap_m"], errors="ignore"), res.cnet.network)
    t_l = life_circle(res.cnet.network, origins, fac_l, lc.rules, search_limit_m=lc.settings.get("search_limit_m"))
    by_unit_l, _ = summarise_units(t_l, lc.rules)
    overall_l, _ = summarise_units(t_l, lc.rules, by=[])
    levels = [lv.id for lv in lc.rules.levels]
    res.lc_by_unit, res.lc_overall = by_unit, overall
    res.lifecircle_by_unit = compare_lifecircle(lc.by_unit, by_unit, levels, ["unit_id", "unit_name"], by_unit_l)
    res.lifecircle_overall = compare_lifecircle(lc.overall, overall, levels, [], overall_l)
    res.lc_origins, res.lc_origin_snap, res.lc_facilities, res.lc_rules = table, osnap.snapped, fac, lc.rules
    res.lc_origin_csnap = osnap
    res.plain_origin_snap = network.snap(origins.geometry.values)


def run_compounds_for_audit(result: Any) -> CompoundResult | None:
    """The compound model of an audit (settings from its configuration): :data:`geoplan.compounds.ANALYSIS`."""
    return run_compounds(result)

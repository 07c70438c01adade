"""The saved state of an audit that :func:`~geoplan.whatif.what_if` starts from.

After an audit, :func:`save_state` keeps what a what-if needs (the walking
network and the compound network as arrays, the residential cells and where
they join each network, and the per-cell distance of every park tier and
per-home distance of every life-circle category) in ``state.pkl`` of the
output folder.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..compounds.result import BASE_CELL_COLUMNS, tier_distances
from ..errors import DataError
from ..network import Snapped, WalkNetwork
from ..parks import access_points

__all__ = ["STATE_FILE", "ModelState", "WhatIfState", "build_state", "load_state", "save_state", "tier_passes"]

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


def cell_points(cells: gpd.GeoDataFrame) -> np.ndarray:
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
    st = result.study
    cov = result.parks
    cfg = result.config
    cells = cov.cells[[c for c in BASE_CELL_COLUMNS if c in cov.cells.columns]].copy()
    pts = cell_points(cells)
    acc_kw = dict(cfg.parks.get("access_points", {}))
    counted = cov.parks[cov.parks["tier"].notna()]
    access = cov.access if "network" in cov.methods and len(cov.access) else access_points(counted, st.network, st.entrances, **acc_kw)
    net = st.network
    comp = result.analyses.get("compounds")
    snap = comp.plain_cell_snap if comp is not None and comp.plain_cell_snap is not None else net.snap(pts)
    if "network" in cov.methods:
        tier_dist = {t.id: cov.cells[f"net_dist:{t.id}"].to_numpy(float).copy() for t in cov.rules.tiers}
    else:
        tier_dist = tier_passes(net, counted, access, cov.rules, snap)
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


def tier_passes(net: WalkNetwork, counted: pd.DataFrame, access: gpd.GeoDataFrame, rules: Any, snapped: Snapped,
                tiers: list[str] | None = None) -> dict:
    """Per tier: distance of every point to the nearest park of the tier (one pass each)."""
    return tier_distances(net, counted, access, rules, snapped, tiers)

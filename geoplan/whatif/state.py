"""The saved state of an audit that :func:`~geoplan.whatif.what_if` starts from.

After an audit, :func:`save_state` keeps what a what-if needs (the walking
network and the compound network as arrays, the residential cells and where
they join each network, and the per-cell distance of every park tier and
per-home distance of every life-circle category) in the output folder as
data only: ``whatif-state.json`` (structure, the geoplan version, the hashes
of the audit's inputs and of its ``summary.json``) and ``whatif-state.npz``
(plain arrays, read with ``allow_pickle=False``; geometries as WKB).  Reading
it never runs code (:mod:`~geoplan.whatif.store`), so an audit folder from
elsewhere is safe to give to ``geoplan whatif``; a state that does not belong
to its audit, to this version of geoplan or to the inputs it names is refused.
An old ``state.pkl`` is never read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._version import __version__
from ..compounds.extract import Compounds
from ..compounds.result import BASE_CELL_COLUMNS, tier_distances
from ..compounds.snapping import CompoundNetwork, CompoundSnap
from ..config import Rules, Tier
from ..errors import DataError
from ..lifecircle.rules import Catchment, Category, LifeCircleRules, Level, Profile, TagRule
from ..network import Snapped, WalkNetwork
from ..parks import access_points
from . import store

__all__ = ["STATE_FILE", "STATE_ARRAYS", "ModelState", "WhatIfState", "build_state", "load_state", "save_state",
           "tier_passes"]

#: File name of the saved state inside an audit folder (JSON; its arrays are in :data:`STATE_ARRAYS`).
STATE_FILE = "whatif-state.json"
#: File name of the state's arrays (numpy ``.npz`` without pickles).
STATE_ARRAYS = "whatif-state.npz"
#: What the JSON document says it is.
STATE_FORMAT = "geoplan what-if state"
STATE_VERSION = 2
#: The audit file the state is bound to (written before the state).
AUDIT_SUMMARY = "summary.json"


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


# ---------------------------------------------------------------------------
# the state as data (no pickle)
# ---------------------------------------------------------------------------
def _network_fields(net: WalkNetwork) -> dict:
    return {"node_id": net.node_id, "x": net.x, "y": net.y, "edges": net.edges, "crs": net.crs,
            "main_share": net.main_share}


def _network_build(f: dict) -> WalkNetwork:
    return WalkNetwork(f["node_id"], f["x"], f["y"], f["edges"], f["crs"], float(f["main_share"]))


def _cnet_fields(cn: CompoundNetwork) -> dict:
    return {fd.name: getattr(cn, fd.name) for fd in dataclasses.fields(cn) if fd.name != "_poly_tree"}


def _tagrule_build(f: dict) -> TagRule:
    return TagRule(f["spec"])


#: The classes a state holds: (name, fields to store or None for the dataclass fields).
_CLASSES: dict[type, tuple[str, Any]] = {
    WhatIfState: ("WhatIfState", None),
    ModelState: ("ModelState", None),
    WalkNetwork: ("WalkNetwork", _network_fields),
    Snapped: ("Snapped", None),
    CompoundNetwork: ("CompoundNetwork", _cnet_fields),
    CompoundSnap: ("CompoundSnap", None),
    Compounds: ("Compounds", None),
    Rules: ("Rules", None),
    Tier: ("Tier", None),
    LifeCircleRules: ("LifeCircleRules", None),
    Level: ("Level", None),
    Profile: ("Profile", None),
    Category: ("Category", None),
    Catchment: ("Catchment", None),
    TagRule: ("TagRule", lambda r: {"spec": r.spec}),
}
#: Reading: the only classes rebuilt, by name (None: set the dataclass fields).
_BUILD: dict[str, tuple[type, Any]] = {
    name: (cls, {"WalkNetwork": _network_build, "TagRule": _tagrule_build}.get(name))
    for cls, (name, _) in _CLASSES.items()
}


def _input_files(result: Any) -> dict[str, Path]:
    """The input files of an audit: the configured layers and the analyses' files."""
    cfg = result.config
    files: dict[str, Path] = {}
    for fd in dataclasses.fields(cfg.inputs):
        v = getattr(cfg.inputs, fd.name)
        if isinstance(v, (str, Path)) and Path(v).is_file():
            files[fd.name] = Path(v)
    for section, keys in (("lifecircle", ("facilities", "origins")), ("compounds", ("polygons", "gates")),
                          ("greenways", ("greenways", "layer"))):
        sec = (cfg.extra or {}).get(section) or {}
        for k in keys:
            v = sec.get(k) if isinstance(sec, dict) else None
            if isinstance(v, (str, Path)) and Path(v).is_file():
                files[f"{section}.{k}"] = Path(v)
    return files


def input_hashes(result: Any) -> dict[str, dict]:
    """Per input of an audit: its absolute path and SHA-256 (what the state is checked against)."""
    return {k: {"path": str(p.resolve()), "sha256": store.file_sha256(p)} for k, p in sorted(_input_files(result).items())}


def save_state(result: Any, folder: str | Path, *, inputs: dict | None = None) -> Path:
    """Write the what-if state of an audit into ``folder`` (:data:`STATE_FILE` and :data:`STATE_ARRAYS`).

    Called by :func:`geoplan.outputs.write_audit` on its temporary folder after
    ``summary.json``, so the state is part of the atomic output and bound to
    that summary.

    Parameters
    ----------
    result : AuditResult or WhatIfState
    folder : path
    inputs : dict, optional
        Input name -> ``{"path", "sha256"}`` (default: hashed from the audit's configuration).

    Returns
    -------
    Path of the state's JSON document.
    """
    folder = Path(folder)
    state = result if isinstance(result, WhatIfState) else build_state(result)
    if inputs is None:
        inputs = input_hashes(result) if not isinstance(result, WhatIfState) else {}
    enc = store.Encoder(_CLASSES)
    tree = enc.enc(state)
    summary = folder / AUDIT_SUMMARY
    header = {"format": STATE_FORMAT, "state_version": STATE_VERSION, "geoplan": __version__, "inputs": inputs,
              "audit": {AUDIT_SUMMARY: store.file_sha256(summary)} if summary.exists() else {}}
    return store.write_store(folder, STATE_FILE, STATE_ARRAYS, tree, enc.arrays, header)


def _refuse(p: Path, why: str, hint: str = "Run `geoplan audit` again with this version of geoplan and give its folder.") -> DataError:
    return DataError(f"what-if state {p}: {why}; it was not used.", hint=hint)


def load_state(path: str | Path, *, check_inputs: bool = True) -> WhatIfState:
    """Read the what-if state of an audit folder (or its :data:`STATE_FILE`), as data only.

    Nothing in the folder is executed: a ``state.pkl`` (the pickle older versions
    wrote) is never opened.  The state is refused when it was written by another
    version of geoplan, when it does not belong to the folder's ``summary.json``,
    when its arrays were changed, or when an input it names still exists at its
    path with other contents.

    Parameters
    ----------
    path : path
        An audit folder or its ``whatif-state.json``.
    check_inputs : bool
        Compare the recorded input hashes with the files where they still exist.

    Raises
    ------
    DataError
        No state, or a state refused for one of the reasons above.
    """
    p = Path(path)
    if p.is_file() and p.name != STATE_FILE:
        raise _refuse(p, f"not a {STATE_FILE} (geoplan never opens a pickle or any other file as a state: "
                      "a pickle can run code)", hint="Give the audit folder.")
    folder = p if p.is_dir() else p.parent
    doc_path = folder / STATE_FILE
    if not p.exists() or not doc_path.exists():
        if p.exists() and (folder / "state.pkl").exists():
            raise _refuse(folder / "state.pkl", "a Python pickle (written by an older geoplan, or placed there): "
                          "geoplan does not open pickles, they can run code")
        raise DataError(f"no what-if state at {doc_path}.",
                        hint=f"Run `geoplan audit` first (it writes {STATE_FILE} into its output folder) and give that folder.")
    try:
        doc = store.read_header(doc_path)
    except store.StoreError as exc:
        raise _refuse(doc_path, str(exc)) from None
    if doc.get("format") != STATE_FORMAT or doc.get("state_version") != STATE_VERSION:
        raise _refuse(doc_path, f"not a what-if state of format {STATE_VERSION} (format {doc.get('state_version')!r})")
    if doc.get("geoplan") != __version__:
        raise _refuse(doc_path, f"written by geoplan {doc.get('geoplan')!r}, this is geoplan {__version__}")
    for name, digest in (doc.get("audit") or {}).items():
        f = folder / str(name)
        if Path(str(name)).name != str(name) or not f.exists() or store.file_sha256(f) != digest:
            raise _refuse(doc_path, f"it does not belong to this audit ({name} is missing or differs from the one "
                          "the state was saved with)")
    if check_inputs:
        for name, rec in (doc.get("inputs") or {}).items():
            f = Path(str((rec or {}).get("path", "")))
            if f.is_file() and store.file_sha256(f) != rec.get("sha256"):
                raise _refuse(doc_path, f"the input {name} ({f}) has changed since the audit",
                              hint="Run `geoplan audit` again on the current inputs.")
    try:
        arrays = store.read_store(folder, doc)
        state = store.decode(doc.get("state"), arrays, _BUILD)
    except (store.StoreError, OSError, ValueError) as exc:
        raise _refuse(doc_path, f"cannot be read ({exc})") from None
    if not isinstance(state, WhatIfState):
        raise _refuse(doc_path, "it holds no what-if state")
    return state


def tier_passes(net: WalkNetwork, counted: pd.DataFrame, access: gpd.GeoDataFrame, rules: Any, snapped: Snapped,
                tiers: list[str] | None = None) -> dict:
    """Per tier: distance of every point to the nearest park of the tier (one pass each)."""
    return tier_distances(net, counted, access, rules, snapped, tiers)

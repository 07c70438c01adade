"""The greenway analysis as one result: run it, and hand its tables, layers and maps to the writers.

:func:`analyse_greenways` works on plain inputs (greenway lines, a walking
network, optionally residential cells, parks and units) and is what a
notebook calls; :func:`run_greenways_for_audit` reads the greenways of an
audit's study area (OpenStreetMap or the configured layer) and calls it with
the audit's network, residential cells and parks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._util import ShowsInJupyter
from ..errors import DataError, GeoplanWarning, UsageError
from ..network import WalkNetwork
from ..study import check_layer_datum
from .corridor import CorridorContinuity, corridor_continuity
from .extract import osm_greenways, read_greenway_layers
from .gaps import JoiningLinks, find_gaps, greenway_access, joining_links, with_links
from .patches import PatchConnectivity, park_links, patch_connectivity
from .reach import GreenwayReach, greenway_reach, parks_linked
from .settings import load_settings
from .topology import GreenwayNetwork, connectivity_indices, greenway_network
from ..sources.datum import normalize_datum

__all__ = ["GreenwayResult", "analyse_greenways", "greenway_datum", "run_greenways_for_audit", "load_greenway_segments"]

@dataclass
class GreenwayResult(ShowsInJupyter):
    """Everything the greenway analysis measured.

    Attributes
    ----------
    settings : dict
    network : GreenwayNetwork or None
        None when no greenway was found.
    indices : DataFrame
        Length, components and graph indices overall and per level.
    gaps : GeoDataFrame
        Component pairs within ``max_gap_m`` and their joining walks.
    joining : JoiningLinks or None
        The minimum set of joining links.
    components_after : int or None
        Components once the joining links exist (recomputed on the network with the links added).
    reach : GreenwayReach or None
        Residential land and residents within the walk.
    parks : GeoDataFrame
        Parks: linked or not, and their dIIC / dPC.
    patches, patches_with_links : PatchConnectivity or None
        IIC / PC now, and with the joining links built.
    park_links : GeoDataFrame
        Direct park-to-park links through the greenway, with dIIC / dPC.
    corridors : list of CorridorContinuity
    by_unit : DataFrame
    provenance : dict
    notes : list of str
    """

    settings: dict
    network: GreenwayNetwork | None
    indices: pd.DataFrame
    gaps: gpd.GeoDataFrame
    joining: JoiningLinks | None
    components_after: int | None
    reach: GreenwayReach | None
    parks: gpd.GeoDataFrame
    patches: PatchConnectivity | None
    patches_with_links: PatchConnectivity | None
    park_links: gpd.GeoDataFrame
    corridors: list[CorridorContinuity]
    by_unit: pd.DataFrame
    provenance: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ tables
    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables by name (written to CSV and XLSX sheets as ``greenways_<name>``)."""
        if self.network is None:
            return {"greenways_summary": pd.DataFrame([{"status": "no greenways found", "notes": " ".join(self.notes)}])}
        t: dict[str, pd.DataFrame] = {
            "indices": self.indices,
            "components": self.network.components,
            "segments": pd.DataFrame(self.network.segments.drop(columns="geometry")),
            "gaps": pd.DataFrame(self.gaps.drop(columns="geometry")),
        }
        if self.joining is not None:
            t["links"] = pd.DataFrame(self.joining.links.drop(columns="geometry"))
        if self.reach is not None:
            t["reach"] = self.reach.overall
        if len(self.by_unit):
            t["by_unit"] = self.by_unit
        if len(self.parks):
            t["parks"] = pd.DataFrame(self.parks.drop(columns="geometry"))
        if len(self.park_links):
            t["park_links"] = pd.DataFrame(self.park_links.drop(columns="geometry"))
        if self.patches is not None:
            t["patch_connectivity"] = self._patch_table()
        if self.corridors:
            t["corridors"] = pd.DataFrame([{k: v for k, v in c.summary.items() if k != "continuity_by_tolerance"}
                                           for c in self.corridors])
            br = [c.breaks.drop(columns="geometry").assign(corridor=c.name) for c in self.corridors if len(c.breaks)]
            if br:
                t["corridor_breaks"] = pd.concat(br, ignore_index=True)
            t["corridor_tolerances"] = pd.concat([c.tolerance_table for c in self.corridors], ignore_index=True)
        return t

    def _patch_table(self) -> pd.DataFrame:
        rows = []
        for scen, p in (("now", self.patches), ("with proposed links", self.patches_with_links)):
            if p is None:
                continue
            total = float(self.parks["area_m2"].sum()) if len(self.parks) else np.nan
            rows.append({"scenario": scen, "IIC": p.iic, "PC": p.pc, "EC_PC_m2": p.ec_pc,
                         "EC_PC_share_pct": 100 * p.ec_pc / total if total > 0 else np.nan,
                         "landscape_area_m2": p.landscape_area, "theta_per_m": p.theta,
                         "iic_threshold_m": p.iic_threshold_m, "park_links": len(p.links)})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ layers
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Geographic layers by name (written to the GeoPackage as ``greenways_<name>``)."""
        if self.network is None:
            return {}
        gw = self.network
        out = {
            "edges": gw.edges,
            "vertices": gw.vertices[gw.vertices["degree"] != 2],
            "gaps": self.gaps,
        }
        if self.joining is not None:
            out["links"] = self.joining.links
        if self.reach is not None:
            out["walk_zone"] = self.reach.zone[~self.reach.zone.geometry.is_empty]
        if len(self.parks):
            out["parks"] = self.parks
        if len(self.park_links):
            out["park_links"] = self.park_links
        for c in self.corridors:
            tag = _slug(c.name)
            out[f"corridor_{tag}_pieces"] = c.pieces
            if len(c.breaks):
                out[f"corridor_{tag}_breaks"] = c.breaks
        return {k: v for k, v in out.items() if v is not None and len(v)}

    # ----------------------------------------------------------------- summary
    def summary(self) -> dict:
        """Headline figures as plain data (``summary.json`` under ``greenways``)."""
        s = self.settings
        out: dict[str, Any] = {
            "source": self.provenance.get("greenways", ""),
            "parameters": {"snap_m": s["topology"]["snap_m"], "node_crossings": s["topology"]["node_crossings"],
                           "max_gap_m": s["gaps"]["max_gap_m"], "max_walk_m": s["gaps"]["max_walk_m"],
                           "walk_m": s["reach"]["walk_m"], "park_link_m": s["reach"]["park_link_m"],
                           "decay_distance_m": s["patches"]["decay_distance_m"],
                           "decay_probability": s["patches"]["decay_probability"],
                           "iic_threshold_m": s["patches"]["iic_threshold_m"]},
            "notes": list(self.notes),
        }
        if self.network is None:
            out["status"] = "no greenways found"
            return out
        ov = self.indices.iloc[0].to_dict()
        out.update({
            "length_km": ov["length_km"], "components": int(ov["components"]),
            "largest_component_share_pct": ov["largest_component_share_pct"],
            "indices": self.indices.to_dict("records"),
        })
        g = self.gaps
        out["gaps"] = {"candidates": int(len(g)), "joinable": int((g["status"] == "joinable").sum()) if len(g) else 0,
                       "not_joinable": int((g["status"] != "joinable").sum()) if len(g) else 0}
        if self.joining is not None:
            out["joining_links"] = {"count": int(len(self.joining.links)), "total_m": self.joining.total_m,
                                    "systems_before": self.joining.systems_before,
                                    "systems_after": self.joining.systems_after,
                                    "components_after_building": self.components_after}
        if self.reach is not None:
            out["reach"] = {"walk_m": self.reach.walk_m,
                            "land_pct_network": self.reach.pct("network", "land"),
                            "residents_pct_network": self.reach.pct("network", "residents"),
                            "land_pct_straight_line": self.reach.pct("euclidean", "land"),
                            "residents_pct_straight_line": self.reach.pct("euclidean", "residents")}
        if len(self.parks):
            out["parks"] = {"total": int(len(self.parks)), "linked": int(self.parks["linked"].sum()),
                            "not_linked": int((~self.parks["linked"]).sum())}
        if self.patches is not None:
            out["patch_connectivity"] = self._patch_table().to_dict("records")
        if self.corridors:
            out["corridors"] = [c.summary for c in self.corridors]
        return out

    def indicator(self, target: dict) -> float | None:
        """The measured value of a target (``targets:`` in the configuration), or None if not ours.

        Known indicators: ``greenway_largest_component_share``,
        ``greenway_residents_within_walk``, ``greenway_land_within_walk``,
        ``greenway_parks_linked`` (percent).
        """
        ind = target.get("indicator")
        if self.network is None:
            return None
        if ind == "greenway_largest_component_share":
            return float(self.indices.iloc[0]["largest_component_share_pct"])
        if ind in ("greenway_residents_within_walk", "greenway_land_within_walk") and self.reach is not None:
            method = "euclidean" if target.get("method") == "euclidean" else "network"
            return self.reach.pct(method, "residents" if "residents" in ind else "land")
        if ind == "greenway_parks_linked" and len(self.parks):
            return 100.0 * float(self.parks["linked"].mean())
        return None


def _slug(name: str) -> str:
    s = "".join(ch if ch.isalnum() else "_" for ch in str(name)).strip("_")
    return s or "corridor"


def _by_unit(gw: GreenwayNetwork, units: gpd.GeoDataFrame | None, reach: GreenwayReach | None,
             parks: pd.DataFrame | None, park_geoms: gpd.GeoDataFrame | None) -> pd.DataFrame:
    if units is None or len(units) == 0:
        return pd.DataFrame()
    u = units.to_crs(gw.crs)
    geoms = u.geometry.values
    segs = gw.segments.geometry.values
    tree = shapely.STRtree(segs)
    ui, si = tree.query(geoms, predicate="intersects")
    inside = shapely.length(shapely.intersection(segs[si], geoms[ui]))
    km = np.bincount(ui, weights=inside, minlength=len(u)) / 1000.0
    area_km2 = shapely.area(geoms) / 1e6
    out = pd.DataFrame({"unit_id": u["unit_id"].to_numpy(), "unit_name": u["unit_name"].to_numpy(),
                        "area_km2": area_km2, "greenway_km": km,
                        "density_km_per_km2": np.divide(km, area_km2, out=np.full(len(u), np.nan), where=area_km2 > 0)})
    comps = pd.Series(gw.segments["component"].to_numpy()[si]).groupby(ui).nunique()
    out["components"] = comps.reindex(np.arange(len(u)), fill_value=0).to_numpy()
    if reach is not None and len(reach.by_unit):
        for method, pre in (("network", ""), ("euclidean", "straight_")):
            r = reach.by_unit[reach.by_unit["method"] == method].set_index("unit_id")
            if method == "network":
                out["residents"] = out["unit_id"].map(r["residents"])
            out[f"{pre}land_within_walk_pct"] = out["unit_id"].map(r["land_pct"])
            out[f"{pre}residents_within_walk_pct"] = out["unit_id"].map(r["residents_pct"])
        res = out["residents"].to_numpy(float)
        out["km_per_10k_residents"] = np.divide(out["greenway_km"].to_numpy(), res / 1e4, out=np.full(len(u), np.nan),
                                                where=res > 0)
    if parks is not None and park_geoms is not None and len(parks):
        rp = shapely.point_on_surface(park_geoms.to_crs(gw.crs).geometry.values)
        pi, uj = shapely.STRtree(geoms).query(rp, predicate="within")
        order = np.argsort(pi, kind="stable")
        pi, uj = pi[order], uj[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
        pi, uj = pi[first], uj[first]
        linked = parks["linked"].to_numpy()[pi]
        out["parks"] = np.bincount(uj, minlength=len(u))
        out["parks_linked"] = np.bincount(uj, weights=linked.astype(float), minlength=len(u)).astype(int)
    return out


def analyse_greenways(
    segments: gpd.GeoDataFrame,
    walk: WalkNetwork,
    *,
    cells: gpd.GeoDataFrame | None = None,
    parks: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    landscape_area: float | None = None,
    settings: dict | None = None,
    provenance: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> GreenwayResult:
    """Run the whole greenway analysis on given inputs.

    Parameters
    ----------
    segments : GeoDataFrame
        Greenway lines in the walking network's projected CRS (``name``,
        ``level``, ``source`` columns), e.g. from :func:`~geoplan.greenways.osm_greenways`
        or :func:`~geoplan.greenways.read_greenway_layers` reprojected.
    walk : WalkNetwork
    cells : GeoDataFrame, optional
        Residential cells (``area_m2``, ``residents``, ``unit_id``, ``unit_name``).
    parks : GeoDataFrame, optional
        Park polygons (``park_id``, ``name``, ``area_m2``).
    units : GeoDataFrame, optional
        ``unit_id``, ``unit_name`` polygons for the per-unit table.
    landscape_area : float, optional
        A_L of IIC/PC in m² (default: the area of the convex hull of the walking network).
    settings : dict, optional
        :func:`~geoplan.greenways.settings.load_settings` output (defaults when omitted).
    provenance : dict, optional
    progress : callable, optional

    Returns
    -------
    GreenwayResult
    """
    s = settings or load_settings()
    say = progress or (lambda m: None)
    notes: list[str] = []
    topo, gp, rc, pt = s["topology"], s["gaps"], s["reach"], s["patches"]
    say("greenway topology")
    gw = greenway_network(segments, float(topo["snap_m"]), node_crossings=topo.get("node_crossings", "auto"))
    indices = connectivity_indices(gw, list(s["levels"].get("order", [])))
    say("greenway gaps and joining links")
    gaps = find_gaps(gw, walk, max_gap_m=float(gp["max_gap_m"]), max_walk_m=float(gp["max_walk_m"]),
                     access_snap_m=float(gp["access_snap_m"]), spacing_m=float(gp["anchor_spacing_m"]))
    joining = joining_links(gaps, gw)
    gw_after = with_links(gw, joining.links) if len(joining.links) else gw
    if joining.systems_after != gw_after.n_components:
        notes.append(f"{gw_after.n_components} components once the links are built, where the spanning tree expects "
                     f"{joining.systems_after}: a link passes near another greenway end.")
    reach = None
    if cells is not None and len(cells):
        say("residential land within a walk of the greenway")
        acc = greenway_access(gw, walk, spacing_m=float(gp["anchor_spacing_m"]), access_snap_m=float(gp["access_snap_m"]))
        reach = greenway_reach(gw, walk, cells, walk_m=float(rc["walk_m"]), access=acc)
    park_tab = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=gw.crs), crs=gw.crs)
    patches = patches2 = None
    plinks = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=gw.crs), crs=gw.crs)
    if parks is not None and len(parks):
        say("parks and park connectivity through the greenways")
        pk = parks.to_crs(gw.crs).reset_index(drop=True)
        if "area_m2" not in pk.columns:
            pk["area_m2"] = pk.area
        linked = parks_linked(gw, pk, float(rc["park_link_m"]))
        max_m = pt.get("max_link_m") or (math.log(0.01) / math.log(float(pt["decay_probability"])) * float(pt["decay_distance_m"]))
        if landscape_area is None:
            landscape_area = float(shapely.convex_hull(shapely.multipoints(np.c_[walk.x, walk.y])).area)
        thr = pt.get("iic_threshold_m")
        kw = dict(link_m=float(rc["park_link_m"]), spacing_m=float(gp["anchor_spacing_m"]), max_m=float(max_m),
                  stepping_tolerance_m=float(pt.get("stepping_tolerance_m", 1.0)))
        ck = dict(decay_distance_m=float(pt["decay_distance_m"]), decay_probability=float(pt["decay_probability"]),
                  iic_threshold_m=None if thr is None else float(thr))
        plinks = park_links(gw, pk, **kw)
        patches = patch_connectivity(pk["area_m2"].to_numpy(float), plinks, landscape_area, **ck)
        if pt.get("with_proposed_links", True) and len(joining.links):
            pl2 = park_links(gw_after, pk, **kw)
            patches2 = patch_connectivity(pk["area_m2"].to_numpy(float), pl2, landscape_area, **ck)
        imp = patches.patches
        park_tab = gpd.GeoDataFrame(linked.assign(dIIC=imp["dIIC"].to_numpy(), dPC=imp["dPC"].to_numpy(),
                                                  dPC_intra=imp["dPC_intra"].to_numpy(), dPC_flux=imp["dPC_flux"].to_numpy(),
                                                  dPC_connector=imp["dPC_connector"].to_numpy(),
                                                  park_links=imp["links"].to_numpy()),
                                    geometry=pk.geometry.values, crs=gw.crs)
        if len(plinks):
            lk = patches.links
            names = linked["name"].where(linked["name"] != "", "park " + linked["park_id"].astype(str)).to_numpy()
            plinks = plinks.assign(park_a=names[plinks["i"].to_numpy()], park_b=names[plinks["j"].to_numpy()],
                                   park_id_a=linked["park_id"].to_numpy()[plinks["i"].to_numpy()],
                                   park_id_b=linked["park_id"].to_numpy()[plinks["j"].to_numpy()],
                                   probability=lk["probability"].to_numpy(), in_iic=lk["in_iic"].to_numpy(),
                                   dIIC=lk["dIIC"].to_numpy(), dPC=lk["dPC"].to_numpy())
            plinks = plinks.sort_values("dPC", ascending=False, kind="stable").reset_index(drop=True)
            plinks.insert(0, "link_rank", np.arange(1, len(plinks) + 1))
    corridors = []
    cs = s["corridor"]
    for spec in s.get("corridors") or []:
        spec = {"pattern": spec} if isinstance(spec, str) else dict(spec)
        nm = spec.get("name") or spec.get("pattern") or Path(str(spec.get("layer", "corridor"))).stem
        say(f"corridor {nm}")
        try:
            lines = None
            if spec.get("layer"):
                declared = spec.get("datum") or s.get("datum")  # a corridor layer: the greenways' datum unless its own
                lines = read_greenway_layers(spec["layer"], datum=declared, settings=s)
                check_layer_datum(lines, walk, "greenways", declared, f"corridor layer {spec['layer']}")
                lines = lines.to_crs(gw.crs)
            corridors.append(corridor_continuity(
                gw.segments, spec.get("pattern"), lines=lines, name=nm, snap_m=float(topo["snap_m"]),
                node_crossings=topo.get("node_crossings", "auto"), break_search_m=float(cs["break_search_m"]),
                tolerances_m=cs.get("tolerances_m") or (), walk=walk, max_walk_m=float(cs["max_walk_m"]),
                access_snap_m=float(gp["access_snap_m"])))
        except DataError as exc:
            warnings.warn(f"greenway corridor {nm}: {exc}", GeoplanWarning, stacklevel=2)
            notes.append(f"corridor {nm}: {exc}")
    by_unit = _by_unit(gw, units, reach, park_tab if len(park_tab) else None, park_tab if len(park_tab) else None)
    return GreenwayResult(s, gw, indices, gaps, joining, gw_after.n_components, reach, park_tab, patches, patches2,
                          plinks, corridors, by_unit, dict(provenance or {}), notes)


def greenway_datum(settings: dict, datums: Mapping[str, Any] | None = None) -> Any:
    """The declared datum of the greenway layers, from either place it can be declared.

    ``greenways: datum`` (``--greenways-datum``) and ``inputs: datums: greenways``
    (``--datum greenways=...``, the option every layer shares) mean the same;
    declaring two different datums is a usage error.

    Parameters
    ----------
    settings : dict
        Greenway settings (:func:`load_settings`).
    datums : mapping, optional
        The configuration's declared datums (``cfg.inputs.datums``).

    Returns
    -------
    str, CRS or None
        None when neither declares one.

    Raises
    ------
    UsageError
        The two declarations differ.
    """
    own, shared = settings.get("datum"), (datums or {}).get("greenways")
    if own and shared and normalize_datum(own) != normalize_datum(shared):
        raise UsageError(f"the greenway layers' datum is declared twice, differently: {own!r} (--greenways-datum, "
                         f"greenways: datum) and {shared!r} (--datum greenways=..., inputs: datums: greenways).",
                         hint="Declare it once.")
    return own or shared


def load_greenway_segments(settings: dict, crs: Any, osm: Any = None, parks: gpd.GeoDataFrame | None = None,
                           area_wgs84: Any = None, *, datums: Mapping[str, Any] | None = None,
                           network: WalkNetwork | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """The greenway lines of an analysis: the configured layer(s), else OpenStreetMap.

    Parameters
    ----------
    settings : dict
        Greenway settings; ``layer`` (files) and ``datum``.
    crs : CRS
        The analysis' projected CRS.
    osm : OSMSource, optional
        Where greenways come from when no layer is given.
    parks : GeoDataFrame, optional
    area_wgs84 : geometry, optional
    datums : mapping, optional
        The configuration's declared datums: ``datums["greenways"]`` is the
        layers' datum when ``settings["datum"]`` is not set (:func:`greenway_datum`).
    network : WalkNetwork, optional
        The walking network (OpenStreetMap, WGS 84-true): layers not declared
        GCJ-02 or BD-09 are checked against it for a datum shift
        (:func:`geoplan.study.check_layer_datum`), as every other user layer is.

    Returns
    -------
    segments : GeoDataFrame in ``crs``
    provenance : str
    """
    if settings.get("layer"):
        datum = greenway_datum(settings, datums)
        segs = read_greenway_layers(settings["layer"], datum=datum, name_field=settings.get("name_field"),
                                    level_field=settings.get("level_field"), level=settings.get("level"), settings=settings)
        files = ", ".join(str(p) for p in settings["layer"])
        if network is not None:
            check_layer_datum(segs, network, "greenways", datum, f"greenway layer {files}")
        prov = files + (f" (declared {datum})" if datum else "")
        return segs.to_crs(crs), prov
    if osm is None:
        raise DataError("no greenway layer given and no OpenStreetMap extract to take greenways from.",
                        hint="Give greenways: {layer: FILE} (and its datum) or an OpenStreetMap extract.")
    segs = osm_greenways(osm, crs, settings, parks=parks)
    groups = [k for k in ("name_patterns", "highways", "designated", "routes", "park_paths") if settings["osm"].get(k)]
    return segs, f"OpenStreetMap ({', '.join(groups)})"


def run_greenways_for_audit(result: Any) -> GreenwayResult:
    """The greenway analysis of an audit (registered as ``greenways``).

    Settings come from ``result.config.extra["greenways"]`` over
    ``presets/greenways.yaml``; the walking network, residential cells (with
    residents), parks and units are the audit's.
    """
    s = load_settings(result.config.extra.get("greenways", {}))
    s["datum"] = greenway_datum(s, result.config.inputs.datums)
    st = result.study
    segs, prov = load_greenway_segments(s, st.crs, st.osm, st.parks, datums=result.config.inputs.datums, network=st.network)
    if len(segs) == 0:
        msg = f"no greenways found in {prov}."
        warnings.warn(f"greenways: {msg} Give a greenway layer (greenways: layer: FILE) or widen the OSM filters.",
                      GeoplanWarning, stacklevel=2)
        empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=st.crs), crs=st.crs)
        return GreenwayResult(s, None, pd.DataFrame(), empty, None, None, None, empty, None, None, empty, [],
                              pd.DataFrame(), {"greenways": prov}, [msg])
    return analyse_greenways(segs, st.network, cells=result.parks.cells, parks=result.parks.parks, units=st.units,
                             landscape_area=float(st.area.area), settings=s, provenance={"greenways": prov})

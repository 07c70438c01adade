"""Loading a study area: every layer an audit needs, in one projected metric CRS.

Residents cross district borders, so the walking network, parks and
facilities are loaded within the largest service radius *beyond* the study
boundary (they count as serving), while residential land, residents and
units are clipped to the boundary (only they are measured).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .config import AuditConfig
from .errors import DataError, GeoplanWarning, NoResidentialLandError, NoWalkingNetworkError
from .network import WalkNetwork, build_network
from .sources.layers import find_name_field, read_layer, repair_geometries
from .sources.crs import choose_crs
from .sources.crs import to_crs as _to_crs
from .sources.manifest import read_manifest
from .sources.osm import OSMSource, bundled_sample
from .sources.tags import tag_values
from .sources.tags import match_tags as _match_tags
from .sources.tags import polygons as _polygons
from .errors import UsageError
from .network import MAIN_PIECE_SHARE
from .sources.blocks import infer_residential_blocks
from .sources.datum import check_datum_shift
from .sources.datum import normalize_datum
from .sources.population import unit_population
from .sources.walkable import WALKING_RULES

__all__ = ["Study", "load_study", "choose_crs", "check_layer_datum", "network_settings", "park_polygons", "read_walking_network",
           "EXTRA_MARGIN_M"]

#: Metres loaded beyond the largest service radius (snapping, entrances outside the boundary).
EXTRA_MARGIN_M = 300.0


@dataclass
class Study:
    """All inputs of an audit in one projected CRS.

    Attributes
    ----------
    crs : pyproj.CRS
    area : shapely geometry
        The measured area (residential land and residents inside it count).
    network : WalkNetwork
        Walking network of the area plus the margin.
    parks : GeoDataFrame
        Candidate park features (before rule-based selection), area plus margin.
    residential : GeoDataFrame
        Residential land polygons clipped to the area, overlaps dissolved; ``source`` is
        ``mapped`` (the land-use layer) or ``inferred`` (street blocks, with ``residential.infer``).
    buildings : GeoDataFrame
        Buildings inside the area (for the population estimate).
    units : GeoDataFrame
        Analysis units clipped to the area: ``unit_id``, ``unit_name`` and, when the unit
        layer has a population field (``population.unit_field``), ``population``.
    historic : GeoDataFrame
        Historic-cultural district polygons (may be empty).
    entrances : GeoDataFrame
        Gate and entrance points.
    osm : OSMSource or None
        The extract, for analyses that read more from it (facilities, greenways).
    provenance : dict
        Where each layer came from (written to the log and summary).
    residential_areas : GeoDataFrame or None
        The residential land polygons as read (``name``, not dissolved), to name places.
    landuse : GeoDataFrame or None
        Every land-use polygon read (any class; ``landuse_class`` = the OSM ``landuse`` value or
        the user layer's class field), area plus margin: how much land the map gives a use.
    natural : GeoDataFrame or None
        Natural areas and water read for the inferred residential land (None when not read).
    """

    crs: CRS
    area: Any
    network: WalkNetwork
    parks: gpd.GeoDataFrame
    residential: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    historic: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame
    osm: OSMSource | None = None
    provenance: dict = field(default_factory=dict)
    margin_m: float = 0.0
    residential_areas: gpd.GeoDataFrame | None = None
    landuse: gpd.GeoDataFrame | None = None
    natural: gpd.GeoDataFrame | None = None

    @property
    def area_wgs84(self) -> Any:
        """The study area in EPSG:4326."""
        return gpd.GeoSeries([self.area], crs=self.crs).to_crs("EPSG:4326").iloc[0]


def _read_user(cfg: AuditConfig, name: str, what: str, geom: tuple[str, ...]) -> gpd.GeoDataFrame | None:
    path = getattr(cfg.inputs, name)
    if not path:
        return None
    return read_layer(path, datum=cfg.inputs.datums.get(name), what=what, geom_types=geom, name=name)


def check_layer_datum(layer: gpd.GeoDataFrame, network: WalkNetwork, name: str, declared: Any = None,
                      source: str | None = None) -> Any:
    """Warn when a user layer taken as WGS 84 looks shifted like GCJ-02 / BD-09 data.

    Layers declared ``gcj02`` or ``bd09`` were already converted and are not
    checked.  The others (no declaration, ``wgs84``, ``cgcs2000`` or a CRS) are
    compared with the walking network's edges, which come from OpenStreetMap
    and are WGS 84-true (:func:`geoplan.sources.datum.check_datum_shift`).

    Parameters
    ----------
    layer : GeoDataFrame
        The layer as read (any CRS).
    network : WalkNetwork
        The study's walking network.
    name : str
        Input name (``parks``, ``units``, ``residential``, ``historic``, ``area``,
        ``candidates``), used in the fix: ``--datum NAME=gcj02``.
    declared : str, optional
        The datum declared for the layer.
    source : str, optional
        The layer's description for the message (default: ``name``).

    Returns
    -------
    DatumCheck or None
        None when the layer was not checked.

    Warns
    -----
    GeoplanWarning
        When the layer looks shifted, with the declaration that fixes it.
    """
    if layer is None or len(layer) == 0 or network.n_nodes == 0 or normalize_datum(declared) in ("gcj02", "bd09"):
        return None
    check = check_datum_shift(layer, _datum_reference(network), source=source or name)
    if check.suspected is not None:
        warnings.warn(
            f"{check.message} On the command line: --datum {name}={check.suspected}; in a config file: "
            f"inputs: {{datums: {{{name}: {check.suspected}}}}}.",
            GeoplanWarning,
            stacklevel=3,
        )
    return check


#: The street network last prepared as the datum reference, and the reference (every user layer of an
#: audit is checked against the same network: projected, hulled and indexed once, not per layer).
_DATUM_REF: list = [None, None]


def _datum_reference(network: WalkNetwork) -> Any:
    from .sources.datum import prepare_reference

    edges = network.edges
    key = (id(edges), len(edges))
    held = _DATUM_REF[0][0]() if _DATUM_REF[0] is not None else None
    if held is not network or _DATUM_REF[0][1] != key:
        _DATUM_REF[:] = [(weakref.ref(network), key), prepare_reference(edges[["geometry"]])]
    return _DATUM_REF[1]


def _check_layers_near_extract(osm: OSMSource, layers: list[tuple[str, gpd.GeoDataFrame]], crs: Any, pbf: str,
                               inputs: Any) -> None:
    """Raise a DataError naming the unit or area layer that lies outside the extract, and how far.

    Called when no walking network was found in the study area: when the
    layer that set the area does not even touch the extract's extent, the
    layer (or the extract) is wrong, not the extract's streets.
    """
    box = osm.extent()
    if box is None:
        return
    ext = gpd.GeoSeries([shapely.box(*box)], crs="EPSG:4326").to_crs(crs).iloc[0]
    for name, layer in layers:
        if name not in ("area", "units") or layer is None or len(layer) == 0:
            continue
        geom = shapely.union_all(shapely.make_valid(layer.to_crs(crs).geometry.values))
        if shapely.distance(geom, ext) > 0:
            # on the ellipsoid between the nearest points: the study's projection is only true near the layer
            from pyproj import Geod
            from shapely.ops import nearest_points

            a, b = gpd.GeoSeries(list(nearest_points(geom, ext)), crs=crs).to_crs("EPSG:4326")
            d = float(Geod(ellps="WGS84").inv(a.x, a.y, b.x, b.y)[2])
            w, so, e, n = (float(v) for v in layer.to_crs("EPSG:4326").total_bounds)
            raise DataError(
                f"the {'study area' if name == 'area' else 'unit'} layer {getattr(inputs, name, None) or name} "
                f"lies {d / 1000:.1f} km from the OpenStreetMap extract {pbf}: the layer spans {w:.3f}–{e:.3f}° E, "
                f"{so:.3f}–{n:.3f}° N, the extract {box[0]:.3f}–{box[2]:.3f}° E, {box[1]:.3f}–{box[3]:.3f}° N.",
                hint=f"Give an extract of the layer's place (geoplan fetch), or the {name} layer of the extract's place"
                     f"{'' if d > 5000 else f' (a shift of under 5 km may be a datum: --datum {name}=gcj02 for AMap data)'}.",
            )


def _residential_class(cfg: AuditConfig, res: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The features of a user land-use layer whose class field has a residential value."""
    field_ = cfg.residential.get("user_class_field")
    values = cfg.residential.get("user_class_values") or []
    if not field_:
        return res
    if field_ not in res.columns:
        raise DataError(
            f"residential land layer {cfg.inputs.residential} has no field {field_!r}.",
            hint=f"Its fields are: {', '.join(str(c) for c in res.columns if c != 'geometry')}; "
            "give the class field with --residential-field.",
        )
    if not values:
        raise DataError(
            f"residential land layer {cfg.inputs.residential}: no residential value given for the field {field_!r}.",
            hint="Give the value(s) meaning residential with --residential-class (e.g. R or 居住用地).",
        )
    found = res[field_].astype(str)
    out = res[found.isin([str(v) for v in values])]
    if len(out) == 0:
        seen = found.value_counts().index.tolist()
        raise DataError(
            f"residential land layer {cfg.inputs.residential}: no feature has {field_} in {list(values)}.",
            hint=f"Check --residential-class against the values in the layer: "
            f"{', '.join(seen[:12])}{' ...' if len(seen) > 12 else ''}.",
        )
    return out


def network_settings(cfg: AuditConfig) -> dict:
    """The ``network:`` settings of an audit (``walking_rules``, ``main_piece_share``), checked.

    Raises
    ------
    UsageError
        An unknown key, unknown walking rules or a share outside 0..1.
    """
    out = {"walking_rules": "osm", "main_piece_share": MAIN_PIECE_SHARE}
    given = cfg.extra.get("network") or {}
    if not isinstance(given, dict):
        raise UsageError(f"network settings must be a mapping, not {given!r}.",
                         hint="e.g. network: {walking_rules: osm, main_piece_share: 0.2}")
    unknown = sorted(set(given) - set(out))
    if unknown:
        raise UsageError(f"unknown network setting(s) {unknown}.", hint=f"Known settings: {', '.join(out)}.")
    out.update({k: v for k, v in given.items() if v is not None})
    if out["walking_rules"] not in WALKING_RULES:
        raise UsageError(f"unknown walking rules {out['walking_rules']!r}.", hint=f"Use one of {', '.join(WALKING_RULES)}.")
    try:
        share = float(out["main_piece_share"])
    except (TypeError, ValueError):
        share = float("nan")
    if not 0.0 <= share <= 1.0:
        raise UsageError(f"network main_piece_share={out['main_piece_share']!r} must be a number from 0 to 1.",
                         hint="0 snaps homes to the nearest street of any piece; 0.2 (default) skips detached fragments.")
    out["main_piece_share"] = share
    return out


def read_walking_network(cfg: AuditConfig, osm: OSMSource, area: Any = None, *,
                         progress: Any = None) -> tuple[WalkNetwork, Any]:
    """The walking network of an extract under the audit's ``network:`` settings.

    Parameters
    ----------
    cfg : AuditConfig
        ``network`` settings (walking rules, main-piece share) and ``crs``.
    osm : OSMSource
    area : shapely geometry in EPSG:4326, optional
        The study area; default: the extent (convex hull) of the walking network in the extract.
    progress : callable, optional

    Returns
    -------
    network : WalkNetwork
        In the CRS chosen for ``area`` (:func:`choose_crs`).
    area : shapely geometry in EPSG:4326
        ``area``, or the network's extent when none was given.
    """
    say = progress or (lambda msg: None)
    net_cfg = network_settings(cfg)
    nodes, edges = osm.walking_network(net_cfg["walking_rules"])
    if area is None:
        area = shapely.convex_hull(shapely.multipoints(np.c_[nodes["lon"], nodes["lat"]]))
    crs = choose_crs(area, cfg.crs)
    say("building the walking network")
    net = build_network(nodes, edges, crs)
    net.main_share = net_cfg["main_piece_share"]
    return net, area


def park_polygons(cfg: AuditConfig, parks: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """Park features as repaired polygons in ``crs``, without those whose ``access`` the audit excludes (private ...)."""
    parks = _polygons(_to_crs(parks, crs))
    if "access" in parks.columns or "tags" in parks.columns:
        acc = tag_values(parks, "access")
        parks = parks[~acc.isin(cfg.parks.get("exclude_access", []))]
    return repair_geometries(parks, "parks")


def load_study(cfg: AuditConfig, area: Any = None, *, progress: Any = None, reach_m: float = 0.0) -> Study:
    """Load every layer of an audit.

    Parameters
    ----------
    cfg : AuditConfig
    area : shapely geometry in EPSG:4326, optional
        The study area; default: ``cfg.inputs.area``, else the union of the unit
        layer, else the extent of the walking network in the extract.
    progress : callable, optional
        ``progress(message)`` called before each loading step.
    reach_m : float
        The farthest walk the analyses to run measure (see
        :meth:`geoplan.analysis.Analysis.reach`): parks, facilities and streets are
        read that far beyond the area (at least the park rules' largest radius),
        plus a safety margin.

    Returns
    -------
    Study
    """
    say = progress or (lambda msg: None)
    prov: dict[str, str] = {}
    pbf = cfg.inputs.pbf or str(bundled_sample())
    prov["osm"] = pbf
    fetched = read_manifest(pbf) if cfg.inputs.pbf else None  # written by geoplan fetch beside the extract
    if fetched:
        prov["osm source"] = fetched.get("citation", "")
        prov["place"] = (fetched.get("place") or {}).get("name", "")

    user_layers: list[tuple[str, gpd.GeoDataFrame]] = []  # checked for a GCJ-02 shift once the network is loaded
    user_units = _read_user(cfg, "units", "units", ("polygon",))
    if user_units is not None:
        user_layers.append(("units", user_units))
    if area is None and cfg.inputs.area:
        a = read_layer(cfg.inputs.area, datum=cfg.inputs.datums.get("area"), what="study area", geom_types=("polygon",),
                       name="area")
        user_layers.append(("area", a))
        area = shapely.union_all(a.geometry.values)
        prov["area"] = cfg.inputs.area
    if area is None and user_units is not None:
        area = shapely.union_all(user_units.geometry.values)
        prov["area"] = f"union of {cfg.inputs.units}"
    if area is not None and user_units is not None and not shapely.intersects(
            shapely.union_all(user_units.geometry.values), shapely.make_valid(area)):
        raise DataError(
            f"the unit layer {cfg.inputs.units} does not overlap the study area ({prov.get('area', 'given')}).",
            hint="Check that units, study area and OSM extract cover the same place (and the same datum: "
            "--datum units=gcj02 for AMap data).",
        )
    # the other user layers are read (and their fields checked) before the extract: a mistake in
    # them should not cost the minutes a district extract takes to read
    user_parks = _read_user(cfg, "parks", "parks", ("polygon",))
    user_res = _read_user(cfg, "residential", "residential land", ("polygon",))
    user_landuse = None
    if user_res is not None:
        user_layers.append(("residential", user_res))
        user_landuse = user_res
        user_res = _residential_class(cfg, user_res)
    infer = bool(cfg.residential.get("infer", False))
    user_natural = _read_user(cfg, "natural", "natural areas", ("polygon",)) if getattr(cfg.inputs, "natural", None) else None
    if user_natural is not None:
        user_layers.append(("natural", user_natural))
    user_historic = _read_user(cfg, "historic", "historic-cultural districts", ("polygon",))

    # facilities and parks beyond the border serve residents inside it, up to the farthest walk measured
    margin = max(cfg.rules.max_radius_m, float(reach_m)) + EXTRA_MARGIN_M
    bbox = area_p = None
    if area is not None:
        crs = choose_crs(area, cfg.crs)
        area_p = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
        bbox = gpd.GeoSeries([area_p.buffer(margin)], crs=crs).to_crs("EPSG:4326").iloc[0]
        bbox = shapely.box(*bbox.bounds)

    say(f"reading {pbf}")
    osm = OSMSource(pbf, bounding_box=bbox)
    net_cfg = network_settings(cfg)
    if area is None:
        prov["area"] = "extent of the walking network in the extract"
    try:
        net, area = read_walking_network(cfg, osm, area, progress=say)
    except NoWalkingNetworkError:
        if area is not None:  # the study area may lie away from the extract: blame the layer that set it
            _check_layers_near_extract(osm, user_layers, crs, pbf, cfg.inputs)
        raise
    if area_p is None:
        crs = net.crs
        area_p = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(crs).iloc[0]
    prov["walking network"] = (f"{'OpenStreetMap access rules (foot, access, sidewalk tags)' if net_cfg['walking_rules'] == 'osm' else 'pyrosm walking filter'}"
                               f"; homes and parks join the main network (pieces of at least {net_cfg['main_piece_share']:g} "
                               "of the largest piece's nodes)")
    area_p = shapely.make_valid(area_p)
    if not area_p.intersects(shapely.multipoints(np.c_[net.x, net.y])):
        _check_layers_near_extract(osm, user_layers, crs, pbf, cfg.inputs)
        raise DataError(
            f"{pbf}: no walking network inside the study area ({prov.get('area', 'given')}).",
            hint="Check that the extract covers the study area (and that the area layer's datum is right: "
            "--datum area=gcj02 for AMap data).",
        )

    say("reading parks")
    parks = user_parks
    if parks is None:
        parks = osm.features(cfg.parks["osm_tags"])
        parks = parks[_match_tags(parks, cfg.parks["osm_tags"])] if len(parks) else parks
        prov["parks"] = f"OpenStreetMap {cfg.parks['osm_tags']}"
    else:
        prov["parks"] = cfg.inputs.parks
        user_layers.append(("parks", parks))
    parks = park_polygons(cfg, parks, crs)
    if parks.empty:
        warnings.warn(
            f"no parks found ({prov['parks']}) in the study area or within {margin:g} m of it: park coverage is 0 % "
            "and all residential land is a blind spot. If the area has parks, give them with --parks FILE.",
            GeoplanWarning,
            stacklevel=2,
        )

    say("reading residential land")
    res = user_res
    other_land = None  # land uses that are not residential (for the inferred layer)
    if res is None:
        lu = osm.landuse()
        hit = _match_tags(lu, cfg.residential["osm_tags"]) if len(lu) else None
        res = lu[hit] if len(lu) else lu
        other_land = lu[~hit] if len(lu) else None
        prov["residential"] = f"OpenStreetMap {cfg.residential['osm_tags']}"
        landuse = _landuse_layer(lu, "landuse", crs)
    else:
        landuse = _landuse_layer(user_landuse, cfg.residential.get("user_class_field"), crs)
        prov["residential"] = cfg.inputs.residential
        if infer and cfg.residential.get("user_class_field"):
            other_land = user_landuse.drop(index=user_res.index)
    res = repair_geometries(_polygons(_to_crs(res, crs)), "residential land")
    res_names = tag_values(res, "name") if len(res) else pd.Series([], dtype=object)
    residential_areas = gpd.GeoDataFrame({"name": res_names.to_numpy()}, geometry=res.geometry.values, crs=crs)
    res_union = shapely.intersection(shapely.union_all(res.geometry.values), area_p) if len(res) else shapely.Polygon()
    residential = gpd.GeoDataFrame(geometry=gpd.GeoSeries([res_union], crs=crs).explode(ignore_index=True), crs=crs)
    residential = residential[residential.geom_type.isin(["Polygon", "MultiPolygon"]) & (residential.area > 0.01)]
    natural_out: list = []  # the natural areas the inference reads, kept for the completeness measures
    if infer:
        residential.insert(0, "source", "mapped")
        say("inferring residential land from street blocks")
        inferred = _inferred_residential(cfg, osm, net, area_p, res_union, other_land, user_natural, parks, crs, prov,
                                         natural_out)
        residential = pd.concat([residential, inferred.drop(columns="area_m2")], ignore_index=True)
        residential = gpd.GeoDataFrame(residential, geometry="geometry", crs=crs)
    if residential.empty:
        raise NoResidentialLandError(
            f"no residential land inside the study area ({prov['residential']}"
            f"{'; none inferred from street blocks either' if infer else ''}).",
            hint="Give a land-use layer with --residential FILE --residential-field FIELD --residential-class VALUE "
            "(and check that it covers the study area)"
            + ("." if infer else ", or infer it from street blocks with --infer-residential."),
        )

    say("reading buildings")
    b = osm.buildings()
    b = _polygons(_to_crs(b, crs))
    if len(b):
        b = b[b.geometry.representative_point().within(area_p)]
    buildings = b

    say("reading units")
    unit_pop = None
    if user_units is not None:

        units = _to_crs(user_units, crs)
        unit_pop = unit_population(user_units, (cfg.population or {}).get("unit_field", "auto"),
                                   f"unit layer {cfg.inputs.units}")
        found = find_name_field(units, cfg.units.get("name_field", "name"), what=f"unit layer {cfg.inputs.units}")
        if found.field is None:
            warnings.warn(f"{found.note} Units are numbered 'unit 1', 'unit 2' ...: give the name field with "
                          "--units-name-field.", GeoplanWarning, stacklevel=2)
        elif found.guessed:
            warnings.warn(f"{found.note} Give --units-name-field to use another.", GeoplanWarning, stacklevel=2)
            prov["units name field"] = found.field
        names = units[found.field].fillna("").astype(str) if found.field else pd.Series(
            [f"unit {i + 1}" for i in range(len(units))], index=units.index)
        prov["units"] = cfg.inputs.units
    else:
        units, names = _osm_units(osm, cfg, crs, area_p, prov)
    units = gpd.GeoDataFrame({"unit_name": names.to_numpy()}, geometry=units.geometry.values, crs=crs)
    full_area = units.area.to_numpy()
    units["geometry"] = shapely.intersection(units.geometry.values, area_p)
    if unit_pop is not None:
        units["population"] = _clipped_population(unit_pop.values.to_numpy(float), full_area, units, prov,
                                                  unit_pop.note)
    units = units[~units.geometry.is_empty & (units.area > 1.0)].reset_index(drop=True)
    if units.empty:
        raise DataError(
            f"the unit layer {cfg.inputs.units or 'from OpenStreetMap'} does not overlap the study area.",
            hint="Check that units and the OSM extract cover the same place (and the same datum).",
        )
    units.insert(0, "unit_id", np.arange(1, len(units) + 1))

    historic = user_historic
    if historic is not None:
        user_layers.append(("historic", historic))
    for name, layer in user_layers:
        check = check_layer_datum(layer, net, name, cfg.inputs.datums.get(name), f"{name} layer {getattr(cfg.inputs, name)}")
        if check is not None and check.suspected is not None:
            prov[f"{name} datum warning"] = check.message
    historic = _to_crs(historic, crs) if historic is not None else _to_crs(gpd.GeoDataFrame(geometry=[]), crs)
    prov["historic"] = cfg.inputs.historic or "none given"

    entrances = _to_crs(osm.entrances(), crs)
    entrances = entrances[entrances.geom_type == "Point"] if len(entrances) else entrances

    return Study(crs=crs, area=area_p, network=net, parks=parks.reset_index(drop=True), residential=residential.reset_index(drop=True),
                 buildings=buildings.reset_index(drop=True), units=units, historic=historic.reset_index(drop=True),
                 entrances=entrances.reset_index(drop=True), osm=osm, provenance=prov, margin_m=margin,
                 residential_areas=residential_areas, landuse=landuse,
                 natural=natural_out[0] if natural_out else (_to_crs(user_natural, crs) if user_natural is not None else None))


def _landuse_layer(lu: gpd.GeoDataFrame | None, class_field: str | None, crs: CRS) -> gpd.GeoDataFrame | None:
    """Every land-use polygon with its class (``landuse_class``), projected; None without a land-use layer."""
    if lu is None or not len(lu):
        return None
    cls = lu[class_field].astype(str).to_numpy() if class_field and class_field in lu.columns else np.full(len(lu), "")
    out = gpd.GeoDataFrame({"landuse_class": cls}, geometry=shapely.make_valid(lu.geometry.values), crs=lu.crs)
    return _polygons(_to_crs(out, crs)).reset_index(drop=True)


def _inferred_residential(cfg: AuditConfig, osm: OSMSource, net: WalkNetwork, area: Any, mapped: Any,
                          other_land: gpd.GeoDataFrame | None, natural: gpd.GeoDataFrame | None,
                          parks: gpd.GeoDataFrame, crs: CRS, prov: dict, natural_out: list | None = None) -> gpd.GeoDataFrame:
    """Residential land inferred from the street blocks (:func:`geoplan.sources.blocks.infer_residential_blocks`)."""
    s = dict(cfg.residential.get("inferred") or {})
    exclude, named = [], []
    if other_land is not None and len(other_land):
        exclude.append(_polygons(_to_crs(other_land, crs)))
        named.append(f"{len(other_land):,} other land uses")
    if natural is None:
        tags = s.get("natural_osm_tags") or {}
        natural = osm.features(tags) if tags else None
        natural = natural[_match_tags(natural, tags)] if natural is not None and len(natural) else None
        src = "OpenStreetMap"
    else:
        src = cfg.inputs.natural
    if natural is not None and len(natural):
        exclude.append(_polygons(_to_crs(natural, crs)))
        if natural_out is not None:
            natural_out.append(exclude[-1])
        named.append(f"{len(natural):,} natural areas and water ({src})")
    if len(parks):
        exclude.append(parks)
        named.append(f"{len(parks):,} parks")
    sites_tags = s.get("exclude_osm_tags") or {}
    if sites_tags:
        sites = osm.features(sites_tags)
        sites = _polygons(_to_crs(sites[_match_tags(sites, sites_tags)], crs)) if len(sites) else sites
        if len(sites):
            exclude.append(sites)
            named.append(f"{len(sites):,} OpenStreetMap sites that are not homes")
    out = infer_residential_blocks(net.edges, area, mapped=mapped, exclude=exclude,
                                   half_width_m=s.get("street_half_width_m"),
                                   min_area_m2=float(s.get("min_area_m2", 1000)), min_width_m=float(s.get("min_width_m", 8)))
    out.insert(0, "source", "inferred")
    prov["residential inferred"] = (
        f"street blocks of the walking network minus street space, mapped residential land"
        f"{', ' + ', '.join(named) if named else ''}: {out['area_m2'].sum() / 1e6:.2f} km² in {len(out):,} pieces")
    return out


def _clipped_population(pop: np.ndarray, full_area: np.ndarray, units: gpd.GeoDataFrame, prov: dict,
                        note: str) -> np.ndarray:
    """Residents per unit inside the study area: a unit cut by the area keeps the share of its area inside."""
    frac = np.divide(units.area.to_numpy(), full_area, out=np.zeros(len(units)), where=full_area > 0)
    cut = frac < 0.999
    prov["population per unit"] = note
    if cut.any():
        names = ", ".join(units["unit_name"].astype(str).to_numpy()[cut][:5])
        warnings.warn(f"{int(cut.sum())} units are only partly inside the study area ({names}): their residents are "
                      "taken in proportion to the share of their area inside it.", GeoplanWarning, stacklevel=3)
        prov["population per unit"] += (f"; {int(cut.sum())} units cut by the study area keep the share of their "
                                        "residents in proportion to their area inside it")
    return np.where(cut, pop * frac, pop)


def _osm_units(osm: OSMSource, cfg: AuditConfig, crs: CRS, area: Any, prov: dict) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Units from OSM administrative boundaries, else a square grid over the area."""
    levels = [cfg.units["osm_admin_level"]] if cfg.units.get("osm_admin_level") else ["10", "9", "8"]
    b = osm.boundaries(admin_levels=[str(x) for x in levels])
    b = _polygons(_to_crs(b, crs)) if len(b) else b
    for lvl in levels:
        cand = b[b["admin_level"].astype(str) == str(lvl)] if len(b) else b
        cand = cand[cand.intersects(area)] if len(cand) else cand
        if len(cand) >= 2:
            prov["units"] = f"OpenStreetMap admin_level={lvl}"
            return cand, cand["name"].fillna("").astype(str)
    size = float(cfg.units.get("grid_size_m", 1000))
    x0, y0, x1, y1 = area.bounds
    xs = np.arange(np.floor(x0 / size) * size, x1, size)
    ys = np.arange(np.floor(y0 / size) * size, y1, size)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    rows, cols = np.meshgrid(np.arange(len(ys)), np.arange(len(xs)), indexing="ij")
    # rows lettered from the north (A) like a map grid, columns numbered from the west
    names = pd.Series([f"{chr(65 + (len(ys) - 1 - r) % 26)}{c + 1}" for r, c in zip(rows.ravel(), cols.ravel())])
    g = gpd.GeoDataFrame(geometry=boxes, crs=crs)
    keep = g.intersects(area).to_numpy()
    prov["units"] = f"{size:g} m grid (no unit layer and no OSM boundaries)"
    warnings.warn(
        f"no unit layer and no OpenStreetMap boundaries: using a {size:g} m grid as units "
        "(give --units FILE for jiedao or communities).",
        GeoplanWarning,
        stacklevel=3,
    )
    return g[keep], names[keep]

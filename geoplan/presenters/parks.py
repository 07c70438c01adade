"""Map layers of the park-coverage audit (for the interactive and the print maps)."""

from __future__ import annotations

import weakref

import geopandas as gpd
import numpy as np

from ..i18n import label, text
from ..maps.layers import MapLayer
from ..maps.palettes import COVERAGE_6, COVERED, NOT_COVERED, PARK_TIERS
from ..parks.coverage import ParkCoverage

__all__ = ["COVERAGE_BINS", "TIER_COLOURS", "park_map_layers"]

#: Parks by tier (ColorBrewer Greens, largest tier darkest); parks below every tier are white.
TIER_COLOURS = PARK_TIERS[:3]
BELOW_TIER_COLOUR = "#ffffff"
#: Classes of the units' coverage (%), coloured by :data:`geoplan.maps.palettes.COVERAGE_6`.
COVERAGE_BINS = (0, 50, 70, 80, 90, 95, 100.0001)


def park_map_layers(cov: ParkCoverage, units: gpd.GeoDataFrame, lang: str = "en", method: str | None = None,
                    *, for_print: bool = False) -> list[MapLayer]:
    """Layers of a park-coverage result: units choropleth, residential land covered or not,
    served zones, blind spots, parks by tier and access points.

    Parameters
    ----------
    cov : ParkCoverage
    units : GeoDataFrame
        ``unit_id``, ``unit_name`` polygons.
    lang : str
    method : str, optional
        Method whose cells/blind spots are drawn (default: network if computed, else euclidean).
    for_print : bool
        Leave out the layers that are hidden by default on the interactive map
        (served zones, access points): a printed map cannot switch them on.
    """
    L = lambda k: label(k, lang)  # noqa: E731
    method = method or ("network" if "network" in cov.methods else "euclidean")
    tiers = [t.id for t in cov.rules.tiers]
    tier_col = {t: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(tiers)}
    tier_lab = {t.id: t.text(lang) for t in cov.rules.tiers}
    layers: list[MapLayer] = []

    bu = cov.by_unit[(cov.by_unit["scope"] == "all") & (cov.by_unit["tier"] == "all") & (cov.by_unit["method"] == method)]
    u = units.merge(bu[["unit_id", "land_pct", "residents_pct", "land_m2", "residents"]], on="unit_id", how="left")
    u["land_pct"] = u["land_pct"].round(1)
    u["residents_pct"] = u["residents_pct"].round(1)
    group = L("park_coverage")
    if for_print:  # outlines labelled with the name and the share: the land's own colours show through
        u["label"] = [f"{n}\n{p:.0f} %" if np.isfinite(p) else str(n)
                      for n, p in zip(u["unit_name"], u["land_pct"].astype(float), strict=True)]
        name = f"{L('units')} · {L('land_pct')} ({L(method)})"
        layers.append(MapLayer(u, name, kind="polygon", color="#333333", fill_opacity=0.0, weight=1.6,
                               label_field="label", legend=[(name, "#ffffff")], key="units_outline"))
    else:
        layers.append(MapLayer(u, f"{L('units')}: {L('land_pct')} ({L(method)})", kind="polygon", column="land_pct",
                               bins=list(COVERAGE_BINS), class_colors=COVERAGE_6, value_format="{:.0f}",
                               fill_opacity=0.7, weight=1.5, color="#444444", label_field="unit_name",
                               searchable=True, group=group, key="units",
                               tooltip=[("unit_name", L("unit_name")), ("land_pct", L("land_pct")),
                                        ("residents_pct", L("residents_pct"))]))

    c = _residential_by_status(cov, method)
    c["status_label"] = c["status"].map(L)
    layers.append(MapLayer(c, f"{L('residential')} ({L(method)})", kind="polygon", column="status",
                           categories={"covered": COVERED, "not_covered": NOT_COVERED},
                           category_labels={"covered": L("covered"), "not_covered": L("not_covered")},
                           fill_opacity=0.75, weight=0.3, group=group, key="residential_cells",
                           tooltip=[("unit_name", L("unit_name")), ("status_label", L("kind")), ("residents", L("residents")),
                                    ("distance_m", L("median_distance_m"))]))

    z = cov.zones[(cov.zones["method"] == method) & (cov.zones["tier"] != "all") & ~cov.zones.geometry.is_empty].copy()
    if len(z) and not for_print:
        z["tier_label"] = z["tier"].map(tier_lab)
        layers.append(MapLayer(z, f"{L('served')} ({L(method)})", kind="polygon", column="tier", categories=tier_col,
                               category_labels=tier_lab, fill_opacity=0.12, weight=1, dash="4 3", show=False,
                               group=group, key="served_zones",
                               tooltip=[("tier_label", L("tier"))]))

    b = cov.blind_spots[cov.blind_spots["method"] == method].copy() if len(cov.blind_spots) else cov.blind_spots
    if len(b) or "area_m2" in b.columns:  # no blind spot: listed in the legend as none
        b["area_m2"] = b["area_m2"].round(0)
        b["residents"] = b["residents"].round(0)
        # hatched over the red of uncovered land: apart from it in greyscale and for every reader
        layers.append(MapLayer(b, f"{L('blind_spots')} ({L(method)})", kind="polygon", color="#3b0000",
                               fill_color=NOT_COVERED, fill_opacity=0.0, weight=1.2, hatch="////", group=group,
                               key="blind_spots", empty_label=text("maps.none_in_area", lang),
                               tooltip=[("rank", L("rank")), ("unit_name", L("unit_name")), ("area_m2", L("area_m2")), ("residents", L("residents"))]))

    p = cov.parks.copy()
    p["tier"] = p["tier"].fillna("none")
    p["area_m2"] = p["area_m2"].round(0)
    p["name"] = p["name"].fillna("")
    present = set(p["tier"])
    tier_col = {k: v for k, v in tier_col.items() if k in present}
    tier_lab = {k: v for k, v in tier_lab.items() if k in present}
    cats = {**tier_col, "none": BELOW_TIER_COLOUR}
    labs = {**tier_lab, "none": text("parks.below_every_tier", lang)}
    layers.append(MapLayer(p, L("parks"), kind="polygon", column="tier", categories=cats, category_labels=labs,
                           fill_opacity=0.85, weight=1, color="#00441b", group=group, key="parks", empty_label=text("maps.none_in_area", lang),
                           tooltip=[("name", L("name")), ("area_m2", L("area_m2")), ("tier", L("tier"))]))
    if method == "network" and len(cov.access) and not for_print:
        layers.append(MapLayer(cov.access, L("access_points"), kind="point", color="#08306b", radius_px=3, show=False,
                               group=group, key="park_access_points",
                               tooltip=[("park_id", L("park_id")), ("kind", L("kind"))]))
    return layers


#: The last residential land dissolved by unit and coverage status: ``(weak reference to the result, id of
#: its cells, method)`` and the frame.  The interactive map, the print maps and the GeoPackage styles all ask for the
#: park layers of the same result; the dissolve (a union of every unit's cells, seconds on a district) is
#: done once.
_DISSOLVED: list = [None, None]


def _residential_by_status(cov: ParkCoverage, method: str) -> gpd.GeoDataFrame:
    """Residential cells dissolved by unit and status (covered or not by ``method``), a copy per caller."""
    cells = cov.cells
    held = _DISSOLVED[0]
    if held is not None and held[0]() is cov and held[1] == id(cells) and held[2] == method:
        return _DISSOLVED[1].copy()
    covered = cells["net_covered"].to_numpy() if method == "network" else cells["euc_cov_m2"].to_numpy() >= 0.5 * cells["area_m2"].to_numpy()
    c = cells[["unit_name", "area_m2", "residents", "geometry"]].copy()
    c["status"] = np.where(covered, "covered", "not_covered")
    dcol = "net_dist" if method == "network" else "euc_dist"
    c["distance_m"] = cells[dcol].replace(np.inf, np.nan).round(0)
    c["residents"] = c["residents"].round(1)
    c = c.dissolve(by=["unit_name", "status"], aggfunc={"area_m2": "sum", "residents": "sum", "distance_m": "median"}).reset_index()
    _DISSOLVED[:] = [(weakref.ref(cov), id(cells), method), c]
    return c.copy()

"""``geoplan fetch``: the data an audit needs for a named district, a boundary file or a box.

Resolves the area (:mod:`geoplan.sources.places`), then writes the extract,
the boundary and the manifest (:func:`geoplan.sources.fetch.write_fetch`)
into a temporary folder that replaces ``--out`` only when everything
succeeded.
"""

from __future__ import annotations

import argparse
import os
import re
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..audit import ANALYSES
from ..config import load_config
from ..errors import GeoplanWarning, UsageError
from ..folder import atomic_folder, check_output_folder
from ..sources.fetch import DEFAULT_MARGIN_M, osm_settings, write_fetch
from ..sources.places import Place, place_from_bbox, place_from_file, place_from_name
from ..study import EXTRA_MARGIN_M
from .common import Reporter, add_output_arguments

__all__ = ["add_parser", "cmd_fetch", "default_cache_folder"]


def default_cache_folder() -> Path:
    """``$GEOPLAN_CACHE``, else ``$XDG_CACHE_HOME/geoplan``, else ``~/.cache/geoplan``."""
    if os.environ.get("GEOPLAN_CACHE"):
        return Path(os.environ["GEOPLAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "geoplan"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``fetch`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "fetch",
        help="OpenStreetMap data and a boundary for a district, online (Overpass, cached) or offline (clip a .osm.pbf)",
        description=("Write an OpenStreetMap extract (extract.osm.pbf), the area's boundary (boundary.gpkg) and a "
                     "manifest with source, date, licence and checksums into --out, ready for "
                     "'geoplan audit --pbf OUT/extract.osm.pbf --area OUT/boundary.gpkg'. Data come from an "
                     "Overpass server (answers are cached: a second run needs no internet) or, with --pbf, from a "
                     "local Geofabrik/BBBike extract clipped offline. OpenStreetMap data © OpenStreetMap "
                     "contributors, ODbL 1.0."),
    )
    a = p.add_argument_group("area (one of --place, --boundary, --bbox; --place with --boundary picks features)")
    a.add_argument("--place", action="append", metavar="NAME",
                   help="place name, e.g. 西城区 or 'Xicheng District, Beijing' (repeatable): looked up in --boundary, "
                   "then in the bundled data/, then with Nominatim (cached)")
    a.add_argument("--boundary", help="polygon layer of the area (GeoPackage, GeoJSON, Shapefile ...)")
    a.add_argument("--name-field", help="field of --boundary holding the names (default: name)")
    a.add_argument("--datum", help="datum of --boundary when not WGS 84: gcj02 (AMap), bd09 (Baidu) or an EPSG code")
    a.add_argument("--bbox", metavar="W,S,E,N", help="box in degrees: west,south,east,north")
    s = p.add_argument_group("source")
    s.add_argument("--pbf", help="clip this local extract (.osm.pbf, .osm, .osm.bz2 from Geofabrik or BBBike) "
                   "instead of downloading: no internet needed")
    s.add_argument("--margin", type=float, default=DEFAULT_MARGIN_M,
                   help=f"metres of data around the area (default {DEFAULT_MARGIN_M:g}: the audit reads the farthest "
                   "walk, 1,000 m, plus 300 m beyond the boundary)")
    s.add_argument("--overpass-url", help="Overpass API server (default: osmnx.settings.overpass_url)")
    s.add_argument("--nominatim-url", help="Nominatim server for --place (default: osmnx.settings.nominatim_url)")
    s.add_argument("--cache-folder", help="where answers are kept for offline reruns "
                   "(default: $GEOPLAN_CACHE, else ~/.cache/geoplan)")
    s.add_argument("--no-cache", action="store_true", help="neither read nor keep cached answers")
    s.add_argument("--timeout", type=float, help="seconds the server may take (default 180)")
    s.add_argument("--retries", type=int, default=2, help="tries again after a busy server (HTTP 429/503/504), default 2")
    o = p.add_argument_group("output")
    add_output_arguments(o, out="output folder (default: geoplan-data-NAME; must not exist unless --overwrite)")
    p.set_defaults(func=cmd_fetch)
    return p


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text, flags=re.UNICODE).strip("-._")[:60] or "area"


def _audit_margin_m() -> float:
    """The margin the default audit reads around its area (largest radius or walk, plus the extra margin)."""
    cfg = load_config(None)
    return max(cfg.rules.max_radius_m, *(a.reach(cfg) for a in ANALYSES)) + EXTRA_MARGIN_M


def _place(args: argparse.Namespace):  # noqa: ANN202 - sources.places.Place
    given = [x for x in ("place", "boundary", "bbox") if getattr(args, x)]
    if not given:
        raise UsageError("geoplan fetch: say which area: --place NAME, --boundary FILE or --bbox W,S,E,N.")
    if args.bbox and len(given) > 1:
        raise UsageError("--bbox cannot be combined with --place or --boundary.")
    if args.bbox:
        return place_from_bbox(args.bbox)
    if args.boundary:
        return place_from_file(args.boundary, select=args.place or (), name_field=args.name_field, datum=args.datum)
    places = [place_from_name(n) for n in args.place]
    if len(places) == 1:
        return places[0]
    gdf = gpd.GeoDataFrame(pd.concat([p.gdf for p in places], ignore_index=True), crs="EPSG:4326")
    return Place(gdf, "place", "; ".join(p.query for p in places), "; ".join(sorted({p.source for p in places})),
                 " + ".join(p.name for p in places))


def cmd_fetch(args: argparse.Namespace) -> int:
    """Write the data folder of an area."""
    if args.margin is not None and args.margin < 0:
        raise UsageError(f"--margin {args.margin:g}: give 0 m or more.")
    if args.retries < 0:
        raise UsageError(f"--retries {args.retries}: give 0 or more.")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a number of seconds above 0.")
    say = Reporter(args.quiet)
    cache = Path(args.cache_folder) if args.cache_folder else default_cache_folder()
    with osm_settings(cache_folder=cache, use_cache=not args.no_cache, overpass_url=args.overpass_url,
                      nominatim_url=args.nominatim_url, timeout=args.timeout):
        if args.out:
            check_output_folder(args.out, overwrite=args.overwrite)  # before any request
        place = _place(args)
        out = Path(args.out) if args.out else Path.cwd() / f"geoplan-data-{_slug(place.name)}"
        check_output_folder(out, overwrite=args.overwrite)
        need = _audit_margin_m()
        if args.margin < need:
            warnings.warn(f"--margin {args.margin:g} m is less than the {need:g} m the audit reads around the area: "
                          "parks and facilities near the border may be missing.", GeoplanWarning, stacklevel=2)
        say(f"area: {place.name} ({len(place.gdf)} polygon(s), {place.area_km2():.2f} km², from {place.source})")
        with atomic_folder(out, overwrite=args.overwrite) as tmp:
            result = write_fetch(place, tmp, pbf=args.pbf, margin_m=args.margin, retries=args.retries, progress=say)
    if not args.quiet:
        out = out.resolve()
        print(result.headline())
        print(f"\n→ {out}\n  geoplan audit --pbf {out / 'extract.osm.pbf'} --area {out / 'boundary.gpkg'}")
    return 0

"""``geoplan lifecircle``: the life-circle analysis (with the park audit it builds on) as a command.

Takes every input option of ``geoplan audit`` plus the life-circle settings
below, runs :func:`geoplan.audit.run_audit` with the ``lifecircle`` analysis
only and writes the usual output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..i18n import step
from .. import presenters
from ..audit import run_audit
from ..outputs import check_output_folder, write_audit
from .common import Reporter, add_input_arguments, config_from_args

__all__ = ["add_parser", "cmd_lifecircle", "settings_from_args"]

#: command-line option -> key of the ``lifecircle:`` configuration section
OPTIONS = {
    "lc_preset": "preset",
    "facilities": "facilities",
    "facilities_mode": "facilities_mode",
    "category_field": "category_field",
    "unknown_categories": "unknown_categories",
    "vocabulary": "vocabulary",
    "origins": "origins",
    "grid_size": "grid_size_m",
    "speed": "speed_kmh",
    "search_limit": "search_limit_m",
    "park_source": "park_source",
    "isochrone_points": "isochrone_points",
    "planned": "planned",
    "supply": "supply",
    "capacity_field": "capacity_field",
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``lifecircle`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "lifecircle",
        help="15-minute community life circles: what every home reaches on foot",
        description=("Walking distance from every home to the nearest facility of each category "
                     "(GB 50180-2018 preset), completeness at 5/10/15 minutes per unit, gaps, "
                     "isochrones, planned-facility scenarios and E2SFCA supply ratios."),
    )
    add_input_arguments(p)
    g = p.add_argument_group("life circle (override the lifecircle: section of --config)")
    g.add_argument("--lc-preset", help="life-circle preset or YAML file (default gb50180)")
    g.add_argument("--facilities", help="facility register: CSV with coordinates and a category column, or GeoPackage")
    g.add_argument("--facilities-mode", choices=["add", "replace", "only"],
                   help="add to OSM facilities (default), replace OSM in the register's categories, or use the register only")
    g.add_argument("--category-field", help="column of the register holding the category (default: category)")
    g.add_argument("--vocabulary",
                   help="how the register's types are read: auto (default), none (category ids and labels), "
                        "osm (Geofabrik fclass / BBBike type), amap (AMap type codes and names), baidu, or a YAML table")
    g.add_argument("--unknown-categories", choices=["error", "drop"],
                   help="register rows of unknown categories: stop with an error (default) or drop with a warning")
    g.add_argument("--origins", choices=["auto", "buildings", "cells", "grid"],
                   help="where walks start (default: residential buildings, else residential cells)")
    g.add_argument("--grid-size", type=float, help="grid spacing in metres for --origins grid (default 50)")
    g.add_argument("--speed", type=float, help="walking speed in km/h for reported times (default 4.5 = 75 m/min)")
    g.add_argument("--search-limit", type=float, help="measure walks up to at least this many metres (default: largest threshold)")
    g.add_argument("--park-source", choices=["audit", "osm"],
                   help="park category: access points of the parks the park rule counts (default) or OSM park tags")
    g.add_argument("--isochrone-points", help="isochrone centres: units (default), a category id, or a point layer")
    g.add_argument("--planned", help="planned facilities (same format as --facilities): before/after scenario")
    g.add_argument("--supply", help="facilities with a capacity for E2SFCA (point layer or CSV)")
    g.add_argument("--capacity-field", help="capacity column of --supply (beds, seats, places)")
    p.set_defaults(func=cmd_lifecircle)
    return p


def settings_from_args(args: argparse.Namespace) -> dict:
    """The ``lifecircle`` settings given on the command line."""
    out = {}
    for opt, key in OPTIONS.items():
        v = getattr(args, opt, None)
        if v is not None:
            out[key] = v
    return out


def cmd_lifecircle(args: argparse.Namespace) -> int:
    """Run the audit with the life-circle analysis and write the output folder."""
    settings = settings_from_args(args)
    cfg = config_from_args(args, **({"lifecircle": settings} if settings else {}))
    if args.out:
        out = Path(args.out)
    else:
        name = cfg.extra.get("sample") or (Path(cfg.inputs.pbf).name.split(".")[0] if cfg.inputs.pbf else "helsinki-sample")
        out = Path.cwd() / f"geoplan-lifecircle-{name}"
    check_output_folder(out, overwrite=args.overwrite)  # fail before the work, not after
    say = Reporter(args.quiet, translate=lambda m: step(m, cfg.lang))
    result = run_audit(cfg, progress=say, analyses=("lifecircle",))
    path = write_audit(result, out, overwrite=args.overwrite, maps=not args.no_maps, progress=say)
    if not args.quiet:
        print(presenters.headline(result.analyses["lifecircle"], cfg.lang))
        print(f"\n→ {path}")
    return 0

"""``geoplan greenways``: the greenway analysis (with the park audit it builds on) written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..i18n import step
from ..audit import run_audit
from ..errors import NoResidentialLandError, UsageError
from ..greenways.settings import load_settings
from ..greenways.standalone import run_network_only
from ..outputs import write_audit
from ..presenters.greenways import headline, write_greenways
from .common import Reporter, add_input_arguments, config_from_args, default_out, print_summary

__all__ = ["add_parser", "cmd_greenways", "greenway_overrides"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``greenways`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "greenways", help="greenway connectivity: components, gaps, links to build, parks and residents reached",
        description="Greenway connectivity (绿道连通性): length and graph indices per level, components, gaps and the "
                    "walking links that would join them, residents and parks reached, park connectivity (IIC/PC) and "
                    "the continuity of named corridors. Greenways come from OpenStreetMap unless --greenways is given.")
    add_input_arguments(p)
    g = p.add_argument_group("greenways (defaults in geoplan/presets/greenways.yaml)")
    g.add_argument("--greenways", action="append", metavar="FILE",
                   help="greenway line layer (replaces OpenStreetMap greenways); repeatable, one file per greenway is fine")
    g.add_argument("--greenways-datum", metavar="DATUM",
                   help="datum of the greenway layers: wgs84, gcj02 (AMap/Gaode, even when labelled EPSG:4326), bd09 or EPSG code")
    g.add_argument("--name-field", help="field with the greenway name (default: name, else the file name)")
    g.add_argument("--level-field", help="field with the level (city/district/community or 市级/区级/社区级)")
    g.add_argument("--level", help="level of features without one")
    g.add_argument("--corridor", action="append", metavar="PATTERN",
                   help="named corridor to check for continuity (name pattern, e.g. 环二环); repeatable")
    g.add_argument("--snap", type=float, metavar="M", help="join line ends within M metres (default 5)")
    g.add_argument("--max-gap", type=float, metavar="M", help="gaps: components within M metres straight line (default 300)")
    g.add_argument("--walk", type=float, metavar="M", help="residential land within an M-metre walk (default 500)")
    g.add_argument("--park-link", type=float, metavar="M", help="parks within M metres of a greenway are linked (default 100)")
    g.add_argument("--pc-distance", type=float, metavar="M",
                   help="PC kernel: distance at which the movement probability is 0.5 (default 1000)")
    g.add_argument("--network-only", action="store_true",
                   help="greenways and the street network only (no park audit, no residential land needed); "
                        "used automatically when the extract has no residential land")
    p.set_defaults(func=cmd_greenways)
    return p


def greenway_overrides(args: argparse.Namespace) -> dict:
    """The ``greenways`` configuration section built from the command-line options."""
    gw: dict = {}
    if getattr(args, "greenways", None):
        gw["layer"] = list(args.greenways)
    for opt, key in (("greenways_datum", "datum"), ("name_field", "name_field"), ("level_field", "level_field"),
                     ("level", "level")):
        if getattr(args, opt, None):
            gw[key] = getattr(args, opt)
    if getattr(args, "corridor", None):
        gw["corridors"] = list(args.corridor)
    for opt, sec, key in (("snap", "topology", "snap_m"), ("max_gap", "gaps", "max_gap_m"), ("walk", "reach", "walk_m"),
                          ("park_link", "reach", "park_link_m"), ("pc_distance", "patches", "decay_distance_m")):
        v = getattr(args, opt, None)
        if v is not None:
            gw.setdefault(sec, {})[key] = v
    return gw


def cmd_greenways(args: argparse.Namespace) -> int:
    """Run the audit with the greenway analysis only (or the network-only analysis), write the folder,
    print the headline.
    """
    over = greenway_overrides(args)
    cfg = config_from_args(args, **({"greenways": over} if over else {}))
    load_settings(cfg.extra.get("greenways", {}))  # fail early on bad settings
    out = Path(args.out) if args.out else Path(str(default_out(cfg)).replace("geoplan-audit-", "geoplan-greenways-"))
    if out.exists() and not args.overwrite:
        raise UsageError(f"output folder {out.resolve()} already exists.", hint="Choose another --out or pass --overwrite.")
    say = Reporter(args.quiet, translate=lambda m: step(m, cfg.lang))
    if not args.network_only:
        try:
            result = run_audit(cfg, progress=say, analyses=("greenways",))
        except NoResidentialLandError as exc:
            say(f"{exc} → greenway analysis of the street network only (as with --network-only)")
        else:
            path = write_audit(result, out, overwrite=args.overwrite, maps=not args.no_maps, progress=say)
            if not args.quiet:
                print_summary(result, path, cfg.lang)
            return 0
    res, streets = run_network_only(cfg, progress=say)
    path = write_greenways(res, out, lang=cfg.lang, overwrite=args.overwrite, maps=not args.no_maps, streets=streets,
                           progress=say)
    if not args.quiet:
        print(headline(res, cfg.lang))
        print(f"\n→ {path}")
    return 0

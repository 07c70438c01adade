"""``geoplan whatif AUDIT``: who gains from proposed parks, gates or facilities, from an audit's saved state."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..presenters.whatif import headline, write_whatif
from ..whatif import load_state, what_if
from .common import Reporter, add_output_arguments, parse_datums

__all__ = ["add_parser", "cmd_whatif"]


def add_parser(subparsers: Any) -> None:
    """Add ``geoplan whatif`` to the command line."""
    p = subparsers.add_parser("whatif", help="who gains from proposed parks, gates or facilities (after an audit)",
                              description="Recompute only what a proposal changes, from the state an audit saved "
                                          "(whatif-state.json and .npz in its output folder: data only, never a pickle).")
    p.add_argument("audit", help="output folder of `geoplan audit` (or its whatif-state.json)")
    p.add_argument("--parks", help="proposed park polygons (any layer format)")
    p.add_argument("--gates", help="proposed gates in compound walls (points)")
    p.add_argument("--facilities", help="proposed facilities (points/polygons with a category field)")
    p.add_argument("--category-field", default="category", help="category field of --facilities (default: category)")
    p.add_argument("--datum", action="append", metavar="LAYER=DATUM",
                   help="datum of a proposal layer: parks=gcj02, gates=wgs84 ... (repeatable)")
    add_output_arguments(p, out="output folder (default: <audit>-whatif)",
                         lang="language of the tables and map (default: the audit's)", maps="skip map.html")
    p.set_defaults(func=cmd_whatif)


def cmd_whatif(args: argparse.Namespace) -> int:
    """Run ``geoplan whatif``."""
    say = Reporter(args.quiet)
    src = Path(args.audit)
    folder = src if src.is_dir() else src.parent
    out = Path(args.out) if args.out else folder.parent / f"{folder.name}-whatif"
    if out.exists() and not args.overwrite:
        raise UsageError(f"output folder {out.resolve()} already exists.", hint="Choose another --out or pass --overwrite.")
    say("reading the audit state")
    t = time.perf_counter()
    state = load_state(src)
    t_load = time.perf_counter() - t
    say("recomputing what the proposal changes")
    res = what_if(state, parks=args.parks, gates=args.gates, facilities=args.facilities,
                  category_field=args.category_field, datums=parse_datums(args.datum))
    res.timings["load_state"] = t_load
    lang = args.lang or state.lang
    say(f"answered in {res.timings['total']:.2f} s; writing {out}")
    path = write_whatif(res, out, overwrite=args.overwrite, lang=lang, maps=not args.no_maps, units=state.units)
    if not args.quiet:
        print(headline(res, lang))
        print(f"\n→ {path}")
    return 0

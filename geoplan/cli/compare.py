"""``geoplan compare OLD NEW``: what changed between two audits, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..compare import as_bool, compare_audits
from ..i18n import label
from ..outputs import check_output_folder
from ..presenters.compare import headline, write_comparison
from .common import Reporter, add_output_arguments

__all__ = ["add_parser", "cmd_compare"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``geoplan compare`` to the command line."""
    p = subparsers.add_parser(
        "compare", help="change between two audits: every indicator, per unit, newly covered / uncovered land",
        description="Compare two audit output folders (earlier first) for the annual review: the change of every "
                    "indicator overall and per unit, targets met before and after, and maps of residential land "
                    "newly covered and no longer covered, by method.")
    p.add_argument("old", metavar="OLD_AUDIT", help="the earlier audit's output folder")
    p.add_argument("new", metavar="NEW_AUDIT", help="the later audit's output folder")
    add_output_arguments(p, out="output folder (default: geoplan-compare-OLD-NEW in the current folder)",
                         lang="language of tables, maps and page (default: the later audit's)", maps="skip the change maps")
    p.add_argument("--different-areas", action="store_true",
                   help="compare even when the two audits do not cover the same area (refused otherwise)")
    p.set_defaults(func=cmd_compare)
    return p


def cmd_compare(args: argparse.Namespace) -> int:
    """Run ``geoplan compare``."""
    old, new = Path(args.old), Path(args.new)
    out = Path(args.out) if args.out else Path.cwd() / f"geoplan-compare-{old.resolve().name}-{new.resolve().name}"
    check_output_folder(out, overwrite=args.overwrite)
    say = Reporter(args.quiet)

    say("reading the two audits")
    comp = compare_audits(old, new, progress=say, different_areas=args.different_areas)
    lang = args.lang or comp.new.lang or "en"
    path = write_comparison(comp, out, lang=lang, overwrite=args.overwrite, maps=not args.no_maps, progress=say,
                            quiet=args.quiet)
    if not args.quiet:
        print(headline(comp, lang))
        for _, r in comp.targets.iterrows():
            lab = r["label_zh" if lang == "zh" else "label_en"]
            b, a = as_bool(r["met_old"]), as_bool(r["met_new"])
            word = {True: label("met", lang), False: label("not_met", lang), None: label("not_measured", lang)}
            print(f"  {lab}: {word[b]} → {word[a]}")
        print(f"\n→ {path}")
    return 0

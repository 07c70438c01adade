"""``geoplan audit``: park coverage and every analysis for a study area, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..audit import run_audit
from ..i18n import step
from ..outputs import check_output_folder, write_audit
from .common import Reporter, add_input_arguments, config_from_args, default_out, print_summary

__all__ = ["add_parser", "cmd_audit"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``geoplan audit`` to the command line."""
    a = subparsers.add_parser("audit", help="park coverage (and every installed analysis) for a study area")
    add_input_arguments(a)
    a.set_defaults(func=cmd_audit)
    return a


def cmd_audit(args: argparse.Namespace) -> int:
    """Run the full audit and write the output folder."""
    cfg = config_from_args(args)
    out = Path(args.out) if args.out else default_out(cfg)
    check_output_folder(out, overwrite=args.overwrite)  # fail before the work, not after
    say = Reporter(args.quiet, translate=lambda m: step(m, cfg.lang))
    result = run_audit(cfg, progress=say)
    path = write_audit(result, out, overwrite=args.overwrite, maps=not args.no_maps, progress=say, quiet=args.quiet,
                       state=not getattr(args, "no_state", False))
    if not args.quiet:
        print_summary(result, path, cfg.lang)
    return 0

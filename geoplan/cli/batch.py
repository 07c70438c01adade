"""``geoplan batch CONFIG``: one audit per area on Dask distributed, folders and merged tables."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..batch import load_batch, run_batch
from .common import Reporter

__all__ = ["add_parser", "cmd_batch"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``geoplan batch`` to the command line."""
    p = subparsers.add_parser(
        "batch",
        help="audit many areas (every unit of a layer, boundary files or OSM extracts) on Dask distributed",
        description=("Audit many areas as independent tasks on Dask distributed: an embedded local cluster by "
                     "default, or an existing one with --scheduler. Writes one folder per area, merged tables "
                     "(merged/) and batch_status.csv; areas already done are skipped unless --redo. "
                     "Exit code 0: every area done; 1: some areas failed (the others are written); "
                     "2: usage error; 3: data error. Example configuration: geoplan/presets/batch-example.yaml"),
    )
    p.add_argument("config", help="batch configuration YAML (base, areas, out, workers, scheduler, redo, maps, analyses)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address (tcp://HOST:PORT) or scheduler JSON file of a running Dask cluster")
    p.add_argument("--workers", type=int, help="worker processes of the local cluster (default: the file's, else 2)")
    p.add_argument("--out", help="output folder (default: the file's 'out:')")
    p.add_argument("--redo", action="store_true", default=None, help="re-run areas already done")
    p.add_argument("--maps", action="store_true", default=None, help="also draw maps and report for every area (slow)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_batch)
    return p


def cmd_batch(args: argparse.Namespace) -> int:
    """Run ``geoplan batch``."""
    say = Reporter(args.quiet)
    spec = load_batch(args.config, out=args.out, workers=args.workers, scheduler=args.scheduler,
                      redo=args.redo, maps=args.maps)
    try:
        report = run_batch(spec, quiet=args.quiet, progress=say)
    except KeyboardInterrupt:
        print(f"interrupted: the areas finished so far are kept in {spec.out} (see batch_status.csv); "
              "run the same command again to audit the rest", file=sys.stderr)
        return 130
    if not args.quiet:
        c = report.counts()
        print(f"\n{len(report.status)} areas: " + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
              + f" in {report.seconds:.1f} s")
        for _, r in report.failed.iterrows():
            print(f"  failed: {r['area']}: {r['error']}")
        print(f"→ {report.out}  (batch_status.csv, merged/)")
    return 1 if len(report.failed) or (report.status["status"] == "not run").any() else 0

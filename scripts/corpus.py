#!/usr/bin/env python
"""Run every analysis on every file of the corpus of real extracts (issue #14) and write the table.

    python scripts/corpus.py                          # all files, maps on: benchmarks/corpus.md
    python scripts/corpus.py --files cn_nanjing_2021.osm --no-maps --out -

The corpus is ``../shared/data/corpus/`` (real OpenStreetMap exports from several
countries and eras, of very different tag completeness; its README lists them).
For each file it runs, as a planner would, through the command line
(:func:`geoplan.cli.main`, in this process):

* ``geoplan audit --pbf FILE`` (maps on, the default);
* ``geoplan lifecircle --pbf FILE`` and ``geoplan greenways --pbf FILE``;
* ``geoplan whatif AUDIT --parks PROPOSAL``: a proposed 60 m-radius park at the
  largest blind spot of the audit (at the study area's centre when there is none);
* ``geoplan compare AUDIT COPY`` (the audit with a copy of itself: every change must be 0).

Each run must end in exit 0 with a complete output folder, or in exit 3 with
one ``error:`` line and no folder.  Anything else (exit 1, a traceback, an
empty or half-written folder, an undefined figure printed as ``nan``) is a
failure, listed under the table.  ``tests/test_corpus.py`` runs the same
checks in the test suite (marker ``corpus``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import re
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "corpus"
OSM_SUFFIXES = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf")
ANALYSES = ("audit", "lifecircle", "greenways", "whatif", "compare")

#: Files each successful command writes (relative to its output folder); maps add ``MAP_FILES``.
EXPECTED = {
    "audit": ("summary.json", "geoplan.gpkg", "geoplan.log", "audit.xlsx", "tables"),
    "lifecircle": ("summary.json", "geoplan.gpkg", "geoplan.log", "tables"),
    "greenways": ("summary.json", "geoplan.gpkg", "tables"),
    "whatif": ("whatif.gpkg", "whatif.xlsx", "tables/whatif_by_unit.csv"),
    "compare": ("comparison.json", "comparison.xlsx", "index.html", "geoplan.log"),
}
MAP_FILES = {"audit": ("index.html", "map.html"), "lifecircle": ("index.html", "map.html"),
             "greenways": ("map.html",), "whatif": ("map.html",), "compare": ()}
#: A figure printed as undefined by a library rather than by geoplan.
_NAN = re.compile(r"(?<![A-Za-z])(nan|NaN|inf)(?![A-Za-z])")


@dataclass
class Run:
    """One command on one file."""

    file: str
    analysis: str
    argv: list
    exit: int | None = None
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    traceback: str = ""
    folder: Path | None = None
    problems: list = field(default_factory=list)

    @property
    def error_lines(self) -> list[str]:
        """The ``error:`` lines printed."""
        return [ln for ln in self.stderr.splitlines() if ln.startswith("error:")]

    @property
    def warnings(self) -> list[str]:
        """The ``warning:`` lines printed (each figure it could not compute, and why)."""
        return [ln[len("warning:"):].strip() for ln in self.stderr.splitlines() if ln.startswith("warning:")]

    @property
    def headline(self) -> str:
        """The headline figure of a successful run, or the error line."""
        if self.exit == 3 and self.error_lines:
            return self.error_lines[0]
        if self.exit != 0:
            return f"exit {self.exit}: " + (self.traceback.strip().splitlines() or ["?"])[-1]
        return headline(self)

    @property
    def ok(self) -> bool:
        return not self.problems


def corpus_files(corpus: Path = CORPUS) -> list[Path]:
    """The OpenStreetMap files of the corpus, sorted by name."""
    return sorted(p for p in corpus.iterdir() if p.name.lower().endswith(OSM_SUFFIXES))


def run_cli(argv: list[str]) -> tuple[int, str, str, str, float]:
    """``geoplan ARGV`` in this process: exit code, stdout, stderr, traceback (if one escaped), seconds."""
    from geoplan.cli import main

    out, err = io.StringIO(), io.StringIO()
    tb = ""
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = int(main(argv))
        except BaseException:  # noqa: BLE001 - what a planner would see as a traceback (exit 1)
            code = 1
            tb = traceback.format_exc()
    return code, out.getvalue(), err.getvalue(), tb, time.perf_counter() - t0


def check(run: Run, maps: bool) -> None:
    """Fill ``run.problems``: what breaks the contract exit 0 + complete folder / exit 3 + one error line."""
    p = run.problems
    if run.traceback or "Traceback (most recent call last)" in run.stderr:
        p.append("traceback")
    if run.exit not in (0, 3):
        p.append(f"exit {run.exit}")
    if run.exit == 3:
        if len(run.error_lines) != 1:
            p.append(f"{len(run.error_lines)} error lines")
        if run.folder is not None and run.folder.exists():
            p.append("output folder left behind after an error")
    if run.exit == 0:
        if run.folder is None or not run.folder.is_dir():
            p.append("no output folder")
            return
        need = EXPECTED[run.analysis] + (MAP_FILES[run.analysis] if maps else ())
        for rel in need:
            f = run.folder / rel
            if not f.exists() or (f.is_file() and f.stat().st_size == 0) or (f.is_dir() and not any(f.iterdir())):
                p.append(f"missing or empty: {rel}")
        if any(run.folder.glob(".*tmp*")):
            p.append("temporary files left in the folder")
        if run.analysis == "compare":  # an audit compared with a copy of itself: nothing changed
            c = json.loads((run.folder / "comparison.json").read_text(encoding="utf-8"))
            moved = [f"{m} {k} {v:+g} pp" for m, d in (c.get("park_coverage_change_pp") or {}).items()
                     for k, v in d.items() if v not in (None, 0, 0.0)]
            if moved:
                p.append("an audit compared with itself changed: " + ", ".join(moved))
        shown = run.stdout + "\n" + "\n".join(run.warnings)
        if _NAN.search(shown):
            p.append("an undefined figure printed as nan/inf: " + _NAN.search(shown).group(0))


def _pct(v) -> str:
    return "undefined" if v is None else f"{float(v):.1f} %"


def headline(run: Run) -> str:
    """A short headline figure read from what the successful command wrote."""
    f = run.folder
    try:
        if run.analysis in ("audit", "lifecircle", "greenways"):
            s = json.loads((f / "summary.json").read_text(encoding="utf-8"))
            if run.analysis == "audit":
                rows = [r for r in s.get("park_coverage", []) if r.get("scope") == "all" and r.get("tier") == "all"]
                parts = [f"{r['method']}: land {_pct(r['land_pct'])}, residents {_pct(r['residents_pct'])}" for r in rows]
                return f"park coverage ({s['parks']['counted']} parks) " + "; ".join(parts)
            if run.analysis == "lifecircle":
                lc = s.get("lifecircle", {})
                c = (lc.get("complete_pct") or {}).get("15min")
                n = sum((lc.get("facilities") or {}).values())
                return f"complete 15-min circle {_pct(c)} ({n} facilities; absent: {len(lc.get('absent_categories') or [])} categories)"
            gw = s.get("greenways", {})
            if gw.get("status"):
                return f"greenways: {gw['status']}"
            pk = gw.get("parks") or {}
            return (f"greenways {gw.get('length_km', 0):.1f} km in {gw.get('components')} components; "
                    f"parks linked {pk.get('linked', 0)}/{pk.get('total', 0)}")
        lines = [ln for ln in run.stdout.splitlines() if ln.strip() and not ln.startswith("→")]
        return lines[0] if lines else "(no headline printed)"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"(headline unreadable: {exc})"


def proposal(audit: Path, out: Path) -> Path:
    """A proposed park (60 m radius) at the largest blind spot of the audit, else at the study area's centre."""
    import geopandas as gpd
    import pyogrio

    gpkg = audit / "geoplan.gpkg"
    names = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    g = gpd.read_file(gpkg, layer="blind_spots") if "blind_spots" in names else None
    if g is None or g.empty:
        g = gpd.read_file(gpkg, layer="study_area")
    big = g.loc[[g.geometry.area.idxmax()]]
    site = gpd.GeoDataFrame({"name": ["proposed park"]}, geometry=big.geometry.representative_point().buffer(60).values,
                            crs=g.crs)
    site.to_crs(4326).to_file(out, driver="GeoJSON")
    return out


def run_file(path: Path, work: Path, *, maps: bool = True, analyses=ANALYSES, side_maps: bool | None = None) -> list[Run]:
    """Every analysis on one file; ``side_maps``: maps for lifecircle/greenways/whatif/compare (default ``maps``)."""
    side_maps = maps if side_maps is None else side_maps
    stem = path.name.split(".")[0]
    runs: list[Run] = []

    def go(analysis: str, argv: list[str], folder: Path | None, with_maps: bool) -> Run:
        argv = argv + ([] if with_maps else ["--no-maps"])
        r = Run(path.name, analysis, ["geoplan", *argv], folder=folder)
        r.exit, r.stdout, r.stderr, r.traceback, r.seconds = run_cli(argv)
        check(r, with_maps)
        runs.append(r)
        return r

    audit_dir = work / f"{stem}-audit"
    audit = None
    if "audit" in analyses:
        audit = go("audit", ["audit", "--pbf", str(path), "--out", str(audit_dir), "--overwrite"], audit_dir, maps)
    for name in ("lifecircle", "greenways"):
        if name in analyses:
            d = work / f"{stem}-{name}"
            go(name, [name, "--pbf", str(path), "--out", str(d), "--overwrite"], d, side_maps)
    usable = audit is not None and audit.exit == 0 and not audit.problems
    if "whatif" in analyses and usable:
        d = work / f"{stem}-whatif"
        prop = proposal(audit_dir, work / f"{stem}-proposal.geojson")
        go("whatif", ["whatif", str(audit_dir), "--parks", str(prop), "--out", str(d), "--overwrite"], d, side_maps)
    if "compare" in analyses and usable:  # the same audit twice (a copy: compare refuses one folder given twice)
        d, twin = work / f"{stem}-compare", work / f"{stem}-audit-copy"
        shutil.rmtree(twin, ignore_errors=True)
        shutil.copytree(audit_dir, twin)
        go("compare", ["compare", str(audit_dir), str(twin), "--out", str(d), "--overwrite"], d, side_maps)
    for name in ("whatif", "compare"):
        if name in analyses and not usable:
            r = Run(path.name, name, [], exit=None)
            r.stdout = "(not run: the audit did not complete)"
            runs.append(r)
    return runs


def _cell(s: str, n: int = 220) -> str:
    s = " ".join(str(s).split()).replace("|", "\\|")
    return s if len(s) <= n else s[: n - 1] + "…"


def markdown(runs: list[Run], command: str, seconds: float) -> str:
    """The table (one row per file and analysis) and the problems found."""
    import geoplan

    lines = ["# Corpus run: every analysis on every real extract (issue #14)", "",
             f"Command: `{command}`  ", f"geoplan {geoplan.__version__}, Python {platform.python_version()}, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds / 60:.1f} min in all.", "",
             "Contract: exit 0 with a complete folder (notes = warnings naming each figure not computable and why), "
             "or exit 3 with one `error:` line and no folder. Never exit 1, a traceback or a half-written folder.", "",
             "| file | analysis | exit | headline figure or error line | notes | s |", "|---|---|---|---|---|---|"]
    for r in runs:
        ex = "—" if r.exit is None else str(r.exit)
        head = r.stdout if r.exit is None else r.headline
        lines.append(f"| {r.file} | {r.analysis} | {ex} | {_cell(head)} | {len(r.warnings)} | {r.seconds:.0f} |")
    bad = [r for r in runs if r.problems]
    lines += ["", f"Runs: {len(runs)}; exit 0: {sum(r.exit == 0 for r in runs)}; exit 3: {sum(r.exit == 3 for r in runs)}; "
              f"contract broken: {len(bad)}.", ""]
    for r in bad:
        lines += [f"- **{r.file} {r.analysis}**: {'; '.join(r.problems)}", "", "```", (r.traceback or r.stderr)[-3000:], "```"]
    lines += ["", "## Notes per file (the warnings of the audit: figures not computable and why)", ""]
    for r in runs:
        if r.analysis == "audit" and r.warnings:
            lines.append(f"- **{r.file}**: " + " / ".join(_cell(w, 300) for w in r.warnings))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(CORPUS), help="folder of OSM extracts (default ../shared/data/corpus)")
    ap.add_argument("--files", nargs="*", help="only these file names")
    ap.add_argument("--analyses", nargs="*", default=list(ANALYSES), choices=ANALYSES)
    ap.add_argument("--work", help="folder for the output folders (default: a temporary folder, removed)")
    ap.add_argument("--no-maps", action="store_true", help="no maps for any command")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "corpus.md"), help="markdown table ('-': print only)")
    a = ap.parse_args(argv)
    corpus = Path(a.corpus)
    if not corpus.is_dir():
        print(f"error: corpus folder {corpus} is absent (see ../shared/data/corpus/README.md)", file=sys.stderr)
        return 3
    files = [p for p in corpus_files(corpus) if not a.files or p.name in a.files]
    t0 = time.perf_counter()
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        work = Path(a.work) if a.work else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="geoplan-corpus-")))
        work.mkdir(parents=True, exist_ok=True)
        for p in files:
            for r in run_file(p, work, maps=not a.no_maps, analyses=tuple(a.analyses)):
                runs.append(r)
                flag = "ok" if r.ok else "BROKEN: " + "; ".join(r.problems)
                print(f"{r.file:<36} {r.analysis:<10} exit {r.exit!s:<4} {r.seconds:6.1f} s  {flag}  {_cell(r.headline if r.exit is not None else r.stdout, 140)}",
                      flush=True)
    # the command that reproduces the table (where the folders and the table go does not change it)
    shown = [f"--corpus {a.corpus}"] if Path(a.corpus).resolve() != CORPUS.resolve() else []
    shown += [f"--files {' '.join(a.files)}"] if a.files else []
    shown += [f"--analyses {' '.join(a.analyses)}"] if list(a.analyses) != list(ANALYSES) else []
    shown += ["--no-maps"] if a.no_maps else []
    command = " ".join(["python scripts/corpus.py", *shown])
    md = markdown(runs, command.strip(), time.perf_counter() - t0)
    if a.out == "-":
        print(md)
    else:
        Path(a.out).write_text(md, encoding="utf-8")
        print(f"→ {a.out}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

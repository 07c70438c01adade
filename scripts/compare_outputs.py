"""Compare the tables (CSV) and ``summary.json`` of two audit folders byte for byte.

Used to check that a refactoring changes no output (issue #15): run the same audit on the
code before and after, then::

    python scripts/compare_outputs.py /tmp/ref-default /tmp/new-default \
        --same /tmp/arch-ref-src=/work/wt-arch

``--same OLD=NEW`` declares two texts that mean the same thing (the folders of the two
checkouts, which appear in the provenance of the inputs); they are replaced before comparing
and the report says so.  Every other byte counts.  For a table that differs, the report
names the columns that differ, how many rows, and the largest numeric difference.

Exit status: 0 when every file is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def _files(folder: Path) -> dict[str, Path]:
    out = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*.csv")}
    if (folder / "summary.json").is_file():
        out["summary.json"] = folder / "summary.json"
    return out


def _json_diff(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'new' if k not in a else 'reference'}")
            else:
                out += _json_diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def _table_diff(a: str, b: str) -> list[str]:
    try:
        ta = pd.read_csv(io.StringIO(a), dtype=str, keep_default_na=False)
        tb = pd.read_csv(io.StringIO(b), dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - a report line, not a failure
        return [f"unreadable as CSV: {exc}"]
    if list(ta.columns) != list(tb.columns):
        return [f"columns differ: {sorted(set(ta.columns) ^ set(tb.columns))} (order or names)"]
    if len(ta) != len(tb):
        return [f"rows differ: {len(ta)} -> {len(tb)}"]
    out = []
    for c in ta.columns:
        diff = ta[c].to_numpy() != tb[c].to_numpy()
        if not diff.any():
            continue
        na = pd.to_numeric(ta[c][diff], errors="coerce").to_numpy(float)
        nb = pd.to_numeric(tb[c][diff], errors="coerce").to_numpy(float)
        both = np.isfinite(na) & np.isfinite(nb)
        big = f", largest numeric difference {np.max(np.abs(na[both] - nb[both])):.3g}" if both.any() else ""
        i = int(np.nonzero(diff)[0][0])
        out.append(f"column {c!r}: {int(diff.sum())} rows{big} (e.g. row {i}: {ta[c].iloc[i]!r} -> {tb[c].iloc[i]!r})")
    return out or ["same values, different bytes (quoting or line ends)"]


def _layers_diff(a: Path, b: Path) -> list[str]:
    """Layers of two GeoPackages that differ (attributes or geometry, compared as WKB)."""
    import pyogrio

    la = {n for n, _ in pyogrio.list_layers(a)}
    lb = {n for n, _ in pyogrio.list_layers(b)}
    out = [f"layer {n}: only in {'reference' if n in la else 'new'}" for n in sorted(la ^ lb)]
    for n in sorted(la & lb):
        da, db = pyogrio.read_dataframe(a, layer=n), pyogrio.read_dataframe(b, layer=n)
        if list(da.columns) != list(db.columns) or len(da) != len(db):
            out.append(f"layer {n}: columns or rows differ ({len(da)} -> {len(db)} rows)")
            continue
        geom = getattr(da, "_geometry_column_name", None)  # None: a table without geometry (attributes only)
        if geom is not None:
            ga, gb = da[geom].to_wkb().to_numpy(), db[geom].to_wkb().to_numpy()
            if not (ga == gb).all():
                out.append(f"layer {n}: {int((ga != gb).sum())} geometries differ")
        attrs = [c for c in da.columns if c != geom]
        ta = da[attrs].astype(str).where(da[attrs].notna(), "<null>").to_numpy()  # None and NaN: both null
        tb = db[attrs].astype(str).where(db[attrs].notna(), "<null>").to_numpy()
        if not (ta == tb).all():
            cols = [attrs[j] for j in sorted(set(np.nonzero(ta != tb)[1]))]
            out.append(f"layer {n}: attributes differ in {cols}")
    return out


def compare(ref: Path, new: Path, same: list[tuple[str, str]], layers: bool = False) -> int:
    """Print the comparison of two output folders; return the number of files that differ."""
    fa, fb = _files(ref), _files(new)
    bad = 0
    for name in sorted(set(fa) | set(fb)):
        if name not in fb or name not in fa:
            print(f"DIFF {name}: only in {'reference' if name not in fb else 'new'}")
            bad += 1
            continue
        a = fa[name].read_bytes().decode("utf-8")
        b = fb[name].read_bytes().decode("utf-8")
        for old, repl in same:
            if name == "summary.json":  # JSON escapes the texts (e.g. backslashes): replace them as JSON would write them
                a = a.replace(json.dumps(old)[1:-1], json.dumps(repl)[1:-1])
            a = a.replace(old, repl)
        if a == b:
            continue
        bad += 1
        lines = _json_diff(json.loads(a), json.loads(b)) if name == "summary.json" else _table_diff(a, b)
        print(f"DIFF {name}:")
        for line in lines[:20]:
            print(f"    {line}")
        if len(lines) > 20:
            print(f"    ... {len(lines) - 20} more")
    if layers and (ref / "geoplan.gpkg").is_file() and (new / "geoplan.gpkg").is_file():
        lines = _layers_diff(ref / "geoplan.gpkg", new / "geoplan.gpkg")
        for line in lines:
            print(f"DIFF geoplan.gpkg {line}")
        bad += bool(lines)
        print(f"geoplan.gpkg: every layer compared (attributes and geometry): {'identical' if not lines else 'differs'}")
    print(f"{len(set(fa) | set(fb))} files compared ({len(fa)} reference, {len(fb)} new): "
          f"{'all identical' if not bad else f'{bad} differ'}"
          + (f"; declared the same: {', '.join(f'{o} = {n}' for o, n in same)}" if same else ""))
    return bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reference", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--same", action="append", default=[], metavar="OLD=NEW",
                   help="texts that mean the same in both (e.g. the two checkouts' folders); repeatable")
    p.add_argument("--layers", action="store_true", help="also compare every layer of geoplan.gpkg (attributes, geometry)")
    a = p.parse_args(argv)
    same = [tuple(s.split("=", 1)) for s in a.same]
    return 1 if compare(a.reference, a.new, same, a.layers) else 0


if __name__ == "__main__":
    sys.exit(main())

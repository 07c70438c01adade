"""Figures behind issue #17 items 1-3, on the real extracts: how each choice moves the park coverage.

For each extract (default: the bundled Helsinki sample and the Haidian CAU and
BUPT exports in ../shared/data):

1. network park coverage (land and residents) under the reading and snapping
   rules before and after #17: pyrosm's walking filter or OpenStreetMap's
   access rules, homes and park entrances snapped to the nearest street of any
   piece or to the main network;
2. the compound model with the evidence rule (and, for Beijing exports, with the
   declared ``beijing`` regional rule; for Helsinki, with a rule declared on
   purpose: the effect "when asked"): coverage by model (nearest street, main
   network, gate links, compounds), mean walk saved by better snapping, saved
   by gate links and added by walls, per unit and per compound;
3. the homes whose nearest street is a detached fragment, per place.

    python scripts/trust_evidence.py [FILE ...] [--out DIR]

With ``--out`` the per-unit and per-compound tables are written as CSV too.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
pd.set_option("display.width", 250)
pd.set_option("display.max_columns", 40)
pd.set_option("display.max_colwidth", 40)


def _audit(pbf: Path | None, analyses: tuple, **kw):
    import geoplan

    cfg = geoplan.load_config(**({"pbf": str(pbf)} if pbf else {}), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return geoplan.run_audit(cfg, analyses=analyses)


def coverage_by_rules(pbf: Path | None) -> pd.DataFrame:
    """Network coverage under the four combinations of walking rules and snapping."""
    rows = []
    for rules in ("pyrosm", "osm"):
        for share, snap in ((0.0, "nearest street"), (0.2, "main network")):
            r = _audit(pbf, (), network={"walking_rules": rules, "main_piece_share": share})
            net = r.study.network
            rows.append({"walking rules": rules, "snapping": snap, "network km": round(net.edge_length.sum() / 1000, 2),
                         "land %": round(r.parks.coverage("network"), 2),
                         "residents %": round(r.parks.coverage("network", measure="residents"), 2),
                         "homes on fragments": 0 if r.parks.on_fragments is None else len(r.parks.on_fragments)})
    return pd.DataFrame(rows)


def compound_figures(pbf: Path | None, label: str, settings: dict, out: Path | None) -> None:
    r = _audit(pbf, ("compounds",), compounds=settings)
    c = r.analyses["compounds"]
    s = c.summary()
    print(f"\n### {label}: compounds {settings or '(evidence only, the default)'}")
    from geoplan.presenters.compounds import headline

    print(headline(c))
    print({k: s.get(k) for k in ("compounds", "by_evidence", "candidates_without_evidence", "gates_by_kind",
                                 "residents_in_compounds_pct", "residents_by_mode_pct")})
    print("residents covered by model (%):", s.get("residents_pct_by_model"))
    print("walk (m, mean over all residents, capped at 3 km):", s.get("walk_m"))
    u = c.walks_by_unit
    u = u[u["residents"] > 0]
    cols = ["unit_name", "residents", "residents_in_compounds", "residents_on_fragments", "park_m_nearest", "park_m",
            "park_m_links", "park_m_compounds", "walk_saved_by_snapping_m", "walk_saved_by_gate_links_m", "walk_added_by_walls_m"]
    print("per unit:")
    print(u[cols].round(1).to_string(index=False))
    t = c.compound_table
    t = t[t["residents"] > 0]
    cols = ["compound_id", "name", "kind", "evidence", "n_gates", "residents", "residents_on_fragments", "park_m_nearest",
            "park_m", "park_m_links", "park_m_compounds", "walk_saved_by_snapping_m", "walk_saved_by_gate_links_m",
            "walk_added_by_walls_m"]
    print("per compound (with residents):")
    print(t[cols].round(1).to_string(index=False))
    if out is not None:
        tag = f"{label}_{'_'.join(f'{k}-{v}' for k, v in settings.items()) or 'evidence'}".replace("/", "-")
        c.walks_by_unit.to_csv(out / f"{tag}_walk_by_unit.csv", index=False)
        c.compound_table.to_csv(out / f"{tag}_compounds.csv", index=False)


def fragments(pbf: Path | None) -> pd.DataFrame:
    r = _audit(pbf, ())
    f = r.parks.on_fragments
    if f is None or len(f) == 0:
        return pd.DataFrame()
    return (f.assign(place=f["place"].fillna("(unnamed)"))
            .groupby(["place", "unit_name", "fragment_piece", "fragment_ways"], dropna=False)
            .agg(cells=("cell_id", "size"), residents=("residents", "sum"), fragment_m=("fragment_m", "mean"),
                 snap_m=("snap_m", "mean")).round(1).reset_index())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    files: list[Path | None] = list(a.files) or [None] + [SHARED / "osm" / n for n in ("haidian_cau_campus.osm", "haidian_bupt_campus.osm")
                                                     if (SHARED / "osm" / n).exists()]
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
    for f in files:
        label = "Helsinki sample" if f is None else f.name
        beijing = f is not None and "haidian" in f.name
        print(f"\n## {label}")
        print("network park coverage by reading and snapping rule:")
        print(coverage_by_rules(f).to_string(index=False))
        fr = fragments(f)
        if len(fr):
            print("homes whose nearest street is a detached fragment (plain model):")
            print(fr.to_string(index=False))
        compound_figures(f, label, {}, a.out)
        compound_figures(f, label, {"regional_rule": "beijing"} if beijing else {"regional_rule": "china"}, a.out)
        if not beijing:
            compound_figures(f, label, {"evidence": ["walls", "gates"]}, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

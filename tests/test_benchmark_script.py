"""Smoke test of scripts/benchmark.py (issue #6): a tiny run on the bundled sample.

Not a timed test: it checks that the benchmark runs end to end, writes its JSON,
and that every peer gives geoplan's distances (within 0.5 m) on the same graph.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "benchmark.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    cp = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--datasets", "helsinki", "--out", str(out),
         "--peers", "networkx,ego,pandana,cityseer"],
        capture_output=True, text=True, cwd=str(REPO), timeout=900,
    )
    assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr[-3000:]
    return json.loads(out.read_text()), cp.stdout


def test_json_written_with_both_distance_groups(quick_run):
    res, stdout = quick_run
    hel = res["datasets"]["helsinki"]
    assert hel["network"]["nodes"] > 5000
    assert set(hel["groups"]) == {"parks", "lifecircle"}
    for g in hel["groups"].values():
        rows = g["rows"]
        for name in ("bare scipy dijkstra (node distances)", "geoplan (node-id sources)",
                     "geoplan (audit: sources snapped on edges)", "networkx multi_source_dijkstra"):
            assert rows[name]["median_s"] > 0
            assert math.isfinite(rows[name]["ratio_to_bare"])
    assert hel["isochrones"]["geoplan reached street parts"]["median_s"] > 0
    assert "| method | median |" in stdout


def test_peers_give_geoplans_distances(quick_run):
    res, _ = quick_run
    for gname, g in res["datasets"]["helsinki"]["groups"].items():
        assert g["check_geoplan_vs_bare_node_m"] <= 1e-6, gname
        for name, r in g["rows"].items():
            if name.startswith("cityseer"):
                # cityseer attaches facilities by coordinates; compared for the nodes it chose
                assert r["max_abs_diff_same_attachment_m"] <= 0.5, (gname, name, r)
                assert not r["reach_mismatch_same_attachment"], (gname, name, r)
                continue
            if r.get("max_abs_diff_m") is None:
                continue
            assert r["max_abs_diff_m"] <= 0.5, (gname, name, r)
            assert not r.get("reach_mismatch"), (gname, name, r)
        assert "pandana set_pois + nearest_pois" in g["rows"]
        assert "ego-graph recipe, per source" in g["rows"]

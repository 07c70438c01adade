"""scripts/compare_outputs.py (issue #15): the byte comparison used as evidence that a refactoring changes no output.

Hand-made folders: the script must say "identical" only when every byte is the same, and name the
column, the row count and the size of a difference otherwise.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import shapely

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_outputs.py"


def _script():
    spec = importlib.util.spec_from_file_location("compare_outputs", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _folder(root: Path, dist: float, source: str, x: float = 0.0) -> Path:
    (root / "tables").mkdir(parents=True)
    (root / "tables" / "cells.csv").write_text(f"cell_id,net_dist\n1,{dist:.6f}\n2,12.500000\n", encoding="utf-8")
    (root / "summary.json").write_text(json.dumps({"inputs": {"osm": f"{source}/data/x.osm.pbf"}, "pct": 50.0}),
                                       encoding="utf-8")
    gpd.GeoDataFrame({"cell_id": [1]}, geometry=[shapely.Point(x, 0)], crs="EPSG:32650").to_file(
        root / "geoplan.gpkg", layer="cells", driver="GPKG")
    return root


def test_identical_folders_and_declared_checkout_paths(tmp_path, capsys):
    m = _script()
    a = _folder(tmp_path / "a", 100.0, "/old/checkout")
    b = _folder(tmp_path / "b", 100.0, "/new/checkout")
    assert m.main([str(a), str(b), "--layers"]) == 1  # the checkout path differs in summary.json
    assert "/inputs/osm" in capsys.readouterr().out
    assert m.main([str(a), str(b), "--layers", "--same", "/old/checkout=/new/checkout"]) == 0
    assert "all identical" in capsys.readouterr().out


def test_a_table_value_or_a_geometry_that_differs_is_named(tmp_path, capsys):
    m = _script()
    a = _folder(tmp_path / "a", 100.0, "/c")
    b = _folder(tmp_path / "b", 100.000001, "/c", x=1e-9)
    assert m.main([str(a), str(b), "--layers"]) == 1
    out = capsys.readouterr().out
    assert "DIFF tables/cells.csv" in out and "column 'net_dist': 1 rows" in out and "1e-06" in out
    assert "layer cells: 1 geometries differ" in out


def test_a_layer_without_geometry_is_compared_by_its_attributes(tmp_path, capsys):
    # the default audit's GeoPackage holds attribute-only tables beside the geographic layers
    import pandas as pd
    import pyogrio

    m = _script()
    a = _folder(tmp_path / "a", 100.0, "/c")
    b = _folder(tmp_path / "b", 100.0, "/c")
    for root, grade in ((a, "C"), (b, "D")):
        pyogrio.write_dataframe(pd.DataFrame({"unit": ["椿树"], "grade": [grade]}), root / "geoplan.gpkg",
                                layer="grades", driver="GPKG")
    assert m.main([str(a), str(b), "--layers"]) == 1
    assert "layer grades: attributes differ in ['grade']" in capsys.readouterr().out

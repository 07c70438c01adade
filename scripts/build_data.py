#!/usr/bin/env python3
"""Rebuild the repository's ``data/`` folder (the Xicheng sample) from ``../shared/data``.

Reproducible: the inputs are checked against the SHA-256 sums below (the
build stops if a source file changed), features are kept in their source
order with their coordinates rounded to 1e-7 degrees (1 cm), and the same
inputs always give byte-identical outputs, listed with their own sums in
``data/checksums.sha256`` (``cd data && sha256sum -c checksums.sha256``).

What it does, per file (origins and licences: ``data/SOURCES.md``):

* the March 2024 OpenStreetMap street extract is copied unchanged;
* parks, land use, natural areas (OpenStreetMap, May 2024) and POIs (November
  2020): the features touching Xicheng or lying within ``--margin`` metres of
  it (the audit's reach: parks and facilities beyond the border serve
  residents inside it), with their ``osm_id``, ``name`` and ``type`` fields;
* the 15 jiedao with their WorldPop population: ``name``, ``district``,
  ``population_worldpop``.

The AMap greenways and the AMap/ECharts outlines of ../shared/data are not
open data and are never copied.

Usage::

    python scripts/build_data.py                    # ../shared/data -> data/
    python scripts/build_data.py --shared PATH --out DIR --check   # compare with data/ instead of writing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import shapely
import shapely.geometry
import shapely.validation

REPO = Path(__file__).resolve().parents[1]

#: SHA-256 of the source files in ../shared/data (see its SOURCES.md): the build stops if one changed.
INPUT_SHA256 = {
    "osm/xicheng_streets_2024-03.osm.pbf": "c79aff9fe769028c61e35eda7711cb9761dadbffe54ab6e881f938df27030a1b",
    "xicheng_district/xicheng_jiedao_worldpop.geojson": "2d203a6b2ab0451d4373c8fff9e7d2bc38f345ee0b5ba109340dc65b6838673c",
    "xicheng_district/xicheng_parks_osm_2024-05.geojson": "2e08cc148d864ea0259e933bbcacbf7f423d6b2edc4e6bdb81330ac37b69a14c",
    "xicheng_district/xicheng_landuse_osm_2024-05.geojson": "a6421123241d3728792a4c4cf626c58a88753ee389fbbe4195a9bdd3740102a5",
    "xicheng_district/xicheng_natural_osm_2024-05.geojson": "911243f0430f9b2fed8fcf3f51d627ba37878398a6acd3a58e96de86b4f12f4d",
    "xicheng_district/xicheng_pois_osm_2020-11.geojson": "488a1918c2f3dc8233ab3e1791376a0c786880fbd425bd924e55715c2688c05d",
}

#: output file -> (source, fields kept, clipped to the district + margin)
LAYERS = {
    "xicheng_jiedao_worldpop.geojson": ("xicheng_district/xicheng_jiedao_worldpop.geojson",
                                        ["name", "district", "population_worldpop"], False),
    "xicheng_parks_osm_2024-05.geojson": ("xicheng_district/xicheng_parks_osm_2024-05.geojson",
                                          ["osm_id", "name", "type"], True),
    "xicheng_landuse_osm_2024-05.geojson": ("xicheng_district/xicheng_landuse_osm_2024-05.geojson",
                                            ["osm_id", "name", "type"], True),
    "xicheng_natural_osm_2024-05.geojson": ("xicheng_district/xicheng_natural_osm_2024-05.geojson",
                                            ["osm_id", "name", "type"], True),
    "xicheng_pois_osm_2020-11.geojson": ("xicheng_district/xicheng_pois_osm_2020-11.geojson",
                                         ["osm_id", "name", "type"], True),
}
COPIED = {"xicheng_streets_2024-03.osm.pbf": "osm/xicheng_streets_2024-03.osm.pbf"}

#: Features left out, with the reason (output file, osm_id): the only ones whose geometry is broken.
DROPPED = {
    ("xicheng_landuse_osm_2024-05.geojson", 366762619):
        "新城国际 (residential): a multipolygon broken by the shapefile conversion, one self-intersecting ring "
        "of 24 vertices over 4.3 km² from Jianguomen (Dongcheng, where the compound is) across 中南海 and the "
        "grass of Xicheng; repairing it makes up residential land there, so it is left out",
}
#: Files of data/ written by hand, not by this script (left as they are): SOURCES.md, xicheng.yaml.


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _round(coords, nd: int = 7):  # noqa: ANN001, ANN202
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), nd) for c in coords]
    return [_round(c, nd) for c in coords]


def _clip_zone(jiedao_path: Path, margin_m: float):  # noqa: ANN202
    jd = gpd.read_file(jiedao_path)
    area = shapely.union_all(shapely.make_valid(jd.geometry.values))
    utm = gpd.GeoSeries([area], crs="EPSG:4326").to_crs("EPSG:32650")
    zone = utm.buffer(margin_m).to_crs("EPSG:4326").iloc[0]
    shapely.prepare(zone)
    return zone


def write_layer(src: Path, dst: Path, fields: list[str], zone) -> tuple[int, int]:  # noqa: ANN001
    """Write the features of ``src`` that touch ``zone`` (all when None) with ``fields``; returns (read, written)."""
    data = json.loads(src.read_text(encoding="utf-8"))
    feats = data["features"]
    out = []
    for f in feats:
        g = f.get("geometry")
        if g is None:
            continue
        if (dst.name, f["properties"].get("osm_id")) in DROPPED:
            print(f"  left out osm_id {f['properties']['osm_id']}: {DROPPED[(dst.name, f['properties']['osm_id'])]}")
            continue
        shape = shapely.geometry.shape(g)
        if not shape.is_valid:
            raise SystemExit(f"error: {src} osm_id {f['properties'].get('osm_id')}: invalid geometry "
                             f"({shapely.validation.explain_validity(shape)}); decide how to treat it (DROPPED).")
        if zone is not None and not zone.intersects(shape):
            continue
        props = {k: f["properties"].get(k) for k in fields}
        out.append({"type": "Feature", "properties": props,
                    "geometry": {"type": g["type"], "coordinates": _round(g["coordinates"])}})
    lines = ['{"type": "FeatureCollection", "name": ' + json.dumps(dst.stem, ensure_ascii=False) + ', "features": [']
    body = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in out]
    lines += [b + ("," if i < len(body) - 1 else "") for i, b in enumerate(body)]
    lines.append("]}")
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(feats), len(out)


def build(shared: Path, out: Path, margin_m: float) -> dict:
    """Write every generated file of ``data/`` into ``out``; returns file -> sha256."""
    for rel, want in INPUT_SHA256.items():
        p = shared / rel
        if not p.is_file():
            raise SystemExit(f"error: {p} is missing (see ../shared/data/SOURCES.md).")
        got = sha256(p)
        if got != want:
            raise SystemExit(f"error: {p} changed (sha256 {got}, expected {want}): check its origin before rebuilding.")
    out.mkdir(parents=True, exist_ok=True)
    zone = _clip_zone(shared / LAYERS["xicheng_jiedao_worldpop.geojson"][0], margin_m)
    sums = {}
    for name, rel in COPIED.items():
        shutil.copyfile(shared / rel, out / name)
        sums[name] = sha256(out / name)
        print(f"{name}: copied ({(out / name).stat().st_size / 1e3:,.0f} kB)")
    for name, (rel, fields, clip) in LAYERS.items():
        n_in, n_out = write_layer(shared / rel, out / name, fields, zone if clip else None)
        sums[name] = sha256(out / name)
        print(f"{name}: {n_out:,} of {n_in:,} features ({(out / name).stat().st_size / 1e3:,.0f} kB)")
    (out / "checksums.sha256").write_text("".join(f"{h}  {n}\n" for n, h in sorted(sums.items())), encoding="utf-8")
    return sums


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data", help="the real data folder")
    p.add_argument("--out", type=Path, default=REPO / "data", help="the folder to write (default: data/)")
    p.add_argument("--margin", type=float, default=1500.0, help="metres kept beyond the district (default 1500)")
    p.add_argument("--check", action="store_true", help="build into a temporary folder and compare with --out")
    a = p.parse_args(argv)
    if not a.check:
        build(a.shared, a.out, a.margin)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        sums = build(a.shared, Path(tmp), a.margin)
    differ = [n for n, h in sums.items() if not (a.out / n).is_file() or sha256(a.out / n) != h]
    if differ:
        print(f"differ from {a.out}: {', '.join(differ)}", file=sys.stderr)
        return 1
    print(f"{a.out}: every generated file is identical to a fresh build")
    return 0


if __name__ == "__main__":
    sys.exit(main())

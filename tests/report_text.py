"""What a reader sees of a report page, and the English words left in a Chinese one.

Used by the report tests::

    from report_text import visible_text, english_words
    assert not english_words(folder / "index.html", names=data_names(result))
"""

from __future__ import annotations

import html
import html.parser
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Words allowed in a Chinese report: proper names of data sources, software, standards, file formats and
#: indices known by their letters (E2SFCA, IIC), and unit symbols (m, km, m², pp).
ALLOWED = {
    # data, software and formats
    "openstreetmap", "osm", "odbl", "worldpop", "geoplan", "python", "pyrosm", "qgis", "geopackage", "excel",
    "geotiff", "xlsx", "csv", "png", "pdf", "json", "html", "geopandas", "shapely", "pyproj", "scipy", "networkx",
    "folium", "matplotlib",
    # standards, coordinate systems and index names
    "gb", "gb/t", "td/t", "epsg", "wgs", "utm", "cgcs", "e2sfca", "iic", "pc", "dpc", "diic", "ec", "p_ij",
    # unit symbols
    "m", "km", "pp", "min", "ha",
}

_SKIP = {"script", "style", "title"}


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIP:
            self._skip += 1
        a = dict(attrs)
        if a.get("alt"):
            self.parts.append(" " + a["alt"] + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str | Path) -> str:
    """The text a reader sees (and the alt texts of the images) of an HTML file or string."""
    src = Path(page).read_text(encoding="utf-8") if isinstance(page, Path) else page
    p = _Text()
    p.feed(src)
    return html.unescape(" ".join(p.parts))


def english_words(page: str | Path, names: Iterable[str] = ()) -> list[str]:
    """Latin-letter words of a page that are neither names from the data, file names, options nor allowed symbols.

    Parameters
    ----------
    page : path or str
        The HTML page (or its source).
    names : iterable of str
        Proper names from the data (units, parks, facilities, the area's name): removed before looking.
    """
    t = visible_text(page)
    for n in sorted({str(n) for n in names if n and str(n) != "nan"}, key=len, reverse=True):
        if re.search(r"[A-Za-z]", n):  # a whole name, not the letters of another word
            t = re.sub(r"(?<![A-Za-z])" + re.escape(n) + r"(?![A-Za-z])", " ", t)
    t = re.sub(r"\S+\.(csv|xlsx|png|pdf|html|gpkg|json|log|tif|pbf|geojson|yaml)\b", " ", t)  # file names
    t = re.sub(r"(?<!\w)--[a-z][a-z0-9-]*", " ", t)  # command-line options
    t = re.sub(r"\b(GB|GB/T|TD/T)\s*[0-9.\-]+", " ", t)  # standards by number
    words = re.findall(r"[A-Za-z][A-Za-z_/²]*", t)
    grades = re.compile(r"[A-D]\Z")  # the data grades A-D of presets/quality.yaml
    return sorted({w for w in words if w.lower().rstrip("²") not in ALLOWED and not grades.match(w)})

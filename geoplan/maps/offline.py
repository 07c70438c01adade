"""Save Folium maps as single HTML files that open with no internet.

Folium links its JavaScript and CSS from CDNs. :func:`save_map` replaces those
links by the files themselves, read from pip-installed packages:

* Leaflet 1.9.3 (``leaflet.js``, ``leaflet.css`` and the layer-control images)
  from ``xstatic-leaflet``, the same Leaflet version Folium 0.20 links;
* jQuery 3.7.1 from ``xstatic-jquery`` (Folium's popups use it);
* Leaflet.groupedlayercontrol 0.6.1 (the grouped layer control of
  ``folium.plugins.GroupedLayerControl``), which no pip package ships: kept in
  ``geoplan/maps/assets`` (MIT licence, see the README there).

Bootstrap, Font Awesome and Leaflet.awesome-markers only style Folium's
``folium.Icon`` markers and popups; maps from :func:`interactive_map` do not
use them, and :func:`save_map` drops them. A map that really needs them (one
with ``folium.Icon`` markers) cannot be saved offline and raises DataError.
"""

from __future__ import annotations

import base64
import importlib
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoplan.errors import DataError, GeoplanWarning


#: ``Asset.module`` of the files kept in ``geoplan/maps/assets`` (no pip package ships them).
VENDORED = "geoplan.maps.assets"


@dataclass(frozen=True)
class Asset:
    """A JavaScript or CSS file Folium links, and the pip package that ships it."""

    key: str
    url_pattern: str
    module: str
    filename: str
    pip_name: str
    kind: str  # "js" or "css"


ASSETS: tuple[Asset, ...] = (
    Asset("leaflet", r"/leaflet(@[\d.]+)?/dist/leaflet\.js$|/leaflet(\.min)?\.js$",
          "xstatic.pkg.leaflet", "leaflet.js", "xstatic-leaflet", "js"),
    Asset("leaflet_css", r"/leaflet(@[\d.]+)?/dist/leaflet\.css$|/leaflet\.css$",
          "xstatic.pkg.leaflet", "leaflet.css", "xstatic-leaflet", "css"),
    Asset("jquery", r"/jquery-[\d.]+(\.min)?\.js$|/jquery(\.min)?\.js$",
          "xstatic.pkg.jquery", "jquery.min.js", "xstatic-jquery", "js"),
    Asset("groupedlayercontrol", r"/leaflet-groupedlayercontrol/0\.6\.1/leaflet\.groupedlayercontrol\.min\.js$",
          VENDORED, "leaflet.groupedlayercontrol.min.js", "geoplan", "js"),
    Asset("groupedlayercontrol_css", r"/leaflet-groupedlayercontrol/0\.6\.1/leaflet\.groupedlayercontrol\.min\.css$",
          VENDORED, "leaflet.groupedlayercontrol.min.css", "geoplan", "css"),
)

#: Assets that only style folium.Icon markers / Bootstrap widgets: dropped offline.
DROPPABLE = re.compile(
    r"bootstrap(\.bundle)?(\.min)?\.(js|css)$|bootstrap-glyphicons\.css$|"
    r"leaflet\.awesome-markers\.(js|css)$|fontawesome-free@[\d.]+/css/all(\.min)?\.css$|"
    r"leaflet\.awesome\.rotate(\.min)?\.css$"
)
_SCRIPT_TAG = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK_TAG = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>', re.IGNORECASE)
_EXTERNAL_TAG = re.compile(
    r'<script[^>]*\ssrc\s*=\s*["\']?(?:https?:)?//[^>]*>|<link[^>]*\shref\s*=\s*["\']?(?:https?:)?//[^>]*>',
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"url\((['\"]?)(images/[\w.-]+\.png)\1\)")
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=\S+\s*$", re.MULTILINE)


def save_map(m: Any, path: str | os.PathLike[str], *, offline: bool = True) -> Path:
    """Write a Folium map to an HTML file, atomically, with its assets embedded.

    Parameters
    ----------
    m : folium.Map
        The map, typically from :func:`geoplan.maps.interactive_map`.
    path : str or path-like
        Output ``.html`` file; parent folders are created.
    offline : bool
        When True (default) every script and stylesheet is inlined, so the
        file opens with no internet (raster tiles, if the map uses them, still
        need it). When False the CDN links are kept.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    DataError
        A needed asset package is not installed (the message names the pip
        package), or the map uses a feature whose assets cannot be embedded.
    """
    page = m.get_root().render()
    if offline:
        page = inline_assets(page)
    out = Path(path)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out


def inline_assets(page: str) -> str:
    """Replace the CDN ``<script>``/``<link>`` tags of a rendered Folium page by inline code.

    Parameters
    ----------
    page : str
        HTML rendered by ``folium.Map.get_root().render()``.

    Returns
    -------
    str
        The page with every external script and stylesheet embedded or dropped.
    """
    dropped: list[str] = []

    def script(match: re.Match[str]) -> str:
        return _replace(match.group(1), "js", dropped) or match.group(0)

    def link(match: re.Match[str]) -> str:
        return _replace(match.group(1), "css", dropped) or match.group(0)

    page = _SCRIPT_TAG.sub(script, page)
    page = _LINK_TAG.sub(link, page)
    if dropped and "AwesomeMarkers" in page:
        raise DataError(
            "The map uses folium.Icon markers, whose icon fonts cannot be embedded offline.",
            hint="Draw points as circle markers (MapLayer kind='point') or save with offline=False.",
        )
    left = _EXTERNAL_TAG.findall(page)
    if left:
        raise DataError(
            f"Cannot embed {len(left)} external asset(s) for offline use, e.g. {left[0]}",
            hint="This map uses a Folium feature or plugin geoplan cannot embed; remove it or save with offline=False.",
        )
    return page


def _replace(url: str, kind: str, dropped: list[str]) -> str | None:
    if not re.match(r"(https?:)?//", url):
        return None
    clean = url.split("?")[0].split("#")[0]
    for asset in ASSETS:
        if asset.kind == kind and re.search(asset.url_pattern, clean):
            _check_version(asset, clean)
            text = asset_text(asset)
            if kind == "js":
                return "<script>\n" + text.replace("</script", "<\\/script") + "\n</script>"
            return "<style>\n" + text.replace("</style", "<\\/style") + "\n</style>"
    if DROPPABLE.search(clean):
        dropped.append(url)
        return ""
    return None


def asset_text(asset: Asset) -> str:
    """Return the text of an asset from its installed package, ready to inline.

    Parameters
    ----------
    asset : Asset
        One of :data:`ASSETS`.

    Raises
    ------
    DataError
        The package is not installed, or lacks the file.
    """
    folder = _asset_dir(asset)
    file = folder / asset.filename
    if not file.is_file():
        raise DataError(
            f"{asset.pip_name} is installed but has no {asset.filename}.",
            hint=f"Reinstall it: pip install --force-reinstall {asset.pip_name}",
        )
    text = _SOURCE_MAP.sub("", file.read_text(encoding="utf-8"))
    if asset.kind == "css":
        text = _CSS_URL.sub(lambda mt: f"url({_data_uri(folder / mt.group(2))})", text)
    return text


def _asset_dir(asset: Asset) -> Path:
    if asset.module == VENDORED:
        return Path(__file__).with_name("assets")
    try:
        module = importlib.import_module(asset.module)
    except ImportError as exc:
        raise DataError(
            f"Cannot embed {asset.key} in an offline map: the package {asset.pip_name} is not installed.",
            hint=f"Install it with: pip install {asset.pip_name}",
        ) from exc
    return Path(module.BASE_DIR)


def _check_version(asset: Asset, url: str) -> None:
    if asset.module == VENDORED:
        return  # the URL pattern names the one version kept
    found = re.search(r"[@-](\d+\.\d+\.\d+)", url)
    if not found:
        return
    try:
        version = getattr(importlib.import_module(asset.module), "VERSION", None)
    except ImportError:
        return  # asset_text() reports the missing package
    if version and version != found.group(1):
        warnings.warn(
            f"Folium links {asset.key} {found.group(1)} but {asset.pip_name} ships {version}; embedding {version}.",
            GeoplanWarning,
            stacklevel=4,
        )


def missing_asset_packages() -> list[str]:
    """Return the pip names of asset packages that are not installed (empty when all are)."""
    missing = []
    for asset in ASSETS:
        if asset.module == VENDORED:
            continue
        try:
            importlib.import_module(asset.module)
        except ImportError:
            missing.append(asset.pip_name)
    return sorted(set(missing))


def _data_uri(file: Path) -> str:
    if not file.is_file():
        return "none"
    return "data:image/png;base64," + base64.b64encode(file.read_bytes()).decode("ascii")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    Readers never see a half-written file; on error the target is untouched.

    Parameters
    ----------
    path : str or path-like
        Target file; parent folders are created.
    data : bytes
        Content to write.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return out

"""Print-ready static maps (PNG or PDF, A4 / A3) from :class:`~geoplan.maps.layers.MapLayer` lists.

The figure is sized exactly for the paper, drawn in a projected metric CRS (the
UTM zone of the data) so the scale bar is true, and carries a title, legend,
scale bar, north arrow, CRS note and data attribution. Text uses a CJK font
(Noto Sans CJK from Debian's ``fonts-noto-cjk``) so Chinese labels print.
Matplotlib's Agg/PDF canvases are used directly: no pyplot, no GUI backend.
"""

from __future__ import annotations

import io
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Polygon, Rectangle
from matplotlib.path import Path as MplPath

from geoplan.errors import DataError, GeoplanWarning, UsageError
from geoplan.i18n import text as _text
from geoplan.maps.layers import MapLayer, as_basemap_layers, check_layers
from geoplan.maps.offline import atomic_write_bytes

Paper = Literal["A4", "A3"]
Orientation = Literal["landscape", "portrait"]
DEFAULT_ATTRIBUTION = "© OpenStreetMap contributors"
#: Paper sizes in millimetres, landscape (width, height).
PAPER_MM: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}
#: Font families tried in order for Chinese text; then any family with "CJK" in its name.
CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Heiti SC", "Noto Sans CJK JP", "Noto Sans CJK TC",
)
PX_TO_PT = 0.75  # CSS pixel -> typographic point
#: Languages of the map furniture (legend title, scale bar units, CRS note: ``maps.*`` in geoplan/i18n/labels.yaml).
LANGS = ("zh", "en")


def find_cjk_font() -> str | None:
    """Return the name of an installed font family that can draw Chinese, or None.

    Looks through matplotlib's font list for :data:`CJK_FONTS`, then for any
    family whose name contains "CJK".
    """
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    others = sorted(n for n in names if "CJK" in n and "Mono" not in n)
    return others[0] if others else None


def static_map(
    layers: Sequence[MapLayer] | MapLayer,
    path: str | os.PathLike[str],
    *,
    title: str,
    paper: Paper = "A4",
    orientation: Orientation = "landscape",
    dpi: int = 300,
    lang: Literal["zh", "en"] = "zh",
    basemap_layers: Mapping[str, gpd.GeoDataFrame | None] | Sequence[MapLayer] | None = None,
    subtitle: str | None = None,
    attribution: str = DEFAULT_ATTRIBUTION,
    crs: Any = None,
) -> Path:
    """Draw the layers on a paper-sized page and write it as PNG or PDF.

    Parameters
    ----------
    layers : sequence of MapLayer or MapLayer
        Layers to draw, bottom first.
    path : str or path-like
        Output file; ``.png`` or ``.pdf`` (chooses the format). Written
        atomically; parent folders are created.
    title : str
        Map title (any language).
    paper : {"A4", "A3"}
        Paper size. A4 landscape at 300 dpi is 3508 x 2480 pixels.
    orientation : {"landscape", "portrait"}
        Page orientation.
    dpi : int
        Resolution of the PNG (and of rasterised parts of the PDF).
    lang : {"zh", "en"}
        Language of the fixed words (legend heading, scale units, CRS note).
    basemap_layers : mapping or sequence of MapLayer, optional
        OpenStreetMap vector data drawn under the layers, e.g.
        ``{"streets": ..., "water": ..., "buildings": ...}``.
    subtitle : str, optional
        Second title line (scope, date, definition used ...).
    attribution : str
        Data attribution printed under the map.
    crs : pyproj.CRS or str, optional
        Projected CRS to draw in, named on the map. Default: the CRS of the
        first layer when it is projected (the audit's working CRS, e.g.
        ``--crs EPSG:4547``), else the UTM zone of the data.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    UsageError
        Unknown paper, orientation, language or file extension, or bad dpi.
    DataError
        No layer has any feature to draw.
    """
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise UsageError(f"Cannot write a static map as {out.suffix or 'a file without extension'}.",
                         hint="Use a .png or .pdf file name.")
    with mpl.rc_context(_rc_params()):
        fig = _build_figure(
            layers, title=title, paper=paper, orientation=orientation, dpi=dpi, lang=lang,
            basemap_layers=basemap_layers, subtitle=subtitle, attribution=attribution, exact_pixels=fmt == "png",
            crs=crs,
        )
        buf = io.BytesIO()
        meta = {"Title": title, "Creator": "geoplan"} if fmt == "pdf" else {"Title": title, "Software": "geoplan"}
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return atomic_write_bytes(out, buf.getvalue())


def static_figure(
    layers: Sequence[MapLayer] | MapLayer,
    *,
    title: str,
    paper: Paper = "A4",
    orientation: Orientation = "landscape",
    dpi: int = 300,
    lang: Literal["zh", "en"] = "zh",
    basemap_layers: Mapping[str, gpd.GeoDataFrame | None] | Sequence[MapLayer] | None = None,
    subtitle: str | None = None,
    attribution: str = DEFAULT_ATTRIBUTION,
    exact_pixels: bool = True,
    crs: Any = None,
) -> Figure:
    """Build the print map as a matplotlib Figure (see :func:`static_map` for parameters).

    Parameters
    ----------
    exact_pixels : bool
        Size the figure to a whole number of pixels at ``dpi`` (for PNG);
        otherwise to the exact paper size in millimetres (for PDF).

    Returns
    -------
    matplotlib.figure.Figure
        A figure on an Agg canvas, ready for ``savefig``.
    """
    with mpl.rc_context(_rc_params()):
        return _build_figure(
            layers, title=title, paper=paper, orientation=orientation, dpi=dpi, lang=lang,
            basemap_layers=basemap_layers, subtitle=subtitle, attribution=attribution, exact_pixels=exact_pixels,
            crs=crs,
        )


def _build_figure(
    layers: Sequence[MapLayer] | MapLayer,
    *,
    title: str,
    paper: str,
    orientation: str,
    dpi: int,
    lang: str,
    basemap_layers: Mapping[str, gpd.GeoDataFrame | None] | Sequence[MapLayer] | None,
    subtitle: str | None,
    attribution: str,
    exact_pixels: bool,
    crs: Any = None,
) -> Figure:
    """Draw the page; fonts come from the caller's rc context."""
    _check_options(paper, orientation, dpi, lang)
    layers = check_layers(layers)
    base = as_basemap_layers(basemap_layers)
    words = {k: _text(f"maps.{k}", lang) for k in ("legend", "m", "km", "crs")}
    fig = Figure(figsize=paper_inches(paper, orientation, dpi, exact_pixels), dpi=dpi)
    FigureCanvasAgg(fig)
    # Font scale: 1 on A4, about 1.41 on A3.
    scale = math.sqrt(fig.get_figwidth() * fig.get_figheight() / (297 * 210 / 25.4**2))
    drawn = [lyr for lyr in layers if not _nonempty(lyr.gdf).empty] or [
        lyr for lyr in base if not _nonempty(lyr.gdf).empty
    ]
    if not drawn:
        raise DataError("Nothing to map: every layer is empty.", hint="Check the analysis produced features.")
    crs = _drawing_crs(drawn, crs)
    map_ax, legend_ax = _axes(fig, orientation)
    extent = _extent(drawn, crs, map_ax)
    for i, layer in enumerate(base):
        _draw_layer(map_ax, layer, i, crs, extent, zorder=1 + i * 0.01)
    for i, layer in enumerate(layers):
        _draw_layer(map_ax, layer, i, crs, extent, zorder=2 + i * 0.01)
    _draw_labels(map_ax, layers, crs, extent, scale)
    _set_extent(map_ax, extent)
    _legend(legend_ax, layers, words["legend"], scale, orientation)
    _scale_bar(map_ax, extent, words, scale)
    _north_arrow(map_ax, scale)
    _page_text(fig, map_ax, title, subtitle, attribution, f"{words['crs']}: {crs_name(crs)}", scale)
    return fig


def paper_inches(paper: str, orientation: str, dpi: int, exact_pixels: bool = True) -> tuple[float, float]:
    """Return the figure size in inches for a paper, optionally rounded to whole pixels.

    Parameters
    ----------
    paper : {"A4", "A3"}
    orientation : {"landscape", "portrait"}
    dpi : int
    exact_pixels : bool
        Round each side to the nearest pixel at ``dpi`` (A4 landscape at 300
        dpi becomes 3508 x 2480 pixels).
    """
    w_mm, h_mm = PAPER_MM[paper]
    if orientation == "portrait":
        w_mm, h_mm = h_mm, w_mm
    w_in, h_in = w_mm / 25.4, h_mm / 25.4
    if exact_pixels:
        return round(w_in * dpi) / dpi, round(h_in * dpi) / dpi
    return w_in, h_in


def _check_options(paper: str, orientation: str, dpi: int, lang: str) -> None:
    if paper not in PAPER_MM:
        raise UsageError(f"Unknown paper {paper!r}.", hint=f"Use one of {', '.join(PAPER_MM)}.")
    if orientation not in ("landscape", "portrait"):
        raise UsageError(f"Unknown orientation {orientation!r}.", hint='Use "landscape" or "portrait".')
    if lang not in LANGS:
        raise UsageError(f"Unknown language {lang!r}.", hint='Use "zh" or "en".')
    if not isinstance(dpi, int) or not 50 <= dpi <= 1200:
        raise UsageError(f"dpi must be a whole number between 50 and 1200, not {dpi!r}.")


def _rc_params() -> dict[str, Any]:
    font = find_cjk_font()
    if font is None:
        warnings.warn(
            "No CJK font found: Chinese labels will print as empty boxes. "
            "Install Noto Sans CJK (Debian/Ubuntu: apt-get install fonts-noto-cjk).",
            GeoplanWarning,
            stacklevel=3,
        )
    families = ([font] if font else []) + ["DejaVu Sans"]
    return {
        "font.family": families,
        "axes.unicode_minus": False,
        "pdf.fonttype": 3,  # glyph outlines (subsetting a CJK TrueType for type 42 costs ~5 s a font and PDF)
        "svg.fonttype": "none",
        "path.simplify": True,
    }


# ------------------------------------------------------------------ layout
def _axes(fig: Figure, orientation: str) -> tuple[Any, Any]:
    if orientation == "landscape":
        map_ax = fig.add_axes((0.03, 0.06, 0.74, 0.81))
        legend_ax = fig.add_axes((0.79, 0.06, 0.19, 0.81))
    else:
        map_ax = fig.add_axes((0.05, 0.26, 0.90, 0.63))
        legend_ax = fig.add_axes((0.05, 0.03, 0.90, 0.19))
    legend_ax.set_axis_off()
    map_ax.set_xticks([])
    map_ax.set_yticks([])
    for spine in map_ax.spines.values():
        spine.set_linewidth(0.6)
        spine.set_color("#555555")
    return map_ax, legend_ax


def crs_name(crs: Any) -> str:
    """The CRS as printed on the map: its name and, when it has one, its EPSG code."""
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    code = crs.to_epsg(min_confidence=90)
    return f"{crs.name} (EPSG:{code})" if code else crs.name


def _drawing_crs(layers: Sequence[MapLayer], given: Any) -> Any:
    """The CRS the map is drawn in: ``given``, else the first layer's when projected, else the UTM zone."""
    from pyproj import CRS

    if given is not None:
        crs = CRS.from_user_input(given)
        if not crs.is_projected:
            raise UsageError(f"Cannot draw a print map in {crs.name}: it is not a projected CRS.",
                             hint="Give a projected CRS in metres, e.g. EPSG:4547 or a UTM zone.")
        return crs
    own = layers[0].gdf.crs
    if own is not None and own.is_projected:
        return own
    return _metric_crs(layers)


def _metric_crs(layers: Sequence[MapLayer]) -> Any:
    boxes = [_nonempty(lyr.gdf).to_crs(4326).total_bounds for lyr in layers]
    arr = np.array(boxes)
    box = shapely.box(arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    return gpd.GeoSeries([box], crs=4326).estimate_utm_crs()


def _extent(layers: Sequence[MapLayer], crs: Any, ax: Any) -> tuple[float, float, float, float]:
    """Data extent with a margin, widened to the axes' aspect so the map fills its frame."""
    boxes = np.array([_nonempty(lyr.gdf).to_crs(crs).total_bounds for lyr in layers])
    minx, miny = boxes[:, 0].min(), boxes[:, 1].min()
    maxx, maxy = boxes[:, 2].max(), boxes[:, 3].max()
    w, h = max(maxx - minx, 50.0), max(maxy - miny, 50.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    w, h = w * 1.08, h * 1.08
    bbox = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    box_ratio = (bbox.width * fig_w) / (bbox.height * fig_h)
    if w / h < box_ratio:
        w = h * box_ratio
    else:
        h = w / box_ratio
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _set_extent(ax: Any, extent: tuple[float, float, float, float]) -> None:
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("")  # GeoPandas labels projected axes "Easting [metre]"; a map frame needs none
    ax.set_ylabel("")


# ----------------------------------------------------------------- drawing
def _nonempty(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]


def _draw_layer(ax: Any, layer: MapLayer, index: int, crs: Any, extent: tuple[float, ...], zorder: float) -> None:
    gdf = layer.gdf.copy()
    gdf["__colour"] = layer.feature_colors(index)
    gdf = _nonempty(gdf).to_crs(crs)
    minx, miny, maxx, maxy = extent
    gdf = gdf.cx[minx:maxx, miny:maxy]
    if gdf.empty:
        return
    stroke = to_rgba(layer.stroke_color(index), layer.opacity)
    lw = layer.weight * PX_TO_PT
    style = _linestyle(layer.dash)
    if layer.kind == "line" and layer.column is None:
        # one colour: every part in one compound path (a PDF writes one path instead of thousands)
        ax.add_patch(PathPatch(_compound_line_path(gdf.geometry.values), facecolor="none",
                               edgecolor=to_rgba(gdf["__colour"].iloc[0], layer.opacity), linewidth=lw,
                               linestyle=style, zorder=zorder, capstyle="round", joinstyle="round"))
    elif layer.kind == "line":
        colours = [to_rgba(c, layer.opacity) for c in gdf["__colour"]]
        gdf.plot(ax=ax, color=colours, linewidth=lw, linestyle=style, zorder=zorder)
    elif layer.kind == "point" and layer.radius_m is None:
        face = [to_rgba(c, layer.fill_opacity) for c in gdf["__colour"]]
        edge = stroke if layer.color else [to_rgba(c, layer.opacity) for c in gdf["__colour"]]
        size = (2 * layer.radius_px * PX_TO_PT) ** 2
        gdf.plot(ax=ax, color=face, edgecolor=edge, linewidth=lw, markersize=size, zorder=zorder)
    else:
        if layer.kind == "point":
            gdf = gdf.set_geometry(gdf.geometry.buffer(float(layer.radius_m)))
        face = [to_rgba(c, layer.fill_opacity) for c in gdf["__colour"]]
        own = [to_rgba(c, layer.opacity) for c in gdf["__colour"]]
        edge = stroke if layer.kind == "polygon" or layer.color else own
        if layer.hatch:  # hatch lines take the edge colour; thin ones so the land below shows through
            with mpl.rc_context({"hatch.linewidth": 0.6 * PX_TO_PT}):
                gdf.plot(ax=ax, facecolor=face, edgecolor=edge, linewidth=lw, hatch=layer.hatch, zorder=zorder)
            return
        gdf.plot(ax=ax, facecolor=face, edgecolor=edge if lw > 0 else "none", linewidth=lw,
                 linestyle=style, zorder=zorder)


def _draw_labels(ax: Any, layers: Sequence[MapLayer], crs: Any, extent: tuple[float, ...], scale: float) -> None:
    """Write each labelled layer's ``label_field`` (unit names) with a white halo, above every layer."""
    from matplotlib import patheffects

    minx, miny, maxx, maxy = extent
    halo = [patheffects.withStroke(linewidth=2.6, foreground="white")]
    _set_extent(ax, extent)  # the data-to-page transform the collision test below needs
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Any] = []
    for layer in layers:
        pts = layer.label_points()
        if pts.empty:
            continue
        pts = pts.to_crs(crs).sort_values("size", ascending=False, kind="stable")
        for point, label in zip(pts.geometry, pts["label"], strict=True):
            if not (minx <= point.x <= maxx and miny <= point.y <= maxy):
                continue
            t = ax.text(point.x, point.y, label, ha="center", va="center", fontsize=7.5 * scale, fontweight="bold",
                        color="#1a1a1a", zorder=30, path_effects=halo, linespacing=1.1, clip_on=True)
            _place_apart(t, placed, renderer)


def _place_apart(t: Any, placed: list[Any], renderer: Any) -> None:
    """Nudge a label off its point, nearest shift first, until it overlaps no label placed before it."""
    from matplotlib.transforms import offset_copy

    box = t.get_window_extent(renderer)
    w, h = box.width, box.height
    base = t.get_transform()
    shifts = sorted(((fx * w, fy * h) for fx in (0, 0.6, -0.6, 0.9, -0.9) for fy in (0, -0.6, 0.6, -1.1, 1.1)),
                    key=lambda d: math.hypot(*d))
    for dx, dy in shifts:
        t.set_transform(offset_copy(base, fig=t.figure, x=dx * 72 / t.figure.dpi, y=dy * 72 / t.figure.dpi,
                                    units="points"))
        box = t.get_window_extent(renderer).padded(1.5)
        if not any(box.overlaps(other) for other in placed):
            placed.append(box)
            return
    t.set_transform(base)  # nowhere free: keep it on its feature (a smaller feature yields, it came later)
    placed.append(t.get_window_extent(renderer))


def _compound_line_path(geoms: Any) -> MplPath:
    """All line parts of ``geoms`` as one matplotlib path (a MOVETO at the start of each part)."""
    parts = shapely.get_parts(shapely.get_parts(geoms))
    parts = parts[shapely.get_type_id(parts) == 1]
    verts, codes = [], []
    for part in parts:
        xy = shapely.get_coordinates(part)
        if len(xy) < 2:
            continue
        verts.append(xy)
        c = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
        c[0] = MplPath.MOVETO
        codes.append(c)
    if not verts:
        return MplPath(np.zeros((0, 2)))
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _linestyle(dash: str | None) -> Any:
    if not dash:
        return "solid"
    try:
        parts = tuple(float(x) for x in dash.replace(",", " ").split())
    except ValueError:
        return "dashed"
    return (0, parts) if parts and len(parts) % 2 == 0 else "dashed"


# ------------------------------------------------------------ map furniture
def _legend(ax: Any, layers: Sequence[MapLayer], heading: str, scale: float, orientation: str) -> None:
    """Legend in its own panel: labels wrapped to the panel, font shrunk until it fits."""
    rows: list[tuple[Any, str, bool]] = []  # (handle, label, is_header)
    for i, layer in enumerate(layers):
        entries = layer.legend_entries(i)
        if not entries:
            continue
        own_row = len(entries) == 1 and entries[0].label == layer.name
        if (len(layers) > 1 or len(entries) > 1) and not own_row:
            rows.append((Patch(facecolor="none", edgecolor="none"), layer.name, True))
        stroke = layer.stroke_color(i)
        rows.extend((_legend_handle(layer, stroke, label, colour), label, False) for label, colour in entries)
    if not rows:
        return
    ncol = 1 if orientation == "landscape" else min(3, max(1, math.ceil(len(rows) / 6)))
    fontsize = 8.5 * scale
    for _ in range(6):
        legend = _draw_legend(ax, rows, heading, fontsize, ncol)
        if _fits(legend, ax) or fontsize < 5.5 * scale:
            return
        legend.remove()
        fontsize *= 0.88
    _draw_legend(ax, rows, heading, fontsize, ncol)


def _draw_legend(ax: Any, rows: list[tuple[Any, str, bool]], heading: str, fontsize: float, ncol: int) -> Any:
    box = ax.get_position()
    panel_pt = box.width * ax.figure.get_figwidth() * 72 / ncol
    text_em = panel_pt / fontsize - (1.6 + 0.8 + (2.0 if ncol > 1 else 0.0))
    handles = []
    for handle, label, _ in rows:
        handle.set_label(wrap_label(label, text_em))
        handles.append(handle)
    legend = ax.legend(
        handles=handles, loc="upper left", frameon=False, title=heading, ncols=ncol,
        fontsize=fontsize, title_fontsize=fontsize * 1.24, alignment="left", borderaxespad=0.0,
        handlelength=1.6, handleheight=0.9,
    )
    legend.get_title().set_fontweight("bold")
    for text, (_, _, header) in zip(legend.get_texts(), rows, strict=True):
        if header:
            text.set_fontweight("bold")
    return legend


def _fits(legend: Any, ax: Any) -> bool:
    renderer = ax.figure.canvas.get_renderer()
    got, room = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    return got.height <= room.height * 1.001 and got.x1 <= ax.figure.bbox.x1 - 2


def _em_width(text: str) -> float:
    """Approximate width of text in em: CJK characters 1 em, others about 0.56 em."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.56 for ch in text)


_WRAP_TOKENS = re.compile(
    r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|\s+"
)


def wrap_label(text: str, max_em: float) -> str:
    """Wrap a label to lines of at most ``max_em`` em (Latin at spaces, CJK between characters).

    Parameters
    ----------
    text : str
        Label, Chinese and/or Latin script.
    max_em : float
        Line width in em of the font size.
    """
    if max_em <= 0 or _em_width(text) <= max_em:
        return text
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, width = "", 0.0
        for token in _WRAP_TOKENS.findall(paragraph):
            w = _em_width(token)
            if line.strip() and width + w > max_em and not token.isspace():
                lines.append(line.rstrip())
                line, width = token, w
            else:
                line, width = line + token, width + w
        lines.append(line.rstrip())
    return "\n".join(lines)


def _legend_handle(layer: MapLayer, stroke: str, label: str, colour: str) -> Any:
    if layer.kind == "line":
        return Line2D([0, 1], [0, 0], color=colour, linewidth=max(layer.weight * PX_TO_PT, 1.0),
                      linestyle=_linestyle(layer.dash), label=label)
    if layer.kind == "point":
        face = to_rgba(colour, max(layer.fill_opacity, 0.35))
        return Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=face,
                      markeredgecolor=stroke if layer.color else colour, label=label)
    edge = stroke if layer.weight > 0 and stroke != "#ffffff" else "#777777"
    if layer.hatch:
        return Patch(facecolor=to_rgba(colour, layer.fill_opacity), edgecolor=edge, linewidth=0.8, hatch=layer.hatch,
                     label=label)
    return Patch(facecolor=to_rgba(colour, max(layer.fill_opacity, 0.35)), edgecolor=edge, linewidth=0.6, label=label)


def nice_length(max_length: float) -> float:
    """Largest 1, 2, 2.5 or 5 x 10^k not above ``max_length`` (metres).

    Parameters
    ----------
    max_length : float
        Upper bound in metres (must be positive).
    """
    if max_length <= 0:
        raise ValueError("max_length must be positive")
    power = 10 ** math.floor(math.log10(max_length))
    for step in (5, 2.5, 2, 1):
        if step * power <= max_length:
            return step * power
    return power


def format_length(metres: float, words: Mapping[str, str]) -> str:
    """Format a scale-bar length as ``"500 m"`` / ``"2 km"`` (units from ``words``)."""
    if metres >= 1000:
        km = metres / 1000
        return f"{km:g} {words['km']}"
    return f"{metres:g} {words['m']}"


def _scale_bar(ax: Any, extent: tuple[float, float, float, float], words: Mapping[str, str], scale: float) -> None:
    minx, miny, maxx, maxy = extent
    width, height = maxx - minx, maxy - miny
    length = nice_length(width / 4)
    x0, y0 = minx + width * 0.03, miny + height * 0.04
    bar_h = height * 0.008
    pad = width * 0.012
    fs = 7.5 * scale
    ax.add_patch(Rectangle((x0 - pad, y0 - pad), length + 2 * pad, bar_h + height * 0.045 + pad,
                           facecolor=(1, 1, 1, 0.85), edgecolor="none", zorder=20))
    for k in range(4):
        ax.add_patch(Rectangle((x0 + k * length / 4, y0), length / 4, bar_h,
                               facecolor="black" if k % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.5, zorder=21))
    label_y = y0 + bar_h + height * 0.008
    ax.text(x0, label_y, "0", ha="center", va="bottom", fontsize=fs, zorder=22)
    ax.text(x0 + length / 2, label_y, f"{length / 2 if length < 2000 else length / 2000:g}",
            ha="center", va="bottom", fontsize=fs, zorder=22)
    ax.text(x0 + length, label_y, format_length(length, words), ha="center", va="bottom", fontsize=fs, zorder=22)


def _north_arrow(ax: Any, scale: float) -> None:
    x, y, h, w = 0.955, 0.86, 0.075, 0.022
    tip, base = (x, y + h), y
    ax.add_patch(Polygon([(x - w, base), tip, (x, base + h * 0.28)], closed=True, transform=ax.transAxes,
                         facecolor="black", edgecolor="black", linewidth=0.6, zorder=21))
    ax.add_patch(Polygon([(x + w, base), tip, (x, base + h * 0.28)], closed=True, transform=ax.transAxes,
                         facecolor="white", edgecolor="black", linewidth=0.6, zorder=21))
    ax.text(x, y + h + 0.012, "N", transform=ax.transAxes, ha="center", va="bottom",
            fontsize=11 * scale, fontweight="bold", zorder=22)


def _page_text(
    fig: Figure, map_ax: Any, title: str, subtitle: str | None, attribution: str, crs_note: str, scale: float
) -> None:
    box = map_ax.get_position()
    fig.text(box.x0, 0.965, title, ha="left", va="top", fontsize=17 * scale, fontweight="bold")
    if subtitle:
        fig.text(box.x0, 0.918, subtitle, ha="left", va="top", fontsize=10.5 * scale, color="#444444")
    note_y = box.y0 - 0.008
    fig.text(box.x0, note_y, crs_note, ha="left", va="top", fontsize=6.5 * scale, color="#555555")
    fig.text(box.x1, note_y, attribution, ha="right", va="top", fontsize=6.5 * scale, color="#555555")

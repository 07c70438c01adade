"""Results in Jupyter: a headline table and a small map for each result, an inline offline map, an output folder.

Results compute and know nothing of how they are shown: their ``_repr_html_``
(:class:`geoplan._util.ShowsInJupyter`) hands them to :func:`result_html`, which
this module sets as the view when the presenters are imported (``import geoplan``
does).  In a notebook::

    result = geoplan.run_audit(cfg)
    result                                  # headline table and a small map
    from geoplan.presenters.notebook import show, output_folder
    show(interactive_map(layers))           # the interactive map inline, offline
    out = output_folder("04_report")        # a fresh temporary folder for the notebook's files
"""

from __future__ import annotations

import base64
import html
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from .._util import set_html_view
from ..i18n import label
from .html import esc, fmt_pct
from .. import presenters
from ..audit import AuditResult
from ..maps.offline import inline_assets
from ..parks.coverage import ParkCoverage

__all__ = ["Inline", "output_folder", "result_html", "show", "small_map_png"]

#: Size of the small map of a result in Jupyter (inches at 72 dpi).
SMALL_MAP_INCHES = 3.6


class Inline:
    """HTML that Jupyter shows as it is (what :func:`show` returns)."""

    def __init__(self, html_text: str):
        self.html = html_text

    def _repr_html_(self) -> str:
        return self.html


def show(m: Any, height: int = 560) -> Inline:
    """Show an interactive (folium) map inline with every script embedded: it works with no internet.

    Parameters
    ----------
    m : folium.Map
        E.g. :func:`geoplan.maps.interactive_map`.
    height : int
        Height of the map in the notebook (pixels).
    """
    page = inline_assets(m.get_root().render())
    return Inline(f'<iframe srcdoc="{html.escape(page)}" style="width:100%;height:{int(height)}px;border:0"></iframe>')


def output_folder(name: str, *, root: str | Path | None = None) -> Path:
    """A fresh folder for what a notebook writes (maps, audit folders), outside the repository.

    Parameters
    ----------
    name : str
        The notebook's name (the folder's).
    root : path, optional
        Where to make it; default the system's temporary folder (``$TMPDIR``).
    """
    base = Path(root) if root is not None else Path(tempfile.gettempdir()) / "geoplan-notebooks"
    out = base / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def small_map_png(layers: list[tuple[Any, dict]], *, inches: float = SMALL_MAP_INCHES) -> str:
    """A small PNG map (base64) of GeoDataFrames drawn bottom first with ``GeoDataFrame.plot`` keywords."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(inches, inches), dpi=72)
    ax = fig.add_axes([0, 0, 1, 1])
    for gdf, kw in layers:
        if gdf is not None and len(gdf):
            gdf.plot(ax=ax, **kw)
    ax.set_axis_off()
    ax.set_aspect("equal")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(png: str | None, alt: str) -> str:
    return (f"<img src='data:image/png;base64,{png}' alt='{esc(alt)}' style='width:{SMALL_MAP_INCHES * 72:.0f}px'>"
            if png else "")


def _frame(title: str, table: str, png: str | None, lines: list[str] = ()) -> str:
    more = "".join(f"<li>{esc(x)}</li>" for x in lines)
    return (f"<div style='display:flex;gap:1.2em;align-items:flex-start'>{_img(png, title)}"
            f"<div style='max-width:48em'><b>{esc(title)}</b>{table}{f'<ul>{more}</ul>' if more else ''}</div></div>")


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:right'>{esc(v)}</td></tr>"
                   for k, v in rows)
    return f"<table>{body}</table>"


def _coverage_rows(cov: Any, lang: str) -> list[tuple[str, str]]:
    rows = []
    for m in cov.methods:
        rows.append((f"{label('land_pct', lang)} · {label(m, lang)}", f"{fmt_pct(cov.coverage(m, 'all', 'land'))} %"))
        rows.append((f"{label('residents_pct', lang)} · {label(m, lang)}", f"{fmt_pct(cov.coverage(m, 'all', 'residents'))} %"))
    return rows


def _units_by(units: Any, values: pd.DataFrame, col: str) -> Any:
    if units is None or not len(units) or values is None or col not in values.columns:
        return None
    return units[["unit_id", "geometry"]].merge(values[["unit_id", col]], on="unit_id", how="left")


def _coverage_map(cov: Any, units: Any) -> str | None:
    method = "network" if "network" in cov.methods else "euclidean"
    bu = cov.by_unit[(cov.by_unit["scope"] == "all") & (cov.by_unit["tier"] == "all") & (cov.by_unit["method"] == method)]
    u = _units_by(units, bu, "land_pct")
    parks = cov.parks[cov.parks["tier"].notna()] if len(cov.parks) else None
    return small_map_png([(u, dict(column="land_pct", cmap="RdYlGn", vmin=0, vmax=100, edgecolor="#444", linewidth=0.5)),
                          (parks, dict(color="#1b7837", linewidth=0))])


def result_html(obj: Any) -> str | None:
    """The HTML of a result in Jupyter: its headline figures as a table and a small map (None: plain repr)."""
    lang = getattr(getattr(obj, "config", None), "lang", "en")
    if isinstance(obj, AuditResult):
        lines = []
        for a in obj.analyses.values():
            try:
                head = presenters.headline(a, lang)
            except Exception:  # noqa: BLE001 - one analysis' headline must not hide the others
                head = None
            if head:
                lines += [x.strip() for x in str(head).splitlines() if x.strip()]
        return _frame(label("park_coverage", lang), _table(_coverage_rows(obj.parks, lang)),
                      _coverage_map(obj.parks, obj.study.units), lines)
    if isinstance(obj, ParkCoverage):
        return _frame(label("park_coverage", lang), _table(_coverage_rows(obj, lang)), _coverage_map(obj, None))
    head = presenters.headline(obj, lang)
    png = _analysis_map(obj)
    if head is None and png is None:
        return None
    lines = [x.strip() for x in str(head or "").splitlines() if x.strip()]
    return _frame(_title(obj, lang), "", png, lines)


#: The label of each result type's analysis (its title in Jupyter).
TITLES = {"LifeCircleResult": "lifecircle", "GreenwayResult": "greenways", "FairnessResult": "fairness",
          "CompoundResult": "compounds", "WhatIfResult": "whatif", "Comparison": "comparison_title"}


def _title(obj: Any, lang: str) -> str:
    for cls in type(obj).__mro__:
        if cls.__name__ in TITLES:
            return label(TITLES[cls.__name__], lang)
    return type(obj).__name__


def _analysis_map(obj: Any) -> str | None:
    """A small map of an analysis' result: units by their main figure, or the greenways by component."""
    units = getattr(obj, "units", None)
    if units is not None and hasattr(units, "geometry") and len(units):
        col = next((c for c in units.columns if c.startswith("complete_") and c.endswith("_pct")), None)
        col = "score" if col is None and "score" in units.columns else col
        if col is not None:
            return small_map_png([(units, dict(column=col, cmap="RdYlGn", vmin=0, vmax=100, edgecolor="#444", linewidth=0.5))])
    net = getattr(obj, "network", None)
    edges = getattr(net, "edges", None)
    if edges is not None and hasattr(edges, "geometry") and len(edges):
        return small_map_png([(edges, dict(column="component", cmap="tab20", linewidth=1.5))])
    return None


set_html_view(result_html)

"""What every page of an audit's report needs: the result, the folder, the language and the shared figures."""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from ..._version import __version__
from ...errors import GeoplanWarning
from ...i18n import label, text
from ...audit import with_data_grade
from ..html import esc

__all__ = ["PageContext", "area_name", "make_context", "report_title", "slug", "unit_file"]


@dataclass
class PageContext:
    """The audit and the choices every page shares.

    Attributes
    ----------
    result : AuditResult
    folder : Path
        The output folder (pages link to files relative to it).
    lang : {"zh", "en"}
    summary : dict
        :func:`geoplan.outputs.audit_summary` of the result.
    tables : dict
        File name -> table, as written to ``tables/`` (pages link long tables, never inline them).
    status : GeoDataFrame
        :func:`geoplan.parks.coverage_status` of the result.
    title, area_name, footer : str
    default_method : str
        The method whose blind spots the pages list (walking network when it ran).
    labels : dict
        Rule-dependent column labels (:func:`geoplan.presenters.labels`).
    maps : dict
        Analysis name -> its drawn print map (relative path).
    map_files : tuple of str
        Every print map file of the folder (relative paths: ``maps/<stem>_<paper>.<png|pdf>``,
        ``maps/units/<unit>.<png|pdf>``): the pages link each of them (:meth:`print_links`).
    unit_pages : bool
        Whether a page per unit is written.
    """

    result: Any
    folder: Path
    lang: str
    summary: dict
    tables: dict
    status: gpd.GeoDataFrame
    title: str
    area_name: str
    footer: str
    default_method: str
    labels: dict = field(default_factory=dict)
    maps: dict = field(default_factory=dict)
    map_files: tuple = ()
    unit_pages: bool = True
    _tables: dict = field(default_factory=dict)

    def L(self, key: str, scope: str | None = None) -> str:
        """The label of ``key`` in the page's language."""
        return label(key, self.lang, scope, self.labels)

    def print_links(self, stem: str, prefix: str = "") -> str:
        """Links to every print version of one map in :attr:`map_files`: A4 and A3, PNG and PDF ("" if none).

        ``stem`` names the map under ``maps/`` (``park_coverage``, ``units/3``); ``prefix`` leads from the page
        to the folder root (``../`` on a unit page).
        """
        files = set(self.map_files)
        links = []
        for paper in ("A4", "A3", ""):
            for fmt in ("png", "pdf"):
                rel = f"maps/{stem}_{paper}.{fmt}" if paper else f"maps/{stem}.{fmt}"
                if rel in files:
                    links.append(f"<a href='{esc(prefix + rel)}'>{esc(f'{paper} {fmt.upper()}'.strip())}</a>")
        return f"{esc(self.L('print_maps'))}: " + " · ".join(links) if links else ""

    def T(self, key: str, **values: Any) -> str:
        """A sentence of ``labels.yaml`` (``text`` section) in the page's language."""
        return text(key, self.lang, **values)

    def analysis_tables(self, name: str) -> dict:
        """The tables of a further analysis (asked once; a failure is warned about once)."""
        if name not in self._tables:
            a = self.result.analyses[name]
            try:
                self._tables[name] = dict(a.tables())
                q = self.result.analyses.get("quality")
                if q is not None and name != "quality":  # the data grade beside every per-unit figure

                    self._tables[name] = {k: with_data_grade(v, q.grades()) for k, v in self._tables[name].items()}
            except Exception as exc:  # noqa: BLE001 - an analysis' tables must not cost the whole report
                warnings.warn(f"{name}: its tables failed ({exc}).", GeoplanWarning, stacklevel=2)
                self._tables[name] = {}
        return self._tables[name]


def area_name(result: Any) -> str:
    """The study area's name: the configuration's ``report: area``, the place of an extract, else the file's stem."""
    rep = (result.config.extra or {}).get("report") or {}
    if rep.get("area"):
        return str(rep["area"])
    if (result.study.provenance or {}).get("place"):  # an extract written by geoplan fetch names its place
        return str(result.study.provenance["place"])
    src = result.config.inputs.pbf or (result.study.provenance or {}).get("osm")
    return Path(str(src)).name.split(".")[0] if src else ""


def report_title(result: Any, lang: str, area: str) -> str:
    """The report's title: the configuration's ``report: title``, else the area and "audit report"."""
    rep = (result.config.extra or {}).get("report") or {}
    t = rep.get("title")
    if isinstance(t, dict):
        t = t.get(lang) or t.get("en")
    if t:
        return str(t)
    return f"{area} · {label('report_title', lang)}" if area else label("report_title", lang)


def make_context(result: Any, folder: Path, lang: str, *, summary: dict, tables: dict, status: gpd.GeoDataFrame,
                 labels: dict, unit_pages: bool = True) -> PageContext:
    """The context of an audit's pages (title, footer and default method chosen here)."""
    area = area_name(result)
    footer = text("report.footer", lang, version=__version__, date=_dt.date.today().isoformat())
    return PageContext(result, Path(folder), lang, summary, tables, status, report_title(result, lang, area), area,
                       footer, "network" if "network" in result.parks.methods else "euclidean", labels=dict(labels),
                       unit_pages=unit_pages)


def slug(v: Any) -> str:
    """A file-name-safe form of a unit id or analysis name."""
    s = re.sub(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+", "_", str(v)).strip("_")
    return s or "unit"


def unit_file(uid: Any) -> str:
    """The file name of a unit's page."""
    return f"{slug(uid)}.html"

"""The HTML pages of an audit, in three depths.

``index.html``
    *Page one* (targets, headline figures, one map, the per-unit table, what to do;
    two printed A4 pages at most), then *a chapter per analysis* (its maps and the
    few tables a planner quotes), then *the appendix* in plain words (definitions,
    inputs, parameters, versions, files).  Long tables are linked (CSV and the
    workbook), never inlined.
``units/<unit_id>.html``, ``units/book.html``
    One page per unit, saying its scope, and the book of them all.

Every word comes from ``geoplan/i18n/labels.yaml`` in the report's language.
The maps are drawn elsewhere (:mod:`geoplan.report`); the pages only show them.
"""

from __future__ import annotations

from ..html import esc
from ..html import page as html_page
from .appendix import appendix
from .chapters import chapters
from .context import PageContext, area_name, make_context, report_title, slug, unit_file
from .figures import method_pivot, unit_table
from .front import page_one
from .units import write_unit_pages

__all__ = ["PageContext", "area_name", "index_html", "make_context", "method_pivot", "report_title", "slug",
           "unit_file", "unit_table", "write_index", "write_unit_pages"]


def index_html(ctx: PageContext) -> str:
    """``index.html``: page one, the chapters, the appendix."""
    L = ctx.L
    chs = chapters(ctx)
    app = appendix(ctx)
    toc = [("targets", L("targets")), ("units", L("by_unit")), ("todo", L("what_to_do"))]
    toc += [(a, t) for a, t, _ in chs] + [("appendix", L("appendix_toc"))]
    body = [page_one(ctx, toc)]
    for i, (anchor, title, html) in enumerate(chs, start=1):
        body.append(f"<section class='chapter' id='{anchor}'><h2>{i}. {esc(title)}</h2>{html}</section>")
    body.append(f"<section class='chapter appendix' id='appendix'><h2>{esc(L('appendix'))}</h2>")
    for anchor, title, html in app:
        body.append(f"<h3 id='{anchor}' class='apph'>{esc(title)}</h3>{html}")
    body.append("</section>")
    return html_page(ctx.title, "".join(body), ctx.lang, ctx.footer)


def write_index(ctx: PageContext) -> None:
    """Write ``index.html`` into the context's folder."""
    (ctx.folder / "index.html").write_text(index_html(ctx), encoding="utf-8")

"""HTML pieces of the report and the comparison page: escaping, number formats, tables, the page frame."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..i18n import label

__all__ = ["CSS", "MAX_TABLE_ROWS", "VALUE_KEYS", "Col", "auto_fmt", "auto_table", "esc", "fmt_int", "fmt_pct", "fmt_pp",
           "html_table", "isnan", "page", "status_cell"]

#: The ``lang`` attribute of a page in each language.
HTML_LANG = {"zh": "zh-CN", "en": "en"}

#: Rows of a table shown in the report (every row is in its CSV file).
MAX_TABLE_ROWS = 25


def esc(v: Any) -> str:
    """``v`` as HTML text (quotes escaped too)."""
    return html.escape(str(v), quote=True)


def isnan(v: Any) -> bool:
    """Whether ``v`` is missing (None or a float NaN); never raises."""
    try:
        return v is None or (isinstance(v, (float, np.floating)) and math.isnan(float(v)))
    except (TypeError, ValueError):
        return False


def fmt_pct(v: Any) -> str:
    """A percentage with two decimals (a dash when missing)."""
    return "—" if isnan(v) else f"{float(v):.2f}"


def fmt_pp(v: Any) -> str:
    """A change in percentage points, signed, two decimals (a dash when missing)."""
    return "—" if isnan(v) else f"{float(v):+.2f}"


def fmt_int(v: Any) -> str:
    """A count with thousands separators (a dash when missing)."""
    return "—" if isnan(v) else f"{float(v):,.0f}"


def auto_fmt(col: str, v: Any, lang: str) -> str:
    """Format a value of a generic table cell by its column name and type."""
    if isnan(v):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "✓" if v else "✗"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if not col.endswith("_id") and col not in ("osm_id", "rank", "step") else str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isinf(f):
            return "∞"
        if col.endswith("fmt_pp"):
            return f"{f:+.2f}"
        if "pct" in col or col.endswith("_share") or col.endswith("_index"):
            return f"{f:.2f}"
        if col.endswith(("_m2", "residents", "_count", "_origins")):
            return f"{f:,.0f}"
        if col.endswith(("_m", "_km", "_min")) or abs(f) >= 1000:
            return f"{f:,.0f}" if abs(f) >= 100 else f"{f:,.1f}"
        if f.is_integer():
            return f"{int(f):,}"
        return f"{f:.3g}" if abs(f) < 1 else f"{f:,.2f}"
    if isinstance(v, str):
        return esc(label(v, lang)) if v in VALUE_KEYS else esc(v)
    return esc(v)


#: Cell values that are identifiers with a translated label (scope, method ...).
VALUE_KEYS = {"all", "outside_historic", "inside_historic", "euclidean", "network", "covered", "not_covered",
               "walk_covered", "line_only", "newly_covered", "newly_uncovered", "still_uncovered"}


@dataclass
class Col:
    """A column of an HTML table: source field, header, formatter and cell class."""

    key: str
    head: str
    fmt: Callable[[Any], str] = esc
    cls: Callable[[Any], str] | None = None
    num: bool = True


def html_table(df: pd.DataFrame, cols: Sequence[Col], *, cls: str = "") -> str:
    """Render ``df`` as an HTML table with the given columns (values already escaped by ``fmt``)."""
    head = "".join(f"<th>{esc(c.head)}</th>" for c in cols)
    rows = []
    # the rows as DataFrame.iterrows gives them (the frame's common dtype), without building a Series per row
    pos = {k: i for i, k in enumerate(df.columns)} if df.columns.is_unique else None
    values = df.values if pos is not None else None
    for i in range(len(df)):
        r = df.iloc[i] if pos is None else None
        cells = []
        for c in cols:
            if pos is None:
                v = r.get(c.key)
            else:
                j = pos.get(c.key)
                v = None if j is None else values[i, j]
            klass = [c.cls(v)] if c.cls else []
            if c.num:
                klass.append("num")
            attr = f' class="{" ".join(k for k in klass if k)}"' if any(klass) else ""
            cells.append(f"<td{attr}>{c.fmt(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="tw"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def auto_table(df: pd.DataFrame, lang: str, *, max_rows: int | None = MAX_TABLE_ROWS, file: str | None = None,
               drop: Iterable[str] = (), scope: str | None = None, labels: dict | None = None) -> str:
    """Any table as HTML: translated headers, numbers formatted by column name, first ``max_rows`` rows.

    ``scope`` (the analysis the table belongs to) and ``labels`` (rule-dependent
    labels) choose the headers, see :func:`geoplan.i18n.label`.
    """
    df = df.drop(columns=[c for c in drop if c in df.columns])
    df = df.drop(columns=[c for c in df.columns if c == "geometry"])
    if df.empty:
        return f"<p class='muted'>{esc(label('none_found', lang))}</p>"
    total = len(df)
    shown = df.head(max_rows) if max_rows else df
    cols = [Col(str(c), label(str(c), lang, scope, labels), fmt=(lambda v, c=str(c): auto_fmt(c, v, lang)),
                num=pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])) for c in df.columns]
    out = html_table(shown, cols)
    if max_rows and total > max_rows:
        link = f'<a href="{esc(file)}">{esc(Path(file).name)}</a>' if file else ""
        out += f"<p class='muted'>{label('rows_shown', lang).format(n=max_rows, total=total, file=link)}</p>"
    return out


def status_cell(met: Any, lang: str) -> str:
    """The badge of a target: met, not met, or not measured."""
    if met is True:
        return f'<span class="badge met">✓ {esc(label("met", lang))}</span>'
    if met is False:
        return f'<span class="badge notmet">✗ {esc(label("not_met", lang))}</span>'
    return f'<span class="badge na">{esc(label("not_measured", lang))}</span>'


CSS = """
:root{--green:#2e7d32;--red:#c62828;--grey:#777;}
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",
"WenQuanYi Micro Hei","Helvetica Neue",Arial,sans-serif;margin:0 auto;padding:1.2em 2em 3em;max-width:1150px;
color:#222;line-height:1.45;font-size:15px}
h1{font-size:1.6em;margin:.2em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:2px solid var(--green);
padding-bottom:.15em}h3{font-size:1.05em;margin:1.2em 0 .4em}
.sub,.muted{color:#555}.muted{font-size:.9em}
table{border-collapse:collapse;margin:.4em 0 .8em;font-size:.9em}
th,td{border:1px solid #ccc;padding:3px 8px;vertical-align:top}
th{background:var(--green);color:#fff;font-weight:600;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#f6f8f6}
td.bad{color:var(--red);font-weight:600}td.good{color:var(--green)}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:600;white-space:nowrap}
.met{background:#e8f5e9;color:var(--green)}.notmet{background:#ffebee;color:var(--red)}.na{background:#eee;color:var(--grey)}
nav.toc a,nav.pager a{margin-right:1em}nav{margin:.3em 0 .8em}
.cards{display:flex;flex-wrap:wrap;gap:.6em;margin:.5em 0}
.card{border:1px solid #cfd8cf;border-radius:6px;padding:.4em .8em;min-width:10em;background:#fbfdfb}
.card b{display:block;font-size:1.45em;color:#1b5e20}.card span{font-size:.85em;color:#555}
img.map{width:100%;height:auto;border:1px solid #ccc;display:block}
.tw{overflow-x:auto;max-width:100%}ul.files{columns:2}details{margin:.3em 0 .8em}summary{cursor:pointer;color:#1b5e20}
footer{margin-top:2.5em;color:#777;font-size:.85em;border-top:1px solid #ddd;padding-top:.5em}
.page{page-break-after:always;break-after:page}
table.compact{font-size:.85em}table.compact td,table.compact th{padding:2px 6px}
table.figures th{background:#f1f5f1;color:#222;font-weight:600}
ul.headline{padding-left:1.2em;margin:.3em 0 .6em}ul.headline li{margin:.1em 0}
dl.defs dt{font-weight:600;margin-top:.5em}dl.defs dd{margin:.1em 0 .3em 1.2em}
.page-one h2{margin-top:1em}.todo h3{margin:.6em 0 .2em}.scope{font-weight:600}
p.mapimg{margin:.4em 0}img.map{max-height:80vh;object-fit:contain}
.chapter h2{font-size:1.35em}h3.apph{font-size:1.1em;border-bottom:1px solid #cfd8cf}
@page{size:A4;margin:12mm}
@media print{body{max-width:none;padding:0;font-size:10pt}.tw{overflow:visible}table{font-size:8pt}nav{display:none}
h2{break-after:avoid}h3{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}
img.map{max-height:125mm;width:auto;max-width:100%}a{color:inherit;text-decoration:none}details>*{display:block}
.page-one{font-size:9pt}.page-one h1{font-size:15pt;margin:0}.page-one h2{font-size:11.5pt;margin:.5em 0 .25em}
.page-one h3{font-size:9.5pt;margin:.4em 0 .15em}.page-one table{font-size:7.5pt;margin:.2em 0 .3em}
.page-one td,.page-one th{padding:1px 4px}.page-one .cards{gap:.3em;margin:.2em 0}
.page-one .card{padding:.15em .5em;min-width:8em}.page-one .card b{font-size:1.15em}.page-one .card span{font-size:.8em}
.page-one img.map{max-height:105mm}.page-one p{margin:.2em 0}
.chapter{break-before:page}.todo ul{margin:.2em 0}}
"""


def page(title: str, body: str, lang: str, footer: str) -> str:
    """A whole HTML page in the report's style around ``body``."""
    code = HTML_LANG.get(lang, lang)
    return (f'<!doctype html>\n<html lang="{code}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n"
            f"<footer>{footer}</footer>\n</body></html>\n")

"""The one folder writer every command uses: tables (CSV, one XLSX workbook), JSON, a GeoPackage.

Write into a folder that :func:`atomic_folder` opened, so an interrupted or
failed run never leaves a half-written folder.  Tables and JSON are
deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._folder import atomic_folder, check_output_folder
from ._util import clean_json
from .i18n import SCOPES, label

__all__ = ["atomic_folder", "check_output_folder", "gpkg_ready", "write_folder", "write_json", "write_tables_csv",
           "write_tables_xlsx"]


def _scope(table: str) -> str | None:
    """The analysis a table belongs to, from its name (``greenways_gaps`` -> ``greenways``)."""
    head = table.split("_", 1)[0]
    return head if head in SCOPES else None


def gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Field names and values that open cleanly in QGIS.

    ``net_dist:park-5000`` becomes ``net_dist_park_5000``; infinite distances
    (beyond the radius) and the -1 "no park" id become NULL; objects become text.
    """
    g = gdf.copy()
    g.columns = [c if c == g.geometry.name else re.sub(r"[^0-9A-Za-z_]+", "_", str(c)) for c in g.columns]
    for c in g.columns:
        if c == g.geometry.name:
            continue
        col = g[c]
        if col.dtype == object or str(col.dtype) in ("string", "str"):
            g[c] = col.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
        elif np.issubdtype(col.dtype, np.floating):
            g[c] = col.where(np.isfinite(col), np.nan)
        if c.endswith("_park") and np.issubdtype(g[c].dtype, np.integer):
            g[c] = g[c].astype("Int64").where(g[c] >= 0, pd.NA)
    return g


def write_tables_csv(tables: Mapping[str, pd.DataFrame], folder: Path) -> None:
    r"""Each table as ``folder/<name>.csv``: UTF-8, ``\n`` line ends, floats with 6 decimals, no index."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False, float_format="%.6f", lineterminator="\n")


def write_json(data: Any, path: Path, *, clean: bool = True) -> None:
    """``data`` as indented, key-sorted UTF-8 JSON (cleaned by :func:`geoplan._util.clean_json` unless ``clean=False``)."""
    path.write_text(json.dumps(clean_json(data) if clean else data, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")


def write_folder(folder: Path, *, tables: Mapping[str, pd.DataFrame] | None = None, tables_dir: str | None = "tables",
                 xlsx: str | None = None, summary: Any = None, summary_file: str = "summary.json",
                 clean_summary: bool = True, layers: Mapping[str, gpd.GeoDataFrame] | None = None,
                 gpkg: str | None = None, lang: str = "en", labels: Mapping[str, tuple[str, str]] | None = None) -> None:
    """Write tables, a workbook, a summary and a GeoPackage into ``folder`` (the one writer of every command).

    Parameters
    ----------
    folder : Path
        An existing (temporary) folder, e.g. from :func:`atomic_folder`.
    tables : mapping of DataFrame, optional
        Written as CSV into ``folder/tables_dir`` and, when ``xlsx`` is given, as sheets of one workbook.
    tables_dir : str or None
        Sub-folder of the CSV files (``""``: the folder itself; None: no CSV files).
    xlsx : str, optional
        File name of the workbook.
    summary : any, optional
        Written as JSON to ``summary_file``.
    clean_summary : bool
        Round floats and turn NaN into null first (:func:`geoplan._util.clean_json`).
    layers : mapping of GeoDataFrame, optional
        Written to the GeoPackage ``gpkg`` (one layer each, made QGIS-ready by :func:`gpkg_ready`).
    gpkg : str, optional
    lang : {"zh", "en"}
        Language of the workbook's headers.
    labels : mapping, optional
        Rule-dependent column labels for the workbook.
    """
    if tables:
        if tables_dir is not None:
            write_tables_csv(tables, folder / tables_dir if tables_dir else folder)
        if xlsx:
            write_tables_xlsx(dict(tables), folder / xlsx, lang, labels)
    if summary is not None:
        write_json(summary, folder / summary_file, clean=clean_summary)
    if layers and gpkg:
        for name, gdf in layers.items():
            gpkg_ready(gdf).to_file(folder / gpkg, layer=name, driver="GPKG", engine="pyogrio")


def write_tables_xlsx(tables: dict[str, pd.DataFrame], path: Path, lang: str = "en",
                      labels: Mapping[str, tuple[str, str]] | None = None) -> None:
    """One workbook, a sheet per table: bold headers in ``lang``, percent formats, column widths.

    Parameters
    ----------
    tables : dict of DataFrame
        Sheet name -> table; a name that starts with an analysis (``greenways_gaps``)
        takes that analysis' labels.
    path : Path
    lang : {"zh", "en"}
    labels : mapping, optional
        ``{column: (en, zh)}`` labels that depend on the rules of a result.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in tables.items():
            sheet = name[:31]
            df = df.copy()
            for c in df.columns:
                if df[c].dtype == object:
                    df[c] = df[c].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
            scope = _scope(name)
            for c in ("scope", "method"):  # values that are vocabulary, not data
                if c in df.columns:
                    df[c] = df[c].map(lambda v: label(v, lang, scope) if isinstance(v, str) else v)
            df.columns = [label(c, lang, scope, labels) for c in df.columns]
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            for j, col in enumerate(tables[name].columns, start=1):
                cell = ws.cell(row=1, column=j)
                cell.font = Font(bold=True, color="FFFFFF")
                cell.fill = PatternFill("solid", fgColor="2E7D32")
                cell.alignment = Alignment(wrap_text=True, vertical="center")
                fmt = "0.00" if "pct" in str(col) or str(col).endswith("_pp") else ("#,##0" if str(col).endswith(("_m2", "residents")) else None)
                if fmt:
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = fmt
                width = max([len(str(df.columns[j - 1]))] + [len(str(v)) for v in df.iloc[:200, j - 1].tolist()]) + 2
                ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8), 45)
            ws.freeze_panes = "A2"

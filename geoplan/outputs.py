"""Writing an audit to a folder: tables, GeoPackage, XLSX, JSON, maps, log.

The folder is written to a temporary sibling and renamed into place at the
end, so an interrupted or failed run never leaves a half-written folder.
Tables and JSON are deterministic: the same inputs give byte-identical files.
"""

from __future__ import annotations

import errno
import json
import math
import os
import platform
import re
import shutil
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import GeoplanWarning, UsageError
from .i18n import label

__all__ = ["write_audit", "atomic_folder", "check_output_folder", "audit_summary", "audit_tables", "audit_layers", "write_tables_xlsx"]


#: errno values meaning "this place cannot be written": reported as usage errors.
_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR}


def check_output_folder(out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check, before any work, that ``out`` can be written; return its absolute path.

    Raises
    ------
    UsageError
        ``out`` exists and ``overwrite`` is False, ``out`` is a file, or its
        nearest existing ancestor is a file or not writable.  Nothing is created.
    """
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"output folder {out} is an existing file.", hint="Choose another --out.")
    if out.exists() and not overwrite:
        raise UsageError(f"output folder {out} already exists.", hint="Choose another --out or pass --overwrite.")
    base = out.parent  # the nearest existing ancestor decides (missing parents are created later)
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise UsageError(f"output folder {out}: {base} is a file, not a folder.", hint="Choose another --out.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {out}: {base} is not writable.",
                         hint="Choose a folder you can write to with --out.")
    return out


@contextmanager
def atomic_folder(out: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out`` only if the block succeeds.

    The temporary folder is a hidden sibling of ``out``
    (``.NAME.partial-PID``); on any exception, ``KeyboardInterrupt`` included,
    it is removed and ``out`` (if it existed) is left untouched.

    Raises
    ------
    UsageError
        ``out`` exists and ``overwrite`` is False, its parent is not writable,
        or writing fails for lack of permission or space.
    """
    out = check_output_folder(out, overwrite=overwrite)
    parent = out.parent
    tmp = parent / f".{out.name}.partial-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise UsageError(f"cannot write the output folder {out}: {exc.strerror}.",
                         hint="Choose a folder you can write to with --out.") from None
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in _WRITE_ERRNOS:
            raise UsageError(f"cannot write the output folder {out}: {exc.strerror} ({exc.filename or tmp}).",
                             hint="Free some space or choose a folder you can write to with --out.") from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        # put the previous folder back: a failed run never loses an earlier result
        if old is not None and old.exists() and not out.exists():
            os.replace(old, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _clean(v: Any) -> Any:
    """JSON-safe, deterministic value (floats rounded to 6 significant decimals)."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return None
        return round(f, 6)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, Path):
        return str(v)
    return v


def audit_summary(result: Any) -> dict:
    """Headline figures of an audit as plain, deterministic data."""
    cov = result.parks
    cfg = result.config
    figures = []
    for _, r in cov.overall.iterrows():
        figures.append({k: r[k] for k in ("scope", "method", "tier", "land_m2", "covered_m2", "land_pct",
                                          "residents", "covered_residents", "residents_pct")})
    diff = {}
    if set(cov.methods) == {"euclidean", "network"}:
        for scope in cov.overall["scope"].unique():
            e = cov.coverage("euclidean", scope)
            n = cov.coverage("network", scope)
            diff[scope] = {"land_pp": e - n,
                           "residents_pp": cov.coverage("euclidean", scope, "residents") - cov.coverage("network", scope, "residents")}
    out = {
        "geoplan_version": _version(),
        "rules": {"name": cfg.rules.name, "title": cfg.rules.title, "basis": cfg.rules.basis, "source": cfg.rules.source,
                  "tiers": [{"id": t.id, "min_area_m2": t.min_area_m2, "max_area_m2": None if math.isinf(t.max_area_m2) else t.max_area_m2,
                             "radius_m": t.radius_m, "within_historic": t.within_historic} for t in cfg.rules.tiers]},
        "definition": ("residential land area (and residents) inside the union of the service areas of the counted parks "
                       "÷ all residential land (residents) in the scope"),
        "methods": list(cov.methods),
        "scopes": sorted(cov.overall["scope"].unique().tolist()),
        "crs": result.study.crs.to_string(),
        "inputs": result.study.provenance,
        "population": {"method": result.population.method, "total": result.population.total,
                       "outside_residential": result.population.outside_residential, "note": result.population.note},
        "network": {"nodes": result.study.network.n_nodes, "edges": result.study.network.n_edges,
                    "length_km": float(result.study.network.edge_length.sum() / 1000)},
        "parks": {"found": int(len(cov.parks)), "counted": int(cov.parks["tier"].notna().sum()),
                  "by_tier": {str(k): int(v) for k, v in cov.parks["tier"].value_counts().sort_index().items()}},
        "park_coverage": figures,
        "straight_line_minus_network_pp": diff,
        "blind_spots": {m: int((cov.blind_spots["method"] == m).sum()) for m in cov.methods} if len(cov.blind_spots) else {},
        "pocket_park_sites": int(len(result.siting)),
        "targets": evaluate_targets(result),
    }
    for name, a in result.analyses.items():
        if hasattr(a, "summary"):
            out[name] = a.summary()
    return _clean(out)


def evaluate_targets(result: Any) -> list[dict]:
    """Each configured target against its measured value: met or not."""
    rows = []
    for t in result.config.targets:
        if t.get("indicator") != "park_coverage":
            value = None
            for a in result.analyses.values():
                if hasattr(a, "indicator"):
                    value = a.indicator(t)
                    if value is not None:
                        break
        else:
            value = result.parks.coverage(t.get("method", "euclidean"), t.get("scope", "all"), t.get("measure", "land"))
        met = None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(value >= float(t["value"]) - 1e-9)
        rows.append({**t, "measured": value, "met": met})
    return rows


def _int_columns(df: pd.DataFrame, cols: tuple) -> pd.DataFrame:
    """Identifier columns as integers (an empty table keeps its header)."""
    for c in cols:
        if c in df.columns:
            df[c] = df[c].astype("int64")
    return df


def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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


def audit_tables(result: Any) -> dict[str, pd.DataFrame]:
    """All tables of an audit by file name (without extension)."""
    cov = result.parks
    parks = pd.DataFrame(cov.parks.drop(columns="geometry"))
    t = {
        "park_coverage_overall": cov.overall,
        "park_coverage_by_unit": cov.by_unit,
        "parks": parks,
        "blind_spots": _int_columns(pd.DataFrame(cov.blind_spots.drop(columns="geometry")), ("unit_id", "rank")),
        "pocket_park_sites": _int_columns(pd.DataFrame(result.siting.drop(columns="geometry")), ("step",)),
    }
    for name, a in result.analyses.items():
        if hasattr(a, "tables"):
            for k, v in a.tables().items():
                t[f"{name}_{k}" if not k.startswith(name) else k] = v
    return t


def audit_layers(result: Any) -> dict[str, gpd.GeoDataFrame]:
    """All geographic layers of an audit by GeoPackage layer name."""
    cov = result.parks
    st = result.study
    crs = st.crs
    units = st.units.merge(
        cov.by_unit[(cov.by_unit["tier"] == "all") & (cov.by_unit["scope"] == "all")]
        .pivot_table(index="unit_id", columns="method", values=["land_pct", "residents_pct"])
        .pipe(lambda d: d.set_axis([f"{m[:3]}_{v}" for v, m in d.columns], axis=1)).reset_index(),
        on="unit_id", how="left")
    cells = cov.cells.copy()
    for c in [c for c in cells.columns if cells[c].dtype == object and c != "geometry"]:
        cells[c] = cells[c].astype(str).where(cells[c].notna(), None)
    layers = {
        "study_area": gpd.GeoDataFrame({"name": ["study area"]}, geometry=[st.area], crs=crs),
        "units": units,
        "parks": cov.parks,
        "park_access_points": cov.access,
        "residential_cells": cells,
        "served_zones": cov.zones[~cov.zones.geometry.is_empty],
        "blind_spots": cov.blind_spots,
        "pocket_park_sites": result.siting,
    }
    if result.population.points is not None:
        layers["residential_buildings"] = result.population.points
    for name, a in result.analyses.items():
        if hasattr(a, "layers"):
            for k, v in a.layers().items():
                layers[f"{name}_{k}" if not k.startswith(name) else k] = v
    return {k: v for k, v in layers.items() if v is not None and len(v)}


def write_tables_xlsx(tables: dict[str, pd.DataFrame], path: Path, lang: str = "en") -> None:
    """One workbook, a sheet per table: bold headers in ``lang``, percent formats, column widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in tables.items():
            sheet = name[:31]
            df = df.copy()
            for c in df.columns:
                if df[c].dtype == object:
                    df[c] = df[c].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
            for c in ("scope", "method"):  # values that are vocabulary, not data
                if c in df.columns:
                    df[c] = df[c].map(lambda v: label(v, lang) if isinstance(v, str) else v)
            df.columns = [label(c, lang) for c in df.columns]
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


def _version() -> str:
    from . import __version__

    return __version__


def _log_header(result: Any) -> str:
    import geopandas, networkx, pyrosm, scipy, shapely  # noqa: E401

    cfg = result.config
    lines = [
        f"geoplan {_version()} on Python {platform.python_version()} ({platform.system()})",
        f"geopandas {geopandas.__version__}, shapely {shapely.__version__}, networkx {networkx.__version__}, "
        f"scipy {scipy.__version__}, pyrosm {pyrosm.__version__}",
        f"inputs: {json.dumps(_clean(result.study.provenance), ensure_ascii=False)}",
        f"rules: {cfg.rules.name} ({cfg.rules.source}); methods: {', '.join(cfg.methods)}; CRS {result.study.crs.to_string()}",
        f"parameters: {json.dumps(_clean({k: v for k, v in cfg.to_dict().items() if k not in ('rules',)}), ensure_ascii=False)}",
        f"population: {result.population.note}",
        "timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()),
    ]
    return "\n".join(lines) + "\n"


def write_audit(
    result: Any,
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    lang: str | None = None,
    maps: bool = True,
    progress: Callable[[str], None] | None = None,
    quiet: bool = False,
    state: bool = True,
) -> Path:
    """Write an audit's tables, layers, maps and report to a new folder, atomically.

    Parameters
    ----------
    result : AuditResult
    out : path
        Output folder; must not exist unless ``overwrite``.
    overwrite : bool
    lang : str, optional
        ``"zh"`` or ``"en"``; default the configuration's language.
    maps : bool
        Also draw the interactive and static maps.
    progress : callable, optional
        ``progress(step)`` before each step.
    quiet : bool
        No progress bars (for scripts).
    state : bool
        Save ``state.pkl`` for ``geoplan whatif`` (a pickle: read it only if you wrote it).

    Returns
    -------
    Path of the written folder.
    """
    say = progress or (lambda m: None)
    lang = lang or result.config.lang
    t0 = time.perf_counter()
    with atomic_folder(out, overwrite=overwrite) as tmp:
        say("writing tables")
        tables = audit_tables(result)
        (tmp / "tables").mkdir()
        for name, df in tables.items():
            df.to_csv(tmp / "tables" / f"{name}.csv", index=False, float_format="%.6f", lineterminator="\n")
        write_tables_xlsx(tables, tmp / "audit.xlsx", lang)
        summary = audit_summary(result)
        summary["lang"] = lang
        (tmp / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        say("writing the GeoPackage")
        gpkg = tmp / "geoplan.gpkg"
        for name, gdf in audit_layers(result).items():
            _gpkg_ready(gdf).to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
        if result.population.grid is not None:
            _write_population_tif(result.population.grid, tmp / "population.tif")
        if state:
            from .whatif import save_state

            say("saving the what-if state")
            try:
                save_state(result, tmp)
            except Exception as exc:  # the audit itself is complete without it
                warnings.warn(f"what-if state not saved: {exc}", GeoplanWarning, stacklevel=2)
        if maps:
            say("drawing maps")
            from .report import write_maps_and_report

            write_maps_and_report(result, tmp, lang, tables=tables, summary=summary, progress=progress, quiet=quiet)
        result.timings["writing outputs"] = round(time.perf_counter() - t0, 3)
        (tmp / "geoplan.log").write_text(_log_header(result), encoding="utf-8")
    return Path(out).resolve()


def _write_population_tif(grid: tuple, path: Path) -> None:
    import rasterio

    arr, transform, crs = grid
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=-1, compress="deflate") as dst:
        dst.write(arr.astype("float32"), 1)
        dst.update_tags(units="residents per pixel", source="geoplan estimate")

"""Writing an audit to a folder: tables, GeoPackage, XLSX, JSON, population raster, what-if state,
maps, report and log, atomically.

The tables, workbook, JSON and GeoPackage go through the one folder writer
(:func:`geoplan.folder.write_folder`, re-exported here with the atomic folder).
"""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


from . import presenters
from ._util import clean_json
from ._version import __version__
from .errors import GeoplanWarning
from .folder import (
    atomic_folder,
    check_output_folder,
    gpkg_ready,
    write_folder,
    write_json,
    write_tables_csv,
    write_tables_xlsx,
)
from .presenters.gpkg_styles import write_audit_styles
from .report import write_maps_and_report
from .settings import WarningLog
from .whatif import save_state

__all__ = ["atomic_folder", "check_output_folder", "gpkg_ready", "write_audit", "write_folder", "write_json",
           "write_tables_csv", "write_tables_xlsx"]


def _log_header(result: Any, caught: WarningLog | None = None) -> str:
    import geopandas, networkx, pyrosm, scipy, shapely  # noqa: E401

    cfg = result.config
    lines = [
        f"geoplan {__version__} on Python {platform.python_version()} ({platform.system()})",
        f"geopandas {geopandas.__version__}, shapely {shapely.__version__}, networkx {networkx.__version__}, "
        f"scipy {scipy.__version__}, pyrosm {pyrosm.__version__}",
        f"inputs: {json.dumps(clean_json(result.study.provenance), ensure_ascii=False)}",
        f"rules: {cfg.rules.name} ({cfg.rules.source}); methods: {', '.join(cfg.methods)}; CRS {result.study.crs.to_string()}",
        f"parameters: {json.dumps(clean_json({k: v for k, v in cfg.to_dict().items() if k not in ('rules',)}), ensure_ascii=False)}",
        f"population: {result.population.note}",
    ]
    if "residential inferred" in (result.study.provenance or {}):
        lines.append(f"residential land inferred: {result.study.provenance['residential inferred']}")
    for name, a in result.analyses.items():  # e.g. how every value of a facility register was read
        lines += [f"{name}: {n}" for n in (getattr(a, "notes", None) or [])]
    lines.append("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    records = list(getattr(result, "warnings", []) or []) + (list(caught.records) if caught is not None else [])
    seen: set = set()
    warned = []
    for r in records:
        if (r.category, r.message) not in seen:
            seen.add((r.category, r.message))
            warned.append(r)
    lines.append(f"warnings: {len(warned)}" + ("" if warned else " (none)"))
    lines += [f"  {r.log_line()}" for r in warned]
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
        Save the what-if state (``whatif-state.json`` + ``.npz``, data only) for ``geoplan whatif``.

    The warnings raised while the audit computed (``result.warnings``) and while
    it is written are listed in ``geoplan.log``.

    Returns
    -------
    Path of the written folder.
    """
    say = progress or (lambda m: None)
    lang = lang or result.config.lang
    # the workbook and the GeoPackage are written in a child process while the CSV tables, the what-if
    # state, the maps and the report are written here (when this process may have children and has more
    # than one CPU; GEOPLAN_WORKERS=1 writes everything here)
    parallel = _can_fork()
    t0 = time.perf_counter()
    with atomic_folder(out, overwrite=overwrite) as tmp, WarningLog(reemit=True) as caught:
        say("writing tables and the GeoPackage")
        tables = result.tables()
        summary = result.summary()
        summary["lang"] = lang
        labels = presenters.labels(result)
        layers = result.layers()
        side = _Beside(write_folder, tmp, tables=tables, xlsx="audit.xlsx", tables_dir=None, layers=layers,
                       gpkg="geoplan.gpkg", lang=lang, labels=labels) if parallel else None
        write_folder(tmp, tables=tables, xlsx=None if side else "audit.xlsx", summary=summary,
                     layers=None if side else layers, gpkg=None if side else "geoplan.gpkg", lang=lang, labels=labels)
        try:
            if result.population.grid is not None:
                _write_population_tif(result.population.grid, tmp / "population.tif")
            if state:
                say("saving the what-if state")
                try:
                    save_state(result, tmp)
                except Exception as exc:  # noqa: BLE001 - the audit itself is complete without it
                    warnings.warn(f"what-if state not saved: {exc}", GeoplanWarning, stacklevel=2)
            if maps:
                say("drawing maps")
                write_maps_and_report(result, tmp, lang, tables=tables, summary=summary, progress=progress,
                                      quiet=quiet, labels=labels)
        except BaseException:
            if side is not None:
                side.stop()
            raise
        if side is not None:
            side.join()
        try:  # QGIS opens each layer with the maps' classes and colours (once the GeoPackage is complete)
            write_audit_styles(result, tmp / "geoplan.gpkg", lang)
        except Exception as exc:  # noqa: BLE001 - the GeoPackage is complete without its styles
            warnings.warn(f"geoplan.gpkg: layer styles not written ({exc}).", GeoplanWarning, stacklevel=2)
        result.timings["writing outputs"] = round(time.perf_counter() - t0, 3)
        (tmp / "geoplan.log").write_text(_log_header(result, caught), encoding="utf-8")
    return Path(out).resolve()


def _can_fork() -> bool:
    """Whether a child process may be forked to write beside this one (Linux, not daemonic, > 1 CPU)."""
    import multiprocessing as mp
    import sys

    if not sys.platform.startswith("linux") or "fork" not in mp.get_all_start_methods():
        return False
    if mp.current_process().daemon:  # a Dask worker (geoplan batch) cannot have children
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus > 1 and os.environ.get("GEOPLAN_WORKERS", "") != "1"


class _Beside:
    """``fn(*args, **kwargs)`` in a forked child process while the caller goes on; :meth:`join` waits.

    The child sees the caller's memory as it was at the fork (nothing is pickled).  A
    failure in the child is raised again by :meth:`join` with the child's error text.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_beside_child, args=(send, fn, args, kwargs), daemon=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads alive (Python >= 3.12)
            self._proc.start()
        send.close()

    def stop(self) -> None:
        """End the child (the caller failed: its folder is being removed)."""
        self._proc.terminate()
        self._proc.join()

    def join(self) -> None:
        """Wait for the child; raise its error if it failed."""
        kind, msg = "", ""
        try:
            kind, msg = self._recv.recv()
        except EOFError:
            pass
        self._proc.join()
        if kind == "KeyboardInterrupt":  # the planner stopped the run: the caller stops as it would itself
            raise KeyboardInterrupt(msg)
        if self._proc.exitcode != 0 or msg:
            raise RuntimeError(msg or f"the writer process ended with code {self._proc.exitcode}")


def _beside_child(send: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    import traceback

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
        send.send(("", ""))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        send.send((type(exc).__name__, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        raise SystemExit(1) from None
    finally:
        send.close()


def _write_population_tif(grid: tuple, path: Path) -> None:
    import rasterio

    arr, transform, crs = grid
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=-1, compress="deflate") as dst:
        dst.write(arr.astype("float32"), 1)
        dst.update_tags(units="residents per pixel", source="geoplan estimate")

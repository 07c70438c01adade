"""Batch audits of many study areas as independent tasks on Dask distributed.

A district audits every jiedao each year; a municipal or provincial programme
audits dozens to hundreds of areas.  ``geoplan batch CONFIG`` runs
:func:`geoplan.audit.run_audit` once per area, each as one task on a Dask
distributed cluster (an embedded :class:`distributed.LocalCluster` by default,
or an existing cluster with ``--scheduler ADDRESS``), writes each area's output
folder with :func:`geoplan.outputs.write_audit` *inside the worker*, and merges
the tables of all areas.

The batch configuration is a YAML file::

    base: audit.yaml            # an audit configuration file, or a mapping of its keys
    areas:                      # exactly one of units / boundaries / pbfs
      units: jiedao.gpkg        #   every polygon of a layer is an area ...
      name_field: name
      population_field: null    #   optional: residents of each area (population.total)
    # areas: {boundaries: [a.geojson, b.geojson]}       ... or one area per boundary file
    # areas: {pbfs: [city1.osm.pbf, city2.osm.pbf]}     ... or one area per OSM extract
    out: batch-out
    workers: 2                  # LocalCluster worker processes (1 thread each)
    scheduler: null             # address (tcp://host:port) or scheduler JSON file of a running cluster
    redo: false                 # re-run areas already done
    maps: false                 # draw maps and report for every area (slow)
    analyses: null              # extra analyses (default: every registered one, as run_audit); [] = parks only

See ``geoplan/presets/batch-example.yaml`` for a documented example.

What is written under ``out``:

* ``<area>/``: one complete audit folder per area (exactly what ``geoplan audit``
  writes), written atomically by the worker.  A folder with a ``summary.json``
  counts as done and is skipped on the next run unless ``redo``.
* ``merged/*.csv`` and ``merged/merged.xlsx``: each table of every finished area,
  with an ``area`` column first, areas in the order of the configuration.  The
  CSV values are the per-area files' text, unchanged.  The workbook's first sheet
  lists the tables; those over ``XLSX_MAX_ROWS`` rows are in CSV only.
* ``batch_status.csv``: one row per area: ``ok``, ``skipped`` (done before),
  ``no residential land`` (the area has none: reported, not failed) or
  ``failed`` with its error, seconds, headline figures and warnings.
* ``errors/<area>.txt``: the traceback of each failed area.

Each area is loaded exactly as a single audit loads it: the walking network and
parks within the largest service radius (plus a margin) *beyond* the area's
boundary (:func:`geoplan.study.load_study`), so that edge effects are right and
the results are identical to auditing the areas one by one.  A failing area is
reported and does not stop the others.  With ``--scheduler`` the workers must
see the same file system paths as the client (inputs and ``out``).

The extra analyses (life circles, greenways ...) that every area runs are those
registered in the client process (all installed ones on the command line); they
are shipped with each task, because a worker process registers only what it
imported itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import re
import socket
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd
import yaml

from .folder import atomic_folder
from ._version import __version__
from .analysis import Analysis, order_analyses
from .audit import ANALYSES, run_audit
from .config import AuditConfig, Inputs, load_config, resolve_paths
from .errors import DataError, GeoplanWarning, NoResidentialLandError, UsageError
from .folder import write_tables_csv, write_tables_xlsx
from .outputs import write_audit
from .settings import WarningLog
from .sources.layers import find_name_field, read_layer
from .sources.shared import sharing

__all__ = [
    "Area",
    "AreaTask",
    "BatchSpec",
    "BatchReport",
    "load_batch",
    "run_batch",
    "audit_area",
    "merge_tables",
    "headline",
    "slugify",
    "dask_client",
]

#: Status of an area that has no residential land (reported, not failed: nothing to cover there).
NO_RESIDENTIAL = "no residential land"

#: Columns of ``batch_status.csv``, in order.
STATUS_COLUMNS = (
    "area", "slug", "status", "seconds", "cpu_seconds", "started", "finished",
    "euclidean_land_pct", "euclidean_residents_pct", "network_land_pct", "network_residents_pct",
    "residents", "parks_counted", "pocket_park_sites",
    "error", "warnings", "folder", "worker",
)
#: Folder names under ``out`` that are not areas.
RESERVED = {"merged", "errors"}
#: The done-marker of an area folder (``write_audit`` writes the folder atomically).
DONE_MARKER = "summary.json"
#: Merged tables longer than this are written to CSV only, not to ``merged/merged.xlsx``.
XLSX_MAX_ROWS = 10_000



# --------------------------------------------------------------------------- specification
@dataclass(frozen=True)
class Area:
    """One study area of a batch.

    Attributes
    ----------
    name : str
        Human name (a unit's name, a boundary file's stem, an extract's stem).
    slug : str
        Folder name under ``out`` (unique within the batch).
    geometry : shapely geometry in EPSG:4326 or None
        The study area; ``None``: the audit's own default (the extract's extent,
        or the base configuration's area or units).
    inputs : dict
        Input files replaced for this area (``pbf`` for ``areas: pbfs``).
    population_total : float or None
        Residents of the area (``population.total``), when given per area.
    """

    name: str
    slug: str
    geometry: Any = None
    inputs: dict = field(default_factory=dict)
    population_total: float | None = None


@dataclass(frozen=True)
class BatchSpec:
    """A batch: the base audit configuration, the areas and how to run them.

    Build it with :func:`load_batch`.
    """

    config: AuditConfig
    areas: tuple[Area, ...]
    out: Path
    workers: int = 2
    scheduler: str | None = None
    redo: bool = False
    maps: bool = False
    analyses: tuple[str, ...] | None = None
    source: str = "<dict>"

    def area_config(self, area: Area) -> AuditConfig:
        """The audit configuration of one area (the base with the area's inputs and population)."""
        cfg = self.config
        if area.inputs:
            cfg = cfg.with_inputs(**area.inputs)
        if area.population_total is not None:
            cfg = replace(cfg, population={**cfg.population, "total": float(area.population_total)})
        return cfg

    def folder(self, area: Area) -> Path:
        """Output folder of an area."""
        return self.out / area.slug


@dataclass(frozen=True)
class AreaTask:
    """Everything a worker needs to audit one area (small and picklable).

    ``analyses`` holds the :class:`~geoplan.analysis.Analysis` declarations to run, in
    order (functions of installed modules travel by reference), so that the worker
    runs exactly the client's set.
    """

    name: str
    slug: str
    config: AuditConfig
    geometry: Any
    folder: str
    maps: bool = False
    analyses: tuple = ()


@dataclass
class BatchReport:
    """What a batch run did.

    Attributes
    ----------
    status : DataFrame
        One row per area (the content of ``batch_status.csv``), in configuration order.
    out : Path
    merged : dict
        Merged tables by name (as written to ``merged/``; values as text).
    seconds : float
        Wall-clock time of the run.
    """

    status: pd.DataFrame
    out: Path
    merged: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> pd.DataFrame:
        """Rows of the areas that failed."""
        return self.status[self.status["status"] == "failed"]

    def counts(self) -> dict[str, int]:
        """Number of areas per status."""
        return {k: int(v) for k, v in self.status["status"].value_counts().items()}


def slugify(name: str, taken: set[str] | None = None) -> str:
    """A folder name for an area: letters (any script), digits, ``-`` and ``_``; unique in ``taken``.

    Parameters
    ----------
    name : str
        ``"西长安街街道"`` stays ``"西长安街街道"``; ``"Area 3/North"`` becomes ``"Area-3-North"``.
    taken : set of str, optional
        Slugs already used (compared case-insensitively); the new one is added.

    Returns
    -------
    str
    """
    s = re.sub(r"[^\w\-]+", "-", str(name), flags=re.UNICODE).strip("-._")[:80] or "area"
    if s.lower() in RESERVED:
        s = f"{s}-area"
    if taken is None:
        return s
    base, i = s, 2
    low = {t.lower() for t in taken}
    while s.lower() in low:
        s = f"{base}-{i}"
        i += 1
    taken.add(s)
    return s


def _resolve(p: Any, base_dir: Path) -> str | None:
    if p is None or p == "":
        return None
    path = Path(str(p)).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def _read_yaml_mapping(path: Path, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise DataError(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must be a YAML mapping ({what}).")
    return data


def _absolute_base(data: dict, base_dir: Path) -> dict:
    """The base audit settings with every relative path made absolute (workers may run elsewhere).

    The analyses' files (``lifecircle.facilities`` ...) too, as :func:`geoplan.config.resolve_paths`
    resolves them for a single audit: the base is rewritten to a temporary file.
    """
    data = resolve_paths(dict(data), base_dir)
    inputs = dict(data.get("inputs") or {})
    for k, v in list(inputs.items()):
        if k != "datums" and isinstance(v, (str, Path)):
            inputs[k] = _resolve(v, base_dir)
    if inputs:
        data["inputs"] = inputs
    rules = data.get("rules")
    if isinstance(rules, str) and rules.lower().endswith((".yaml", ".yml")):
        data["rules"] = _resolve(rules, base_dir)
    pop = data.get("population")
    if isinstance(pop, dict) and isinstance(pop.get("raster"), str):
        data["population"] = {**pop, "raster": _resolve(pop["raster"], base_dir)}
    return data


def _base_config(base: Any, base_dir: Path) -> AuditConfig:
    """An AuditConfig from ``base:`` (a file name, a mapping, or nothing for the defaults)."""
    if base is None:
        return load_config()
    if isinstance(base, (str, Path)):
        path = Path(_resolve(base, base_dir))
        data, data_dir = _read_yaml_mapping(path, "base audit configuration"), path.parent
    elif isinstance(base, Mapping):
        data, data_dir = dict(base), base_dir
    else:
        raise UsageError("'base:' must be an audit configuration file or a mapping of its settings.")
    data = _absolute_base(data, data_dir)
    with tempfile.TemporaryDirectory(prefix="geoplan-batch-") as tmp:
        f = Path(tmp) / "base.yaml"
        f.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return load_config(f)


def _entry(item: Any, key: str, what: str) -> dict:
    if isinstance(item, (str, Path)):
        return {key: str(item)}
    if isinstance(item, Mapping) and item.get(key):
        return dict(item)
    raise UsageError(f"areas: each {what} entry must be a file name or a mapping with '{key}:' (got {item!r}).")


def _float_or_none(v: Any, where: str) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise DataError(f"{where}: population {v!r} is not a number.") from None


def _areas(spec: Mapping, base_dir: Path) -> list[Area]:
    """The areas of ``areas:`` (units, boundaries or pbfs)."""
    import shapely

    if not isinstance(spec, Mapping):
        raise UsageError("'areas:' must be a mapping with one of units, boundaries or pbfs.")
    kinds = [k for k in ("units", "boundaries", "pbfs") if spec.get(k)]
    if len(kinds) != 1:
        raise UsageError(
            f"'areas:' must name exactly one of units, boundaries or pbfs (found {kinds or 'none'}).",
            hint="e.g. areas: {units: jiedao.gpkg, name_field: name}",
        )
    kind = kinds[0]
    taken: set[str] = set()
    out: list[Area] = []
    if kind == "units":
        path = _resolve(spec["units"], base_dir)
        gdf = read_layer(path, layer=spec.get("layer"), datum=spec.get("datum"), what="batch areas",
                         geom_types=("polygon",))
        name_field = spec.get("name_field", "name")
        if name_field and name_field not in gdf.columns:
            found = find_name_field(gdf, name_field, what=f"batch areas layer {path}")
            if found.field is None:
                raise DataError(f"{found.note}", hint="Name the field with areas: {name_field: FIELD}.")
            warnings.warn(f"{found.note} Give areas: {{name_field: FIELD}} to use another.", GeoplanWarning, stacklevel=2)
            name_field = found.field
        pop_field = spec.get("population_field")
        if pop_field and pop_field not in gdf.columns:
            raise DataError(f"batch areas layer {path} has no population field {pop_field!r}.",
                            hint=f"Its fields are: {', '.join(c for c in gdf.columns if c != 'geometry')}.")
        for i, (_, row) in enumerate(gdf.iterrows()):
            raw = row[name_field] if name_field else None
            name = str(raw).strip() if raw is not None and not (isinstance(raw, float) and math.isnan(raw)) else ""
            name = name or f"area {i + 1}"
            geom = shapely.make_valid(row.geometry)
            if geom is None or geom.is_empty:
                continue
            out.append(Area(name, slugify(name, taken), geom,
                            population_total=_float_or_none(row[pop_field], f"{path} row {i + 1}") if pop_field else None))
    elif kind == "boundaries":
        items = spec["boundaries"]
        for item in items if isinstance(items, (list, tuple)) else [items]:
            e = _entry(item, "file", "boundaries")
            path = _resolve(e["file"], base_dir)
            gdf = read_layer(path, layer=e.get("layer"), datum=e.get("datum"), what="batch area boundary",
                             geom_types=("polygon",))
            geom = shapely.make_valid(shapely.union_all(gdf.geometry.values))
            name = str(e.get("name") or Path(path).name.split(".")[0])
            out.append(Area(name, slugify(name, taken), geom,
                            population_total=_float_or_none(e.get("population_total"), path)))
    else:
        input_keys = set(Inputs.__dataclass_fields__) - {"datums"}
        items = spec["pbfs"]
        for item in items if isinstance(items, (list, tuple)) else [items]:
            e = _entry(item, "pbf", "pbfs")
            unknown = set(e) - input_keys - {"name", "population_total"}
            if unknown:
                raise UsageError(f"areas: pbfs entry {e['pbf']}: unknown key(s) {sorted(unknown)}.",
                                 hint=f"Allowed: name, population_total and the inputs {sorted(input_keys)}.")
            inputs = {k: _resolve(v, base_dir) for k, v in e.items() if k in input_keys}
            name = str(e.get("name") or Path(inputs["pbf"]).name.split(".")[0])
            out.append(Area(name, slugify(name, taken), None, inputs=inputs,
                            population_total=_float_or_none(e.get("population_total"), inputs["pbf"])))
    if not out:
        raise DataError(f"areas: {kind} gives no area to audit.")
    # names label the rows of the merged tables: make repeated names unique ("name (2)")
    seen: dict[str, int] = {}
    for i, a in enumerate(out):
        k = seen[a.name] = seen.get(a.name, 0) + 1
        if k > 1:
            out[i] = replace(a, name=f"{a.name} ({k})")
    return out


def load_batch(path: str | os.PathLike | Mapping | None = None, *, base_dir: str | os.PathLike | None = None,
               **overrides: Any) -> BatchSpec:
    """Read a batch configuration.

    Parameters
    ----------
    path : path or mapping
        The batch YAML file (``base``, ``areas``, ``out``, ``workers``, ``scheduler``,
        ``redo``, ``maps``, ``analyses``), or the same as a mapping.
    base_dir : path, optional
        Folder that relative paths of a mapping are relative to (default: the
        current folder).  Relative paths in a file are relative to that file's
        folder; those inside a ``base`` file to the base file's folder.
    **overrides
        ``out``, ``workers``, ``scheduler``, ``redo``, ``maps`` (``None`` = keep).

    Returns
    -------
    BatchSpec

    Raises
    ------
    UsageError
        Unknown keys, no or several kinds of areas, bad worker count.
    DataError
        A missing or unreadable area layer.
    """
    if isinstance(path, Mapping):
        data, src, bdir = dict(path), "<dict>", Path(base_dir or Path.cwd()).resolve()
    elif path is None:
        raise UsageError("a batch needs a configuration file.", hint="See geoplan/presets/batch-example.yaml.")
    else:
        p = Path(path).resolve()
        data, src, bdir = _read_yaml_mapping(p, "batch configuration"), str(p), Path(base_dir or p.parent).resolve()
    known = {"base", "areas", "out", "workers", "scheduler", "redo", "maps", "analyses"}
    unknown = set(data) - known
    if unknown:
        raise UsageError(f"batch configuration {src}: unknown key(s) {sorted(unknown)}.", hint=f"Known keys: {sorted(known)}.")
    for k, v in overrides.items():
        if k not in known - {"base", "areas"}:
            raise TypeError(f"load_batch() got an unexpected override {k!r}")
        if v is not None:
            data[k] = v
    if not data.get("areas"):
        raise UsageError(f"batch configuration {src} has no 'areas:'.",
                         hint="Give areas: {units: FILE, name_field: FIELD}, {boundaries: [FILES]} or {pbfs: [FILES]}.")
    w = data.get("workers")
    try:
        workers = 2 if w is None else int(w)
    except (TypeError, ValueError):
        raise UsageError(f"workers: {w!r} is not a whole number.") from None
    if workers < 1 or (isinstance(w, float) and w != workers):
        raise UsageError(f"workers: {w!r} — give a whole number of worker processes, at least 1.")
    cfg = _base_config(data.get("base"), bdir)
    areas = _areas(data["areas"], bdir)
    out = Path(_resolve(data.get("out") or "geoplan-batch", bdir))
    analyses = data.get("analyses")
    if analyses is not None:
        if isinstance(analyses, str):
            analyses = [analyses]
        if not isinstance(analyses, (list, tuple)) or not all(isinstance(a, str) for a in analyses):
            raise UsageError(f"analyses: {analyses!r} must be a list of analysis names (e.g. [lifecircle]).")
        analyses = tuple(analyses)
    sched = data.get("scheduler") or None
    if sched and not re.match(r"^\w+://", str(sched)) and str(sched).endswith(".json"):
        sched = _resolve(sched, bdir)
    return BatchSpec(config=cfg, areas=tuple(areas), out=out, workers=workers,
                     scheduler=str(sched) if sched else None, redo=bool(data.get("redo", False)),
                     maps=bool(data.get("maps", False)), analyses=analyses, source=src)


# --------------------------------------------------------------------------- the task
def headline(summary: Mapping) -> dict:
    """Headline figures of an area from its ``summary.json`` (whole area, all tiers).

    Returns
    -------
    dict
        ``<method>_land_pct``, ``<method>_residents_pct`` for each method,
        ``residents``, ``parks_counted``, ``pocket_park_sites``.
    """
    out: dict = {}
    for f in summary.get("park_coverage", []) or []:
        if f.get("scope") == "all" and f.get("tier") == "all":
            out[f"{f['method']}_land_pct"] = f.get("land_pct")
            out[f"{f['method']}_residents_pct"] = f.get("residents_pct")
    out["residents"] = (summary.get("population") or {}).get("total")
    out["parks_counted"] = (summary.get("parks") or {}).get("counted")
    out["pocket_park_sites"] = summary.get("pocket_park_sites")
    return out


def _read_summary(folder: Path) -> dict:
    return json.loads((folder / DONE_MARKER).read_text(encoding="utf-8"))


def audit_area(task: AreaTask) -> dict:
    """Audit one area and write its folder; runs inside a Dask worker.

    Never raises for a failing audit: the error is returned in the status, so
    that one area's failure does not lose the others.  Only a small status dict
    travels back to the client, never the result's GeoDataFrames.

    Parameters
    ----------
    task : AreaTask

    Returns
    -------
    dict
        ``area``, ``slug``, ``status`` (``ok``, ``failed`` or ``no residential land``: the
        area has none, so no coverage to measure; ``error`` says why), ``seconds`` (wall clock),
        ``cpu_seconds`` (the worker process's CPU time), ``started``, ``finished``, headline
        figures (see :func:`headline`), ``error``, ``traceback``, ``warnings``,
        ``folder``, ``worker``.
    """
    t0, c0, started = time.perf_counter(), time.process_time(), time.time()
    folder = Path(task.folder)
    status: dict = {"area": task.name, "slug": task.slug, "folder": str(folder),
                    "worker": f"{socket.gethostname()}:{os.getpid()}"}
    sink = io.StringIO()
    # pyrosm's progress lines would interleave on the client's terminal: printed output is dropped;
    # warnings are kept (each once) for the status table and the area's geoplan.log
    # the inputs that do not depend on the area (user layers, a converted XML extract) are loaded once per
    # process and shared by the areas of the same extract (geoplan.sources.shared)
    with WarningLog() as caught, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), sharing():
        try:
            result = run_audit(task.config, task.geometry, analyses=task.analyses)
            # not done (or redo): a folder without the done-marker is replaced
            write_audit(result, folder, overwrite=True, maps=task.maps)
            del result
            status.update(status="ok", **headline(_read_summary(folder)))
        except NoResidentialLandError as exc:  # a finding about the area, not a failure of the batch
            status.update(status=NO_RESIDENTIAL, error=str(exc), residents=0)
        except Exception as exc:  # noqa: BLE001 - reported per area, the batch goes on
            status.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    status["warnings"] = " | ".join(r.message for r in caught.records if r.shown)
    status["seconds"] = round(time.perf_counter() - t0, 2)
    status["cpu_seconds"] = round(time.process_time() - c0, 2)
    status["started"], status["finished"] = _stamp(started), _stamp(time.time())
    return status


def _stamp(t: float) -> str:
    """Local date and time to the tenth of a second (``2025-03-01 14:02:07.3``)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 10)}"


def _skipped(spec: BatchSpec, area: Area) -> dict:
    folder = spec.folder(area)
    st = {"area": area.name, "slug": area.slug, "status": "skipped", "folder": str(folder)}
    try:
        st.update(headline(_read_summary(folder)))
    except (OSError, ValueError) as exc:
        st["warnings"] = f"cannot read {folder / DONE_MARKER}: {exc}"
    return st


def _analyses(wanted: Sequence[str | Analysis] | None) -> tuple[Analysis, ...]:
    """The further analyses every area runs, in order (None: all of :data:`geoplan.audit.ANALYSES`).

    Raises
    ------
    UsageError
        An unknown analysis name.
    """
    return tuple(order_analyses(ANALYSES, wanted))


def _is_done(spec: BatchSpec, area: Area) -> bool:
    return _is_done_slug(spec, area.slug)


def _is_done_slug(spec: BatchSpec, slug: str) -> bool:
    return (spec.out / slug / DONE_MARKER).is_file()


# --------------------------------------------------------------------------- the cluster
@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2, *, quiet: bool = True,
                timeout_s: float = 60.0) -> Iterator[Any]:
    """A :class:`distributed.Client`: to an existing cluster, or to an embedded LocalCluster.

    Parameters
    ----------
    scheduler : str, optional
        Address (``tcp://127.0.0.1:8786``) or scheduler file (``.json``, as written
        by ``dask scheduler --scheduler-file``) of a running cluster.  ``None``:
        start a :class:`distributed.LocalCluster` of ``workers`` processes with
        one thread each and no statistical profiler, closed at the end.  (For
        workers of your own, ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``
        saves the same overhead.)
    workers : int
        Worker processes of the LocalCluster.
    quiet : bool
        Silence the cluster's log lines below ERROR.
    timeout_s : float
        How long to wait for the scheduler and for at least one worker.

    Yields
    ------
    distributed.Client
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a declared dependency
        raise UsageError("geoplan batch needs Dask distributed.", hint="pip install 'dask[distributed]'") from None
    level = logging.ERROR if quiet else logging.WARNING
    if scheduler:
        if str(scheduler).endswith(".json") and not re.match(r"^\w+://", str(scheduler)):
            if not Path(scheduler).is_file():
                raise UsageError(f"scheduler file {scheduler} not found.",
                                 hint="Give the file written by 'dask scheduler --scheduler-file', or an address tcp://HOST:PORT.")
            kw = {"scheduler_file": str(scheduler)}
        else:
            kw = {"address": str(scheduler)}
        try:
            client = Client(**kw, timeout=timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot connect to the Dask scheduler {scheduler} ({exc}).",
                             hint="Start it with 'dask scheduler' and give its address (tcp://HOST:PORT) or --scheduler-file.") from None
        try:
            try:
                client.wait_for_workers(1, timeout=timeout_s)
            except TimeoutError:
                raise UsageError(f"the Dask scheduler {scheduler} has no workers.",
                                 hint="Start workers with 'dask worker ADDRESS --nthreads 1'.") from None
            yield client
        finally:
            client.close()
        return
    import dask

    # The workers' statistical profiler (a thread sampling the task's stack every 10 ms, for the
    # dashboard) costs about a quarter more CPU per audit, measured on the Xicheng benchmark;
    # there is no dashboard here.  The nannies keep this configuration for restarted workers.
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=level)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _area_size(area: Area) -> float:
    """Rough size, to start the largest areas first (polygons: by area; extracts: by file size)."""
    if area.geometry is not None:
        lat = area.geometry.centroid.y
        return float(area.geometry.area * math.cos(math.radians(lat)))
    try:
        return float(os.path.getsize(area.inputs.get("pbf", "")))
    except OSError:
        return 0.0


def _warm_worker() -> str:
    """Import what an audit needs (pyrosm's first import alone can take seconds); geoplan's version."""
    import geoplan
    import geoplan.audit  # noqa: F401
    import geoplan.outputs  # noqa: F401

    try:
        import pyrosm.pyrosm  # noqa: F401
    except Exception:  # noqa: BLE001 - the audit reports it properly
        pass
    return geoplan.__version__


def _prepare_workers(client: Any) -> None:
    """Check that every worker can import geoplan (same version), importing the heavy modules once."""
    try:
        versions = client.run(_warm_worker)
    except ImportError as exc:
        raise UsageError(f"a Dask worker cannot import geoplan ({exc}).",
                         hint="Install geoplan in the workers' Python environment (pip install -e . there).") from None
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        warnings.warn(f"Dask workers run another geoplan version than this client ({__version__}): {other}.",
                      GeoplanWarning, stacklevel=2)


def _submit_all(client: Any, tasks: list[AreaTask], sizes: list[float], quiet: bool,
                say: Callable[[str], None]) -> list[dict]:
    """Submit every task, collect the status dicts as they complete.

    Progress: a tqdm bar on a terminal, one line per finished area otherwise; nothing if ``quiet``.
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    _prepare_workers(client)
    say(f"{len(client.scheduler_info().get('workers', {}))} Dask workers ready")
    order = sorted(range(len(tasks)), key=lambda i: -sizes[i])
    futures = {}
    for rank, i in enumerate(order):
        t = tasks[i]
        # One key prefix for all ("geoplan-audit"): the tasks form one task group, which the
        # scheduler queues and hands to whichever worker is free.  (A prefix per area made
        # each task its own group, assigned to a worker up front: on the Xicheng benchmark
        # a worker then sat idle for 16 s while the other had a queue.)  Largest areas first
        # (highest priority), so that the last tasks are short ones.
        f = client.submit(audit_area, t, key=f"geoplan-audit-{uuid.uuid4().hex}", pure=False,
                          priority=len(order) - rank)
        futures[f] = t
    statuses: list[dict] = []
    use_bar = not quiet and sys.stderr.isatty()
    bar = tqdm(total=len(tasks), unit="area", desc="batch", disable=not use_bar, file=sys.stderr)
    try:
        for f in as_completed(list(futures)):
            t = futures[f]
            try:
                st = f.result()
            except Exception as exc:  # noqa: BLE001 - the worker died (memory ...) or the task was lost
                st = {"area": t.name, "slug": t.slug, "status": "failed", "folder": t.folder,
                      "error": f"{type(exc).__name__}: {exc}", "traceback": "".join(traceback.format_exception(exc))}
            statuses.append(st)
            bar.update(1)
            if not quiet:
                msg = f"[{len(statuses)}/{len(tasks)}] {st['status']:<6} {st['area']}  {st.get('seconds') or 0:.1f} s"
                if st["status"] == "failed":
                    msg += f"  {st.get('error', '')}"
                if use_bar:
                    bar.write(msg, file=sys.stderr)
                else:
                    say(msg)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    finally:
        bar.close()
    return statuses


# --------------------------------------------------------------------------- merging
def _read_text_table(path: Path) -> pd.DataFrame | None:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except pd.errors.EmptyDataError:
        return None
    return df if len(df.columns) else None


def _read_typed_table(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None


def merge_tables(folders: Sequence[tuple[str, Path]], *, typed: bool = False) -> dict[str, pd.DataFrame]:
    """Concatenate each table of several audit folders, with an ``area`` column first.

    Parameters
    ----------
    folders : sequence of (area name, folder)
        In the order wanted in the merged tables.
    typed : bool
        ``False``: values are kept as the text of the per-area CSV files (exact);
        ``True``: numbers are parsed (for the XLSX workbook).

    Returns
    -------
    dict
        ``{table name: DataFrame}``; tables empty in every area are left out.
    """
    names: list[str] = []
    for _, folder in folders:
        for f in sorted((Path(folder) / "tables").glob("*.csv")):
            if f.stem not in names:
                names.append(f.stem)
    reader = _read_typed_table if typed else _read_text_table
    merged: dict[str, pd.DataFrame] = {}
    for name in sorted(names):
        parts = []
        for area, folder in folders:
            f = Path(folder) / "tables" / f"{name}.csv"
            df = reader(f) if f.is_file() else None
            if df is None or df.empty:
                continue
            df = df.copy()
            df.insert(0, "area", area)
            parts.append(df)
        if parts:
            df = pd.concat(parts, ignore_index=True, sort=False)
            merged[name] = df if typed else df.fillna("")
    return merged


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_merged(spec: BatchSpec, status: pd.DataFrame, lang: str) -> dict[str, pd.DataFrame]:
    """``merged/*.csv`` (every table) and ``merged/merged.xlsx`` (an index of the tables, the
    batch status, and the tables up to ``XLSX_MAX_ROWS`` rows).
    """
    done = status[status["status"].isin(["ok", "skipped"]) & status["slug"].map(lambda s: _is_done_slug(spec, s))]
    folders = [(r["area"], spec.out / r["slug"]) for _, r in done.iterrows()]
    merged = merge_tables(folders)
    if not merged:
        return merged
    typed = merge_tables(folders, typed=True)
    # a workbook sheet formatted cell by cell costs ~0.3 ms a row: very long tables
    # (e.g. Lorenz curve points of every area) stay in CSV only, listed on the first sheet
    index = pd.DataFrame({"table": list(typed), "rows": [len(df) for df in typed.values()],
                          "in_workbook": [len(df) <= XLSX_MAX_ROWS for df in typed.values()],
                          "file": [f"{n}.csv" for n in typed]})
    sheets = {"tables": index, "batch_status": status,
              **{n: df for n, df in typed.items() if len(df) <= XLSX_MAX_ROWS}}
    with atomic_folder(spec.out / "merged", overwrite=True) as tmp:
        # the text of the per-area files, unchanged (no float formatting: every value is text)
        write_tables_csv(merged, tmp)
        write_tables_xlsx(sheets, tmp / "merged.xlsx", lang)
    return merged


def _status_frame(spec: BatchSpec, statuses: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for a in spec.areas:
        st = statuses.get(a.slug) or {"area": a.name, "slug": a.slug, "status": "not run", "folder": str(spec.folder(a))}
        rows.append({c: st.get(c) for c in STATUS_COLUMNS})
    return pd.DataFrame(rows, columns=list(STATUS_COLUMNS))


def _write_status(spec: BatchSpec, status: pd.DataFrame, statuses: dict[str, dict]) -> None:
    _write_text_atomic(spec.out / "batch_status.csv", status.to_csv(index=False, lineterminator="\n"))
    err_dir = spec.out / "errors"
    for a in spec.areas:
        f = err_dir / f"{a.slug}.txt"
        st = statuses.get(a.slug, {})
        if st.get("status") == "failed":
            _write_text_atomic(f, f"{a.name}\n{st.get('error', '')}\n\n{st.get('traceback', '')}")
        elif st.get("status") in ("ok", "skipped"):
            f.unlink(missing_ok=True)


# --------------------------------------------------------------------------- running
def run_batch(spec: BatchSpec, *, client: Any = None, quiet: bool = True,
              progress: Callable[[str], None] | None = None) -> BatchReport:
    """Audit every area of a batch on Dask distributed, write the folders and merged tables.

    Parameters
    ----------
    spec : BatchSpec
        From :func:`load_batch`.
    client : distributed.Client, optional
        Use this client; default: connect to ``spec.scheduler`` or start a
        LocalCluster of ``spec.workers`` processes (only if an area is left to do).
    quiet : bool
        No progress bar or per-area lines.
    progress : callable, optional
        ``progress(message)`` for the main steps.

    Returns
    -------
    BatchReport
    """
    say = progress or (lambda m: None)
    t0 = time.perf_counter()
    analyses = _analyses(spec.analyses)
    spec.out.mkdir(parents=True, exist_ok=True)
    statuses: dict[str, dict] = {}
    tasks, sizes = [], []
    for a in spec.areas:
        if not spec.redo and _is_done(spec, a):
            statuses[a.slug] = _skipped(spec, a)
            continue
        tasks.append(AreaTask(a.name, a.slug, spec.area_config(a), a.geometry, str(spec.folder(a)), spec.maps,
                              analyses))
        sizes.append(_area_size(a))
    n_skip = len(statuses)
    say(f"{len(spec.areas)} areas: {len(tasks)} to audit, {n_skip} done before"
        + (" (use --redo to re-run them)" if n_skip else ""))
    try:
        if tasks:
            if client is not None:
                done = _submit_all(client, tasks, sizes, quiet, say)
            else:
                where = f"the Dask scheduler {spec.scheduler}" if spec.scheduler else \
                    f"a local Dask cluster of {spec.workers} worker process{'es' if spec.workers > 1 else ''}"
                say(f"starting {where}")
                with dask_client(spec.scheduler, spec.workers, quiet=quiet) as c:
                    done = _submit_all(c, tasks, sizes, quiet, say)
            for st in done:
                if st["status"] == "ok" and not _is_done_slug(spec, st["slug"]):
                    st["warnings"] = "; ".join(filter(None, [
                        f"the worker wrote {st['folder']}, which this machine cannot see: give an 'out' folder "
                        "on a file system shared by the client and the workers", st.get("warnings")]))
                statuses[st["slug"]] = st
    finally:
        # also on interrupt: what finished is recorded
        status = _status_frame(spec, statuses)
        _write_status(spec, status, statuses)
    say("merging the tables of all areas")
    merged = _write_merged(spec, status, spec.config.lang)
    return BatchReport(status=status, out=spec.out, merged=merged, seconds=round(time.perf_counter() - t0, 2))

"""An audit output folder read back (``summary.json``, ``tables/*.csv``, ``geoplan.gpkg``, ``geoplan.log``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from ..errors import DataError

__all__ = ["AuditFolder", "read_audit"]


@dataclass
class AuditFolder:
    """An audit output folder, read back.

    Attributes
    ----------
    path : Path
    summary : dict
        ``summary.json``.
    tables : dict of DataFrame
        ``tables/*.csv`` by file name without extension.
    log : str
        ``geoplan.log`` (empty when missing).
    """

    path: Path
    summary: dict
    tables: dict
    log: str = ""
    _layers: dict = field(default_factory=dict, repr=False)

    @property
    def gpkg(self) -> Path:
        """The audit's GeoPackage."""
        return self.path / "geoplan.gpkg"

    def layer(self, name: str) -> gpd.GeoDataFrame | None:
        """A GeoPackage layer (None when the audit has no such layer)."""
        if name not in self._layers:
            if not self.gpkg.exists():
                self._layers[name] = None
            else:
                names = {n for n, _ in pyogrio.list_layers(self.gpkg)}
                self._layers[name] = gpd.read_file(self.gpkg, layer=name, engine="pyogrio") if name in names else None
        return self._layers[name]

    @property
    def lang(self) -> str | None:
        """The language the audit was written in (from its log), if recorded."""
        for line in self.log.splitlines():
            if line.startswith("parameters: "):
                try:
                    return json.loads(line[len("parameters: "):]).get("lang")
                except ValueError:
                    return None
        return self.summary.get("lang")

    @property
    def parameters(self) -> dict:
        """The configuration recorded in the log (empty when not recorded)."""
        for line in self.log.splitlines():
            if line.startswith("parameters: "):
                try:
                    return json.loads(line[len("parameters: "):])
                except ValueError:
                    return {}
        return {}

    @property
    def name(self) -> str:
        """The folder's name."""
        return self.path.name


def read_audit(path: str | os.PathLike) -> AuditFolder:
    """Read an audit output folder written by :func:`geoplan.write_audit` / ``geoplan audit``.

    Raises
    ------
    DataError
        The folder does not exist or is not an audit folder (no ``summary.json`` or
        no ``tables/park_coverage_overall.csv``).
    """
    p = Path(path).expanduser().resolve()
    if not p.is_dir():
        raise DataError(f"audit folder {p} does not exist.", hint="Give two folders written by geoplan audit.")
    sfile = p / "summary.json"
    if not sfile.is_file():
        raise DataError(f"{p} is not an audit folder: it has no summary.json.",
                        hint="Give two folders written by geoplan audit (not a comparison folder).")
    try:
        summary = json.loads(sfile.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{sfile} is not valid JSON ({exc}).") from None
    tdir = p / "tables"
    if not (tdir / "park_coverage_overall.csv").is_file():
        raise DataError(f"{p} has no tables/park_coverage_overall.csv.", hint="Give folders written by geoplan audit.")
    tables = {}
    for f in sorted(tdir.glob("*.csv")):
        try:
            tables[f.stem] = pd.read_csv(f)
        except pd.errors.EmptyDataError:
            tables[f.stem] = pd.DataFrame()
    log = (p / "geoplan.log").read_text(encoding="utf-8") if (p / "geoplan.log").is_file() else ""
    return AuditFolder(p, summary, tables, log)

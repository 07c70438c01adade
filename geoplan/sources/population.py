"""Residents per unit from a unit layer's population field (census or WorldPop counts per jiedao or community).

Planners have population as figures per unit far more often than as a raster:
the census per jiedao, a WorldPop sum per community.  :func:`unit_population`
finds that field (named in the configuration, or recognised by its name) and
returns the counts, checked; the audit then spreads each unit's count over
its residential land (:func:`geoplan.residents.population_from_units`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pandas as pd

from ..errors import DataError, GeoplanWarning

__all__ = ["POPULATION_FIELD_NAMES", "UnitPopulation", "detect_population_field", "unit_population"]

#: Field names taken for residents per unit, in order of preference (compared case-insensitively).
POPULATION_FIELD_NAMES = ("population", "pop", "residents", "inhabitants", "常住人口", "人口", "总人口", "人口数",
                          "户籍人口", "居民数", "人数")
#: Field name patterns also taken (``population_worldpop``, ``pop2020``, ``人口_2020`` ...).
POPULATION_FIELD_PATTERN = re.compile(r"^(population|pop)([_\-\s]?\w*)$|^(常住|户籍|总)?人口", re.IGNORECASE)
#: Fields that look like a population field but are not counts.
NOT_COUNTS = re.compile(r"dens|density|share|pct|percent|ratio|rate|密度|比例|占比", re.IGNORECASE)


@dataclass(frozen=True)
class UnitPopulation:
    """Residents per unit as given by the unit layer.

    Attributes
    ----------
    field : str
        The field read.
    detected : bool
        True when the field was recognised by its name, False when it was named.
    values : Series
        Residents per unit (float, >= 0), aligned with the unit layer.
    note : str
        How the field was chosen, for the log.
    """

    field: str
    detected: bool
    values: pd.Series
    note: str


def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(str).str.replace(",", "", regex=False).str.strip(), errors="coerce").where(s.notna())


def detect_population_field(frame: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The field of ``frame`` that holds residents per unit, recognised by its name.

    Returns
    -------
    field : str or None
        The preferred candidate: a name of :data:`POPULATION_FIELD_NAMES` first, then
        one matching :data:`POPULATION_FIELD_PATTERN`; numeric with at least one positive value.
    candidates : list of str
        Every candidate, best first.
    """
    cols = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", "geometry") and isinstance(c, str)]
    low = {c: c.strip().lower() for c in cols}
    ranked = [c for n in POPULATION_FIELD_NAMES for c in cols if low[c] == n]
    ranked += sorted((c for c in cols if c not in ranked and POPULATION_FIELD_PATTERN.search(c.strip())),
                     key=lambda c: (len(c), c))
    ranked = [c for c in ranked if not NOT_COUNTS.search(c)]
    good = [c for c in ranked if (_numeric(frame[c]).fillna(0) > 0).any()]
    return (good[0] if good else None), good


def unit_population(frame: pd.DataFrame, setting: object, source: str) -> UnitPopulation | None:
    """Residents per unit from the field named by ``setting`` (``auto``, a field name, or None/``none``).

    Parameters
    ----------
    frame : DataFrame
        The unit layer as read.
    setting : str or None
        ``population.unit_field`` of the configuration.
    source : str
        The layer, for messages (``unit layer jiedao.gpkg``).

    Returns
    -------
    UnitPopulation or None
        None when the setting is off, or ``auto`` found no field.

    Raises
    ------
    DataError
        A named field that is missing, not numeric, or has negative values.
    """
    if setting is None or str(setting).strip().lower() in ("", "none", "null", "off", "false"):
        return None
    detected = str(setting).strip().lower() == "auto"
    others: list[str] = []
    if detected:
        field, cands = detect_population_field(frame)
        if field is None:
            return None
        others = [c for c in cands if c != field]
    else:
        field = str(setting)
        if field not in frame.columns:
            raise DataError(f"{source} has no population field {field!r}.",
                            hint=f"Its fields are: {', '.join(str(c) for c in frame.columns if c != 'geometry')}; "
                                 "give the field with residents per unit with --population-field.")
    vals = _numeric(frame[field])
    bad = frame[field].notna() & vals.isna()
    if bad.any():
        ex = ", ".join(repr(v) for v in frame.loc[bad, field].astype(str).head(3))
        raise DataError(f"{source}: population field {field!r} has {int(bad.sum())} values that are not numbers ({ex}).",
                        hint="Give the field with the number of residents per unit (--population-field).")
    if (vals < 0).any():
        raise DataError(f"{source}: population field {field!r} has {int((vals < 0).sum())} negative values.",
                        hint="Residents per unit must be 0 or more; fix the layer or give another field.")
    if vals.isna().any():
        warnings.warn(f"{source}: {int(vals.isna().sum())} units have no value in the population field {field!r}: "
                      "they count 0 residents.", GeoplanWarning, stacklevel=3)
    how = "recognised by its name" if detected else "named in the configuration"
    note = f"residents per unit from the field {field!r} of the {source} ({how})"
    if others:
        note += f"; other candidate fields not used: {', '.join(others)}"
    return UnitPopulation(field, detected, vals.fillna(0.0).astype(float), note)

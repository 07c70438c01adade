"""Small private helpers shared by every floor (no geoplan imports).

Written once here so that the copies cannot drift: deep merging of settings,
JSON-safe deterministic values, infinite values as NaN in tables.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ShowsInJupyter", "deep_merge", "clean_json", "finite", "set_html_view", "weighted_quantile"]


def deep_merge(base: Mapping, over: Mapping | None) -> dict:
    """A deep copy of ``base`` with ``over`` merged in, key by key (nested mappings merge, the rest replaces).

    Parameters
    ----------
    base, over : mapping

    Returns
    -------
    dict
    """
    out = copy.deepcopy(dict(base))
    for k, v in (over or {}).items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def clean_json(v: Any) -> Any:
    """A JSON-safe, deterministic copy of ``v``: numpy scalars as Python ones, floats rounded to 6
    decimals, NaN and infinity as None, paths as text, mapping keys as text.
    """
    if isinstance(v, Mapping):
        return {str(k): clean_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean_json(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return None
        return round(f, 6)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, Path):
        return str(v)
    if v is pd.NA:
        return None
    return v


def finite(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with +-inf replaced by NaN in float columns (file formats and spreadsheets)."""
    out = df.copy()
    geom = getattr(out, "_geometry_column_name", None)
    for c in out.columns:
        if c != geom and pd.api.types.is_float_dtype(out[c]):
            v = out[c].to_numpy()
            if np.isinf(v).any():
                out[c] = np.where(np.isinf(v), np.nan, v)
    return out


def weighted_quantile(values: Any, weights: Any, q: float) -> float:
    """The ``q`` quantile of ``values`` weighted by ``weights``.

    The smallest value with at least a share ``q`` of the total weight at or
    below it (the inverse of the weighted distribution function, no
    interpolation).  Rows with a NaN value or a weight that is not positive
    are left out; infinite values are kept (an unreachable facility is a
    distance beyond every threshold, and a 90th percentile that falls among
    them is infinite).  NaN when no weight is left.

    Parameters
    ----------
    values, weights : array-like
    q : float
        In [0, 1].

    Returns
    -------
    float
    """
    x = np.asarray(values, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    keep = ~np.isnan(x) & np.isfinite(w) & (w > 0)
    x, w = x[keep], w[keep]
    if len(x) == 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cw = np.cumsum(w)
    # a cumulative weight within rounding noise of the target counts as reaching it
    i = int(np.searchsorted(cw, q * cw[-1] * (1 - 1e-9), side="left"))
    return float(x[min(i, len(x) - 1)])


# ---------------------------------------------------------------- how results show themselves in Jupyter
#: The function that draws a result as HTML (set by the presenter floor, ``geoplan.presenters.notebook``):
#: results compute and know nothing of how they are shown; they only hand themselves over.
_HTML_VIEW: list = []


def set_html_view(view: Any) -> None:
    """Set ``view(obj) -> str | None``, the HTML of a result in Jupyter (called once by the presenter floor)."""
    _HTML_VIEW[:] = [view]


class ShowsInJupyter:
    """Mixin of the result classes: ``_repr_html_`` hands the result to the presenter floor's view.

    Without a view (the presenters not imported) or when it fails, Jupyter shows the plain ``repr``.
    """

    def _repr_html_(self) -> str | None:
        if not _HTML_VIEW:
            return None
        try:
            return _HTML_VIEW[0](self)
        except Exception:  # noqa: BLE001 - a notebook's display must never raise
            return None

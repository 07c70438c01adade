r"""The measures of fairness: Gini, Lorenz curve, weighted quantiles, worst decile, ranking of units.

The Gini coefficient is the area between the Lorenz curve and the diagonal,
doubled: with values sorted ascending, cumulative resident shares
:math:`p_i` and cumulative value shares :math:`L_i`,
:math:`G = 1 - \\sum_i (p_i - p_{i-1})(L_i + L_{i-1})`, which equals the
mean absolute difference over all pairs of residents divided by twice the
mean, :math:`\\sum_i\\sum_j w_i w_j |x_i - x_j| / (2 W^2 \\bar{x})`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._util import weighted_quantile

__all__ = ["gini", "inequality_table", "lorenz", "rank_units", "weighted_mean", "weighted_quantile", "worst_decile"]


# ---------------------------------------------------------------------------
# the measures
# ---------------------------------------------------------------------------
def _prepare(values: Any, weights: Any | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    if x.shape != w.shape:
        raise ValueError("values and weights must have the same length")
    keep = np.isfinite(x) & np.isfinite(w) & (w > 0)
    return x[keep], w[keep]


def gini(values: Any, weights: Any | None = None) -> float:
    """Weighted Gini coefficient of non-negative values.

    Parameters
    ----------
    values : array-like of float
        Access values (distances, counts); must be >= 0.  Non-finite values are dropped.
    weights : array-like of float, optional
        Residents per value (default 1 each); rows with weight <= 0 are dropped.

    Returns
    -------
    float
        0 (everyone equal) to 1 (one resident has everything); NaN when there are
        no weighted values, 0 when all values are 0.
    """
    x, w = _prepare(values, weights)
    if len(x) == 0:
        return float("nan")
    if (x < 0).any():
        raise ValueError("the Gini coefficient needs non-negative values")
    total = float((w * x).sum())
    if total <= 0:
        return 0.0
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    p = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    L = np.concatenate([[0.0], np.cumsum(w * x) / total])
    return float(min(1.0, max(0.0, 1.0 - np.sum(np.diff(p) * (L[1:] + L[:-1])))))  # rounding can leave -1e-16


def lorenz(values: Any, weights: Any | None = None, points: int | None = None) -> pd.DataFrame:
    """The Lorenz curve: cumulative share of residents against cumulative share of the value.

    Parameters
    ----------
    values, weights : array-like
        As for :func:`gini`.
    points : int, optional
        Resample the curve at this many evenly spaced resident shares (0..1,
        linear interpolation); default: every value (plus the origin).

    Returns
    -------
    DataFrame
        ``pop_share`` and ``value_share``, from (0, 0) to (1, 1), residents sorted
        from the lowest value to the highest.
    """
    x, w = _prepare(values, weights)
    if len(x) == 0:
        return pd.DataFrame({"pop_share": [0.0, 1.0], "value_share": [0.0, 1.0]})
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    p = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
    total = (w * x).sum()
    L = np.concatenate([[0.0], np.cumsum(w * x) / total]) if total > 0 else p.copy()
    if points:
        q = np.linspace(0.0, 1.0, int(points))
        return pd.DataFrame({"pop_share": q, "value_share": np.interp(q, p, L)})
    return pd.DataFrame({"pop_share": p, "value_share": L})


def weighted_mean(values: Any, weights: Any) -> float:
    """Resident-weighted mean (NaN with no weight)."""
    x, w = _prepare(values, weights)
    return float((x * w).sum() / w.sum()) if w.sum() > 0 else float("nan")


def worst_decile(values: Any, weights: Any, *, higher_is_worse: bool = True, share: float = 0.10) -> tuple[np.ndarray, float]:
    """Residents in the worst ``share`` of the distribution.

    Parameters
    ----------
    values, weights : array-like
    higher_is_worse : bool
        True for distances (the longest walks are worst), False for counts of
        categories reached (the fewest are worst).
    share : float
        0.10 for the worst decile.

    Returns
    -------
    mask : ndarray of bool
        Rows at or beyond the threshold (ties at the threshold are all in, so
        the share of residents can exceed ``share``).
    threshold : float
        The value that opens the worst decile.
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if higher_is_worse:  # from the worst down, the value at which a share ``share`` of the residents is reached
        t = -weighted_quantile(-v, w, share)
        mask = v >= t
    else:
        t = weighted_quantile(v, w, share)
        mask = v <= t
    return mask & (w > 0), t


def inequality_table(df: pd.DataFrame, value: str, weight: str = "residents", by: list[str] | None = None,
                     *, higher_is_worse: bool = True, share: float = 0.10, cap: float | None = None) -> pd.DataFrame:
    """Gini, mean, median, 90th percentile and worst-decile shares, overall and per group.

    Parameters
    ----------
    df : DataFrame
        One row per origin with ``value`` and ``weight`` columns (and ``by`` columns).
    value, weight : str
    by : list of str, optional
        Group columns (e.g. ``["unit_id", "unit_name"]``); the overall row has ``"all"`` in them.
    higher_is_worse : bool
    share : float
        The worst share (0.10 = decile), taken over the whole table.
    cap : float, optional
        Values at or above it are reported as censored (``censored_pct``).

    Returns
    -------
    DataFrame
        ``residents``, ``mean``, ``median``, ``p90``, ``gini``, ``worst_residents``
        (residents of the group in the overall worst share), ``worst_pct`` (their share
        of the group), ``worst_share_of_all_pct`` (the group's share of all worst-off
        residents), ``censored_pct``; and ``worst_threshold``.
    """
    by = list(by or [])
    v = df[value].to_numpy(float)
    w = df[weight].to_numpy(float)
    mask, thr = worst_decile(v, w, higher_is_worse=higher_is_worse, share=share)
    all_worst = float(w[mask].sum())
    rows = []
    keys = [(k if isinstance(k, tuple) else (k,), idx) for k, idx in df.groupby(by, sort=True).indices.items()] if by else []
    for key, idx in [((("all",) * len(by)) if by else ("all",), np.arange(len(df))), *keys]:
        vv, ww = v[idx], w[idx]
        res = float(ww[ww > 0].sum())
        worst = float(ww[mask[idx]].sum())
        row = dict(zip(by, key)) if by else {"group": "all"}
        row.update(residents=res, mean=weighted_mean(vv, ww), median=weighted_quantile(vv, ww, 0.5),
                   p90=weighted_quantile(vv, ww, 0.9), gini=gini(vv, ww), worst_residents=worst,
                   worst_pct=100.0 * worst / res if res > 0 else float("nan"),
                   worst_share_of_all_pct=100.0 * worst / all_worst if all_worst > 0 else float("nan"),
                   censored_pct=(100.0 * float(ww[vv >= cap - 1e-9].sum()) / res if (cap is not None and res > 0) else float("nan")),
                   worst_threshold=thr)
        rows.append(row)
    return pd.DataFrame(rows)


def rank_units(units: pd.DataFrame, score_cols: list[str], tie_col: str | None = None,
               tie_ascending: bool = True) -> pd.DataFrame:
    """Rank units from best to worst served.

    Parameters
    ----------
    units : DataFrame
        One row per unit with the score columns (percentages, higher is better).
    score_cols : list of str
        The unit's score is the mean of these (ignoring missing ones).
    tie_col : str, optional
        Breaks ties (e.g. the mean walking distance, lower is better).
    tie_ascending : bool

    Returns
    -------
    DataFrame
        ``units`` with ``score`` (0-100) and ``rank`` (1 = best), sorted by rank.
    """
    u = units.copy()
    u["score"] = u[score_cols].astype(float).mean(axis=1, skipna=True)
    keys = ["score"] + ([tie_col] if tie_col else [])
    asc = [False] + ([tie_ascending] if tie_col else [])
    u = u.sort_values(keys, ascending=asc, kind="stable", na_position="last").reset_index(drop=True)
    u.insert(0, "rank", np.arange(1, len(u) + 1))
    return u

"""Targets (``targets:`` in the configuration) against what an audit measured."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["evaluate_targets"]


def evaluate_targets(result: Any) -> list[dict]:
    """Each configured target against its measured value: met or not.

    Park-coverage targets are read from the park coverage; any other target is
    asked of each further analysis in turn (``indicator(target)``; the first
    that knows it answers).

    Parameters
    ----------
    result : AuditResult

    Returns
    -------
    list of dict
        The target's keys plus ``measured`` (None when no analysis measures it)
        and ``met`` (None when not measured).
    """
    rows = []
    for t in result.config.targets:
        if t.get("indicator") != "park_coverage":
            value = None
            for a in result.analyses.values():
                value = a.indicator(t)
                if value is not None:
                    break
        else:
            value = result.parks.coverage(t.get("method", "euclidean"), t.get("scope", "all"), t.get("measure", "land"))
        met = None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(value >= float(t["value"]) - 1e-9)
        rows.append({**t, "measured": value, "met": met})
    return rows

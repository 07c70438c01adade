"""Analyses that join an audit besides park coverage.

A module registers ``fn(result: AuditResult) -> object`` under a name with
:func:`register`; :func:`geoplan.audit.run_audit` runs every registered
analysis after park coverage, and the writers ask the result object for its
tables, layers and map layers.  Registration happens when
:mod:`geoplan` is imported.
"""

from __future__ import annotations

from typing import Any, Callable

_ANALYSES: dict[str, Callable[[Any], Any]] = {}
_REACH: dict[str, Callable[[Any], float]] = {}


def register(name: str, fn: Callable[[Any], Any], reach: Callable[[Any], float] | None = None) -> None:
    """Register an analysis to run in every audit.

    Parameters
    ----------
    name : str
    fn : callable
        ``fn(result: AuditResult) -> object``.
    reach : callable, optional
        ``reach(cfg: AuditConfig) -> metres``: the farthest walk the analysis
        measures, so that the study area is loaded with that margin.
    """
    _ANALYSES[name] = fn
    if reach is not None:
        _REACH[name] = reach


def reach_m(cfg: Any) -> float:
    """The farthest walk any registered analysis measures under ``cfg`` (0 if none says)."""
    return max((float(f(cfg)) for f in _REACH.values()), default=0.0)


def analyses() -> dict[str, Callable[[Any], Any]]:
    """The registered analyses, in registration order."""
    return dict(_ANALYSES)

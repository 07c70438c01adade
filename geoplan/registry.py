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


def register(name: str, fn: Callable[[Any], Any]) -> None:
    """Register an analysis to run in every audit."""
    _ANALYSES[name] = fn


def analyses() -> dict[str, Callable[[Any], Any]]:
    """The registered analyses, in registration order."""
    return dict(_ANALYSES)

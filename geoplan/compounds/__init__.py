"""Walled compounds and gates: the walk residents really make (issue #10).

Most homes in Chinese cities are inside walled compounds (小区, work-unit and
campus compounds) that residents leave only through gates.  With the
compound model on, a home inside a compound joins the walking network only
on the paths inside its own compound, or straight at its nearest gate where
no inner path is mapped, and so leaves through a gate instead of through the
wall.
"""

try:  # the life-circle analysis must be registered (and so run) before this one, which compares with it
    from .. import lifecircle as _lifecircle  # noqa: F401
except ImportError:  # pragma: no cover
    pass

from ..registry import register
from . import labels as _labels
from .extract import (
    DEFAULTS,
    Compounds,
    compound_settings,
    compounds_from_layers,
    compounds_from_osm,
    find_gates,
    load_compounds,
)
from .result import CompoundResult, run_compounds, run_compounds_for_audit
from .snapping import CompoundNetwork, CompoundSnap, compound_network, compound_snap

__all__ = ["DEFAULTS", "CompoundNetwork", "CompoundResult", "CompoundSnap", "Compounds", "compound_network",
           "compound_settings", "compound_snap", "compounds_from_layers", "compounds_from_osm", "find_gates",
           "load_compounds", "run_compounds"]

register("compounds", run_compounds_for_audit)
_labels.register()

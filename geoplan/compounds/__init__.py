"""Walled compounds and gates: the walk residents really make (issue #10).

Most homes in Chinese cities are inside walled compounds (小区, work-unit and
campus compounds) that residents leave only through gates.  With the
compound model on, a home inside a compound joins the walking network only
on the paths inside its own compound, or straight at its nearest gate where
no inner path is mapped, and so leaves through a gate instead of through the
wall.
"""

from ..analysis import Analysis
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

__all__ = ["ANALYSIS", "DEFAULTS", "CompoundNetwork", "CompoundResult", "CompoundSnap", "Compounds", "compound_network",
           "compound_settings", "compound_snap", "compounds_from_layers", "compounds_from_osm", "find_gates",
           "load_compounds", "run_compounds"]

#: The compound model of an audit (after the life circles when they are asked for: it compares with them).
ANALYSIS = Analysis("compounds", run_compounds_for_audit, uses=("lifecircle",))

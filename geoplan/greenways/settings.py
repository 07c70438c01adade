"""Settings of the greenway analysis: ``presets/greenways.yaml`` merged with user overrides."""

from __future__ import annotations

import yaml

from .._util import deep_merge
from ..config import PRESET_DIR
from ..errors import UsageError

__all__ = ["load_settings", "PRESET"]

PRESET = PRESET_DIR / "greenways.yaml"

#: (section, key) of settings that must be positive numbers.
_POSITIVE = [
    ("topology", "snap_m"), ("gaps", "max_gap_m"), ("gaps", "max_walk_m"), ("gaps", "access_snap_m"),
    ("gaps", "anchor_spacing_m"), ("reach", "walk_m"), ("reach", "park_link_m"), ("patches", "decay_distance_m"),
    ("corridor", "break_search_m"), ("corridor", "max_walk_m"),
]


def load_settings(overrides: dict | None = None) -> dict:
    """The greenway settings: the preset defaults with ``overrides`` merged in.

    Parameters
    ----------
    overrides : dict, optional
        Any keys of ``presets/greenways.yaml`` (nested sections merge key by key),
        e.g. ``{"layer": "gw.geojson", "datum": "gcj02", "gaps": {"max_gap_m": 200}}``.
        The shortcuts ``snap_m``, ``max_gap_m``, ``walk_m``, ``park_link_m`` and
        ``decay_distance_m`` at the top level are accepted too.

    Returns
    -------
    dict

    Raises
    ------
    UsageError
        An unknown key or a setting out of range.
    """
    with open(PRESET, encoding="utf-8") as fh:
        base = yaml.safe_load(fh)
    over = dict(overrides or {})
    shortcuts = {"snap_m": "topology", "node_crossings": "topology", "max_gap_m": "gaps", "max_walk_m": "gaps",
                 "access_snap_m": "gaps", "walk_m": "reach", "park_link_m": "reach", "decay_distance_m": "patches",
                 "decay_probability": "patches", "iic_threshold_m": "patches"}
    for k in list(over):
        if k in shortcuts:
            over.setdefault(shortcuts[k], {})
            over[shortcuts[k]] = {**over[shortcuts[k]], k: over.pop(k)}
    unknown = sorted(set(over) - set(base))
    if unknown:
        raise UsageError(f"unknown greenway setting(s) {unknown}.", hint=f"Known settings: {sorted(base)}.")
    s = deep_merge(base, over)
    for sec, key in _POSITIVE:
        try:
            v = float(s[sec][key])
        except (TypeError, ValueError):
            raise UsageError(f"greenways {sec}.{key} must be a number, not {s[sec][key]!r}.") from None
        if not v > 0:
            raise UsageError(f"greenways {sec}.{key} must be positive (got {v:g}).")
    p = float(s["patches"]["decay_probability"])
    if not 0 < p < 1:
        raise UsageError(f"greenways patches.decay_probability must lie strictly between 0 and 1 (got {p:g}).")
    if isinstance(s.get("layer"), str):
        s["layer"] = [s["layer"]]
    if isinstance(s.get("corridors"), (str, dict)):
        s["corridors"] = [s["corridors"]]
    return s

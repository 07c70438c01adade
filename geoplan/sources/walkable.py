"""Which OpenStreetMap ways people may walk on: the access rules, not the highway value alone.

pyrosm's ``walking`` filter (like OSMnx's ``walk``) drops every
``highway=cycleway`` even when it is tagged ``foot=yes`` or
``foot=designated`` (a shared path, a footbridge), and knows nothing of
sidewalks tagged on a street.  geoplan reads every highway of the extract
(pyrosm's ``all`` network) and decides here, way by way, following
OpenStreetMap's access hierarchy (the most specific tag wins):

1. not a way on the ground (``highway=proposed``, ``construction``,
   ``abandoned`` ..., ``area=yes``): never;
2. ``foot=yes|designated|permissive|destination``: open, whatever the
   highway value (a cycleway, a bridleway, a service road or a road closed
   to traffic by ``access=no``);
3. ``foot=no|private|use_sidepath``: closed (also a footway);
4. ``access=no|private`` (or the old ``service=private``) with no foot tag:
   closed;
5. a sidewalk tagged on the way (``sidewalk=yes|both|left|right`` or
   ``sidewalk:both|left|right=yes``): open, even on a cycleway, a motorway
   link or a ``motorroad=yes`` road;
6. ``highway=cycleway|motorway|motorway_link|bus_guideway`` and
   ``motorroad=yes``, with none of the above: closed;
7. a street whose sidewalks are all mapped as separate ways
   (``sidewalk=separate``): closed, the separate footways carry the walk
   (as in pyrosm and OSMnx, so that nothing is counted twice);
8. every other highway: open.

:func:`walkable` returns the decision and the rule that made it for every
way; :func:`rule_lengths` tabulates how much length each rule adds to or
removes from pyrosm's ``walking`` filter.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from .tags import tag_table, tag_values

__all__ = ["RULES", "WALKING_RULES", "walkable", "pyrosm_walkable", "rule_lengths", "walking_tags"]

#: Highway values that are no way on the ground (or not one for people): never walkable.
NOT_A_WAY = {"abandoned", "construction", "no", "planned", "platform", "proposed", "raceway", "razed",
             "rest_area", "services", "bus_guideway"}
#: ``foot`` values that open a way to people on foot.
FOOT_OPEN = {"yes", "designated", "permissive", "destination"}
#: ``foot`` values that close it.
FOOT_CLOSED = {"no", "private", "use_sidepath"}
#: ``access`` values that close a way to everyone not allowed by a more specific tag.
ACCESS_CLOSED = {"no", "private"}
#: ``sidewalk`` values saying a sidewalk lies on the way itself.
SIDEWALK_ON = {"yes", "both", "left", "right"}
#: Highway values closed to people on foot unless a foot tag or a sidewalk opens them.
CLOSED_HIGHWAY = {"cycleway", "motorway", "motorway_link"}

#: The walking rules geoplan can read a network with: ``osm`` (the access rules above, the default)
#: or ``pyrosm`` (pyrosm's ``walking`` filter, as geoplan read networks before).
WALKING_RULES = ("osm", "pyrosm")

#: Rule names, in the order they are tried (the ``rule`` of :func:`walkable`).
RULES = ("not_a_way", "foot_open", "foot_closed", "access_closed", "sidewalk", "closed_highway",
         "sidewalk_separate", "highway")

#: Tags the rules read.
TAG_KEYS = ("highway", "area", "foot", "access", "service", "sidewalk", "sidewalk:both", "sidewalk:left",
            "sidewalk:right", "motorroad")


def walking_tags(ways: pd.DataFrame) -> pd.DataFrame:
    """The tags the walking rules read, one column each, from pyrosm's columns or its ``tags`` JSON.

    The ``tags`` column is parsed once (not once per key): fast on a district's 40,000 edges.
    """
    return pd.DataFrame(tag_table(ways, TAG_KEYS), index=ways.index)


def _any_of(values: pd.Series, allowed: set) -> np.ndarray:
    """Whether a tag value, or one of its ``;``-separated values, is in ``allowed``."""
    v = values.to_numpy(dtype=object)
    out = np.zeros(len(v), bool)
    for i, x in enumerate(v):
        if isinstance(x, str):
            x = x.strip().lower()
            out[i] = x in allowed or (";" in x and any(p.strip() in allowed for p in x.split(";")))
    return out


def walkable(ways: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which ways are open to people on foot, and the rule that decided.

    Parameters
    ----------
    ways : DataFrame
        Ways or edges as read by pyrosm (tag columns and/or a ``tags`` JSON column).

    Returns
    -------
    open : ndarray of bool
    rule : ndarray of str
        The deciding rule of every way (one of :data:`RULES`).
    """
    t = walking_tags(ways)
    n = len(t)
    hw = t["highway"].map(lambda x: x.strip().lower() if isinstance(x, str) else x)
    rule = np.full(n, "highway", dtype=object)
    is_open = np.ones(n, bool)
    decided = np.zeros(n, bool)

    def decide(mask: np.ndarray, name: str, value: bool) -> None:
        m = mask & ~decided
        rule[m] = name
        is_open[m] = value
        decided[m] = True

    decide(hw.isin(NOT_A_WAY).to_numpy() | hw.isna().to_numpy() | _any_of(t["area"], {"yes"}), "not_a_way", False)
    decide(_any_of(t["foot"], FOOT_OPEN), "foot_open", True)
    decide(_any_of(t["foot"], FOOT_CLOSED), "foot_closed", False)
    decide(_any_of(t["access"], ACCESS_CLOSED) | _any_of(t["service"], {"private"}), "access_closed", False)
    sidewalk = _any_of(t["sidewalk"], SIDEWALK_ON)
    for side in ("sidewalk:both", "sidewalk:left", "sidewalk:right"):
        sidewalk |= _any_of(t[side], {"yes"})
    decide(sidewalk, "sidewalk", True)
    decide(hw.isin(CLOSED_HIGHWAY).to_numpy() | _any_of(t["motorroad"], {"yes"}), "closed_highway", False)
    separate = _any_of(t["sidewalk"], {"separate"})
    for side in ("sidewalk:both", "sidewalk:left", "sidewalk:right"):
        separate |= _any_of(t[side], {"separate"})
    decide(separate, "sidewalk_separate", False)
    return is_open, rule


def pyrosm_walkable(ways: pd.DataFrame) -> np.ndarray:
    """Pyrosm's ``walking`` filter on the same ways (the reading geoplan used before), for comparison.

    Reads the filter from pyrosm itself (:func:`pyrosm.config.osm_filters.walking_filter`), so the
    comparison follows the installed pyrosm.
    """
    from pyrosm.config.osm_filters import walking_filter

    flt = walking_filter()
    keys = [k for k in flt if k != "access"]
    t = walking_tags(ways)
    extra = {}
    for k in keys:
        if k not in t.columns:
            extra[k] = tag_values(ways, k)
    keep = np.ones(len(ways), bool)
    for k in keys:
        col = t[k] if k in t.columns else extra[k]
        vals = flt[k]
        keep &= ~np.array([isinstance(x, str) and x in vals for x in col.to_numpy(dtype=object)], dtype=bool)
    rule = flt.get("access")
    if rule is not None:
        cols = {k: (t[k] if k in t.columns else tag_values(ways, k)) for k in rule.keys}
        recs = pd.DataFrame(cols).to_dict("records")
        keep &= ~np.array([rule.closes({k: v for k, v in r.items() if isinstance(v, str)}) for r in recs], dtype=bool)
    return keep


def rule_lengths(ways: pd.DataFrame, length: np.ndarray) -> pd.DataFrame:
    """How much length each walking rule adds to or removes from pyrosm's ``walking`` filter.

    Parameters
    ----------
    ways : DataFrame
        Every highway edge of an extract (pyrosm's ``all`` network).
    length : array of float
        Length of each edge in metres.

    Returns
    -------
    DataFrame
        One row per deciding rule: ``rule``, ``edges``, ``km_geoplan`` (open by the
        rules), ``km_pyrosm`` (kept by pyrosm's filter), ``km_added`` (open here, dropped
        by pyrosm), ``km_removed`` (kept by pyrosm, closed here); and a ``total`` row.
    """
    ok, rule = walkable(ways)
    py = pyrosm_walkable(ways)
    L = np.asarray(length, dtype=float) / 1000.0
    df = pd.DataFrame({"rule": rule, "edges": 1, "km_geoplan": L * ok, "km_pyrosm": L * py,
                       "km_added": L * (ok & ~py), "km_removed": L * (~ok & py)})
    g = df.groupby("rule", sort=False).sum().reindex([r for r in RULES if r in set(rule)]).reset_index()
    tot = g.drop(columns="rule").sum().to_frame().T
    tot.insert(0, "rule", "total")
    return pd.concat([g, tot], ignore_index=True)

"""What changes a home's walk to the nearest park, figure by figure: snapping, gate links, walls.

Four walks are measured for every residential cell (capped at
:data:`~geoplan.compounds.result.ADDED_WALK_CAP_M`):

* ``park_m_nearest``: homes and park entrances snapped to the nearest street of
  any piece of the network (the old rule, which strands homes on detached
  fragments of mapping);
* ``park_m_plain``: snapped to the main network (:func:`geoplan.network.main_pieces`),
  the audit's plain model;
* ``park_m_links``: the same on the compound network (paths joined through
  gates that stand off the mapped paths), ordinary snapping;
* ``park_m_compounds``: the compound model (homes leave through their gates).

and split into three figures that add up:

* **walk saved by better snapping** = ``park_m_nearest`` - ``park_m_plain``;
* **walk saved by gate links** = ``park_m_plain`` - ``park_m_links``;
* **walk added by walls** = ``park_m_compounds`` - ``park_m_links``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["WALK_COLUMNS", "walk_split", "walks_by_compound", "walks_by_unit"]

#: Per-cell columns of the split (metres).
WALK_COLUMNS = ("snapping_saved_m", "links_saved_m", "walls_added_m")

#: A change of a walk smaller than this (m) is no change.
CHANGE_M = 1.0


def walk_split(cells: pd.DataFrame) -> pd.DataFrame:
    """The three figures of every cell from its four walks.

    Parameters
    ----------
    cells : DataFrame
        ``park_m_nearest``, ``park_m_plain``, ``park_m_links``, ``park_m_compounds``.

    Returns
    -------
    DataFrame
        ``snapping_saved_m``, ``links_saved_m``, ``walls_added_m`` (same index).
    """
    return pd.DataFrame({"snapping_saved_m": cells["park_m_nearest"] - cells["park_m_plain"],
                         "links_saved_m": cells["park_m_plain"] - cells["park_m_links"],
                         "walls_added_m": cells["park_m_compounds"] - cells["park_m_links"]}, index=cells.index)


def _weighted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    w = df["residents"].to_numpy(float)
    cols = ["park_m_nearest", "park_m_plain", "park_m_links", "park_m_compounds", *WALK_COLUMNS]
    parts = {"residents": w}
    for c in cols:
        parts[f"_w_{c}"] = w * df[c].to_numpy(float)
    parts["residents_snapping_shorter"] = w * (df["snapping_saved_m"].to_numpy(float) > CHANGE_M)
    parts["residents_walls_longer"] = w * (df["walls_added_m"].to_numpy(float) > CHANGE_M)
    parts["residents_on_fragments"] = w * df["on_fragment"].to_numpy(bool)
    agg = pd.DataFrame(parts, index=df.index)
    for c in by:
        agg[c] = df[c].to_numpy()
    s = agg.groupby(by, sort=True).sum()
    W = s["residents"].where(s["residents"] > 0)
    out = pd.DataFrame({"residents": s["residents"]}, index=s.index)
    for c in cols:
        out[c] = s[f"_w_{c}"] / W
    out = out.rename(columns={"snapping_saved_m": "walk_saved_by_snapping_m", "links_saved_m": "walk_saved_by_gate_links_m",
                              "walls_added_m": "walk_added_by_walls_m", "park_m_plain": "park_m"})
    for c in ("residents_on_fragments", "residents_snapping_shorter", "residents_walls_longer"):
        out[c] = s[c]
    return out.reset_index()


def walks_by_compound(cells: pd.DataFrame) -> pd.DataFrame:
    """Per compound (homes inside it): resident-weighted mean walks and the three figures.

    Parameters
    ----------
    cells : DataFrame
        Per cell: ``in_compound``, ``residents``, ``on_fragment``, the four walks and
        :func:`walk_split`'s columns.

    Returns
    -------
    DataFrame
        ``compound_id``, ``residents``, ``park_m_nearest``, ``park_m``, ``park_m_links``,
        ``park_m_compounds``, ``walk_saved_by_snapping_m``, ``walk_saved_by_gate_links_m``,
        ``walk_added_by_walls_m``, ``residents_on_fragments``, ``residents_snapping_shorter``,
        ``residents_walls_longer``.
    """
    c = cells[cells["in_compound"] > 0].drop(columns=["compound_id"], errors="ignore").rename(columns={"in_compound": "compound_id"})
    return _weighted(c, ["compound_id"])


def walks_by_unit(cells: pd.DataFrame) -> pd.DataFrame:
    """Per unit (all its homes): the same as :func:`walks_by_compound`, plus ``residents_in_compounds``."""
    out = _weighted(cells, ["unit_id", "unit_name"])
    inside = cells.assign(_r=cells["residents"].to_numpy(float) * (cells["in_compound"].to_numpy() > 0))
    ins = inside.groupby(["unit_id", "unit_name"], sort=True)["_r"].sum().rename("residents_in_compounds").reset_index()
    out = out.merge(ins, on=["unit_id", "unit_name"], how="left")
    cols = list(out.columns)
    cols.insert(cols.index("residents") + 1, cols.pop(cols.index("residents_in_compounds")))
    return out[cols]

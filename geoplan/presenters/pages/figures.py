"""The park-coverage figures the pages share: both methods side by side, per unit, per target."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..html import Col, esc, fmt_int, fmt_pct, fmt_pp
from .context import PageContext

__all__ = ["coverage_cols", "method_pivot", "park_targets", "unit_table"]


def method_pivot(df: pd.DataFrame, methods: Sequence[str], keys: list[str]) -> pd.DataFrame:
    """One row per ``keys``, columns ``land_pct:<method>``, ``residents_pct:<method>`` and the differences."""
    d = df[df["tier"] == "all"]
    out = d.pivot_table(index=keys, columns="method", values=["land_pct", "residents_pct"], aggfunc="first")
    out.columns = [f"{v}:{m}" for v, m in out.columns]
    # pivot_table drops columns that are all NaN (no residents known): keep every method's column
    out = out.reindex(columns=[f"{v}:{m}" for v in ("land_pct", "residents_pct") for m in methods]).reset_index()
    base = d[d["method"] == methods[0]].set_index(keys)[["land_m2", "residents"]]
    out = out.merge(base.reset_index(), on=keys, how="left")
    if set(methods) == {"euclidean", "network"}:
        out["difference_land_pp"] = out["land_pct:euclidean"] - out["land_pct:network"]
        out["difference_residents_pp"] = out["residents_pct:euclidean"] - out["residents_pct:network"]
    return out


def coverage_cols(ctx: PageContext, first: list[Col], *, residents: bool = True, differences: bool = True) -> list[Col]:
    """Columns of a coverage table: land covered by each method (and the difference), then residents."""
    L = ctx.L
    methods = list(ctx.result.parks.methods)
    cols = list(first)
    for m in methods:
        cols.append(Col(f"land_pct:{m}", f"{L('land_pct')} · {L(m)}", fmt_pct))
    if differences and len(methods) == 2:
        cols.append(Col("difference_land_pp", L("difference_land_pp"), fmt_pp))
    if residents:
        for m in methods:
            cols.append(Col(f"residents_pct:{m}", f"{L('residents_pct')} · {L(m)}", fmt_pct))
        if differences and len(methods) == 2:
            cols.append(Col("difference_residents_pp", L("difference_residents_pp"), fmt_pp))
    return cols


def unit_table(ctx: PageContext) -> pd.DataFrame:
    """Per-unit coverage by both methods, their difference and the blind spots, in unit order."""
    cov = ctx.result.parks
    bu = cov.by_unit[cov.by_unit["scope"] == "all"]
    piv = method_pivot(bu, list(cov.methods), ["unit_id", "unit_name"])
    b = cov.blind_spots
    if len(b):
        b = b[b["method"] == ctx.default_method]
        agg = b.groupby("unit_id").agg(blind_spot_count=("rank", "size"), blind_spot_m2=("area_m2", "sum"),
                                       blind_spot_residents=("residents", "sum")).reset_index()
        piv = piv.merge(agg, on="unit_id", how="left")
    else:
        piv["blind_spot_count"] = 0
        piv["blind_spot_m2"] = 0.0
        piv["blind_spot_residents"] = 0.0
    for c in ("blind_spot_count", "blind_spot_m2", "blind_spot_residents"):
        piv[c] = piv[c].fillna(0)
    units = ctx.result.study.units[["unit_id", "unit_name"]]
    piv = units.merge(piv.drop(columns="unit_name"), on="unit_id", how="left")
    q = ctx.result.analyses.get("quality")
    if q is not None:  # the completeness grade of the data beside the unit's figures
        piv = piv.merge(q.grades(), on="unit_id", how="left")
    return piv


def park_targets(ctx: PageContext) -> list[dict]:
    """The park-coverage targets of the audit with their measured values."""
    return [t for t in (ctx.summary.get("targets") or []) if t.get("indicator") == "park_coverage"]


def localized(d: object, lang: str, default: str = "") -> str:
    """The ``lang`` entry of a ``{en: ..., zh: ...}`` mapping from a configuration (a plain string as it is)."""
    if isinstance(d, dict):
        return str(d.get(lang) or d.get("en") or default)
    return default if d is None else str(d)


def name_cell(v: object) -> str:
    """A name from the data, or a dash."""
    return "—" if v is None or (isinstance(v, float) and v != v) or str(v) == "" else esc(v)


__all__ += ["localized", "name_cell", "fmt_int"]

"""Fairness of access (均好度, distribution evenness): who is served well and who is left out.

Per resident (every residential cell or home carries its residents as a
weight) the analysis takes two access values:

* the walking distance to the nearest counted park (any tier; one kernel pass
  from all park access points, bounded at ``distance_cap_m``; residents
  beyond the cap are counted *at* the cap and reported as censored);
* the number of life-circle categories reached within the largest circle
  (15 minutes), when the life-circle analysis ran;

and reports, overall and per unit, with and without the compound model:

* the **Gini coefficient** and **Lorenz curve** of each value
  (resident-weighted; :func:`gini`, :func:`lorenz`);
* the **worst decile**: residents at or beyond the worst 10 % of the
  district (the longest walks, the fewest categories), their share in each
  unit and where they live (:func:`worst_decile`);
* the **population-weighted mean walking time** to the nearest facility of
  each category (parks included);
* a **ranking** of units from best to worst served (:func:`rank_units`).

The Gini coefficient is the area between the Lorenz curve and the diagonal,
doubled: with values sorted ascending, cumulative resident shares
:math:`p_i` and cumulative value shares :math:`L_i`,
:math:`G = 1 - \\sum_i (p_i - p_{i-1})(L_i + L_{i-1})`, which equals the
mean absolute difference over all pairs of residents divided by twice the
mean, :math:`\\sum_i\\sum_j w_i w_j |x_i - x_j| / (2 W^2 \\bar{x})`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "DEFAULTS",
    "FairnessResult",
    "fairness_for_audit",
    "gini",
    "inequality_table",
    "lorenz",
    "rank_units",
    "run_fairness",
    "weighted_mean",
    "weighted_quantile",
    "worst_decile",
]

#: Settings (a ``fairness:`` section of the user configuration overrides them).
DEFAULTS: dict[str, Any] = {
    "distance_cap_m": 3000.0,   # walks longer than this count as this long (censored)
    "worst_share": 0.10,        # the worst decile
    "lorenz_points": 101,       # points of the Lorenz curves in the tables
    "speed_kmh": None,          # default: the life-circle rules' speed, else 4.5 km/h
}


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


def weighted_quantile(values: Any, weights: Any, q: float) -> float:
    """The ``q`` quantile of ``values`` weighted by ``weights``: the smallest value with at least
    a share ``q`` of the weight at or below it (NaN with no weight)."""
    x, w = _prepare(values, weights)
    if len(x) == 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cw = np.cumsum(w)
    i = int(np.searchsorted(cw, q * cw[-1] * (1 - 1e-12), side="left"))
    return float(x[min(i, len(x) - 1)])


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


# ---------------------------------------------------------------------------
# the analysis of an audit
# ---------------------------------------------------------------------------
@dataclass
class FairnessResult:
    """Fairness of park and life-circle access, overall and per unit, with and without compounds.

    Attributes
    ----------
    settings : dict
    models : list of str
        ``plain`` and, when the compound analysis ran, ``compounds``.
    inequality : DataFrame
        :func:`inequality_table` rows per ``model``, ``measure`` (``park_distance_m``,
        ``categories_15min``) and unit (``unit_id`` = ``all`` for the whole area).
    lorenz : DataFrame
        ``model``, ``measure``, ``unit`` (a unit id, or ``all``), ``unit_name``, ``pop_share``, ``value_share``.
    mean_time : DataFrame
        Resident-weighted mean walking time (minutes) and distance to the nearest
        facility of each life-circle category, and to the nearest park counted by the
        park-coverage rule (``counted_park``, from the residential cells), per model and
        unit; share of residents beyond the cap.
    ranking : DataFrame
        Units from best to worst served (均好度), per model.
    origins : GeoDataFrame
        Per origin (cells for parks, life-circle origins for categories): values and
        worst-decile flags, for the map and the GeoPackage.
    """

    settings: dict
    models: list
    inequality: pd.DataFrame
    lorenz: pd.DataFrame
    mean_time: pd.DataFrame
    ranking: pd.DataFrame
    origins: gpd.GeoDataFrame
    units: gpd.GeoDataFrame | None = None
    notes: list = field(default_factory=list)

    def gini(self, measure: str = "park_distance_m", model: str = "plain", unit: Any = "all") -> float:
        """One Gini coefficient."""
        t = self.inequality
        r = t[(t["model"] == model) & (t["measure"] == measure) & (t["unit_id"].astype(str) == str(unit))]
        return float(r["gini"].iloc[0]) if len(r) else float("nan")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV and XLSX."""
        return {"fairness_inequality": self.inequality, "fairness_ranking": self.ranking,
                "fairness_mean_time": self.mean_time, "fairness_lorenz": self.lorenz}

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Layers for the GeoPackage."""
        out = {"fairness_origins": _finite(self.origins)}
        if self.units is not None:
            out["fairness_units"] = _finite(self.units)
        return out

    def summary(self) -> dict:
        """Headline figures (``summary.json`` under ``fairness``)."""
        def num(x: Any) -> Any:
            x = float(x)
            return None if math.isnan(x) or math.isinf(x) else round(x, 4)

        t = self.inequality[self.inequality["unit_id"].astype(str) == "all"]
        out: dict = {"distance_cap_m": self.settings["distance_cap_m"], "worst_share": self.settings["worst_share"],
                     "models": list(self.models), "notes": list(self.notes)}
        for _, r in t.iterrows():
            out.setdefault(r["model"], {})[r["measure"]] = {
                "gini": num(r["gini"]), "mean": num(r["mean"]), "median": num(r["median"]), "p90": num(r["p90"]),
                "worst_threshold": num(r["worst_threshold"]), "censored_pct": num(r["censored_pct"])}
        m = self.mean_time[self.mean_time["unit_id"].astype(str) == "all"]
        for _, r in m.iterrows():
            out.setdefault(r["model"], {}).setdefault("mean_minutes", {})[r["category"]] = num(r["mean_min"])
        rk = self.ranking
        for model in self.models:
            r = rk[rk["model"] == model]
            if len(r):
                out.setdefault(model, {})["best_unit"] = str(r.iloc[0]["unit_name"])
                out[model]["worst_unit"] = str(r.iloc[-1]["unit_name"])
        return out

    def headline(self, lang: str = "en") -> str:
        """One line for the command line."""
        g = self.gini("park_distance_m", self.models[-1])
        worst = self.ranking[self.ranking["model"] == self.models[-1]]
        name = str(worst.iloc[-1]["unit_name"]) if len(worst) else "—"
        if lang == "zh":
            return f"均好度：公园步行距离基尼系数 {g:.3f}；服务最差的单元：{name}"
        return f"Fairness: Gini of the walk to the nearest park {g:.3f}; worst-served unit: {name}"

    def map_layers(self, lang: str = "en") -> list:
        """Worst-decile homes and the ranking choropleth."""
        from .maps.layers import MapLayer

        zh = lang == "zh"
        layers = []
        if self.units is not None and len(self.units):
            u = self.units.copy()
            u["score"] = u["score"].round(1)
            layers.append(MapLayer(u, "均好度排名（得分）" if zh else "Evenness ranking (score)", kind="polygon", column="score",
                                   cmap="RdYlGn", bins=[0, 20, 40, 60, 80, 100.0001], value_format="{:.0f}",
                                   fill_opacity=0.3, color="#444444",
                                   tooltip=[("rank", "排名" if zh else "Rank"), ("unit_name", "单元" if zh else "Unit"),
                                            ("score", "得分" if zh else "Score")]))
        o = self.origins
        model = self.models[-1]
        col = f"worst_park:{model}"
        flag = o[col].fillna(False).astype(bool).to_numpy() if col in o.columns else np.zeros(len(o), bool)
        flag = flag & (o["origin"] == "cell").to_numpy()
        if flag.any():
            w = o[flag][["unit_name", "residents", f"park_distance_m:{model}", "geometry"]].rename(
                columns={f"park_distance_m:{model}": "distance_m"})
            w = w.dissolve(by="unit_name", aggfunc={"residents": "sum", "distance_m": "mean"}).reset_index()
            w["distance_m"] = w["distance_m"].round(0)
            w["residents"] = w["residents"].round(0)
            layers.append(MapLayer(gpd.GeoDataFrame(w, geometry="geometry", crs=o.crs),
                                   "最差10%居民（公园步行距离）" if zh else "Worst-served 10 % (walk to a park)",
                                   kind="polygon", color="#7f0000", fill_color="#d7301f", fill_opacity=0.75, weight=1,
                                   tooltip=[("unit_name", "单元" if zh else "Unit"),
                                            ("distance_m", "平均距离（米）" if zh else "Mean distance (m)"),
                                            ("residents", "居民" if zh else "Residents")]))
        return layers

    def report_figures(self, folder: str | Path, lang: str = "en") -> list[tuple[str, str]]:
        """Write the ranking chart and the Lorenz curves as PNG into ``folder``/maps.

        Returns
        -------
        list of (title, path relative to ``folder``)
        """
        folder = Path(folder)
        (folder / "maps").mkdir(parents=True, exist_ok=True)
        out = []
        p = folder / "maps" / "fairness_ranking.png"
        ranking_chart(self.ranking[self.ranking["model"] == self.models[-1]], p, lang)
        out.append(("均好度：单元由优到差" if lang == "zh" else "Evenness: units from best to worst served", "maps/fairness_ranking.png"))
        p = folder / "maps" / "fairness_lorenz.png"
        lorenz_chart(self.lorenz, p, lang)
        out.append(("洛伦兹曲线" if lang == "zh" else "Lorenz curves", "maps/fairness_lorenz.png"))
        return out


def _finite(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if c != "geometry" and pd.api.types.is_float_dtype(out[c]):
            v = out[c].to_numpy()
            if np.isinf(v).any():
                out[c] = np.where(np.isinf(v), np.nan, v)
    return out


def ranking_chart(ranking: pd.DataFrame, path: str | Path, lang: str = "en") -> Path:
    """Horizontal bar chart of the unit scores, best at the top (PNG)."""
    import matplotlib
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    r = ranking.sort_values("rank")
    with matplotlib.rc_context(_font_rc()):
        fig = Figure(figsize=(7, max(2.5, 0.32 * len(r) + 1)))
        ax = fig.subplots()
        score = r["score"].fillna(0).to_numpy(float)
        ax.barh(np.arange(len(r))[::-1], score, color=colormaps["RdYlGn"](np.clip(score / 100.0, 0, 1)),
                edgecolor="#444444", linewidth=0.4)
        ax.set_yticks(np.arange(len(r))[::-1])
        ax.set_yticklabels([f"{int(k)}. {n}" for k, n in zip(r["rank"], r["unit_name"])], fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("得分（0–100，越高越好）" if lang == "zh" else "Score (0–100, higher is better)")
        ax.set_title("均好度：单元由优到差" if lang == "zh" else "Units from best to worst served")
        fig.tight_layout()
        fig.savefig(path, dpi=150)
    return Path(path)


def lorenz_chart(curves: pd.DataFrame, path: str | Path, lang: str = "en") -> Path:
    """Lorenz curves of the whole area, one line per model and measure (PNG)."""
    import matplotlib
    from matplotlib.figure import Figure

    c = curves[curves["unit"].astype(str) == "all"]
    with matplotlib.rc_context(_font_rc()):
        fig = Figure(figsize=(5.5, 5.5))
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
        for (model, measure), g in c.groupby(["model", "measure"], sort=True):
            ax.plot(g["pop_share"], g["value_share"], lw=1.5, label=f"{measure} ({model})")
        ax.set_xlabel("居民累计比例" if lang == "zh" else "Cumulative share of residents")
        ax.set_ylabel("累计比例" if lang == "zh" else "Cumulative share of the value")
        ax.legend(fontsize=7)
        ax.set_aspect("equal")
        fig.tight_layout()
        fig.savefig(path, dpi=150)
    return Path(path)


def _font_rc() -> dict:
    try:
        from .maps.static import find_cjk_font

        font = find_cjk_font()
    except Exception:  # noqa: BLE001 - the print-map module is optional here
        font = None
    return {"font.family": ([font] if font else []) + ["DejaVu Sans"]}


def _settings(extra: Mapping | None) -> dict:
    out = dict(DEFAULTS)
    for k, v in (extra or {}).items():
        if k not in DEFAULTS:
            from .errors import UsageError

            raise UsageError(f"unknown fairness setting {k!r}.", hint=f"Known settings: {', '.join(DEFAULTS)}.")
        out[k] = v
    return out


def park_distances(network: Any, parks: pd.DataFrame, access: gpd.GeoDataFrame, points_snapped: Any,
                   cap: float) -> np.ndarray:
    """Walking distance from every point to the nearest counted park (any tier), bounded at ``cap``.

    One kernel pass from the access points of all counted parks; points beyond
    ``cap`` get ``cap``.
    """
    from .network import Sources, multi_source, point_distances

    counted = parks[parks["tier"].notna()]
    a = access[access["park_id"].isin(counted["park_id"])]
    if len(a) == 0 or len(points_snapped) == 0:
        return np.full(len(points_snapped), float(cap))
    reach = multi_source(network, Sources.on_edges(network.snap(a.geometry.values), a["park_id"].to_numpy()), cap)
    d, _ = point_distances(network, reach, points_snapped)
    return np.minimum(np.where(np.isfinite(d), d, cap), cap)


def category_distances_capped(network: Any, facilities: pd.DataFrame, points_snapped: Any, categories: list[str],
                              cap: float) -> dict[str, np.ndarray]:
    """Per category, the walking distance from every point to its nearest facility, bounded at ``cap``."""
    from .network import Snapped, Sources, multi_source, point_distances

    out = {}
    for c in categories:
        f = facilities[facilities["category"] == c] if len(facilities) else facilities
        if len(f) == 0:
            out[c] = np.full(len(points_snapped), float(cap))
            continue
        s = Snapped(f["snap_edge"].to_numpy(np.int64), f["snap_along"].to_numpy(float), f["snap_m"].to_numpy(float))
        reach = multi_source(network, Sources.on_edges(s, pd.factorize(f["fac_id"])[0]), cap)
        d, _ = point_distances(network, reach, points_snapped)
        out[c] = np.minimum(np.where(np.isfinite(d), d, cap), cap)
    return out


def run_fairness(result: Any, settings: Mapping | None = None) -> FairnessResult:
    """Fairness of access in an audit (with and without the compound model when it ran).

    Parameters
    ----------
    result : AuditResult
        With park coverage by the network method; the ``lifecircle`` and
        ``compounds`` analyses are used when present in ``result.analyses``.
    settings : mapping, optional
        Default ``result.config.extra["fairness"]`` over :data:`DEFAULTS`.

    Returns
    -------
    FairnessResult
    """
    s = _settings(settings if settings is not None else result.config.extra.get("fairness"))
    cap = float(s["distance_cap_m"])
    share = float(s["worst_share"])
    st = result.study
    cov = result.parks
    lc = result.analyses.get("lifecircle")
    comp = result.analyses.get("compounds")
    notes = []
    import shapely

    cells = cov.cells
    pts = shapely.point_on_surface(cells.geometry.values)
    models: dict[str, dict] = {}
    plain_cells = getattr(comp, "plain_cell_snap", None) if comp is not None else None
    models["plain"] = {"network": st.network, "cell_snap": plain_cells if plain_cells is not None else st.network.snap(pts),
                       "facilities": None, "origin_snap": getattr(comp, "plain_origin_snap", None) if comp is not None else None}
    if comp is not None and getattr(comp, "cnet", None) is not None:
        models["compounds"] = {"network": comp.cnet.network, "cell_snap": comp.cell_snap.snapped,
                               "facilities": getattr(comp, "lc_facilities", None), "origin_snap": getattr(comp, "lc_origin_snap", None)}
    access = cov.access
    if "network" not in cov.methods or len(access) == 0 or "park_id" not in access.columns:
        from .parks import access_points

        counted = cov.parks[cov.parks["tier"].notna()]
        access = access_points(counted, st.network, st.entrances, **dict(result.config.parks.get("access_points", {})))
    speed = float(s["speed_kmh"] or (lc.rules.speed.speed_kmh if lc is not None else 4.5))
    m_per_min = speed * 1000.0 / 60.0
    origins = gpd.GeoDataFrame(cells[["cell_id", "unit_id", "unit_name", "residents"]].copy(), geometry=cells.geometry.values,
                               crs=cells.crs)
    origins.insert(0, "origin", "cell")
    ineq, curves, mt = [], [], []
    by = ["unit_id", "unit_name"]
    lc_orig = None
    lc_points = None
    if lc is not None:
        lc_orig = lc.origins
        top = lc.rules.levels[-1]
        cats = lc.rules.category_ids
    for name, m in models.items():
        d = park_distances(m["network"], cov.parks, access, m["cell_snap"], cap)
        origins[f"park_distance_m:{name}"] = d
        df = pd.DataFrame({"v": d, "residents": cells["residents"].to_numpy(float), "unit_id": cells["unit_id"].to_numpy(),
                           "unit_name": cells["unit_name"].to_numpy()})
        t = inequality_table(df, "v", by=by, higher_is_worse=True, share=share, cap=cap)
        t.insert(0, "model", name)
        t.insert(1, "measure", "park_distance_m")
        ineq.append(t)
        mask, _ = worst_decile(d, df["residents"].to_numpy(), higher_is_worse=True, share=share)
        origins[f"worst_park:{name}"] = mask
        curves.append(_curves(df, "v", name, "park_distance_m", by, int(s["lorenz_points"])))
        mt.append(_mean_time(df.assign(category="counted_park"), "v", name, by, m_per_min, cap))
        if lc_orig is not None:
            fac = lc.facilities if m["facilities"] is None else m["facilities"]
            osnap = m["origin_snap"]
            if osnap is None:
                osnap = m["network"].snap(lc_orig.geometry.values)
            dd = category_distances_capped(m["network"], fac, osnap, cats, cap)
            n15 = np.zeros(len(lc_orig), dtype=float)
            for c in cats:
                n15 += dd[c] <= top.distance_m
            w = lc_orig["residents"].to_numpy(float)
            odf = pd.DataFrame({"v": n15, "residents": w, "unit_id": lc_orig["unit_id"].to_numpy(),
                                "unit_name": lc_orig["unit_name"].to_numpy()})
            t = inequality_table(odf, "v", by=by, higher_is_worse=False, share=share)
            t.insert(0, "model", name)
            t.insert(1, "measure", f"categories_{top.id}")
            ineq.append(t)
            curves.append(_curves(odf, "v", name, f"categories_{top.id}", by, int(s["lorenz_points"])))
            for c in cats:
                mt.append(_mean_time(odf.assign(v=dd[c], category=c), "v", name, by, m_per_min, cap))
            if lc_points is None:
                lc_points = gpd.GeoDataFrame({"origin": "home", "cell_id": -1, "unit_id": lc_orig["unit_id"].to_numpy(),
                                              "unit_name": lc_orig["unit_name"].to_numpy(), "residents": w},
                                             geometry=lc_orig.geometry.values, crs=lc_orig.crs)
            lc_points[f"categories_{top.id}:{name}"] = n15
            mask, _ = worst_decile(n15, w, higher_is_worse=False, share=share)
            lc_points[f"worst_categories:{name}"] = mask
    if lc_points is not None:
        origins = gpd.GeoDataFrame(pd.concat([origins, lc_points], ignore_index=True), geometry="geometry", crs=cells.crs)
        for c in origins.columns:
            if c.startswith("worst_"):
                origins[c] = origins[c].fillna(False).astype(bool)
    inequality = pd.concat(ineq, ignore_index=True)
    mean_time = pd.concat(mt, ignore_index=True)
    lor = pd.concat(curves, ignore_index=True)
    ranking = _ranking(result, inequality, list(models), lc, comp)
    units = None
    if len(ranking):
        last = ranking[ranking["model"] == list(models)[-1]]
        units = st.units[["unit_id", "geometry"]].merge(last.drop(columns=["model"]), on="unit_id", how="inner")
        units = gpd.GeoDataFrame(units, geometry="geometry", crs=st.crs)
    if comp is None:
        notes.append("compound model not run: figures use ordinary snapping only")
    notes.append(f"walks longer than {cap:g} m count as {cap:g} m (censored); speed {speed:g} km/h")
    return FairnessResult(s, list(models), inequality, lor, mean_time, ranking, origins, units, notes)


def _curves(df: pd.DataFrame, col: str, model: str, measure: str, by: list[str], points: int) -> pd.DataFrame:
    # the unit key is ``unit`` (not ``unit_id``): 101 points per curve are for charts and files, not unit pages
    parts = []
    c = lorenz(df[col], df["residents"], points)
    parts.append(c.assign(model=model, measure=measure, unit="all", unit_name="all"))
    for (uid, uname), g in df.groupby(by, sort=True):
        c = lorenz(g[col], g["residents"], points)
        parts.append(c.assign(model=model, measure=measure, unit=uid, unit_name=uname))
    out = pd.concat(parts, ignore_index=True)
    return out[["model", "measure", "unit", "unit_name", "pop_share", "value_share"]]


def _mean_time(df: pd.DataFrame, col: str, model: str, by: list[str], m_per_min: float, cap: float) -> pd.DataFrame:
    rows = []
    cat = df["category"].iloc[0] if len(df) else ""
    for key, g in [(("all", "all"), df), *[(k, g) for k, g in df.groupby(by, sort=True)]]:
        v, w = g[col].to_numpy(float), g["residents"].to_numpy(float)
        mean = weighted_mean(v, w)
        rows.append({"model": model, "category": cat, "unit_id": key[0], "unit_name": key[1], "residents": float(w.sum()),
                     "mean_m": mean, "mean_min": mean / m_per_min,
                     "beyond_cap_pct": 100.0 * float(w[v >= cap - 1e-9].sum()) / w.sum() if w.sum() > 0 else float("nan")})
    return pd.DataFrame(rows)


def _ranking(result: Any, inequality: pd.DataFrame, models: list[str], lc: Any, comp: Any) -> pd.DataFrame:
    """Per model: unit scores (park residents covered %, life-circle score %) and the rank."""
    out = []
    cov = result.parks
    for model in models:
        if model == "plain":
            bu = cov.by_unit
            bu = bu[(bu["method"] == "network") & (bu["scope"] == "all") & (bu["tier"] == "all")] if "network" in cov.methods else \
                bu[(bu["method"] == "euclidean") & (bu["scope"] == "all") & (bu["tier"] == "all")]
            u = bu[["unit_id", "unit_name", "residents", "residents_pct"]].rename(columns={"residents_pct": "park_residents_pct"})
        else:
            bu = comp.coverage.by_unit
            bu = bu[(bu["scope"] == "all") & (bu["tier"] == "all")]
            u = bu[["unit_id", "unit_name", "residents", "residents_pct"]].rename(columns={"residents_pct": "park_residents_pct"})
        scores = ["park_residents_pct"]
        if lc is not None:
            top = lc.rules.levels[-1].id
            if model == "plain":
                lu = lc.by_unit[["unit_id", f"score_{top}_pct", f"complete_{top}_pct"]]
            else:
                lu = comp.lc_by_unit[["unit_id", f"score_{top}_pct", f"complete_{top}_pct"]] if getattr(comp, "lc_by_unit", None) is not None \
                    else lc.by_unit[["unit_id", f"score_{top}_pct", f"complete_{top}_pct"]]
            u = u.merge(lu.rename(columns={f"score_{top}_pct": "lifecircle_score_pct",
                                           f"complete_{top}_pct": "lifecircle_complete_pct"}), on="unit_id", how="left")
            scores.append("lifecircle_score_pct")
        iq = inequality[(inequality["model"] == model) & (inequality["measure"] == "park_distance_m")
                        & (inequality["unit_id"].astype(str) != "all")]
        iq = iq.assign(unit_id=iq["unit_id"].astype(u["unit_id"].dtype))
        u = u.merge(iq[["unit_id", "mean", "gini", "worst_pct"]].rename(
            columns={"mean": "park_mean_m", "gini": "park_gini", "worst_pct": "park_worst_pct"}), on="unit_id", how="left")
        u = u[u["residents"] > 0] if (u["residents"] > 0).any() else u
        r = rank_units(u, scores, tie_col="park_mean_m")
        r.insert(0, "model", model)
        out.append(r)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def fairness_for_audit(result: Any) -> FairnessResult:
    """The function registered as the ``fairness`` analysis."""
    return run_fairness(result)


from . import compounds as _compounds  # noqa: F401  (registered, and so run, before fairness)
from .registry import register

register("fairness", fairness_for_audit)

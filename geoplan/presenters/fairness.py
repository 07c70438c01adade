"""How the fairness result is shown: worst-served homes and the ranking on the map, the ranking chart
and the Lorenz curves, the headline.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from ..fairness.result import FairnessResult
from ..i18n import text
from ..maps.layers import MapLayer
from ..maps.palettes import SCORE_5
from ..maps.static import find_cjk_font

#: Resolution of the charts (print quality, as the maps).
PRINT_DPI = 300

__all__ = ["figures", "headline", "lorenz_chart", "map_layers", "ranking_chart"]


def headline(res: FairnessResult, lang: str = "en") -> str:
    """One line for the command line."""
    g = res.gini("park_distance_m", res.models[-1])
    worst = res.ranking[res.ranking["model"] == res.models[-1]]
    name = str(worst.iloc[-1]["unit_name"]) if len(worst) else "—"
    why = (getattr(res, "undefined", None) or {}).get("park_distance_m")
    if why:  # no park, or no residents: the Gini is undefined, not 0 (perfect equality)
        return text("fairness.headline_undefined", lang, reason=text(f"fairness.undefined_{why}", lang), unit=name)
    return text("fairness.headline", lang, gini=g, unit=name)


def map_layers(res: FairnessResult, lang: str = "en") -> list:
    """Worst-decile homes and the ranking choropleth."""
    layers = []
    if res.units is not None and len(res.units):
        u = res.units.copy()
        u["score"] = u["score"].round(1)
        layers.append(MapLayer(u, text("fairness.ranking_layer", lang), kind="polygon", column="score",
                               class_colors=SCORE_5, bins=[0, 20, 40, 60, 80, 100.0001], value_format="{:.0f}",
                               fill_opacity=0.6, color="#444444", label_field="unit_name", key="fairness_units",
                               tooltip=[("rank", text("fairness.rank", lang)), ("unit_name", text("fairness.unit", lang)),
                                        ("score", text("fairness.score", lang))]))
    o = res.origins
    model = res.models[-1]
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
                               text("fairness.worst_served", lang),
                               kind="polygon", color="#7f0000", fill_color="#d7301f", fill_opacity=0.75, weight=1,
                               tooltip=[("unit_name", text("fairness.unit", lang)),
                                        ("distance_m", text("fairness.mean_distance_m", lang)),
                                        ("residents", text("fairness.residents", lang))]))
    return layers

def figures(res: FairnessResult, folder: str | Path, lang: str = "en") -> list[tuple[str, str]]:
    """Write the ranking chart and the Lorenz curves as PNG into ``folder``/maps.

    Returns
    -------
    list of (title, path relative to ``folder``)
    """
    folder = Path(folder)
    (folder / "maps").mkdir(parents=True, exist_ok=True)
    out = []
    p = folder / "maps" / "fairness_ranking.png"
    ranking_chart(res.ranking[res.ranking["model"] == res.models[-1]], p, lang)
    out.append((text("fairness.ranking_figure", lang), "maps/fairness_ranking.png"))
    p = folder / "maps" / "fairness_lorenz.png"
    lorenz_chart(res.lorenz, p, lang)
    out.append((text("fairness.lorenz_curves", lang), "maps/fairness_lorenz.png"))
    return out


def ranking_chart(ranking: pd.DataFrame, path: str | Path, lang: str = "en") -> Path:
    """Horizontal bar chart of the unit scores, best at the top (PNG)."""
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
        ax.set_xlabel(text("fairness.score_axis", lang))
        ax.set_title(text("fairness.ranking_title", lang))
        fig.tight_layout()
        fig.savefig(path, dpi=PRINT_DPI)
    return Path(path)


def lorenz_chart(curves: pd.DataFrame, path: str | Path, lang: str = "en") -> Path:
    """Lorenz curves of the whole area, one line per model and measure (PNG)."""
    c = curves[curves["unit"].astype(str) == "all"]
    with matplotlib.rc_context(_font_rc()):
        fig = Figure(figsize=(5.5, 5.5))
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
        for (model, measure), g in c.groupby(["model", "measure"], sort=True):
            ax.plot(g["pop_share"], g["value_share"], lw=1.5, label=f"{measure} ({model})")
        ax.set_xlabel(text("fairness.cumulative_share_of_residents", lang))
        ax.set_ylabel(text("fairness.cumulative_share_of_the_value", lang))
        ax.legend(fontsize=7)
        ax.set_aspect("equal")
        fig.tight_layout()
        fig.savefig(path, dpi=PRINT_DPI)
    return Path(path)


def _font_rc() -> dict:
    try:
        font = find_cjk_font()
    except Exception:  # noqa: BLE001 - no CJK font: labels in the default font
        font = None
    return {"font.family": ([font] if font else []) + ["DejaVu Sans"]}

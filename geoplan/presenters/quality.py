"""How the trust analysis is shown: the map of completeness grades, the headline, a tornado chart per figure.

One tornado chart per headline figure shows how far each choice moves it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..i18n import text
from ..maps.layers import MapLayer
from ..quality.result import QualityResult
from ..maps.static import find_cjk_font

__all__ = ["GRADE_COLORS", "figure_label", "figures", "headline", "map_layers", "option_label", "tornado_bars", "tornado_chart"]

#: Colour of each completeness grade.
GRADE_COLORS = {"A": "#1a9850", "B": "#91cf60", "C": "#fc8d59", "D": "#d73027"}


def _font_rc() -> dict:
    try:
        font = find_cjk_font()
    except Exception:  # noqa: BLE001 - no CJK font: labels in the default font
        font = None
    return {"font.family": ([font] if font else []) + ["DejaVu Sans"]}


def _pct(v: float) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.1f}"


def headline(res: QualityResult, lang: str = "en") -> str:
    """Grades per letter and, per headline figure, its range and the choice that moves it most."""
    c = res.completeness
    counts = {k: int((c["grade"] == k).sum()) for k in ("A", "B", "C", "D")}
    lines = [text("quality.headline_grades", lang, n=len(c), **counts)]
    s = res.sensitivity
    if s is not None:
        for _, r in s.ranges.iterrows():
            moving = r["most_moving"]  # NaN when no choice moves the figure
            choice = text(f"quality.choice_{moving}", lang) if isinstance(moving, str) and moving else "—"
            lines.append(text("quality.headline_range", lang, figure=figure_label(r["figure"], lang), base=_pct(r["base"]),
                              low=_pct(r["min"]), high=_pct(r["max"]), choice=choice))
        lines.append(text("quality.headline_time", lang, seconds=s.seconds, passes=s.passes))
    return "\n".join(lines)


def figure_label(key: str, lang: str = "en") -> str:
    """``all:network:land`` -> "Land covered · walking network" (scope added when not ``all``)."""
    scope, method, measure = key.split(":")
    out = f"{text(f'quality.measure_{measure}', lang)} · {text(f'quality.method_{method}', lang)}"
    return out if scope == "all" else f"{out} ({text(f'quality.scope_{scope}', lang)})"


def map_layers(res: QualityResult, lang: str = "en") -> list:
    """The units coloured by their completeness grade (tooltip: every measure)."""
    u = res.units.copy()
    if not len(u):
        return []
    tip = [("unit_name", text("quality.unit", lang)), ("grade", text("quality.grade", lang)),
           ("weakest", text("quality.weakest", lang))]
    for m in ("residential_near_ways", "footway_share", "landuse_mapped", "facilities", "park_register"):
        if m in u.columns:
            u[m] = (100 * u[m].astype(float)).round(1)
            tip.append((m, text(f"quality.measure_short_{m}", lang)))
    u["weakest"] = [text(f"quality.measure_short_{m}", lang) if isinstance(m, str) else "—" for m in u["weakest"]]
    return [MapLayer(u, text("quality.grade_layer", lang), kind="polygon", column="grade", categories=GRADE_COLORS,
                     category_labels={k: text("quality.grade_legend", lang, grade=k) for k in GRADE_COLORS},
                     fill_opacity=0.45, color="#444444", weight=1, show=False, tooltip=tip, key="quality_grades")]


def figures(res: QualityResult, folder: str | Path, lang: str = "en") -> list[tuple[str, str]]:
    """One tornado chart per headline figure, as PNG in ``folder``/maps."""
    s = res.sensitivity
    if s is None or not len(s.ranges):
        return []
    folder = Path(folder)
    (folder / "maps").mkdir(parents=True, exist_ok=True)
    out = []
    for key in s.ranges["figure"]:
        name = "quality_tornado_" + key.replace(":", "_") + ".png"
        tornado_chart(s.options[s.options["figure"] == key], folder / "maps" / name, lang, title=figure_label(key, lang))
        out.append((text("quality.tornado_title", lang, figure=figure_label(key, lang)), f"maps/{name}"))
    return out


def tornado_bars(options: pd.DataFrame) -> pd.DataFrame:
    """Per choice: the lowest and highest value over its options, sorted by swing (largest first)."""
    o = options[options["value"].notna()]
    rows = []
    for choice, g in o.groupby("choice", sort=False):
        lo = g.loc[g["value"].idxmin()]
        hi = g.loc[g["value"].idxmax()]
        rows.append({"choice": choice, "low": float(lo["value"]), "high": float(hi["value"]), "low_option": lo["option"],
                     "high_option": hi["option"], "swing": float(hi["value"] - lo["value"])})
    return pd.DataFrame(rows, columns=["choice", "low", "high", "low_option", "high_option", "swing"]) \
        .sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def option_label(option: str, lang: str = "en") -> str:
    """Human name of an option (a snap limit in metres, or a named option)."""
    try:
        return text("quality.option_snap", lang, m=float(option))
    except ValueError:
        return text(f"quality.option_{option}", lang)


def tornado_chart(options: pd.DataFrame, path: str | Path, lang: str = "en", title: str = "") -> Path:
    """Horizontal bars from each choice's lowest to highest value around the base value (PNG).

    A choice whose other options could not be computed on the data is drawn without a bar and
    marked "not applicable".
    """
    bars = tornado_bars(options)
    base = float(options["base"].iloc[0]) if len(options) else float("nan")
    computed = options[options["value"].notna() & ~options["is_base"].astype(bool)].groupby("choice").size()
    with matplotlib.rc_context(_font_rc()):
        fig = Figure(figsize=(7.5, max(2.2, 0.5 * len(bars) + 1.2)))
        ax = fig.subplots()
        lo = min([base, *bars["low"]]) if len(bars) else 0
        hi = max([base, *bars["high"]]) if len(bars) else 100
        pad = max(5.0, 0.3 * (hi - lo))
        x0, x1 = max(0.0, lo - pad), min(100.0, hi + pad)
        y = np.arange(len(bars))[::-1]
        for yi, (_, b) in zip(y, bars.iterrows()):
            if computed.get(b["choice"], 0) == 0:
                ax.text(base, yi, " " + text("quality.not_applicable", lang), va="center", ha="left", fontsize=7, color="#666666")
                continue
            ax.barh(yi, base - b["low"], left=b["low"], color="#d73027", height=0.6)
            ax.barh(yi, b["high"] - base, left=base, color="#1a9850", height=0.6)
            low_txt = f"{option_label(b['low_option'], lang)} {b['low']:.1f}"
            if b["low"] - x0 < 0.25 * (x1 - x0):  # no room left of the bar: inside it
                ax.text(b["low"], yi, " " + low_txt, va="center", ha="left", fontsize=7, color="white")
            else:
                ax.text(b["low"], yi, low_txt + " ", va="center", ha="right", fontsize=7)
            ax.text(b["high"], yi, f" {b['high']:.1f} {option_label(b['high_option'], lang)}", va="center", ha="left",
                    fontsize=7)
        ax.axvline(base, color="#222222", lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels([text(f"quality.choice_{c}", lang) for c in bars["choice"]], fontsize=8)
        ax.set_xlim(x0, x1)
        ax.set_ylim(-0.6, len(bars) - 0.4)
        ax.set_xlabel(text("quality.tornado_axis", lang, base=base))
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(path, dpi=300)  # print quality, as every PNG in maps/ (#16)
    return Path(path)

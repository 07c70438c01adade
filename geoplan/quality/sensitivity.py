"""The range a headline coverage figure takes over the choices that move it.

The headline figures (residential land and residents covered, by straight
line and by walking, per scope) are recomputed on the audit's loaded study
and residential cells, one choice at a time (the tornado) and with every
choice at the end that lowers, then raises, each figure (the joint range):

``park_definition``
    ``parks_only`` (features whose class is a park), ``audit`` (the audit's
    parks), ``wider`` (plus playgrounds, recreation grounds, village greens).
``access_rule``
    ``gates`` (mapped gates and entrances only), ``ladder`` (gates, else
    crossings, else virtual points: the audit's), ``virtual`` (virtual points
    every 100 m along every park without gates).  Walking method only.
``snap_limit_m``
    homes and access points farther than this from the network do not count
    (``none``: any distance, walked: the audit's).  Walking method only.
``walking_speed``
    only where the rule is stated in minutes (a tier's ``minutes``): the radius
    at the elderly and adult speeds; ``rule``: the rule's own radius.
``residential``
    ``mapped`` land only (residents re-spread over it) or ``both`` (mapped +
    inferred), when the audit inferred residential land.

Every recomputation reuses the kernel: one :func:`~geoplan.network.multi_source`
pass per tier and variant, the cells snapped once; straight-line zones are
recomputed only when the parks or radii change.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import Rules
from ..network import Snapped, Sources, multi_source, point_distances
from ..parks import access_points, select_parks
from ..parks.coverage import SCOPES
from ..residents import assign_population
from ..sources.tags import match_tags, polygons
from .completeness import inside_area

__all__ = ["CHOICES", "Sensitivity", "SensitivityRun", "run_sensitivity", "figure_key"]

#: The choices, in the order of the tables.
CHOICES = ("park_definition", "access_rule", "snap_limit_m", "walking_speed", "residential")


def figure_key(scope: str, method: str, measure: str) -> str:
    """The name of a headline figure, e.g. ``all:network:land``."""
    return f"{scope}:{method}:{measure}"


@dataclass
class Sensitivity:
    """The sensitivity of the headline figures.

    Attributes
    ----------
    base : dict
        The audit's own option of every choice.
    options : DataFrame
        One row per figure, choice and option: ``figure``, ``scope``, ``method``, ``measure``,
        ``choice``, ``option``, ``value`` (%), ``base`` (%), ``delta_pp``, ``is_base``, ``note``
        (why an option could not be computed; value NaN).
    ranges : DataFrame
        One row per figure: ``base``, ``min``, ``max`` (over every option and the joint ends),
        ``joint_low``, ``joint_high``, ``most_moving`` (the choice with the widest swing),
        ``swing_pp``, ``low_option``, ``high_option``.
    seconds : float
        Time the whole sensitivity step took.
    passes : int
        Kernel passes (multi_source calls) made.
    notes : list of str
    """

    base: dict
    options: pd.DataFrame
    ranges: pd.DataFrame
    seconds: float = 0.0
    passes: int = 0
    notes: list = field(default_factory=list)


def _class_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in ("leisure", "landuse", "type", "fclass", "class", "landuse_class") if c in df.columns]


def _matches(values: np.ndarray, wanted: list[str]) -> np.ndarray:
    """Values equal to a wanted one, or a shapefile's cut of it (at least 10 characters, e.g. ``recreation_groun``)."""
    v = np.asarray([str(x) if x is not None else "" for x in values], dtype=object)
    ok = np.isin(v, wanted)
    for w in wanted:
        ok |= np.array([len(s) >= 10 and len(s) < len(w) and w.startswith(s) for s in v], dtype=bool)
    return ok


class SensitivityRun:
    """Recomputes the headline figures of an audit under other choices (cached by what each part depends on).

    Parameters
    ----------
    result : AuditResult
        The audit (its study, configuration, park coverage and residential cells).
    settings : dict
        The ``sensitivity`` section of ``presets/quality.yaml``.
    """

    def __init__(self, result: Any, settings: dict):
        self.r = result
        self.cfg = result.config
        self.st = result.study
        self.s = settings["choices"]
        self.cells = result.parks.cells
        self.area = self.cells["area_m2"].to_numpy(float)
        self.has_historic = bool(result.parks.has_historic)
        self.methods = tuple(result.parks.methods)
        self.acc_kw = dict(self.cfg.parks.get("access_points", {}))
        self.passes = 0
        self._cache: dict = {}
        self.notes: list[str] = []
        net = self.st.network
        self.cell_snap = net.snap(shapely.point_on_surface(self.cells.geometry.values)) if "network" in self.methods else None

    # -- the audit's own options ---------------------------------------------
    def base(self) -> dict:
        """The audit's own option of every choice."""
        inferred = "residential_source" in self.cells.columns
        return {"park_definition": "audit", "access_rule": str(self.acc_kw.get("rule", "ladder")), "snap_limit_m": "none",
                "walking_speed": "rule", "residential": "both" if inferred else "mapped"}

    def options(self, choice: str) -> list[tuple[str, str | None]]:
        """The options of a choice with, for each, why it cannot be computed here (None: it can)."""
        s = self.s
        if choice == "park_definition":
            cls = _class_columns(self.st.parks)
            why = None if cls else "the park layer has no class field (leisure, landuse, type): its parks are the definition"
            return [("parks_only", why), ("audit", None), ("wider", None)]
        if choice == "access_rule":
            if "network" not in self.methods:
                return [(o, "the audit measured no walking coverage") for o in s["access_rule"]]
            no_gates = self.st.entrances is None or not len(self.st.entrances)
            return [(o, "no gate or entrance is mapped in the data" if o == "gates" and no_gates else None)
                    for o in s["access_rule"]]
        if choice == "snap_limit_m":
            return [("none", None), *[(f"{float(v):g}", None) for v in s["snap_limit_m"]]]
        if choice == "walking_speed":
            timed = any(t.minutes for t in self.cfg.rules.tiers)
            why = None if timed else "the rule states distances, not minutes of walk"
            return [("rule", None), *[(k, why) for k in s["walking_speed_kmh"]]]
        if choice == "residential":
            inferred = "residential_source" in self.cells.columns
            why = None if inferred else "the audit inferred no residential land (residential.infer)"
            return [("mapped", None), ("both", why)]
        raise KeyError(choice)

    # -- the parts, cached ---------------------------------------------------
    def _cached(self, key: tuple, fn: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def rules(self, speed: str) -> Rules:
        """The park rules with the radii of a walking speed (``rule``: the audit's own radii)."""
        if speed == "rule":
            return self.cfg.rules
        kmh = float(self.s["walking_speed_kmh"][speed])
        tiers = tuple(replace(t, radius_m=t.minutes * kmh * 1000.0 / 60.0) if t.minutes else t for t in self.cfg.rules.tiers)
        return replace(self.cfg.rules, tiers=tiers)

    def park_features(self, definition: str) -> gpd.GeoDataFrame:
        """The park polygons of a park definition (``parks_only``, ``audit``, ``wider``), before selection."""
        parks = self.st.parks
        if definition == "audit":
            return parks
        if definition == "parks_only":
            keep = np.zeros(len(parks), bool)
            for c in _class_columns(parks):
                keep |= _matches(parks[c].to_numpy(object), list(self.s["park_definition"]["parks_only"]))
            return parks[keep]
        wider = {k: list(v) for k, v in (self.s["park_definition"].get("wider") or {}).items()}
        extra = []
        if self.st.osm is not None and wider:
            f = self.st.osm.features(wider)
            if len(f):
                f = polygons(f[match_tags(f, wider)].to_crs(self.st.crs))
                if "access" in f.columns:
                    f = f[~f["access"].isin(self.cfg.parks.get("exclude_access", []))]
                extra.append(f)
        lu = self.st.landuse
        if lu is not None and len(lu):
            values = sorted({v for vals in wider.values() for v in vals})
            extra.append(lu[_matches(lu["landuse_class"].to_numpy(object), values)])
        extra = [e for e in extra if len(e)]
        if not extra:
            self.notes.append("park_definition=wider: the data has no playground, recreation ground or village green")
            return parks
        geoms = np.concatenate([np.asarray(parks.geometry.values, dtype=object),
                                *[np.asarray(e.geometry.values, dtype=object) for e in extra]])
        names = np.concatenate([parks["name"].to_numpy(object) if "name" in parks.columns else np.full(len(parks), None),
                                *[e["name"].to_numpy(object) if "name" in e.columns else np.full(len(e), None) for e in extra]])
        return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=self.st.crs)

    def selected(self, definition: str, speed: str) -> gpd.GeoDataFrame:
        """The parks of a definition with their tiers (:func:`~geoplan.parks.select_parks`)."""
        def run() -> gpd.GeoDataFrame:
            return select_parks(self.park_features(definition), self.rules(speed), self.st.historic,
                                merge=bool(self.cfg.parks.get("merge_touching", True)),
                                merge_tolerance=float(self.cfg.parks.get("merge_tolerance_m", 1.0)))
        return self._cached(("parks", definition, speed), run)

    def euclidean(self, definition: str, speed: str) -> np.ndarray:
        """Covered area of every cell (m²) by straight line."""
        def run() -> np.ndarray:
            parks = self.selected(definition, speed)
            counted = parks[parks["tier"].notna()]
            rules = self.rules(speed)
            zones = []
            for t in rules.tiers:
                g = counted[counted["tier"] == t.id].geometry.values
                if len(g):
                    zones.append(shapely.union_all(shapely.buffer(g, t.radius_m, quad_segs=16)))
            zone = shapely.union_all(zones) if zones else shapely.Polygon()
            return inside_area(np.asarray(self.cells.geometry.values, dtype=object), zone)
        return self._cached(("euc", definition, speed), run)

    def access(self, definition: str, rule: str) -> tuple[gpd.GeoDataFrame, Snapped]:
        """The access points of the counted parks under an access rule (with their tier), snapped."""
        def run() -> tuple[gpd.GeoDataFrame, Snapped]:
            parks = self.selected(definition, "rule")
            counted = parks[parks["tier"].notna()]
            kw = {k: v for k, v in self.acc_kw.items() if k != "rule"}
            acc = access_points(counted, self.st.network, self.st.entrances, rule=rule, **kw)
            acc = acc.merge(counted[["park_id", "tier"]], on="park_id")
            return acc, self.st.network.snap(acc.geometry.values)
        return self._cached(("acc", definition, rule), run)

    def network(self, definition: str, rule: str, snap: str, speed: str) -> np.ndarray:
        """Whether every cell is reached on foot."""
        def run() -> np.ndarray:
            net = self.st.network
            acc, a_snap = self.access(definition, rule)
            limit = np.inf if snap == "none" else float(snap)
            covered = np.zeros(len(self.cells), bool)
            rules = self.rules(speed)
            for t in rules.tiers:
                m = (acc["tier"].to_numpy() == t.id) & (a_snap.offset <= limit)
                if not m.any():
                    continue
                s = Snapped(a_snap.edge[m], a_snap.along[m], a_snap.offset[m])
                reach = multi_source(net, Sources.on_edges(s, acc["park_id"].to_numpy()[m]), t.radius_m)
                self.passes += 1
                d, _ = point_distances(net, reach, self.cell_snap)
                covered |= np.isfinite(d)
            return covered & (self.cell_snap.offset <= limit)
        return self._cached(("net", definition, rule, snap, speed), run)

    def residents(self, option: str) -> tuple[np.ndarray, np.ndarray]:
        """Mask of the cells counted and their residents."""
        def run() -> tuple[np.ndarray, np.ndarray]:
            cells = self.cells
            if option == "both" or "residential_source" not in cells.columns:
                return np.ones(len(cells), bool), cells["residents"].to_numpy(float)
            mask = cells["residential_source"].to_numpy(object) == "mapped"
            sub = gpd.GeoDataFrame(cells.loc[mask, ["unit_id", "unit_name", "area_m2", "geometry"]].copy(),
                                   geometry="geometry", crs=cells.crs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assign_population(self.st, sub, self.cfg.population, self.cfg.inputs.population)
            res = np.zeros(len(cells))
            res[mask] = sub["residents"].to_numpy(float)
            return mask, res
        return self._cached(("res", option), run)

    # -- figures -------------------------------------------------------------
    def figures(self, v: dict) -> dict[str, float]:
        """The headline figures (%) under the options ``v`` (choice -> option)."""
        mask, res = self.residents(v["residential"])
        scopes = {"all": np.ones(len(self.cells), bool)}
        if self.has_historic:
            h = self.cells["historic"].to_numpy(bool)
            scopes.update({"outside_historic": ~h, "inside_historic": h})
        fracs = {}
        if "euclidean" in self.methods:
            fracs["euclidean"] = np.divide(self.euclidean(v["park_definition"], v["walking_speed"]), self.area,
                                           out=np.zeros(len(self.area)), where=self.area > 0)
        if "network" in self.methods:
            fracs["network"] = self.network(v["park_definition"], v["access_rule"], v["snap_limit_m"],
                                            v["walking_speed"]).astype(float)
        out = {}
        for scope in SCOPES:
            if scope not in scopes:
                continue
            m = scopes[scope] & mask
            land = float((self.area * m).sum())
            people = float((res * m).sum())
            for method, frac in fracs.items():
                out[figure_key(scope, method, "land")] = 100 * float((self.area * frac * m).sum()) / land if land > 0 else np.nan
                out[figure_key(scope, method, "residents")] = (100 * float((res * frac * m).sum()) / people
                                                               if people > 0 else np.nan)
        return out


def run_sensitivity(result: Any, settings: dict) -> Sensitivity:
    """Recompute the headline figures over every option of every choice (one at a time), then jointly.

    Parameters
    ----------
    result : AuditResult
    settings : dict
        The ``sensitivity`` section of ``presets/quality.yaml``.

    Returns
    -------
    Sensitivity
    """
    t0 = time.perf_counter()
    run = SensitivityRun(result, settings)
    base = run.base()
    base_fig = run.figures(base)
    rows = []
    for choice in CHOICES:
        for option, why in run.options(choice):
            fig = base_fig if option == base[choice] else ({} if why else run.figures({**base, choice: option}))
            for key, b in base_fig.items():
                val = fig.get(key, np.nan)
                rows.append({"figure": key, "choice": choice, "option": option, "value": val, "base": b,
                             "delta_pp": val - b, "is_base": option == base[choice],
                             "note": why if why and option != base[choice] else ""})
    opts = pd.DataFrame(rows)
    sc = opts["figure"].str.split(":", expand=True)
    opts.insert(1, "scope", sc[0])
    opts.insert(2, "method", sc[1])
    opts.insert(3, "measure", sc[2])
    ranges = []
    for key, b in base_fig.items():
        o = opts[(opts["figure"] == key) & opts["value"].notna()]
        low, high = dict(base), dict(base)
        swing = {}
        for choice, g in o.groupby("choice", sort=False):
            low[choice] = str(g.loc[g["value"].idxmin(), "option"])
            high[choice] = str(g.loc[g["value"].idxmax(), "option"])
            swing[choice] = float(g["value"].max() - g["value"].min())
        jl = run.figures(low)[key]
        jh = run.figures(high)[key]
        vals = np.r_[o["value"].to_numpy(float), jl, jh]
        vals = vals[np.isfinite(vals)]  # a figure with no residents known is undefined under every choice
        most = max(swing, key=lambda c: swing[c]) if swing else None
        ranges.append({"figure": key, "base": b, "min": float(vals.min()) if len(vals) else np.nan,
                       "max": float(vals.max()) if len(vals) else np.nan,
                       "joint_low": jl, "joint_high": jh, "most_moving": most if most and swing[most] > 1e-9 else None,
                       "swing_pp": swing.get(most, 0.0) if most else 0.0,
                       "low_option": "; ".join(f"{c}={low[c]}" for c in CHOICES if low[c] != base[c]),
                       "high_option": "; ".join(f"{c}={high[c]}" for c in CHOICES if high[c] != base[c])})
    rng = pd.DataFrame(ranges)
    sc = rng["figure"].str.split(":", expand=True)
    rng.insert(1, "scope", sc[0])
    rng.insert(2, "method", sc[1])
    rng.insert(3, "measure", sc[2])
    return Sensitivity(base, opts, rng, seconds=time.perf_counter() - t0, passes=run.passes, notes=list(dict.fromkeys(run.notes)))

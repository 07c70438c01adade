"""Life-circle rules as data: levels, walking profiles, facility categories, catchments.

The shipped preset is ``geoplan/presets/gb50180.yaml``; a user YAML file of the
same shape replaces it, and the ``lifecircle:`` section of an audit
configuration overrides single keys (deep merge), e.g.::

    lifecircle:
      speed_kmh: 4.0
      categories:
        hospital: {required: true}
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util import deep_merge
from ..config import PRESET_DIR, read_yaml
from ..errors import UsageError

__all__ = ["Catchment", "Category", "Level", "LifeCircleRules", "Profile", "TagRule", "load_lifecircle_rules"]

#: Keys of the ``lifecircle:`` configuration section that are settings, not preset overrides.
SETTING_KEYS = {
    "preset", "facilities", "facilities_mode", "facilities_datum", "facilities_layer", "category_field",
    "name_field", "unknown_categories", "category_map", "origins", "grid_size_m", "speed_kmh", "park_source",
    "search_limit_m", "isochrone_points", "isochrone_points_datum", "planned", "planned_datum", "supply",
    "supply_datum", "capacity_field", "supply_category", "supply_threshold_m", "supply_decay", "supply_per",
    "vocabulary",
}
#: Top-level keys of a preset file (may be overridden in the configuration).
PRESET_KEYS = {
    "name", "title", "source", "threshold_basis", "profiles", "levels", "exclude_default", "categories",
    "catchments", "e2sfca", "isochrones",
}


def _text(label: Mapping[str, str] | None, lang: str, fallback: str) -> str:
    label = label or {}
    return str(label.get(lang) or label.get("en") or fallback)


@dataclass(frozen=True)
class Level:
    """One life-circle level (5, 10 or 15 minutes) and its normative distance."""

    id: str
    minutes: float
    distance_m: float
    label: dict = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        """Human label in ``lang``."""
        return _text(self.label, lang, self.id)


@dataclass(frozen=True)
class Profile:
    """A walking profile: a speed in km/h."""

    id: str
    speed_kmh: float
    label: dict = field(default_factory=dict)

    @property
    def m_per_min(self) -> float:
        """Speed in metres per minute."""
        return self.speed_kmh * 1000.0 / 60.0


class TagRule:
    """One OSM tag rule: every tag matcher must hold (a key starting with ``!`` must not).

    Parameters
    ----------
    spec : mapping
        ``{key: matcher}`` where a matcher is a list of values (``;``-separated
        OSM values are split), ``True`` (tag present) or ``"~regex"``.
    """

    def __init__(self, spec: Mapping[str, Any]):
        if not isinstance(spec, Mapping) or not spec:
            raise UsageError(f"life-circle rules: an OSM rule must be a mapping of tags, got {spec!r}.")
        self.spec = dict(spec)
        self.terms: list[tuple[str, bool, Any]] = []
        for key, m in spec.items():
            neg = str(key).startswith("!")
            k = str(key)[1:] if neg else str(key)
            if m is True:
                matcher: Any = True
            elif isinstance(m, str) and m.startswith("~"):
                try:
                    matcher = re.compile(m[1:])
                except re.error as exc:
                    raise UsageError(f"life-circle rules: bad regular expression {m!r} for {k}: {exc}") from None
            elif isinstance(m, (list, tuple)):
                matcher = frozenset(str(v) for v in m)
            elif isinstance(m, (str, int, float)):
                matcher = frozenset([str(m)])
            else:
                raise UsageError(f"life-circle rules: cannot use {m!r} as a matcher of tag {k}.")
            self.terms.append((k, neg, matcher))
        if all(neg for _, neg, _ in self.terms):
            raise UsageError(f"life-circle rules: rule {spec!r} has only negated tags.")

    def fetch(self) -> tuple[str, Any]:
        """The tag filter (key, values or True) that finds candidates of this rule in an extract."""
        for k, neg, m in self.terms:
            if not neg and isinstance(m, frozenset):
                return k, sorted(m)
        k = next(k for k, neg, _ in self.terms if not neg)
        return k, True

    def keys(self) -> set[str]:
        """Tag keys the rule reads."""
        return {k for k, _, _ in self.terms}

    def match(self, tags: Mapping[str, Any]) -> np.ndarray:
        """Boolean mask over rows given ``{key: Series of str/None}``."""
        ok = None
        for k, neg, m in self.terms:
            vals = tags[k]
            present = vals.notna().to_numpy()
            if m is True:
                hit = present
            elif isinstance(m, frozenset):
                hit = vals.isin(m).to_numpy(bool).copy()
                multi = np.nonzero(present & ~hit)[0]
                if len(multi):  # "a;b" values
                    sub = vals.iloc[multi].astype(str)
                    semi = sub.str.contains(";", regex=False).to_numpy(bool)
                    if semi.any():
                        hit[multi[semi]] = [bool(m.intersection(p.strip() for p in v.split(";")))
                                            for v in sub[semi]]
            else:
                hit = np.zeros(len(vals), dtype=bool)
                idx = np.nonzero(present)[0]
                if len(idx):
                    hit[idx] = [m.search(str(v)) is not None for v in vals.iloc[idx]]
            hit = ~hit if neg else hit
            ok = hit if ok is None else ok & hit
        return np.asarray(ok, dtype=bool)


@dataclass(frozen=True)
class Category:
    """A facility category: OSM tag rules, life-circle level, register aliases."""

    id: str
    level: str
    required: bool
    label: dict
    osm: tuple
    exclude: tuple
    aliases: tuple

    def text(self, lang: str = "en") -> str:
        """Human label in ``lang``."""
        return _text(self.label, lang, self.id)


@dataclass(frozen=True)
class Catchment:
    """A local catchment beside the levels (e.g. elderly care within 564 m)."""

    id: str
    category: str
    distance_m: float
    target_pct: float | None = None
    per_km2_residential: float | None = None
    minutes: float | None = None
    profile: str | None = None
    label: dict = field(default_factory=dict)
    source: str = ""

    def text(self, lang: str = "en") -> str:
        """Human label in ``lang``."""
        return _text(self.label, lang, self.id)


@dataclass(frozen=True)
class LifeCircleRules:
    """Everything the life-circle analysis needs to know about the standard.

    Attributes
    ----------
    name : str
    levels : tuple of Level
        Ascending by distance; ``distance_m`` is the threshold used (derived from
        ``minutes`` when ``threshold_basis`` is ``time``).
    profiles : dict of Profile
        ``default`` sets the speed of reported walking times.
    categories : tuple of Category
    catchments : tuple of Catchment
    threshold_basis : str
        ``distance`` (the level distances are normative) or ``time``.
    exclude_default : tuple of TagRule
        Exclusion rules for categories without their own.
    e2sfca, isochrones : dict
        Settings of those parts.
    """

    name: str
    levels: tuple
    profiles: dict
    categories: tuple
    catchments: tuple
    threshold_basis: str = "distance"
    exclude_default: tuple = ()
    title: dict = field(default_factory=dict)
    source: str = ""
    e2sfca: dict = field(default_factory=dict)
    isochrones: dict = field(default_factory=dict)

    # -- lookups -------------------------------------------------------------
    @property
    def speed(self) -> Profile:
        """The default walking profile."""
        return self.profiles["default"]

    @property
    def m_per_min(self) -> float:
        """Default walking speed in metres per minute."""
        return self.speed.m_per_min

    def category(self, cid: str) -> Category:
        """The category with id ``cid``."""
        for c in self.categories:
            if c.id == cid:
                return c
        raise UsageError(f"unknown life-circle category {cid!r}.", hint=f"Known: {', '.join(self.category_ids)}.")

    @property
    def category_ids(self) -> list[str]:
        """Ids of all categories, in preset order."""
        return [c.id for c in self.categories]

    @property
    def required_ids(self) -> list[str]:
        """Ids of the categories that count towards completeness."""
        return [c.id for c in self.categories if c.required]

    def level(self, lid: str) -> Level:
        """The level with id ``lid``."""
        for lv in self.levels:
            if lv.id == lid:
                return lv
        raise UsageError(f"unknown life-circle level {lid!r}.", hint=f"Known: {', '.join(lv.id for lv in self.levels)}.")

    def level_rank(self, lid: str) -> int:
        """Position of a level (0 = smallest circle)."""
        return [lv.id for lv in self.levels].index(lid)

    def threshold(self, cid: str) -> float:
        """Distance within which category ``cid`` is expected (its own level)."""
        return self.level(self.category(cid).level).distance_m

    def required_at(self, lid: str) -> list[str]:
        """Required categories of a level: those whose own level is at or below it."""
        r = self.level_rank(lid)
        return [c.id for c in self.categories if c.required and self.level_rank(c.level) <= r]

    def search_limit(self, cid: str, floor: float = 0.0) -> float:
        """The bound of the one kernel pass for a category: its largest threshold."""
        d = [self.levels[-1].distance_m, floor]
        d += [k.distance_m for k in self.catchments if k.category == cid]
        return float(max(d))

    def alias_map(self) -> dict[str, str]:
        """Register value (lower-case) -> category id: ids, labels and aliases."""
        out: dict[str, str] = {}
        for c in self.categories:
            for v in (c.id, *c.label.values(), *c.aliases):
                out.setdefault(str(v).strip().lower(), c.id)
        return out

    def fetch_filter(self) -> dict:
        """One tag filter that finds every candidate feature of every category."""
        flt: dict[str, Any] = {}
        for c in self.categories:
            for r in c.osm:
                k, v = r.fetch()
                if v is True or flt.get(k) is True:
                    flt[k] = True
                else:
                    flt[k] = sorted(set(flt.get(k, [])) | set(v))
        return flt

    def tag_keys(self) -> set[str]:
        """Every tag key any rule reads."""
        keys: set[str] = set()
        for c in self.categories:
            for r in (*c.osm, *c.exclude):
                keys |= r.keys()
        for r in self.exclude_default:
            keys |= r.keys()
        return keys

    def text(self, lang: str = "en") -> str:
        """Human title in ``lang``."""
        return _text(self.title, lang, self.name)


def _read(name_or_path: str | Path) -> tuple[dict, str]:
    p = Path(str(name_or_path))
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        path, source = p, str(p)
    else:
        path, source = PRESET_DIR / f"{name_or_path}.yaml", f"preset:{name_or_path}"
        if not path.exists() or str(name_or_path) != "gb50180":
            raise UsageError(f"unknown life-circle preset {name_or_path!r}.",
                             hint="Use gb50180 or the path of a YAML file of the same shape.")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise UsageError(f"life-circle rules {source} must be a YAML mapping.")
    return data, source


def load_lifecircle_rules(preset: str | Path | Mapping = "gb50180", overrides: Mapping | None = None) -> LifeCircleRules:
    """Load life-circle rules from a preset name, a YAML file or a mapping.

    Parameters
    ----------
    preset : str, Path or mapping
        ``"gb50180"``, a YAML path, or the parsed mapping.
    overrides : mapping, optional
        Keys deep-merged over the preset (the ``lifecircle:`` configuration
        section; setting keys such as ``facilities`` are ignored here).
        ``speed_kmh`` sets the default profile's speed.

    Returns
    -------
    LifeCircleRules

    Raises
    ------
    UsageError
        Unknown preset, a category at an unknown level, a speed or distance out of range.
    """
    if isinstance(preset, Mapping):
        data, source = copy.deepcopy(dict(preset)), "<dict>"
    else:
        data, source = _read(preset)
    over = {k: v for k, v in (overrides or {}).items() if k not in SETTING_KEYS}
    unknown = sorted(set(over) - PRESET_KEYS)
    if unknown:
        raise UsageError(f"unknown life-circle setting(s) {unknown}.",
                         hint=f"Settings: {', '.join(sorted(SETTING_KEYS))}; preset keys: {', '.join(sorted(PRESET_KEYS))}.")
    data = deep_merge(data, over)
    if overrides and overrides.get("speed_kmh") is not None:
        data.setdefault("profiles", {}).setdefault("default", {})["speed_kmh"] = overrides["speed_kmh"]

    profiles = {}
    for pid, p in (data.get("profiles") or {"default": {"speed_kmh": 4.5}}).items():
        try:
            v = float(p["speed_kmh"])
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"life-circle rules {source}: profile {pid} has no numeric speed_kmh.") from None
        if not (0.5 <= v <= 20):
            raise UsageError(f"life-circle rules {source}: walking speed {v:g} km/h of profile {pid} is out of range.",
                             hint="Use 0.5 to 20 km/h (4.5 km/h = 75 m/min is the default).")
        profiles[str(pid)] = Profile(str(pid), v, dict(p.get("label") or {}))
    if "default" not in profiles:
        raise UsageError(f"life-circle rules {source}: no 'default' walking profile.")

    basis = str(data.get("threshold_basis", "distance"))
    if basis not in ("distance", "time"):
        raise UsageError(f"life-circle rules {source}: threshold_basis must be distance or time, not {basis!r}.")
    speed = profiles["default"].m_per_min
    levels = []
    for i, lv in enumerate(data.get("levels") or []):
        minutes = float(lv.get("minutes", 0) or 0)
        d = lv.get("distance_m")
        if basis == "time" or d is None:
            if minutes <= 0:
                raise UsageError(f"life-circle rules {source}: level {i + 1} needs minutes or distance_m.")
            d = minutes * speed
        d = float(d)
        if not (0 < d <= 5000):
            raise UsageError(f"life-circle rules {source}: level {lv.get('id', i + 1)} distance {d:g} m is out of range.",
                             hint="Use more than 0 and at most 5,000 m.")
        levels.append(Level(str(lv.get("id", f"{minutes:g}min")), minutes or d / speed, d, dict(lv.get("label") or {})))
    if not levels:
        raise UsageError(f"life-circle rules {source} define no levels.")
    levels.sort(key=lambda lv: lv.distance_m)
    level_ids = {lv.id for lv in levels}

    cats = []
    for cid, c in (data.get("categories") or {}).items():
        c = c or {}
        lid = str(c.get("level", levels[-1].id))
        if lid not in level_ids:
            # accept 5 / "5" / "5min"
            alt = f"{lid}min" if f"{lid}min" in level_ids else None
            if alt is None:
                raise UsageError(f"life-circle rules {source}: category {cid} has unknown level {lid!r}.",
                                 hint=f"Use one of {', '.join(sorted(level_ids))}.")
            lid = alt
        cats.append(Category(
            id=str(cid), level=lid, required=bool(c.get("required", True)), label=dict(c.get("label") or {}),
            osm=tuple(TagRule(r) for r in (c.get("osm") or [])),
            exclude=tuple(TagRule(r) for r in (c.get("exclude") or [])),
            aliases=tuple(str(a) for a in (c.get("aliases") or [])),
        ))
    if not cats:
        raise UsageError(f"life-circle rules {source} define no facility categories.")
    cat_ids = {c.id for c in cats}

    catch = []
    for i, k in enumerate(data.get("catchments") or []):
        cid = str(k.get("category", ""))
        if cid not in cat_ids:
            raise UsageError(f"life-circle rules {source}: catchment {k.get('id', i + 1)} names unknown category {cid!r}.")
        prof = k.get("profile")
        if prof is not None and str(prof) not in profiles:
            raise UsageError(f"life-circle rules {source}: catchment {k.get('id', i + 1)} names unknown profile {prof!r}.")
        if k.get("distance_m") is not None:
            d = float(k["distance_m"])
        elif k.get("minutes") is not None:
            d = float(k["minutes"]) * profiles[str(prof or "default")].m_per_min
        else:
            raise UsageError(f"life-circle rules {source}: catchment {k.get('id', i + 1)} needs distance_m or minutes.")
        if not (0 < d <= 5000):
            raise UsageError(f"life-circle rules {source}: catchment {k.get('id', i + 1)} distance {d:g} m is out of range.")
        per = k.get("per_km2_residential")
        catch.append(Catchment(
            id=str(k.get("id", f"catchment-{i + 1}")), category=cid, distance_m=d,
            target_pct=None if k.get("target_pct") is None else float(k["target_pct"]),
            per_km2_residential=None if per is None else float(per),
            minutes=None if k.get("minutes") is None else float(k["minutes"]),
            profile=None if prof is None else str(prof), label=dict(k.get("label") or {}), source=str(k.get("source", "")),
        ))

    return LifeCircleRules(
        name=str(data.get("name", "lifecircle")), levels=tuple(levels), profiles=profiles, categories=tuple(cats),
        catchments=tuple(catch), threshold_basis=basis,
        exclude_default=tuple(TagRule(r) for r in (data.get("exclude_default") or [])),
        title=dict(data.get("title") or {}), source=str(data.get("source", source)),
        e2sfca=dict(data.get("e2sfca") or {}), isochrones=dict(data.get("isochrones") or {}),
    )


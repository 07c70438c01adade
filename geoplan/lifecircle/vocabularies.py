"""Facility registers in the vocabularies planners have.

A facility register rarely says ``kindergarten``: an OpenStreetMap shapefile
says ``type = kindergarten`` (BBBike) or ``fclass = kindergarten`` (Geofabrik),
an AMap export says ``typecode = 141204`` / ``科教文化服务;学校;幼儿园``, a Baidu
export ``tag = 教育培训;幼儿园``.  The tables that translate them into the
categories of the life-circle preset (GB 50180-2018) are data, in
``geoplan/presets/vocabularies/*.yaml``:

``osm``
    a value becomes the OpenStreetMap tag ``key=value`` and the preset's own
    OSM rules decide its category with the feature's name, exactly as for
    features read from an extract (``school`` named 中学 is a middle school);
``amap``
    six-digit type codes or three-level names, longest prefix first;
``baidu``
    two-level industry tags, longest prefix first.

Every value of a register ends in one of three states, listed with its count
in a table (:func:`classify_register` returns it): *mapped* (to one or more
categories), *not a facility* (known to the table, no life-circle category:
restaurants, banks), or *unmapped* (the table does not know it).  Nothing is
dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import PRESET_DIR, read_yaml
from ..errors import UsageError

__all__ = [
    "Target",
    "Vocabulary",
    "VOCABULARY_DIR",
    "classify_register",
    "detect_vocabulary",
    "list_vocabularies",
    "load_vocabulary",
]

VOCABULARY_DIR = PRESET_DIR / "vocabularies"
#: A value of at least this many characters may be a shapefile field cut short (``recreation_groun``).
MIN_CUT_LENGTH = 10
#: Tags standing for "a facility of no definite kind: the preset's name rules decide".
BY_NAME_TAGS = (("amenity", "yes"), ("shop", "yes"))
#: Share of a column's rows a vocabulary must know to be detected automatically.
DETECT_MIN_SHARE = 0.5

MAPPED, NOT_FACILITY, UNMAPPED, IGNORED = "mapped", "not a facility", "unmapped", "ignored (category_map)"


@dataclass(frozen=True)
class Target:
    """What a register value means.

    Attributes
    ----------
    categories : tuple of str
        Category ids given directly by the table.
    tags : tuple of (key, value)
        OpenStreetMap tags to classify with the preset's OSM rules (and the name).
    rule : str
        The table entry that matched (for the values table).
    """

    categories: tuple = ()
    tags: tuple = ()
    rule: str = ""

    @property
    def known_none(self) -> bool:
        """Known to the table and not a life-circle facility."""
        return not self.categories and not self.tags


def _target(spec: Any, rule: str, source: str, valid: set[str] | None = None) -> Target:
    if spec is None:
        return Target(rule=rule)
    if spec == "by_name":
        return Target(tags=BY_NAME_TAGS, rule=rule)
    if isinstance(spec, str):
        return Target(categories=(spec,), rule=rule)
    if isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
        return Target(categories=tuple(spec), rule=rule)
    if isinstance(spec, Mapping) and isinstance(spec.get("osm"), Mapping):
        return Target(tags=tuple((str(k), str(v)) for k, v in spec["osm"].items()), rule=rule)
    raise UsageError(f"vocabulary {source}: entry {rule!r} has an unknown target {spec!r}.",
                     hint="Use a category id, a list of ids, null, by_name or {osm: {key: value}}.")


@dataclass(frozen=True)
class Vocabulary:
    """A table from a register's values to life-circle categories.

    Attributes
    ----------
    name : str
    title : dict
    source : str
    values : dict
        Flat values (``osm``): lower-case value -> :class:`Target`.
    codes : dict
        Code prefix -> :class:`Target` (``amap``).
    names : dict
        Name path (levels joined by ``;``) -> :class:`Target`.
    fields : tuple of str
        Columns that may hold flat values.
    code_fields : tuple of str
        Columns that may hold codes.
    name_fields : tuple of tuple of str
        Column groups that may hold a name path (one column ``a;b;c`` or one column per level).
    """

    name: str
    title: dict
    source: str
    values: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)
    fields: tuple = ()
    code_fields: tuple = ()
    name_fields: tuple = ()

    def text(self, lang: str = "en") -> str:
        """Human title in ``lang``."""
        return str(self.title.get(lang) or self.title.get("en") or self.name)

    # -- lookups -------------------------------------------------------------
    def lookup_value(self, value: str) -> Target | None:
        """A flat value (case-insensitive; a cut value of >= 10 characters matches the one value it starts)."""
        v = value.strip().lower()
        if v in self.values:
            return self.values[v]
        if len(v) >= MIN_CUT_LENGTH:
            hits = {k: t for k, t in self.values.items() if k.startswith(v)}
            if len({t.tags for t in hits.values()}) == 1 and all(not t.categories for t in hits.values()):
                k = sorted(hits)[0]
                return Target(tags=hits[k].tags, rule=f"{hits[k].rule} (cut)")
        return None

    def lookup_code(self, code: str) -> Target | None:
        """A type code: the longest matching prefix (codes are zero-padded to six digits)."""
        c = str(code).strip()
        if c.endswith(".0"):
            c = c[:-2]
        if not c.isdigit():
            return None
        c = c.zfill(6)
        for n in (6, 4, 2):
            t = self.codes.get(c[:n])
            if t is not None:
                return t
        return None

    def lookup_names(self, path: str) -> Target | None:
        """A name path ``a;b;c``: the longest matching prefix of levels."""
        parts = [p.strip() for p in str(path).split(";") if p.strip()]
        for n in range(len(parts), 0, -1):
            t = self.names.get(";".join(parts[:n]))
            if t is not None:
                return t
        return None


def list_vocabularies() -> list[str]:
    """Names of the shipped vocabularies."""
    return sorted(p.stem for p in VOCABULARY_DIR.glob("*.yaml"))


def load_vocabulary(name_or_path: str | Path, categories: list[str] | None = None) -> Vocabulary:
    """Load a vocabulary table by name (``osm``, ``amap``, ``baidu``) or from a YAML file.

    Parameters
    ----------
    name_or_path : str or Path
    categories : list of str, optional
        Known category ids: targets naming others are a usage error.

    Raises
    ------
    UsageError
        Unknown vocabulary, or an entry with a malformed target or an unknown category.
    """
    p = Path(str(name_or_path))
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        path, source = p, str(p)
    else:
        path, source = VOCABULARY_DIR / f"{name_or_path}.yaml", f"vocabulary:{name_or_path}"
        if not path.exists():
            raise UsageError(f"unknown facility vocabulary {name_or_path!r}.",
                             hint=f"Use one of {', '.join(list_vocabularies())}, auto, none, or a YAML file.")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise UsageError(f"vocabulary {source} must be a YAML mapping.")
    values: dict[str, Target] = {}
    for key, vals in (data.get("keys") or {}).items():
        for v in vals or []:
            v = str(v).lower()
            old = values.get(v)
            tags = (old.tags if old else ()) + ((str(key), v),)
            values[v] = Target(tags=tags, rule=" + ".join(f"{k}={x}" for k, x in tags))
    for v, tags in (data.get("classes") or {}).items():
        t = tuple((str(k), str(x)) for k, x in tags.items())
        values[str(v).lower()] = Target(tags=t, rule=" + ".join(f"{k}={x}" for k, x in t))
    codes: dict[str, Target] = {}
    names: dict[str, Target] = {}
    for code, entry in (data.get("codes") or {}).items():
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
            raise UsageError(f"vocabulary {source}: code {code!r} must be [name path, target].")
        path_, spec = entry
        code = str(code)
        t = _target(spec, f"{code} {path_}", source)
        codes[code] = t
        names.setdefault(str(path_), t)
    for path_, spec in (data.get("names") or {}).items():
        names[str(path_)] = _target(spec, str(path_), source)
    if categories is not None:
        known = set(categories)
        bad = sorted({c for t in (*values.values(), *codes.values(), *names.values()) for c in t.categories} - known)
        if bad:
            raise UsageError(f"vocabulary {source} maps to unknown categories {bad}.",
                             hint=f"Known categories: {', '.join(categories)}.")
    return Vocabulary(
        name=str(data.get("name", path.stem)), title=dict(data.get("title") or {}), source=str(data.get("source", source)),
        values=values, codes=codes, names=names, fields=tuple(data.get("fields") or ()),
        code_fields=tuple(data.get("code_fields") or ()),
        name_fields=tuple(tuple(g) for g in (data.get("name_fields") or ())),
    )


# ---------------------------------------------------------------------------
# reading a register's values
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """How a register's rows are read: which vocabulary, which kind of key, which columns."""

    vocabulary: Vocabulary
    kind: str  # "value", "code" or "names"
    columns: tuple

    def describe(self) -> str:
        what = {"value": "values", "code": "type codes", "names": "names"}[self.kind]
        return f"{self.vocabulary.text('en')} ({what} in {', '.join(self.columns)})"


def _keys(df: pd.DataFrame, r: Reading) -> pd.Series:
    """The register value of every row as a string (None where empty)."""
    if r.kind == "names" and len(r.columns) > 1:
        parts = [df[c].astype(object).where(df[c].notna(), None) for c in r.columns]
        out = [";".join(str(p) for p in ps if p is not None and str(p).strip()) or None for ps in zip(*parts)]
        return pd.Series(out, index=df.index, dtype=object)
    col = df[r.columns[0]]
    s = col.astype(object).where(col.notna(), None)
    return s.map(lambda v: None if v is None or not str(v).strip() else str(v).strip())


def _lookup(r: Reading, key: str) -> list[Target | None]:
    """Targets of one register value (several for ``a;b`` flat values and ``a|b`` codes)."""
    if r.kind == "value":
        return [r.vocabulary.lookup_value(p) for p in key.split(";") if p.strip()]
    if r.kind == "code":
        return [r.vocabulary.lookup_code(p) for p in key.split("|") if p.strip()]
    return [r.vocabulary.lookup_names(p) for p in key.split("|") if p.strip()]


def _share_known(df: pd.DataFrame, r: Reading) -> float:
    keys = _keys(df, r).dropna()
    if keys.empty:
        return 0.0
    counts = keys.value_counts()
    known = sum(n for k, n in counts.items() if all(t is not None for t in _lookup(r, str(k))))
    return known / len(keys)


def candidate_readings(df: pd.DataFrame, vocabularies: list[Vocabulary], column: str | None = None,
                       only_column: bool = False) -> list[Reading]:
    """Every way the vocabularies could read ``df``.

    ``column`` is the category field (tried first); with ``only_column`` it is the only column read.
    """
    cols = set(df.columns)
    out = []
    for v in vocabularies:
        more = not (only_column and column)
        if v.codes:
            for c in ([column] if column else []) + (list(v.code_fields) if more else []):
                if c in cols:
                    out.append(Reading(v, "code", (c,)))
        if v.names:
            groups = ([(column,)] if column else []) + (list(v.name_fields) if more else [])
            for g in groups:
                if all(c in cols for c in g):
                    out.append(Reading(v, "names", tuple(g)))
        if v.values:
            for c in ([column] if column else []) + (list(v.fields) if more else []):
                if c in cols:
                    out.append(Reading(v, "value", (c,)))
    seen, uniq = set(), []
    for r in out:
        k = (r.vocabulary.name, r.kind, r.columns)
        if k not in seen:
            seen.add(k)
            uniq.append(r)
    return uniq


def detect_vocabulary(df: pd.DataFrame, vocabularies: list[Vocabulary], column: str | None = None,
                      only_column: bool = False) -> tuple[Reading | None, float]:
    """The reading that knows the largest share of the register's rows (codes preferred on ties).

    Returns
    -------
    reading : Reading or None
        None when no vocabulary knows at least half of the rows of any column.
    share : float
        Share of the rows it knows.
    """
    best, best_share = None, 0.0
    rank = {"code": 0, "names": 1, "value": 2}
    for r in sorted(candidate_readings(df, vocabularies, column, only_column), key=lambda r: rank[r.kind]):
        s = _share_known(df, r)
        if s > best_share + 1e-12:
            best, best_share = r, s
    if best is None or best_share < DETECT_MIN_SHARE:
        return None, best_share
    return best, best_share


def classify_register(df: pd.DataFrame, reading: Reading, rules: Any, *, names: pd.Series | None = None,
                      category_map: Mapping | None = None,
                      classify: Callable[[pd.DataFrame, Any], pd.DataFrame] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Categories of every row of a register read with a vocabulary.

    Parameters
    ----------
    df : DataFrame
        The register.
    reading : Reading
        From :func:`detect_vocabulary` (or built for an explicit vocabulary).
    rules : LifeCircleRules
    names : Series, optional
        Facility names (used by entries classified through OSM tags and by ``by_name``).
    category_map : mapping, optional
        The user's ``value -> category`` (or ``None`` to ignore), applied first (case-insensitive).
    classify : callable, optional
        ``classify(features, rules) -> DataFrame(row, category)`` for entries that stand for
        OpenStreetMap tags (:func:`geoplan.lifecircle.facilities.classify_features`); needed
        when the vocabulary has such entries.

    Returns
    -------
    rows : DataFrame
        ``row`` (position in ``df``) and ``category``; a row may have several categories.
    values : DataFrame
        One row per distinct value: ``value``, ``rows``, ``status`` (mapped, not a facility,
        unmapped, ignored), ``categories`` (with counts) and ``rule`` (the entry that matched).
    """
    keys = _keys(df, reading)
    user = {str(k).strip().lower(): v for k, v in (category_map or {}).items()}
    pos = np.arange(len(df))
    out_rows: list[np.ndarray] = []
    out_cats: list[np.ndarray] = []
    value_info: dict[str, dict] = {}
    tag_rows: list[int] = []
    tag_dicts: list[dict] = []
    tag_value: list[str] = []
    for key, idx in pd.Series(pos, index=keys.fillna("\0").to_numpy()).groupby(level=0, sort=True):
        rows = idx.to_numpy()
        if key == "\0":
            continue
        info = {"value": key, "rows": len(rows), "status": UNMAPPED, "categories": {}, "rule": ""}
        value_info[key] = info
        low = key.strip().lower()
        if low in user:
            cat = user[low]
            info["rule"] = "category_map"
            if cat is None:
                info["status"] = IGNORED
            else:
                info["status"] = MAPPED
                info["categories"][str(cat)] = len(rows)
                out_rows.append(rows)
                out_cats.append(np.full(len(rows), str(cat), dtype=object))
            continue
        targets = _lookup(reading, key)
        if not targets or any(t is None for t in targets):
            continue
        info["rule"] = "; ".join(t.rule for t in targets)
        info["status"] = NOT_FACILITY
        for t in targets:
            for c in t.categories:
                out_rows.append(rows)
                out_cats.append(np.full(len(rows), c, dtype=object))
                info["categories"][c] = info["categories"].get(c, 0) + len(rows)
                info["status"] = MAPPED
            if t.tags:
                for r in rows:
                    tag_rows.append(int(r))
                    tag_dicts.append(dict(t.tags))
                    tag_value.append(key)
    if tag_rows:
        if classify is None:
            raise ValueError("vocabulary entries that stand for OpenStreetMap tags need a classify function")
        feats = pd.DataFrame(tag_dicts)
        feats["name"] = names.iloc[tag_rows].to_numpy() if names is not None else None
        cls = classify(feats, rules)
        rows_ = np.asarray(tag_rows)[cls["row"].to_numpy()]
        out_rows.append(rows_)
        out_cats.append(cls["category"].to_numpy(object))
        vals = np.asarray(tag_value, dtype=object)[cls["row"].to_numpy()]
        for v, c in zip(vals, cls["category"].to_numpy(object)):
            d = value_info[v]["categories"]
            d[c] = d.get(c, 0) + 1
            value_info[v]["status"] = MAPPED
    rows_df = pd.DataFrame({"row": np.concatenate(out_rows) if out_rows else np.empty(0, np.int64),
                            "category": np.concatenate(out_cats) if out_cats else np.empty(0, object)})
    rows_df = rows_df.drop_duplicates().sort_values(["row", "category"], kind="stable").reset_index(drop=True)
    table = pd.DataFrame([{**i, "categories": ", ".join(f"{c} {n}" for c, n in sorted(i["categories"].items()))}
                          for i in value_info.values()],
                         columns=["value", "rows", "status", "categories", "rule"])
    order = {MAPPED: 0, UNMAPPED: 1, IGNORED: 2, NOT_FACILITY: 3}
    table = table.sort_values(["status", "rows", "value"], key=lambda s: s.map(order) if s.name == "status" else
                              (-s if s.name == "rows" else s), kind="stable").reset_index(drop=True)
    table.insert(0, "vocabulary", reading.vocabulary.name)
    table.insert(1, "field", "+".join(reading.columns))
    return rows_df, table

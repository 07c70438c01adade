"""Chinese and English labels of tables, maps and reports, read once from ``labels.yaml``.

Column names in files stay stable English identifiers (scripts depend on
them); :func:`label` gives the human header in the chosen language (XLSX
headers, map legends, the report) and :func:`text` the sentences, titles and
tooltips the presenters show.  Every string is in ``labels.yaml``; nothing
is added at run time.

A label is looked up in the section of the analysis it belongs to
(``scope``), then in the common words, then in the other analyses' sections:
the same identifier may mean different things in two analyses.
"""

from __future__ import annotations

import math
import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

__all__ = ["label", "text", "has_label", "has_text", "step", "expand_templates", "number", "undefined", "SCOPES"]

_FILE = Path(__file__).with_name("labels.yaml")

#: Sections of analysis-specific labels, in the order they are searched after ``common``.
SCOPES = ("lifecircle", "greenways", "compounds", "fairness", "whatif", "batch")


@lru_cache(maxsize=1)
def _data() -> dict:
    with open(_FILE, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    cols = {k: {kk: (v["en"], v["zh"]) for kk, v in (sec or {}).items()} for k, sec in (data.get("columns") or {}).items()}
    return {"columns": cols, "templates": data.get("templates") or {}, "text": data.get("text") or {},
            "steps": data.get("steps") or {}}


def _pair(key: str, scope: str | None) -> tuple[str, str] | None:
    cols = _data()["columns"]
    for sec in (scope, "common", *SCOPES):
        if sec and key in cols.get(sec, {}):
            return cols[sec][key]
    return None


def label(key: str, lang: str = "en", scope: str | None = None,
          extra: Mapping[str, tuple[str, str]] | None = None) -> str:
    """Human label of ``key`` in ``lang`` (``"en"`` or ``"zh"``); the key itself if unknown.

    Parameters
    ----------
    key : str
        A column name or a word of the vocabulary (``land_pct``, ``euclidean`` ...).
    lang : {"en", "zh"}
    scope : str, optional
        The analysis the key belongs to (``greenways`` ...): its own labels win.
    extra : mapping, optional
        ``{key: (en, zh)}`` labels that depend on the rules of a result (see
        :func:`expand_templates`); they win over the file's.
    """
    pair = (extra or {}).get(key) or _pair(key, scope)
    if pair is None:
        return key
    return pair[1] if lang == "zh" else pair[0]


def has_label(key: str, scope: str | None = None, extra: Mapping[str, Any] | None = None) -> bool:
    """Whether ``key`` has a label (in ``extra``, in ``scope`` or anywhere in the file)."""
    return key in (extra or {}) or _pair(key, scope) is not None


def has_text(key: str) -> bool:
    """Whether ``key`` is a sentence of the ``text`` section."""
    return key in _data()["text"]


_UNDEFINED = "\x00undefined\x00"
_UNDEFINED_PCT = re.compile(re.escape(_UNDEFINED) + r"\s?%")


class _Formatter(string.Formatter):
    """``str.format`` that shows a number that is not one (NaN, inf, None under a numeric format) as undefined."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec and format_spec[-1:] in "eEfFgGn%d" and not _finite(value):
            return _UNDEFINED
        return super().format_field(value, format_spec)


def _finite(value: Any) -> bool:
    if value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # not a number: formatted as given


def text(key: str, lang: str = "en", **values: Any) -> str:
    """A sentence, title or tooltip of the ``text`` section in ``lang``, its ``{placeholders}`` filled.

    A number placeholder (``{pct:.1f}``) given NaN, an infinity or None reads
    ``undefined`` (无法计算), with the unit sign that follows it dropped: a
    figure that could not be computed is never shown as ``nan%`` or as 0.

    Raises
    ------
    KeyError
        ``key`` is not in ``labels.yaml`` (a programming error, caught by the tests).
    """
    t = _data()["text"][key]
    s = t.get(lang) or t["en"]
    if not values:
        return s
    out = _Formatter().format(s, **values)
    if _UNDEFINED in out:
        word = undefined(lang)
        out = _UNDEFINED_PCT.sub(word, out).replace(_UNDEFINED, word)
    return out


def undefined(lang: str = "en") -> str:
    """The word shown for a figure that could not be computed."""
    t = _data()["text"]["undefined"]
    return t.get(lang) or t["en"]


def number(value: Any, spec: str = ".1f", lang: str = "en", suffix: str = "") -> str:
    """``value`` formatted with ``spec`` and ``suffix``, or the word for undefined (NaN, inf, None).

    Examples
    --------
    >>> number(12.345, ".1f", suffix="%"), number(float("nan"), ".1f", suffix="%")
    ('12.3%', 'undefined')
    """
    return format(float(value), spec) + suffix if _finite(value) else undefined(lang)


def expand_templates(scope: str, items: list[dict]) -> dict[str, tuple[str, str]]:
    """Labels of the rule-dependent columns of an analysis.

    Parameters
    ----------
    scope : str
        Section of ``templates`` in ``labels.yaml`` (``lifecircle``).
    items : list of dict
        One dict per template key pattern placeholder set, with ``kind`` (the
        template key, e.g. ``complete_{id}_pct``) and the values its strings use
        (``id``, ``en``, ``zh``, ``distance_m`` ...).

    Returns
    -------
    dict
        ``{column: (en, zh)}``.
    """
    tpl = _data()["templates"].get(scope) or {}
    out: dict[str, tuple[str, str]] = {}
    for it in items:
        t = tpl[it["kind"]]
        vals = {k: v for k, v in it.items() if k != "kind"}
        out[it["kind"].format(**vals)] = (t["en"].format(**vals), t["zh"].format(**vals))
    return out


@lru_cache(maxsize=1)
def _step_patterns() -> list:
    import re

    out = []
    for en, zh in _data()["steps"].items():
        names = re.findall(r"\{(\w+)\}", en)
        rx = re.escape(en)
        for n in names:
            rx = rx.replace(re.escape("{" + n + "}"), f"(?P<{n}>.+?)")
        out.append((re.compile(rx + r"\Z"), zh))
    return out


def step(message: str, lang: str = "en") -> str:
    """A progress line (``loading data``, ``reading parks`` ...) in ``lang``; unknown lines stay as they are.

    The ``steps`` section of ``labels.yaml`` maps each English line (with ``{placeholders}``
    for the parts that vary: a file name, a count) to its Chinese.
    """
    if lang != "zh":
        return message
    for rx, zh in _step_patterns():
        m = rx.match(message)
        if m:
            return zh.format(**m.groupdict())
    return message

"""How each result is shown: one presenter per result type (its map layers, headline, figures, labels).

Results compute; presenters show.  A presenter is found by the type of the
result, never by looking for methods on it::

    from geoplan import presenters
    presenters.headline(result.analyses["lifecircle"], "zh")
    presenters.map_layers(result.analyses["greenways"], "en")

A new analysis adds ``presenters/<analysis>.py`` with the functions it has
(``map_layers(res, lang)``, ``headline(res, lang)``, ``figures(res, folder, lang)``,
``labels(res)``) and one line in :data:`PRESENTERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..compounds.result import CompoundResult
from ..fairness.result import FairnessResult
from ..greenways.result import GreenwayResult
from ..lifecircle.result import LifeCircleResult
from ..quality.result import QualityResult
from ..whatif.proposal import WhatIfResult
from . import compounds, fairness, greenways, lifecircle, notebook, quality, whatif  # notebook: results' _repr_html_

__all__ = ["PRESENTERS", "Presenter", "figures", "headline", "labels", "map_layers", "notebook", "presenter_for"]


def _no_layers(res: Any, lang: str = "en") -> list:
    return []


def _no_headline(res: Any, lang: str = "en") -> str | None:
    return None


def _no_figures(res: Any, folder: Path, lang: str = "en") -> list[tuple[str, str]]:
    return []


def _no_labels(res: Any) -> dict[str, tuple[str, str]]:
    return {}


@dataclass(frozen=True)
class Presenter:
    """The ways a result type is shown.

    Attributes
    ----------
    map_layers : callable
        ``map_layers(res, lang) -> list[MapLayer]``, bottom first.
    headline : callable
        ``headline(res, lang) -> str | None``: a few lines for the command line and the report.
    figures : callable
        ``figures(res, folder, lang) -> [(title, path relative to folder)]``: charts written into ``folder/maps``.
    labels : callable
        ``labels(res) -> {column: (en, zh)}``: headers of columns named after the result's rules.
    """

    map_layers: Callable[[Any, str], list] = _no_layers
    headline: Callable[[Any, str], str | None] = _no_headline
    figures: Callable[[Any, Path, str], list[tuple[str, str]]] = _no_figures
    labels: Callable[[Any], dict[str, tuple[str, str]]] = _no_labels


#: The presenter of each result type.
PRESENTERS: dict[type, Presenter] = {
    LifeCircleResult: Presenter(lifecircle.map_layers, lifecircle.headline, labels=lifecircle.labels),
    GreenwayResult: Presenter(greenways.map_layers, greenways.headline),
    CompoundResult: Presenter(compounds.map_layers, compounds.headline),
    FairnessResult: Presenter(fairness.map_layers, fairness.headline, fairness.figures),
    WhatIfResult: Presenter(whatif.map_layers, whatif.headline),
    QualityResult: Presenter(quality.map_layers, quality.headline, quality.figures),
}

#: The presenter of a result type with none of its own (a script's own analysis): no layers, no headline.
DEFAULT = Presenter()


def presenter_for(res: Any) -> Presenter:
    """The presenter of ``res`` (by its type or a base class; :data:`DEFAULT` if none)."""
    for cls in type(res).__mro__:
        if cls in PRESENTERS:
            return PRESENTERS[cls]
    return DEFAULT


def map_layers(res: Any, lang: str = "en") -> list:
    """Map layers of a result, bottom first."""
    return presenter_for(res).map_layers(res, lang)


def headline(res: Any, lang: str = "en") -> str | None:
    """The headline of a result (None if its presenter has none)."""
    return presenter_for(res).headline(res, lang)


def figures(res: Any, folder: Path, lang: str = "en") -> list[tuple[str, str]]:
    """Write a result's charts into ``folder/maps``; return ``[(title, relative path)]``."""
    return presenter_for(res).figures(res, Path(folder), lang)


def labels(result: Any) -> dict[str, tuple[str, str]]:
    """Rule-dependent column labels of an audit's analyses (or of one result)."""
    out: dict[str, tuple[str, str]] = {}
    for res in (getattr(result, "analyses", None) or {"": result}).values():
        out.update(presenter_for(res).labels(res))
    return out

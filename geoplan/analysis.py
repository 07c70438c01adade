"""How an analysis joins the audit: a declaration, not a registration.

Each analysis package declares one :class:`Analysis` (``geoplan.lifecircle.ANALYSIS`` ...):
its name, the function that runs it on an audit, the analyses whose results
it uses, and how far it walks.  :func:`geoplan.audit.run_audit` takes the
analyses asked for, orders them so that every analysis runs after those it
uses, and loads the study area with the margin of the farthest walk among
them.  Nothing is registered at import time: the list of built-in analyses is
:data:`geoplan.audit.ANALYSES`, and a script passes its own :class:`Analysis`
to ``run_audit(cfg, analyses=[...])``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

__all__ = ["Analysis", "order_analyses"]


@dataclass(frozen=True)
class Analysis:
    """An analysis that joins an audit.

    Attributes
    ----------
    name : str
        Key of its result in ``AuditResult.analyses``, prefix of its tables and layers,
        its section in ``summary.json`` and in the configuration.
    run : callable
        ``run(result: AuditResult) -> object`` giving ``tables()``, ``layers()``,
        ``summary()`` and ``indicator(target)``; may return None (switched off).
    requires : tuple of str
        Analyses that must run first (added when not asked for).
    uses : tuple of str
        Analyses whose results it uses when they ran (run first when asked for, not added).
    reach_m : callable, optional
        ``reach_m(cfg: AuditConfig) -> metres``: the farthest walk it measures, so that
        the study area is loaded with parks and facilities that far beyond the border.
    """

    name: str
    run: Callable[[Any], Any]
    requires: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    reach_m: Callable[[Any], float] | None = None

    def reach(self, cfg: Any) -> float:
        """The farthest walk (m) this analysis measures under ``cfg`` (0 if it does not say)."""
        return float(self.reach_m(cfg)) if self.reach_m is not None else 0.0


def order_analyses(known: Sequence[Analysis], wanted: Iterable[str | Analysis] | None) -> list[Analysis]:
    """The analyses to run, each after the ones it requires or uses.

    Parameters
    ----------
    known : sequence of Analysis
        The installed analyses, in their default order.
    wanted : iterable of str or Analysis, optional
        Names of known analyses or further :class:`Analysis` objects; None: all known.

    Returns
    -------
    list of Analysis
        The asked-for analyses plus what they require, in an order where
        dependencies come first (ties keep the order of ``known``, then of ``wanted``).

    Raises
    ------
    UsageError
        An unknown name, or analyses that require each other.
    """
    by_name = {a.name: a for a in known}
    chosen: dict[str, Analysis] = {}
    for w in (list(known) if wanted is None else list(wanted)):
        if isinstance(w, Analysis):
            by_name.setdefault(w.name, w)
            chosen[w.name] = w
        elif w in by_name:
            chosen[w] = by_name[w]
        else:
            raise UsageError(f"analyses: unknown or not installed {w!r}.", hint=f"Known analyses: {', '.join(by_name) or 'none'}.")
    todo = list(chosen.values())
    while todo:  # add what the chosen ones require
        a = todo.pop()
        for r in a.requires:
            if r not in by_name:
                raise UsageError(f"analysis {a.name!r} requires {r!r}, which is not installed.")
            if r not in chosen:
                chosen[r] = by_name[r]
                todo.append(by_name[r])
    rank = {n: i for i, n in enumerate([*[a.name for a in known], *chosen])}
    order: list[Analysis] = []
    placed: set[str] = set()
    pending = sorted(chosen.values(), key=lambda a: rank[a.name])
    while pending:
        for a in pending:
            deps = [d for d in (*a.requires, *a.uses) if d in chosen]
            if all(d in placed for d in deps):
                order.append(a)
                placed.add(a.name)
                pending.remove(a)
                break
        else:
            raise UsageError(f"analyses {', '.join(a.name for a in pending)} require each other: no order runs them.")
    return order

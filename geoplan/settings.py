"""Global behaviour of geoplan: progress lines, warnings, logging, worker processes.

One place for what is not a figure of an analysis (OSMnx's ``settings``
module is the model):

* :class:`Reporter`: the ``[  1.2 s] step`` progress lines on stderr;
* :class:`WarningLog`: every warning raised while a run computes or writes,
  shown once in plain words and kept for ``geoplan.log``;
* :func:`default_workers`: how many processes draw the print maps;
* :data:`logger`: the ``geoplan`` logger (``logging.getLogger("geoplan")``).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import GeoplanWarning

__all__ = ["Reporter", "WarningLog", "WarningRecord", "default_workers", "logger", "MAX_MAP_WORKERS"]

#: The ``geoplan`` logger; a script may attach handlers to it (none by default: nothing is printed through it).
logger = logging.getLogger("geoplan")
logger.addHandler(logging.NullHandler())

#: At most this many processes draw print maps (each holds a copy of the layers).
MAX_MAP_WORKERS = 4

#: Warning categories about a library's future or the program's own resources, not about the figures of
#: this run: kept in the log only.
_LOG_ONLY = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ResourceWarning)

#: Modules whose warnings are progress chatter of a reader, not about the data (kept in the log only).
_CHATTER_MODULES = ("pyrosm",)


class Reporter:
    """Progress lines on stderr (``[  1.2 s] step``); silent with ``quiet``.

    Parameters
    ----------
    quiet : bool
        Print nothing.
    translate : callable, optional
        ``translate(message) -> str``: the line as printed (e.g. in Chinese, see :func:`geoplan.i18n.step`);
        the log keeps the message as given.
    """

    def __init__(self, quiet: bool = False, translate: Callable[[str], str] | None = None):
        self.quiet = quiet
        self.translate = translate
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        """Print ``message`` with the seconds since the reporter was made."""
        logger.info(message)
        if not self.quiet:
            shown = self.translate(message) if self.translate is not None else message
            print(f"[{time.perf_counter() - self.t0:6.1f} s] {shown}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class WarningRecord:
    """One warning raised during a run.

    Attributes
    ----------
    category : str
        Class name of the warning (``GeoplanWarning``, ``RuntimeWarning`` ...).
    source : str
        ``geoplan`` or the library that raised it (``numpy``, ``shapely`` ...).
    message : str
        The message on one line.
    shown : bool
        Whether it matters to the figures (shown on the console); the others
        (a library's deprecations and future changes) go to the log only.
    """

    category: str
    source: str
    message: str
    shown: bool

    def plain(self) -> str:
        """The line shown to the user: ``warning: <message>``, naming the library when not geoplan."""
        if self.category == "GeoplanWarning":
            return f"warning: {self.message}"
        return f"warning: {self.source} reports: {self.message} ({self.category}; the figures computed from it may be affected)"

    def log_line(self) -> str:
        """The line written to ``geoplan.log``."""
        return f"{self.category} from {self.source}: {self.message}"


def _source(category: type, filename: str, module: str | None) -> str:
    if issubclass(category, GeoplanWarning):
        return "geoplan"
    path = (filename or "").replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            top = path.split(marker, 1)[1].split("/", 1)[0]
            return os.path.splitext(top)[0]
    if "/geoplan/" in path:  # numpy or pandas warning about an operation geoplan made
        return "a library call in geoplan/" + path.rsplit("/geoplan/", 1)[1]
    return module or os.path.splitext(os.path.basename(path))[0] or "python"


@dataclass
class WarningLog:
    """Record the warnings raised inside a ``with`` block, show each once, keep them for the log.

    Geoplan's own warnings and the library warnings that concern the data
    (a ``RuntimeWarning`` of an invalid value, a ``UserWarning`` of a reader)
    are shown once each through ``show``; deprecations and future changes of
    the libraries are kept for the log only.  Nothing is swallowed: every
    warning is in :attr:`records`.  The caller's warning settings are restored
    on exit.

    Parameters
    ----------
    show : callable, optional
        ``show(line)`` for each warning that matters, the first time it is
        raised; default: not shown (the records are still kept).
    reemit : bool
        On exit, raise the recorded warnings again in the enclosing context
        (so that a caller's own :class:`WarningLog` or filters see them).

    Attributes
    ----------
    records : list of WarningRecord
        In the order first raised, each distinct warning once.
    """

    show: Callable[[str], None] | None = None
    reemit: bool = False
    records: list[WarningRecord] = field(default_factory=list)
    _seen: set = field(default_factory=set, repr=False)
    _raw: list = field(default_factory=list, repr=False)
    _ctx: Any = field(default=None, repr=False)

    def __enter__(self) -> WarningLog:
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("always")
        warnings.showwarning = self._record
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
        if self.reemit:
            for message, category, filename, lineno in self._raw:
                warnings.warn_explicit(message, category, filename, lineno)

    def _record(self, message: Any, category: type, filename: str, lineno: int, file: Any = None,
                line: Any = None) -> None:
        text = " ".join(str(message).split())
        key = (category, text)
        if key in self._seen:
            return
        self._seen.add(key)
        self._raw.append((message, category, filename, lineno))
        src = _source(category, filename, None)
        shown = issubclass(category, GeoplanWarning) or not (
            issubclass(category, _LOG_ONLY) or src in _CHATTER_MODULES)
        rec = WarningRecord(category.__name__, src, text, shown)
        self.records.append(rec)
        logger.warning(rec.log_line())
        if shown and self.show is not None:
            self.show(rec.plain())

    def log_lines(self) -> list[str]:
        """Every recorded warning as a line of ``geoplan.log``."""
        return [r.log_line() for r in self.records]


def default_workers(n_jobs: int) -> int:
    """Processes to draw ``n_jobs`` print maps.

    The ``GEOPLAN_WORKERS`` environment variable if set; 1 inside a daemonic
    process (a Dask worker cannot have children) or for fewer than 3 maps;
    else one per CPU, at most :data:`MAX_MAP_WORKERS`.
    """
    env = os.environ.get("GEOPLAN_WORKERS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    if mp.current_process().daemon:  # e.g. a Dask worker (geoplan batch): daemonic processes cannot have children
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_jobs < 3:
        return 1
    return max(1, min(MAX_MAP_WORKERS, cpus, n_jobs))

"""Inputs shared by the audits one process runs: each input file read and checked once.

``geoplan batch`` audits many areas (the 15 jiedao of a district) with the same
extract and the same user layers: parks, land use, natural areas, units and the
life-circle facilities.  Inside :func:`sharing` (each batch task runs in it),
what does not depend on the area is loaded once per process and reused by the
next areas of the same inputs:

* every user layer read by :func:`geoplan.sources.layers.read_layer`: read,
  reprojected to EPSG:4326, repaired and checked once; each caller gets its own
  copy, and the warnings the first read raised are raised again on every reuse
  (the area's log and status list them as a separate audit would);
* an OpenStreetMap XML extract (``.osm``, ``.osm.bz2``) converted to PBF once.

Entries are keyed by the file's path, size and modification time (a file changed
on disk is read again) and by every argument of the read, so a reused value is the
value a fresh read would give: results are identical to auditing the areas one
by one (``tests/test_batch.py`` compares them byte for byte).  The walking network
and the OpenStreetMap features are read per area, with the area's own bounding
box, exactly as a single audit reads them.

Outside :func:`sharing` nothing is kept (a single audit reads its inputs once anyway).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["sharing", "active", "shared", "file_key", "load_counts", "clear"]

#: Largest number of entries kept (the least recently used are dropped first).
MAX_ENTRIES = 64

_store: OrderedDict = OrderedDict()
_loads: Counter = Counter()
_depth = 0


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Reuse the inputs loaded by earlier audits of this process inside the block (nestable)."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def active() -> bool:
    """Whether the inputs are shared here (inside :func:`sharing`)."""
    return _depth > 0


def file_key(path: str | os.PathLike) -> tuple:
    """``(resolved path, size, modification time in ns)`` of a file (the path alone when it is missing)."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return (str(p),)
    return (str(p.resolve()), st.st_size, st.st_mtime_ns)


def shared(kind: str, key: tuple, load: Callable[[], Any], copy: Callable[[Any], Any] | None = None) -> Any:
    """``load()``, or inside :func:`sharing` the value an earlier identical load gave.

    Parameters
    ----------
    kind : str
        What is loaded (``layer``, ``osm-xml`` ...), counted by :func:`load_counts`.
    key : tuple
        Everything the value depends on (use :func:`file_key` for files).
    load : callable
        Loads the value (called once per key and process while sharing).
    copy : callable, optional
        Applied to the kept value before it is handed out (``GeoDataFrame.copy``), so
        that a caller changing its value does not change the next caller's.

    Returns
    -------
    The value; the warnings its load raised are raised again on each reuse.
    """
    if not active():
        _loads[kind] += 1
        return load()
    k = (kind, key)
    if k in _store:
        value, caught = _store[k]
        _store.move_to_end(k)
    else:
        _loads[kind] += 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = load()
        _store[k] = (value, caught)
        while len(_store) > MAX_ENTRIES:
            _store.popitem(last=False)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return copy(value) if copy is not None else value


def load_counts() -> dict[str, int]:
    """How many times each kind of input was loaded in this process (shared reuses not counted)."""
    return dict(_loads)


def clear() -> None:
    """Forget every shared input (the next audits load them again)."""
    _store.clear()

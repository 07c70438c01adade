"""Output folders written atomically: a temporary sibling renamed into place only when complete.

An interrupted or failed run never leaves a half-written folder, and an
earlier result is never lost.
"""

from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UsageError

__all__ = ["atomic_folder", "check_output_folder"]


#: errno values meaning "this place cannot be written": reported as usage errors.
_WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR}


def check_output_folder(out: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check, before any work, that ``out`` can be written; return its absolute path.

    Raises
    ------
    UsageError
        ``out`` exists and ``overwrite`` is False, ``out`` is a file, or its
        nearest existing ancestor is a file or not writable.  Nothing is created.
    """
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"output folder {out} is an existing file.", hint="Choose another --out.")
    if out.exists() and not overwrite:
        raise UsageError(f"output folder {out} already exists.", hint="Choose another --out or pass --overwrite.")
    base = out.parent  # the nearest existing ancestor decides (missing parents are created later)
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise UsageError(f"output folder {out}: {base} is a file, not a folder.", hint="Choose another --out.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {out}: {base} is not writable.",
                         hint="Choose a folder you can write to with --out.")
    return out


@contextmanager
def atomic_folder(out: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``out`` only if the block succeeds.

    The temporary folder is a hidden sibling of ``out``
    (``.NAME.partial-PID``); on any exception, ``KeyboardInterrupt`` included,
    it is removed and ``out`` (if it existed) is left untouched.

    Raises
    ------
    UsageError
        ``out`` exists and ``overwrite`` is False, its parent is not writable,
        or writing fails for lack of permission or space.
    """
    out = check_output_folder(out, overwrite=overwrite)
    parent = out.parent
    tmp = parent / f".{out.name}.partial-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise UsageError(f"cannot write the output folder {out}: {exc.strerror}.",
                         hint="Choose a folder you can write to with --out.") from None
    try:
        yield tmp
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in _WRITE_ERRNOS:
            raise UsageError(f"cannot write the output folder {out}: {exc.strerror} ({exc.filename or tmp}).",
                             hint="Free some space or choose a folder you can write to with --out.") from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    try:
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        # put the previous folder back: a failed run never loses an earlier result
        if old is not None and old.exists() and not out.exists():
            os.replace(old, out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

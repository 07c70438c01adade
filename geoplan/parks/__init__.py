"""Park green-space service-radius coverage (公园绿地服务半径覆盖率)."""

from .access import access_points
from .coverage import ParkCoverage, park_coverage
from .selection import select_parks
from .siting import site_pocket_parks
from .status import coverage_status

__all__ = ["select_parks", "access_points", "park_coverage", "ParkCoverage", "site_pocket_parks", "coverage_status"]

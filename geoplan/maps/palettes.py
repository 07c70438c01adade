"""Colour classes that stay apart in greyscale print and for colour-blind readers.

tests/test_audit_maps.py checks every classed layer of the print maps: classes at
least 8 L* apart once printed on white paper at the layer's fill opacity, and
10 CIE76 apart for protan, deutan and tritan readers.

Sequential classes are ColorBrewer schemes (Cynthia Brewer, colorbrewer2.org:
"colorblind safe" and "print friendly" schemes), listed light to dark so the
lightness alone orders the classes; point classes use viridis, whose lightness
rises evenly. Two-way statuses pair a blue with a red of clearly different
lightness (never red against green).
"""

from __future__ import annotations

__all__ = [
    "COVERAGE_6",
    "NOT_COVERED",
    "COVERED",
    "LINE_ONLY",
    "SCORE_5",
    "VIRIDIS_4",
    "VIRIDIS_5",
    "PARK_TIERS",
    "GAINED",
    "LOST",
]

#: viridis, 6 classes (coverage in %: 0-50-70-80-90-95-100): low coverage darkest. ColorBrewer's
#: six-class sequential schemes step only ~9 L* between some classes, too little under a 0.7 fill.
COVERAGE_6 = ("#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725")
#: ColorBrewer YlGnBu, 5 classes (scores and shares 0-20-40-60-80-100).
SCORE_5 = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
#: viridis in 4 and 5 classes (points: dark to light).
VIRIDIS_4 = ("#440154", "#31688e", "#35b779", "#fde725")
VIRIDIS_5 = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
#: Residential land covered / covered by the straight line only / not covered.
COVERED = "#74add1"
LINE_ONLY = "#fee090"
NOT_COVERED = "#d73027"
#: Change: land newly served / no longer served (blue against red, not green against red).
GAINED = "#2166ac"
LOST = "#d6604d"
#: Parks by tier, largest tier darkest (ColorBrewer Greens, 4 classes); the last one is
#: for parks below every tier.
PARK_TIERS = ("#238b45", "#74c476", "#bae4b3", "#edf8e9")

"""``geoplan presets``: the rule presets, one line each."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import list_presets, load_rules

__all__ = ["add_parser", "cmd_presets"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``geoplan presets`` to the command line."""
    p = subparsers.add_parser("presets", help="list the rule presets")
    p.set_defaults(func=cmd_presets)
    return p


def cmd_presets(args: argparse.Namespace) -> int:
    """List the rule presets."""
    for name in list_presets():
        r = load_rules(name)
        tiers = "; ".join(f"{t.id}: ≥{t.min_area_m2:g} m² → {t.radius_m:g} m" for t in r.tiers)
        print(f"{name:<16} {r.text('en')}  [{r.method}]  {tiers}")
    return 0

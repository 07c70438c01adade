"""Regenerate the screenshots in docs/ from the default audit (``geoplan audit`` with no arguments: Xicheng).

    python scripts/screenshots.py                   # runs the default audit into a temporary folder
    python scripts/screenshots.py --folder OUT      # or uses an audit folder already written

Writes, each a PNG under about 500 KB:

    docs/screenshot_report.png      index.html, the top of page one, 1366 px wide
    docs/screenshot_map.png         map.html as it opens at 1366 x 768
    docs/print_map_park_coverage.png  maps/park_coverage_A4.png (300 dpi) scaled to 1600 px wide

Needs headless Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)
and selenium (pip install -e ".[test]"). The pages are opened with the network cut off,
as tests/browser.py does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MAX_BYTES = 500_000


def run_default_audit(out: Path) -> Path:
    """``geoplan audit --out OUT`` with no other argument (the Xicheng sample in data/)."""
    cmd = [sys.executable, "-m", "geoplan.cli", "audit", "--out", str(out), "--quiet", "--no-state"]
    print("running:", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    return out


def shoot(page: Path, target: Path, width: int, height: int, settle_s: float = 2.0) -> Path:
    """Screenshot ``page`` at ``width`` x ``height`` CSS pixels, offline."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import offline_chromium  # the test harness: network cut off, exact viewport

    with offline_chromium(width, height) as driver:
        driver.set_page_load_timeout(120)
        driver.get(page.resolve().as_uri())
        time.sleep(settle_s)
        driver.save_screenshot(str(target))
    return small_png(target)


def small_png(path: Path, width: int | None = None) -> Path:
    """Scale to ``width`` (if given) and reduce to a palette until the file is under :data:`MAX_BYTES`."""
    im = Image.open(path).convert("RGB")
    if width is not None and im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    for colours in (256, 128, 64):
        im.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
        if path.stat().st_size <= MAX_BYTES:
            break
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folder", type=Path, help="an audit folder already written (default: run the default audit)")
    args = p.parse_args(argv)
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="geoplan-shots-") as tmp:
        folder = args.folder or run_default_audit(Path(tmp) / "geoplan-audit-xicheng")
        made = [
            shoot(folder / "index.html", DOCS / "screenshot_report.png", 1366, 1100, settle_s=1.0),
            shoot(folder / "map.html", DOCS / "screenshot_map.png", 1366, 768, settle_s=4.0),
        ]
        target = DOCS / "print_map_park_coverage.png"
        Image.open(folder / "maps" / "park_coverage_A4.png").convert("RGB").save(target)
        made.append(small_png(target, width=1600))
    for path in made:
        with Image.open(path) as im:
            print(f"{path.relative_to(ROOT)}: {im.width} x {im.height} px, {path.stat().st_size / 1000:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure an audit folder's report as a reader meets it, in headless Chromium (offline).

    python scripts/report_measure.py OUT_FOLDER [--width 1366 --height 768]

prints the height of ``index.html`` in CSS pixels at the window size, the printed
A4 pages of page one (``#page-one`` alone) and of the whole report.  The PDFs are
written beside the folder's index as ``index.pdf`` and ``page-one.pdf`` in a
temporary folder (the audit folder is left as it is).  Needs chromium and
chromedriver (Debian: ``apt-get install chromium chromium-driver``) and selenium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import page_height, print_pdf  # noqa: E402  (tests/browser.py: Chromium with the network cut off)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="an audit folder (with index.html)")
    ap.add_argument("--width", type=int, default=1366)
    ap.add_argument("--height", type=int, default=768)
    a = ap.parse_args(argv)
    index = a.folder / "index.html"
    if not index.is_file():
        print(f"error: {index} not found: give an audit folder written with maps.", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="geoplan-report-measure-"))
    h = page_height(index, width=a.width, height=a.height)
    one = print_pdf(index, tmp / "page-one.pdf", only="#page-one") if "id='page-one'" in index.read_text(encoding="utf-8") else None
    total = print_pdf(index, tmp / "index.pdf")
    print(f"index.html: {h:,} px tall at {a.width} x {a.height}")
    print(f"page one printed: {one if one is not None else 'no #page-one section'} A4 page(s); whole report: {total} A4 pages")
    print(f"PDFs: {tmp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Render HTML files in real headless Chromium with the network cut off.

Used by the map tests (and reusable by any test that needs a browser)::

    from browser import render_html      # tests/ is on sys.path under pytest
    result = render_html(html_path, screenshot=artifacts / "map.png")
    assert result.interactive_paths >= n_features

The network is disabled three ways, so a page that still links a CDN shows up
as broken instead of silently loading: every request goes to a proxy on a
closed local port, host names do not resolve, and DevTools emulates an offline
network. ``file://`` pages load normally. Every request the page attempted
beyond ``file:``/``data:``/``blob:`` is reported in ``external_requests``.

When Chromium or chromedriver is missing, :func:`require_chromium` (called by
:func:`render_html`) skips the test with a clear reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
#: Requests that leave nothing: the page's own files, and Chromium's internal pages (its new-tab page fetches
#: ``chrome-untrusted://new-tab-page/...`` now and then, whatever page is opened).
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "chrome-untrusted:", "chrome-search:", "devtools:")

#: JavaScript that counts what Leaflet drew; returns a JSON-able dict.
_PROBE_JS = """
const q = (s) => document.querySelectorAll(s);
const legend = document.querySelector('.geoplan-legend');
return {
  leaflet_loaded: typeof window.L !== 'undefined' && !!window.L.map,
  containers: q('.leaflet-container').length,
  interactive_paths: q('path.leaflet-interactive').length,
  all_paths: q('.leaflet-pane path').length,
  markers: q('.leaflet-marker-icon').length,
  tiles: q('img.leaflet-tile').length,
  legend_present: !!legend && legend.offsetHeight > 0,
  legend_text: legend ? legend.innerText : '',
  legend_rows: q('.geoplan-legend-row').length,
  layer_control: q('.leaflet-control-layers').length > 0,
  layer_control_entries: q('.leaflet-control-layers-overlays label').length,
  layer_control_labels: Array.from(q('.leaflet-control-layers-overlays label')).map(e => e.innerText.trim()),
  layers_on: Array.from(q('.leaflet-control-layers-overlays input:checked')).map(e => e.parentNode.innerText.trim()),
  layer_groups: Array.from(q('.leaflet-control-layers-group-name')).map(e => e.innerText.trim()),
  legend_box: legend ? (({left, top, right, bottom}) => ({left, top, right, bottom}))(legend.getBoundingClientRect()) : null,
  legend_overflow: legend ? legend.scrollHeight - legend.clientHeight : null,
  viewport: [window.innerWidth, window.innerHeight],
  labels_shown: Array.from(q('.geoplan-label span')).filter(e => e.style.visibility !== 'hidden').map(e => e.innerText),
  search_options: Array.from(q('.geoplan-search datalist option')).map(e => e.value),
  title_text: (document.querySelector('.geoplan-title') || {}).innerText || '',
  page_title: document.title,
};
"""


#: JavaScript that hovers the first N interactive paths and returns the tooltip texts.
_HOVER_JS = """
const paths = Array.from(document.querySelectorAll('path.leaflet-interactive')).slice(0, arguments[0]);
const texts = [];
for (const p of paths) {
  const r = p.getBoundingClientRect();
  const opts = {bubbles: true, cancelable: true, view: window,
                clientX: r.x + r.width / 2, clientY: r.y + r.height / 2};
  p.dispatchEvent(new MouseEvent('mouseover', opts));
  p.dispatchEvent(new MouseEvent('mousemove', opts));
  const tip = document.querySelector('.leaflet-tooltip');
  if (tip) { texts.push(tip.innerText); }
  p.dispatchEvent(new MouseEvent('mouseout', opts));
}
return texts;
"""


@dataclass
class RenderResult:
    """What a page drew in headless Chromium."""

    leaflet_loaded: bool = False
    containers: int = 0
    interactive_paths: int = 0
    all_paths: int = 0
    markers: int = 0
    tiles: int = 0
    legend_present: bool = False
    legend_text: str = ""
    legend_rows: int = 0
    layer_control: bool = False
    layer_control_entries: int = 0
    layer_control_labels: list[str] = field(default_factory=list)
    layers_on: list[str] = field(default_factory=list)
    layer_groups: list[str] = field(default_factory=list)
    legend_box: dict[str, float] | None = None
    legend_overflow: float | None = None
    viewport: list[int] = field(default_factory=list)
    labels_shown: list[str] = field(default_factory=list)
    search_options: list[str] = field(default_factory=list)
    title_text: str = ""
    page_title: str = ""
    tooltip_texts: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None


def find_chromium() -> tuple[str, str] | None:
    """Return (chromium, chromedriver) paths, or None when either is missing."""
    browser = os.environ.get("GEOPLAN_CHROMIUM") or _first_existing(CHROMIUM_CANDIDATES, "chromium")
    driver = os.environ.get("GEOPLAN_CHROMEDRIVER") or _first_existing(CHROMEDRIVER_CANDIDATES, "chromedriver")
    if browser and driver:
        return browser, driver
    return None


def require_chromium() -> tuple[str, str]:
    """Return (chromium, chromedriver) paths, or skip the calling test with the reason."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    found = find_chromium()
    if found is None:
        pytest.skip("headless Chromium not available: apt-get install chromium chromium-driver")
    return found


def _first_existing(candidates: tuple[str, ...], name: str) -> str | None:
    for path in candidates:
        if os.path.exists(path) and os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def _closed_port() -> int:
    """A local TCP port with nothing listening (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def offline_chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """Start headless Chromium with the network disabled; yield the selenium driver.

    Parameters
    ----------
    width, height : int
        Viewport size in CSS pixels (the screenshot size).
    """
    browser, driver_path = require_chromium()
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="geoplan-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
        "--metrics-recording-only", "--no-default-browser-check", "--mute-audio",
        f"--user-data-dir={profile}", f"--window-size={width},{height}",
        f"--proxy-server=http://127.0.0.1:{_closed_port()}", "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = None
    try:
        try:
            driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
        except WebDriverException as exc:
            pytest.skip(f"headless Chromium could not start: {str(exc).splitlines()[0]}")
        # the page's viewport exactly width x height CSS pixels (the window adds no browser frame to it)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        yield driver
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def render_html(
    path: str | os.PathLike[str],
    *,
    screenshot: str | os.PathLike[str] | None = None,
    width: int = 1280,
    height: int = 900,
    timeout_s: float = 20.0,
    hover: int = 0,
) -> RenderResult:
    """Open a local HTML file offline in headless Chromium and report what it drew.

    Parameters
    ----------
    path : path-like
        The HTML file.
    screenshot : path-like, optional
        Where to save a PNG screenshot (parent folders are created).
    width, height : int
        Window size in CSS pixels.
    timeout_s : float
        How long to wait for the drawing to settle.
    hover : int
        Hover this many interactive features (after the screenshot) and
        collect the tooltip texts they show.

    Returns
    -------
    RenderResult
        Counts of drawn features, legend / layer-control presence, JS errors,
        attempted non-local requests, and the screenshot path.
    """
    url = Path(path).resolve().as_uri()
    with offline_chromium(width, height) as driver:
        driver.set_page_load_timeout(timeout_s)
        driver.get(url)
        probe = _wait_until_settled(driver, timeout_s)
        result = RenderResult(**probe)
        if screenshot is not None:
            shot = Path(screenshot)
            shot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(shot))
            result.screenshot = shot
        if hover:
            result.tooltip_texts = list(driver.execute_script(_HOVER_JS, hover))
        result.js_errors = _js_errors(driver)
        result.external_requests = _external_requests(driver)
    return result


def _wait_until_settled(driver: Any, timeout_s: float) -> dict[str, Any]:
    """Poll the probe until the path count is stable for a few rounds."""
    deadline = time.monotonic() + timeout_s
    last, stable, probe = -1, 0, {}
    while time.monotonic() < deadline:
        probe = driver.execute_script(_PROBE_JS)
        count = probe["all_paths"] + probe["markers"]
        if driver.execute_script("return document.readyState") == "complete" and count == last:
            stable += 1
            if stable >= 3:
                break
        else:
            stable = 0
        last = count
        time.sleep(0.2)
    return probe


def _js_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _external_requests(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        request_url = message["params"]["request"]["url"]
        if not request_url.startswith(LOCAL_SCHEMES):
            urls.append(request_url)
    return urls


def page_height(path: str | os.PathLike[str], *, width: int = 1366, height: int = 768, timeout_s: float = 20.0) -> int:
    """Height in CSS pixels of a local page's whole document, opened offline at ``width`` x ``height``."""
    with offline_chromium(width, height) as driver:
        driver.set_page_load_timeout(timeout_s)
        driver.get(Path(path).resolve().as_uri())
        return int(driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);"))


#: JavaScript that keeps only the element ``arguments[0]`` (and what it needs: head, the footer) in the body.
_KEEP_ONLY_JS = """
const keep = document.querySelector(arguments[0]);
if (!keep) { return false; }
for (const el of Array.from(document.body.children)) {
  if (el !== keep && el.tagName !== 'FOOTER') { el.remove(); }
}
return true;
"""


def print_pdf(path: str | os.PathLike[str], out: str | os.PathLike[str], *, only: str | None = None,
              timeout_s: float = 30.0) -> int:
    """Print a local page to PDF as Chromium does (A4, the page's own ``@page`` and print CSS); return its page count.

    Parameters
    ----------
    path : path-like
        The HTML file.
    out : path-like
        Where the PDF is written.
    only : str, optional
        A CSS selector: print only this element of the body (e.g. ``#page-one``).
    """
    import base64

    with offline_chromium() as driver:
        driver.set_page_load_timeout(timeout_s)
        driver.get(Path(path).resolve().as_uri())
        if only is not None and not driver.execute_script(_KEEP_ONLY_JS, only):
            raise AssertionError(f"{path}: no element {only!r}")
        # wait for the images, so that the printed layout is the final one
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not driver.execute_script(
                "return Array.from(document.images).every(i => i.complete);"):
            time.sleep(0.1)
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                                         "paperWidth": 8.27, "paperHeight": 11.69})
    data = base64.b64decode(pdf["data"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_bytes(data)
    return pdf_page_count(data)


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF written by Chromium (its page objects are plain, uncompressed dictionaries)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))

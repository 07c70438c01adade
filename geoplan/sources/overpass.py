"""Downloading OpenStreetMap data from an Overpass API server, with a cache.

One query per box asks for the same objects as
:func:`geoplan.sources.extract.clip_extract` keeps (nodes inside, complete
ways, relations touching the box, complete multipolygons and county-level
boundaries) as full OSM XML with ``out meta``, so every analysis finds its
tags: streets, land use, parks, buildings, amenities, shops, barriers and
entrances, natural areas, boundaries.

The server, timeout, memory limit, cache folder and HTTP headers are OSMnx's
settings (``osmnx.settings``: ``overpass_url``, ``requests_timeout``,
``overpass_memory``, ``use_cache``, ``cache_folder``, ``http_user_agent``,
``requests_kwargs`` ...), so a project that configures OSMnx configures this
too.  Answers are kept gzip-compressed in the cache folder under the SHA-1 of
the server URL and the query: a second run for the same box makes no request
and works offline.  Only complete, error-free answers are cached.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DataError

__all__ = ["OverpassAnswer", "FetchError", "overpass_query", "download", "split_bbox", "network_reason"]

BBox = tuple[float, float, float, float]

#: HTTP statuses after which the same request is tried again (server busy or overloaded).
RETRY_STATUSES = {429, 502, 503, 504}
#: Longest pause between two tries, in seconds (whatever the server's Retry-After says).
MAX_PAUSE_S = 120.0


class FetchError(DataError):
    """The data could not be downloaded (server busy, no answer, no network, an error answer).

    ``too_large`` is True when the server stopped the query for lack of time
    or memory: the same box cut in smaller boxes may succeed.
    """

    too_large = False


@dataclass
class OverpassAnswer:
    """One Overpass answer on disk.

    Attributes
    ----------
    path : Path
        The answer (OSM XML, gzip-compressed) in the cache folder.
    query : str
        The Overpass QL query.
    url : str
        The interpreter URL it was sent to.
    from_cache : bool
        True when no request was made.
    osm_base : str or None
        The server's data timestamp (``<meta osm_base=...>``).
    generator : str or None
        The server's ``generator`` attribute (e.g. ``Overpass API 0.7.62``).
    bytes : int
        Size of the uncompressed answer.
    """

    path: Path
    query: str
    url: str
    from_cache: bool
    osm_base: str | None
    generator: str | None
    bytes: int

    def as_dict(self) -> dict:
        """Plain data for the manifest."""
        return {"url": self.url, "query": self.query, "from_cache": self.from_cache, "osm_base": self.osm_base,
                "generator": self.generator, "bytes": self.bytes, "cache_file": self.path.name}


def overpass_query(bbox: BBox, *, timeout: int = 180, maxsize: int | None = None) -> str:
    """The Overpass QL query for a box: complete ways, multipolygons and boundaries, ``out meta``.

    Parameters
    ----------
    bbox : tuple of float
        ``(west, south, east, north)`` in degrees.
    timeout : int
        Server-side time limit in seconds.
    maxsize : int, optional
        Server-side memory limit in bytes.
    """
    w, s, e, n = (f"{v:.7f}" for v in bbox)
    size = f"[maxsize:{int(maxsize)}]" if maxsize else ""
    levels = "|".join(str(i) for i in range(6, 13))
    return (
        f"[out:xml][timeout:{int(timeout)}]{size};\n"
        f"node({s},{w},{n},{e})->.inside;\n"
        "way(bn.inside)->.ways;\n"
        "(rel(bn.inside);rel(bw.ways);)->.rels0;\n"
        "(.rels0;rel(br.rels0);)->.rels;\n"
        f'(rel.rels[type=multipolygon];rel.rels[type=boundary][boundary=administrative][admin_level~"^({levels})$"];)'
        "->.whole;\n"
        "(.ways;way(r.whole);)->.allways;\n"
        "(.inside;node(r.whole);node(w.allways);)->.allnodes;\n"
        "(.allnodes;.allways;.rels;);\n"
        "out meta;\n"
    )


def split_bbox(bbox: BBox, max_area_m2: float) -> list[BBox]:
    """Cut a box into a grid of boxes of at most ``max_area_m2`` each (OSMnx's ``max_query_area_size``)."""
    w, s, e, n = bbox
    lat = math.radians((s + n) / 2)
    width = (e - w) * 111_320.0 * max(math.cos(lat), 1e-6)
    height = (n - s) * 110_574.0
    k = max(1, math.ceil(math.sqrt(width * height / max_area_m2)))
    xs = [w + (e - w) * i / k for i in range(k + 1)]
    ys = [s + (n - s) * j / k for j in range(k + 1)]
    return [(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(k) for i in range(k)]


def _settings():
    import osmnx as ox

    return ox.settings


def _cache_path(url: str, query: str) -> Path:
    digest = hashlib.sha1(f"{url}\n{query}".encode()).hexdigest()  # noqa: S324 - a file name, not security
    return Path(_settings().cache_folder) / f"overpass-{digest}.osm.gz"


def _headers() -> dict:
    import requests

    st = _settings()
    h = dict(requests.utils.default_headers())
    h.update({"User-Agent": st.http_user_agent, "referer": st.http_referer,
              "Accept-Language": st.http_accept_language})
    return h


_META = re.compile(rb'<meta[^>]*osm_base="([^"]+)"')
_GENERATOR = re.compile(rb'<osm[^>]*generator="([^"]+)"')
_REMARK = re.compile(rb"<remark>(.*?)</remark>", re.S)


def _head_info(head: bytes) -> tuple[str | None, str | None]:
    m = _META.search(head)
    g = _GENERATOR.search(head)
    return (m.group(1).decode("utf-8", "replace") if m else None,
            g.group(1).decode("utf-8", "replace") if g else None)


def download(bbox: BBox, *, retries: int = 2, scratch: str | os.PathLike | None = None,
             progress: Callable[[str], None] | None = None) -> OverpassAnswer:
    """The Overpass answer for one box, from the cache or the server.

    Parameters
    ----------
    bbox : tuple of float
        ``(west, south, east, north)`` in degrees.
    retries : int
        Further tries after an HTTP 429, 502, 503 or 504 answer or a time-out,
        pausing as the server's ``Retry-After`` says (at most 120 s), else
        10 s, 20 s ...
    scratch : path, optional
        Folder for the answer when the cache is off (``use_cache`` False).
    progress : callable, optional
        ``progress(message)`` for each request.

    Returns
    -------
    OverpassAnswer

    Raises
    ------
    FetchError
        No usable answer: server busy or failing after the retries, time-out,
        no network, an error answer (``runtime error`` remark), an answer that
        is not OSM XML or holds no object.
    """
    st = _settings()
    url = st.overpass_url.rstrip("/") + "/interpreter"
    query = overpass_query(bbox, timeout=max(1, math.ceil(st.requests_timeout)), maxsize=st.overpass_memory)
    cache = _cache_path(url, query)
    if not st.use_cache:  # the caller reads the answer once: keep it out of the cache folder
        if scratch is None:
            raise ValueError("download: give a scratch folder when osmnx.settings.use_cache is False")
        cache = Path(scratch) / cache.name
    elif cache.is_file():
        with gzip.open(cache, "rb") as fh:
            head = fh.read(4096)
        base, gen = _head_info(head)
        return OverpassAnswer(cache, query, url, True, base, gen, _gz_size(cache))
    say = progress or (lambda msg: None)
    for attempt in range(retries + 1):
        say(f"asking {url} for {_fmt(bbox)}" + (f" (try {attempt + 1})" if attempt else ""))
        pause = _request(url, query, cache, attempt, retries)
        if pause is None:
            break
        say(f"server busy: trying again in {pause:g} s")
        time.sleep(pause)
    with gzip.open(cache, "rb") as fh:
        head = fh.read(4096)
    base, gen = _head_info(head)
    return OverpassAnswer(cache, query, url, False, base, gen, _gz_size(cache))


def _gz_size(path: Path) -> int:
    with open(path, "rb") as fh:  # gzip keeps the size modulo 2**32 in its last four bytes
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def _request(url: str, query: str, cache: Path, attempt: int, retries: int) -> float | None:
    """Send the query once; write the answer to ``cache``; return a pause to retry, or None when done."""
    import requests

    st = _settings()
    timeout = float(st.requests_timeout)
    wait = timeout * 1.25 + 1.0  # the server stops at its [timeout:]; give its answer a little more
    try:
        resp = requests.post(url, data={"data": query}, headers=_headers(), timeout=(min(timeout, 30.0), wait),
                             stream=True, **st.requests_kwargs)
    except requests.exceptions.Timeout:
        if attempt < retries:
            return 10.0 * (attempt + 1)
        raise FetchError(f"no answer from the Overpass server {url} within {wait:g} s.",
                         hint="The server is overloaded or the area is large: try again later, a smaller area, "
                         "another server (--overpass-url), or clip a local extract with --pbf.") from None
    except requests.exceptions.RequestException as exc:
        cached = f"and its answer for this area is not in the cache ({st.cache_folder})" if st.use_cache else \
            "and the cache is off (--no-cache)"
        raise FetchError(f"cannot reach the Overpass server {url} ({network_reason(exc)}), {cached}.",
                         hint="Without internet, clip a local Geofabrik or BBBike extract with --pbf FILE.") from None
    with resp:
        if resp.status_code in RETRY_STATUSES:
            if attempt < retries:
                return _retry_after(resp, attempt)
            raise FetchError(f"the Overpass server {url} answered HTTP {resp.status_code} {resp.reason} "
                             f"{'(too many requests)' if resp.status_code == 429 else '(overloaded)'} "
                             f"after {retries + 1} tries.",
                             hint="Try again in a few minutes, use another server (--overpass-url), or clip a local "
                             "extract with --pbf.")
        if resp.status_code != 200:
            detail = _error_text(resp)
            raise FetchError(f"the Overpass server {url} answered HTTP {resp.status_code} {resp.reason}"
                             f"{': ' + detail if detail else ''}.",
                             hint="Check --overpass-url; if the query was refused, report it with this line.")
        _save(resp, url, cache)
    return None


def _save(resp, url: str, cache: Path) -> None:  # noqa: ANN001 - requests.Response
    """Stream the answer gzip-compressed to a temporary file, check it, then put it in place."""
    import requests

    cache.parent.mkdir(parents=True, exist_ok=True)
    part = cache.with_name(f".{cache.name}.part-{os.getpid()}")
    head, tail, size = b"", b"", 0
    try:
        with gzip.open(part, "wb", compresslevel=6) as out:
            for chunk in resp.iter_content(chunk_size=1 << 16):
                if not chunk:
                    continue
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                tail = (tail + chunk)[-8192:]
                size += len(chunk)
                out.write(chunk)
        _check_answer(url, head, tail, size)
        os.replace(part, cache)
    except requests.exceptions.RequestException as exc:
        part.unlink(missing_ok=True)
        raise FetchError(f"the answer of the Overpass server {url} broke off after {size:,} bytes ({network_reason(exc)}).",
                         hint="Try again; for a large area clip a local extract with --pbf.") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _check_answer(url: str, head: bytes, tail: bytes, size: int) -> None:
    if size == 0:
        raise FetchError(f"the Overpass server {url} sent an empty answer.",
                         hint="Try again later or use another server (--overpass-url).")
    if b"<osm" not in head:
        text = " ".join(head[:200].decode("utf-8", "replace").split())
        raise FetchError(f"the Overpass server {url} did not send OpenStreetMap XML (it begins {text!r}).",
                         hint="Check --overpass-url: it should end in /api (e.g. https://overpass-api.de/api).")
    for m in _REMARK.finditer(tail):
        remark = " ".join(m.group(1).decode("utf-8", "replace").split())
        if "error" in remark.lower():
            err = FetchError(f"the Overpass server {url} stopped the query: {remark}",
                             hint="The area is too large for the server's limits: use a smaller area or margin, "
                             "a larger --timeout, or clip a local extract with --pbf.")
            err.too_large = any(w in remark.lower() for w in ("timed out", "out of memory", "memory"))
            raise err
    if not re.search(rb"<(node|way|relation)\b", head + tail):
        raise FetchError(f"the Overpass server {url} found no OpenStreetMap data in this area.",
                         hint="Check the area (a --bbox is west,south,east,north in degrees) and that it is on land.")


def _retry_after(resp, attempt: int) -> float:  # noqa: ANN001
    value = resp.headers.get("Retry-After")
    try:
        pause = float(value) if value is not None else 10.0 * (attempt + 1)
    except ValueError:
        pause = 10.0 * (attempt + 1)
    return max(0.0, min(pause, MAX_PAUSE_S))


def _error_text(resp) -> str:  # noqa: ANN001
    try:
        text = resp.text[:4000]
    except Exception:  # noqa: BLE001 - a broken body is no reason to hide the status
        return ""
    m = re.search(r"<strong[^>]*>\s*Error\s*</strong>\s*:?(.*?)</p>", text, re.S | re.I)
    found = m.group(1) if m else re.sub(r"<[^>]+>", " ", text)
    return " ".join(found.split())[:300]


def network_reason(exc: Exception) -> str:
    """The operating system's reason inside a requests error (``Connection refused`` ...), else its type."""
    text = " ".join(str(exc).split())
    m = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)  # the OS reason, deep inside urllib3's wrapping
    if m:
        return m.group(1).strip()
    return type(exc).__name__


def _fmt(b: BBox) -> str:
    return "box {:.4f},{:.4f},{:.4f},{:.4f}".format(*b)

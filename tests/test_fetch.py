"""``geoplan fetch``: data for a district, online (Overpass, cached) or offline (clip a local extract).

The download path is tested on REAL recorded Overpass API answers from
``../shared/data/corpus`` (files whose generator is "Overpass API"), served by
a real HTTP server on 127.0.0.1: the code under test opens real sockets and
sends real requests, but nothing leaves this machine.  The offline clip is
checked against an independent computation: the same rule applied in plain
Python to the XML export of the same data, parsed with the standard library.
"""

from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import osmium
import pytest
import shapely

from geoplan.cli import main
from geoplan.sources.extract import clip_extract

HSINCHU_BOX = "121.005,24.82,121.02,24.835"  # inside the recorded Overpass answer for Hsinchu East (2020)
XINJIEKOU = "新街口街道"


# ----------------------------------------------------------------- a local server answering with recorded bytes
class Recorded:
    """What the local server answers, one response per request (the last one repeats), and what it was asked."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict, bytes, float]] = []
        self.requests: list[tuple[str, str, bytes]] = []
        self.url = ""

    def answer(self, status: int = 200, body: bytes = b"", headers: dict | None = None, delay: float = 0.0) -> None:
        self.answers.append((status, headers or {}, body, delay))

    def next(self) -> tuple[int, dict, bytes, float]:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def posted_query(self, i: int = -1) -> str:
        return parse_qs(self.requests[i][2].decode())["data"][0]


@pytest.fixture
def server():
    rec = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            rec.requests.append((self.command, self.path, self.rfile.read(n) if n else b""))
            status, headers, body, delay = rec.next()
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (time-out test)
                pass

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield rec
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own (and GEOPLAN_CACHE pointing to it, so nothing else is written)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GEOPLAN_CACHE", str(folder))
    return folder


def recorded(shared_data, name: str) -> bytes:
    path = shared_data("corpus", name)
    data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    assert b'generator="Overpass API' in data[:400], f"{name} is not an Overpass answer"
    return data


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_error(rc: int, err: str, code: int, *needles: str) -> str:
    assert rc == code, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no partial folder


def fetch_args(server: Recorded, cache: Path, out: Path, *more) -> list:
    return ["fetch", "--bbox", HSINCHU_BOX, "--overpass-url", f"{server.url}/api", "--cache-folder", cache,
            "--out", out, "--retries", "0", *more]


def objects(path: Path) -> dict:
    """Every object of an OSM file: (type, id) -> (tags, coordinates or member list)."""
    out = {}
    for o in osmium.FileProcessor(str(path)):
        t = o.type_str()
        if t == "n":
            body = (round(o.location.lon, 7), round(o.location.lat, 7))
        elif t == "w":
            body = tuple(n.ref for n in o.nodes)
        else:
            body = tuple((m.type, m.ref, m.role) for m in o.members)
        out[(t, o.id)] = (dict(o.tags), body)
    return out


# ----------------------------------------------------------------- online: Overpass, recorded answers
@pytest.mark.shared
@pytest.mark.slow
def test_fetch_from_recorded_overpass_answer_then_audit(server, cache, tmp_path, capsys, shared_data):
    """A real Overpass answer becomes an extract holding exactly its objects; the folder audits as it is."""
    answer = recorded(shared_data, "tw_hsinchu_east_2020.osm")
    server.answer(200, answer, {"Content-Type": "application/osm3s+xml"})
    out = tmp_path / "hsinchu"
    rc, stdout, err = cli(capsys, *fetch_args(server, cache, out))
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["SOURCES.md", "boundary.gpkg", "extract.osm.pbf", "manifest.json"]

    # one POST to the interpreter, asking for the box grown by 1,500 m, full XML with metadata
    assert len(server.requests) == 1
    method, path, _ = server.requests[0]
    assert (method, path) == ("POST", "/api/interpreter")
    q = server.posted_query()
    assert q.startswith("[out:xml]") and "out meta;" in q
    man = json.loads((out / "manifest.json").read_text())
    w, s, e, n = man["extract_bbox"]
    assert f"node({s:.7f},{w:.7f},{n:.7f},{e:.7f})" in q
    # the box is the area grown by 1,500 m (±1 %): measured independently with a geodesic
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    aw, as_, ae, an = (float(v) for v in HSINCHU_BOX.split(","))
    assert geod.inv(w, 24.8275, aw, 24.8275)[2] == pytest.approx(1500, rel=0.01)
    assert geod.inv(121.0125, an, 121.0125, n)[2] == pytest.approx(1500, rel=0.01)

    # the extract holds exactly the objects of the answer, and the manifest counts them right
    ext = objects(out / "extract.osm.pbf")
    src = objects(shared_data("corpus", "tw_hsinchu_east_2020.osm"))
    assert ext == src
    counts = {k: sum(1 for t, _ in src if t == k) for k in "nwr"}
    assert (man["extract"]["nodes"], man["extract"]["ways"], man["extract"]["relations"]) == \
        (counts["n"], counts["w"], counts["r"]) == (6865, 1055, 97)
    assert man["data_date"] == "2020-04-06T07:28:02Z"  # the answer's osm_base
    assert man["source"]["answers"][0]["generator"].startswith("Overpass API 0.7.56")
    assert man["licence"]["short"] == "ODbL 1.0" and "OpenStreetMap contributors" in man["citation"]
    for name, f in man["files"].items():
        from geoplan.sources.manifest import sha256

        assert sha256(out / name) == f["sha256"]
    b = gpd.read_file(out / "boundary.gpkg", layer="boundary")
    assert b.crs.to_epsg() == 4326 and len(b) == 1
    assert b.geometry.iloc[0].equals(shapely.box(aw, as_, ae, an))
    assert "geoplan audit --pbf" in stdout

    # the folder is directly usable by the audit, which cites the data
    res = subprocess.run([sys.executable, "-m", "geoplan.cli", "audit", "--pbf", str(out / "extract.osm.pbf"),
                          "--area", str(out / "boundary.gpkg"), "--no-maps", "--out", str(tmp_path / "audit"), "-q"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "audit" / "summary.json").read_text())
    assert summary["inputs"]["osm source"] == man["citation"]
    assert summary["inputs"]["place"] == "bbox 121.005,24.82,121.02,24.835"
    land = [f for f in summary["park_coverage"] if f["tier"] == "all"]
    assert {f["method"] for f in land} == {"euclidean", "network"}
    assert all(0 < f["land_pct"] <= 100 for f in land)  # 27 parks and 18 residential areas in the answer


@pytest.mark.shared
def test_second_run_reads_the_cache_and_makes_no_request(server, cache, tmp_path, capsys, shared_data):
    server.answer(200, recorded(shared_data, "th_chiangmai_2023.osm.gz"))
    box = "98.955,18.79,98.97,18.80"
    args = ["fetch", "--bbox", box, "--overpass-url", f"{server.url}/api", "--cache-folder", cache, "-q"]
    rc, _, err = cli(capsys, *args, "--out", tmp_path / "first")
    assert rc == 0, err
    assert len(server.requests) == 1
    assert len(list(cache.glob("overpass-*.osm.gz"))) == 1
    # second run: no request at all (the server would answer an error if asked)
    server.answers[:] = [(500, {}, b"must not be asked", 0.0)]
    rc, _, err = cli(capsys, *args, "--out", tmp_path / "second")
    assert rc == 0, err
    assert len(server.requests) == 1
    first = json.loads((tmp_path / "first" / "manifest.json").read_text())
    second = json.loads((tmp_path / "second" / "manifest.json").read_text())
    assert first["source"]["answers"][0]["from_cache"] is False
    assert second["source"]["answers"][0]["from_cache"] is True
    assert second["data_date"] == first["data_date"] == "2023-02-27T09:40:54Z"
    assert objects(tmp_path / "first" / "extract.osm.pbf") == objects(tmp_path / "second" / "extract.osm.pbf")
    # --no-cache asks again and keeps nothing
    server.answers[:] = [(200, {}, recorded(shared_data, "th_chiangmai_2023.osm.gz"), 0.0)]
    rc, _, err = cli(capsys, *args, "--out", tmp_path / "third", "--no-cache")
    assert rc == 0, err
    assert len(server.requests) == 2
    assert len(list(cache.glob("overpass-*"))) == 1


@pytest.mark.shared
def test_busy_server_is_tried_again(server, cache, tmp_path, capsys, shared_data):
    server.answer(429, b"rate limited", {"Retry-After": "0"})
    server.answer(200, recorded(shared_data, "tw_hsinchu_east_2020.osm"))
    rc, _, err = cli(capsys, *fetch_args(server, cache, tmp_path / "o", "--retries", "1", "-q"))
    assert rc == 0, err
    assert len(server.requests) == 2


def _overpass_head(shared_data) -> bytes:
    """The first lines of a real Overpass answer (XML declaration, <osm>, <note>, <meta>)."""
    return b"\n".join(recorded(shared_data, "cn_nanjing_2021.osm").split(b"\n")[:4]) + b"\n"


@pytest.mark.shared
@pytest.mark.parametrize("case", ["429", "504", "400", "empty body", "no objects", "runtime error", "not xml",
                                  "timeout", "refused"])
def test_download_errors_give_one_line_and_no_folder(case, server, cache, tmp_path, capsys, shared_data):
    head = _overpass_head(shared_data)
    extra: list = []
    if case == "429":
        server.answer(429, b"<html>Too Many Requests</html>", {"Retry-After": "0"})
        needles = ("HTTP 429", "too many requests", "--pbf")
    elif case == "504":
        server.answer(504, b"<html>Gateway Timeout</html>")
        needles = ("HTTP 504", "overloaded")
    elif case == "400":
        server.answer(400, b'<html><body><p><strong style="color:#FF0000">Error</strong>: line 2: parse error: '
                      b"Unknown type \"nod\" </p></body></html>")
        needles = ("HTTP 400", "parse error")
    elif case == "empty body":
        server.answer(200, b"")
        needles = ("empty answer",)
    elif case == "no objects":  # what Overpass answers for a box with nothing in it
        server.answer(200, head + b"\n</osm>\n")
        needles = ("found no OpenStreetMap data", "west,south,east,north")
    elif case == "runtime error":
        server.answer(200, head + b'<remark> runtime error: Query timed out in "query" at line 3 after 181 seconds. '
                      b"</remark>\n\n</osm>\n")
        needles = ("stopped the query", "Query timed out", "smaller area")
    elif case == "not xml":
        server.answer(200, b"<!DOCTYPE html><html><body>Welcome to nginx</body></html>")
        needles = ("did not send OpenStreetMap XML", "--overpass-url")
    elif case == "timeout":
        server.answer(200, head + b"</osm>", delay=4.0)
        extra = ["--timeout", "1"]
        needles = ("no answer from the Overpass server", "within")
    else:  # nothing listens on the port any more
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        server.url = f"http://127.0.0.1:{port}"
        server.answer(200, b"")
        needles = ("cannot reach the Overpass server", "Connection refused", "--pbf")
    out = tmp_path / "o"
    rc, _, err = cli(capsys, *fetch_args(server, cache, out, *extra))
    code = 3
    assert_error(rc, err, code, *needles)
    assert_nothing_written(out)
    assert not list(cache.glob("overpass-*")) and not list(cache.glob(".overpass-*"))  # no error answer is cached


# ----------------------------------------------------------------- place names: Nominatim (through osmnx)
def _nominatim_answer(shared_data, name: str) -> bytes:
    """A Nominatim search answer (its JSON fields as the API sends them) for a real OSM outline of the jiedao.

    Not a recording: the outline is the real OSM relation of the jiedao, put in Nominatim's answer format.
    """
    j = gpd.read_file(shared_data("boundaries", "xicheng_jiedao_osm.geojson"))
    row = j[j["name"] == name].iloc[0]
    w, s, e, n = row.geometry.bounds
    c = row.geometry.representative_point()
    return json.dumps([{
        "place_id": 1, "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "relation", "osm_id": int(row["osm_relation_id"]), "lat": f"{c.y:.7f}", "lon": f"{c.x:.7f}",
        "class": "boundary", "type": "administrative", "place_rank": 16, "importance": 0.35,
        "addresstype": "suburb", "name": name, "display_name": f"{name}, 西城区, 北京市, 中国",
        "boundingbox": [f"{s:.7f}", f"{n:.7f}", f"{w:.7f}", f"{e:.7f}"],
        "geojson": shapely.geometry.mapping(row.geometry),
    }], ensure_ascii=False).encode()


@pytest.fixture
def geocoded(monkeypatch):
    """Names are not looked up in the repository's data/ layers (which know 西城区 and its jiedao offline)."""
    import geoplan.sources.places as places

    monkeypatch.setattr(places, "bundled_layers", lambda: [])


@pytest.mark.shared
def test_place_name_geocoded_once_then_offline(server, cache, tmp_path, capsys, shared_data, geocoded):
    server.answer(200, _nominatim_answer(shared_data, XINJIEKOU), {"Content-Type": "application/json"})
    pbf = shared_data("osm", "xicheng_streets_2024-03.osm.pbf")
    args = ["fetch", "--place", XINJIEKOU, "--nominatim-url", f"{server.url}/nominatim/", "--cache-folder", cache,
            "--pbf", pbf, "-q"]
    rc, _, err = cli(capsys, *args, "--out", tmp_path / "a")
    assert rc == 0, err
    method, path, _ = server.requests[0]
    assert method == "GET" and urlparse(path).path == "/nominatim/search"
    assert parse_qs(urlparse(path).query)["q"] == [XINJIEKOU]
    b = gpd.read_file(tmp_path / "a" / "boundary.gpkg")
    ref = gpd.read_file(shared_data("boundaries", "xicheng_jiedao_osm.geojson")).set_index("name").geometry[XINJIEKOU]
    assert b["name"].tolist() == [XINJIEKOU]
    assert b.geometry.iloc[0].symmetric_difference(ref).area < 1e-12
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["place"]["kind"] == "place" and man["place"]["source"].startswith("Nominatim")
    # second run: the name comes from osmnx's cache, no request
    server.answers[:] = [(500, {}, b"must not be asked", 0.0)]
    rc, _, err = cli(capsys, *args, "--out", tmp_path / "b")
    assert rc == 0, err
    assert len(server.requests) == 1


@pytest.mark.shared
def test_unknown_place_name_is_a_usage_error(server, cache, tmp_path, capsys, shared_data):
    server.answer(200, b"[]", {"Content-Type": "application/json"})
    out = tmp_path / "o"
    rc, _, err = cli(capsys, "fetch", "--place", "Nowhere-at-all 无此地", "--nominatim-url", f"{server.url}/",
                     "--cache-folder", cache, "--pbf", shared_data("osm", "xicheng_streets_2024-03.osm.pbf"),
                     "--out", out)
    assert_error(rc, err, 2, "Nominatim found no place", "--boundary")
    assert_nothing_written(out)


def test_unreachable_geocoder_is_a_data_error(cache, tmp_path, capsys, geocoded):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    out = tmp_path / "o"
    rc, _, err = cli(capsys, "fetch", "--place", "西城区", "--nominatim-url", f"http://127.0.0.1:{port}/",
                     "--cache-folder", cache, "--out", out)
    assert_error(rc, err, 3, "cannot reach the Nominatim server", "not in the cache", "--boundary")
    assert_nothing_written(out)


@pytest.mark.shared
def test_place_picked_from_a_boundary_file_offline(tmp_path, capsys, cache, shared_data):
    """--boundary with --place: the district's jiedao by their district field, no request (the guard would raise)."""
    out = tmp_path / "o"
    rc, _, err = cli(capsys, "fetch", "--boundary", shared_data("xicheng_district", "xicheng_jiedao_worldpop.geojson"),
                     "--place", "西城区", "--pbf", shared_data("osm", "xicheng_streets_2024-03.osm.pbf"),
                     "--out", out, "-q")
    assert rc == 0, err
    b = gpd.read_file(out / "boundary.gpkg")
    assert len(b) == 15 and b["name"].str.endswith("街道").all()
    assert b["population_worldpop"].sum() == 1314427  # the fields come along (usable as --units)
    # a name the file does not hold: a usage error listing some names
    rc, _, err = cli(capsys, "fetch", "--boundary", shared_data("boundaries", "xicheng_jiedao_osm.geojson"),
                     "--place", "朝阳区", "--pbf", shared_data("osm", "xicheng_streets_2024-03.osm.pbf"),
                     "--out", tmp_path / "p")
    assert_error(rc, err, 2, "no feature named 朝阳区", "新街口街道")
    assert_nothing_written(tmp_path / "p")


@pytest.mark.parametrize("bbox,needle", [("116.3,39.9,116.4", "four numbers"), ("39.9,116.3,39.95,116.4", "longitude first"),
                                         ("116.4,39.9,116.3,39.95", "west must be less than east"),
                                         ("a,b,c,d", "four numbers")])
def test_bad_bbox_is_a_usage_error(bbox, needle, tmp_path, capsys, cache):
    rc, _, err = cli(capsys, "fetch", "--bbox", bbox, "--out", tmp_path / "o")
    assert_error(rc, err, 2, needle)
    assert_nothing_written(tmp_path / "o")


def test_no_area_or_two_areas_is_a_usage_error(tmp_path, capsys, cache):
    rc, _, err = cli(capsys, "fetch", "--out", tmp_path / "o")
    assert_error(rc, err, 2, "--place NAME, --boundary FILE or --bbox")
    rc, _, err = cli(capsys, "fetch", "--bbox", HSINCHU_BOX, "--place", "x", "--out", tmp_path / "o")
    assert_error(rc, err, 2, "--bbox cannot be combined")


# ----------------------------------------------------------------- offline: clipping a local extract
def _expected_clip(xml_path: Path, box: tuple[float, float, float, float]) -> dict[str, set]:
    """The clip rule applied independently: standard-library XML parsing and plain Python sets."""
    opener = bz2.open if xml_path.suffix == ".bz2" else open
    coords, ways, rels = {}, {}, {}
    with opener(xml_path, "rb") as fh:
        for _, el in ET.iterparse(fh):
            if el.tag == "node":
                coords[int(el.get("id"))] = (float(el.get("lon")), float(el.get("lat")))
            elif el.tag == "way":
                ways[int(el.get("id"))] = [int(nd.get("ref")) for nd in el.findall("nd")]
            elif el.tag == "relation":
                tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
                rels[int(el.get("id"))] = (tags, [(m.get("type"), int(m.get("ref"))) for m in el.findall("member")])
            if el.tag in ("node", "way", "relation"):
                el.clear()
    w, s, e, n = box
    inside = {i for i, (x, y) in coords.items() if w <= x <= e and s <= y <= n}
    ways1 = {i for i, nds in ways.items() if any(nd in inside for nd in nds)}
    rels0 = {i for i, (_, ms) in rels.items()
             if any((t == "node" and r in inside) or (t == "way" and r in ways1) for t, r in ms)}
    rels_all = rels0 | {i for i, (_, ms) in rels.items() if any(t == "relation" and r in rels0 for t, r in ms)}

    def whole(tags: dict) -> bool:
        return tags.get("type") == "multipolygon" or (
            tags.get("type") == "boundary" and tags.get("boundary") == "administrative"
            and tags.get("admin_level") in {str(i) for i in range(6, 13)})

    members = [(t, r) for i in rels_all if whole(rels[i][0]) for t, r in rels[i][1]]
    all_ways = ways1 | {r for t, r in members if t == "way" and r in ways}
    all_nodes = inside | {r for t, r in members if t == "node"} | {nd for i in all_ways for nd in ways[i]}
    return {"n": all_nodes & set(coords), "w": all_ways, "r": rels_all, "inside": inside, "coords": coords}


def _ids(path: Path) -> dict[str, set]:
    out: dict[str, set] = {"n": set(), "w": set(), "r": set()}
    for o in osmium.FileProcessor(str(path)):
        out[o.type_str()].add(o.id)
    return out


@pytest.mark.shared
def test_clip_of_a_jiedao_equals_an_independent_computation(tmp_path, shared_data):
    """新街口街道 cut out of the Xicheng street extract (PBF) = the rule applied to the XML export of the same data."""
    j = gpd.read_file(shared_data("boundaries", "xicheng_jiedao_osm.geojson"))
    geom = j[j["name"] == XINJIEKOU].geometry.iloc[0]
    box = geom.bounds
    stats = clip_extract(shared_data("osm", "xicheng_streets_2024-03.osm.pbf"), box, tmp_path / "x.osm.pbf")
    got = _ids(tmp_path / "x.osm.pbf")
    want = _expected_clip(shared_data("osm", "xicheng_streets_2024-03.osm.bz2"), box)
    assert len(want["coords"]) == 36200  # the XML export holds the same data as the PBF
    assert got["n"] == want["n"] and got["w"] == want["w"] and got["r"] == want["r"]
    assert (stats.nodes, stats.ways, stats.relations) == (len(want["n"]), len(want["w"]), 0)
    assert len(want["inside"]) > 2000 and len(want["w"]) > 300  # a real jiedao, not a corner
    # shapely: every kept node is inside the box or on a kept way that enters it
    inside = shapely.contains_xy(shapely.box(*box).buffer(1e-9), *zip(*(want["coords"][i] for i in got["n"])))
    assert inside.sum() == len(want["inside"])
    # every street crossing the jiedao's outline is whole
    ext = objects(tmp_path / "x.osm.pbf")
    for (t, _), (_, refs) in ext.items():
        if t == "w":
            assert all(("n", r) in ext for r in refs)


@pytest.mark.shared
def test_clip_completes_multipolygons_like_the_independent_rule(tmp_path, shared_data):
    """A full Beijing export with park and land-use multipolygons, cut across the middle."""
    src = shared_data("osm", "haidian_cau_campus.osm")
    everything = _expected_clip(src, (-180, -90, 180, 90))
    xs = sorted(x for x, _ in everything["coords"].values())
    ys = sorted(y for _, y in everything["coords"].values())
    box = (xs[len(xs) // 4], ys[len(ys) // 4], xs[len(xs) // 2], ys[3 * len(ys) // 4])
    clip_extract(src, box, tmp_path / "c.osm.pbf")
    got = _ids(tmp_path / "c.osm.pbf")
    want = _expected_clip(src, box)
    assert got["n"] == want["n"] and got["w"] == want["w"] and got["r"] == want["r"]
    assert want["r"] and len(want["n"]) > len(want["inside"])  # relations kept, and nodes outside the box completed
    # the parks of the clip are as whole as in the full file
    from geoplan.sources.osm import OSMSource

    full = OSMSource(src).features({"leisure": ["park"]})
    part = OSMSource(tmp_path / "c.osm.pbf").features({"leisure": ["park"]})
    both = part.merge(full[["id", "geometry"]], on="id", suffixes=("", "_full"))
    assert len(both) > 0
    for a, b in zip(both.geometry, both.geometry_full):
        assert a.symmetric_difference(b).area < 1e-12


@pytest.mark.shared
@pytest.mark.slow
def test_clip_folder_audits_with_the_planners_layers(tmp_path, capsys, shared_data, cache):
    """A jiedao clipped offline from the district extract, audited with the district's park and land-use layers."""
    out = tmp_path / "o"
    rc, stdout, err = cli(capsys, "fetch", "--boundary", shared_data("boundaries", "xicheng_jiedao_osm.geojson"),
                          "--place", XINJIEKOU, "--pbf", shared_data("osm", "xicheng_streets_2024-03.osm.pbf"),
                          "--out", out)
    assert rc == 0, err
    assert "clipped from xicheng_streets_2024-03.osm.pbf" in stdout
    man = json.loads((out / "manifest.json").read_text())
    assert man["source"]["kind"] == "file" and len(man["source"]["sha256"]) == 64
    assert man["place"]["name"] == XINJIEKOU and man["margin_m"] == 1500
    rc, _, err = cli(capsys, "audit", "--pbf", out / "extract.osm.pbf", "--units", out / "boundary.gpkg",
                     "--parks", shared_data("xicheng_district", "xicheng_parks_osm_2024-05.geojson"),
                     "--residential", shared_data("xicheng_district", "xicheng_landuse_osm_2024-05.geojson"),
                     "--residential-field", "type", "--residential-class", "residential",
                     "--method", "euclidean", "--no-maps", "--no-state", "--out", tmp_path / "audit", "-q")
    assert rc == 0, err
    summary = json.loads((tmp_path / "audit" / "summary.json").read_text())
    assert summary["inputs"]["place"] == XINJIEKOU
    assert "ODbL 1.0" in summary["inputs"]["osm source"]


@pytest.mark.shared
def test_clip_errors(tmp_path, capsys, shared_data, cache):
    pbf = shared_data("osm", "xicheng_streets_2024-03.osm.pbf")
    rc, _, err = cli(capsys, "fetch", "--bbox", HSINCHU_BOX, "--pbf", pbf, "--out", tmp_path / "a")
    assert_error(rc, err, 3, "no OpenStreetMap node inside", "does not cover")
    assert_nothing_written(tmp_path / "a")
    rc, _, err = cli(capsys, "fetch", "--bbox", HSINCHU_BOX, "--pbf", tmp_path / "missing.osm.pbf", "--out", tmp_path / "b")
    assert_error(rc, err, 3, "file not found")
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(pbf.read_bytes()[:20000])
    rc, _, err = cli(capsys, "fetch", "--bbox", "116.35,39.92,116.37,39.95", "--pbf", broken, "--out", tmp_path / "c")
    assert_error(rc, err, 3, "broken.osm.pbf")
    assert_nothing_written(tmp_path / "c")
    # an existing output folder is refused before any work
    (tmp_path / "d").mkdir()
    rc, _, err = cli(capsys, "fetch", "--bbox", "116.35,39.92,116.37,39.95", "--pbf", pbf, "--out", tmp_path / "d")
    assert_error(rc, err, 2, "already exists")


def test_split_bbox_tiles_cover_the_box_within_the_size_limit():
    from pyproj import Geod

    from geoplan.sources.overpass import split_bbox

    box = (116.0, 39.6, 116.8, 40.2)  # central Beijing, ~4,600 km²
    tiles = split_bbox(box, 2.5e9)
    assert len(tiles) == 4
    geod = Geod(ellps="WGS84")
    for t in tiles:
        area, _ = geod.polygon_area_perimeter([t[0], t[2], t[2], t[0]], [t[1], t[1], t[3], t[3]])
        assert abs(area) <= 2.5e9
    union = shapely.union_all([shapely.box(*t) for t in tiles])
    assert union.symmetric_difference(shapely.box(*box)).area < 1e-12
    assert split_bbox((116.35, 39.92, 116.37, 39.95), 2.5e9) == [(116.35, 39.92, 116.37, 39.95)]


@pytest.mark.shared
def test_large_box_is_fetched_in_tiles_and_merged(server, cache, tmp_path, shared_data, monkeypatch):
    """Above osmnx's max_query_area_size the box is cut into tiles; overlapping answers are merged once."""
    import osmnx as ox

    from geoplan.sources.fetch import osm_settings, write_fetch
    from geoplan.sources.places import place_from_bbox

    server.answer(200, recorded(shared_data, "tw_hsinchu_east_2020.osm"))
    monkeypatch.setattr(ox.settings, "max_query_area_size", 2e6)  # 2 km²: the 2.1 x 2.3 km box needs 4 tiles
    out = tmp_path / "o"
    out.mkdir()
    with osm_settings(cache_folder=cache, overpass_url=f"{server.url}/api"):
        res = write_fetch(place_from_bbox(HSINCHU_BOX), out, margin_m=300, retries=0)
    assert len(server.requests) == 4
    boxes = {server.posted_query(i).split("\n")[1] for i in range(4)}
    assert len(boxes) == 4  # four different tiles were asked for
    assert len(res.manifest["source"]["answers"]) == 4
    assert objects(out / "extract.osm.pbf") == objects(shared_data("corpus", "tw_hsinchu_east_2020.osm"))
    assert ox.settings.cache_folder != str(cache)  # the settings are put back


@pytest.mark.shared
def test_names_known_offline_and_amap_outlines_converted(shared_data):
    """A name found in a known layer needs no request; a GCJ-02 (AMap) outline comes back on WGS 84."""
    from geoplan.sources.places import place_from_file, place_from_name

    worldpop = shared_data("xicheng_district", "xicheng_jiedao_worldpop.geojson")
    p = place_from_name("西城", layers=[worldpop])  # the suffix 区 may be left out
    assert p.kind == "place" and len(p.gdf) == 15 and "known offline" in p.source
    assert p.area_km2() == pytest.approx(50.4, abs=0.2)
    one = place_from_name("新街口", layers=[shared_data("boundaries", "xicheng_jiedao_osm.geojson")])
    assert one.gdf["name"].tolist() == [XINJIEKOU]

    truth = gpd.read_file(shared_data("boundaries", "beijing_districts_tianditu.geojson")).set_index("name").geometry["西城区"]
    amap = shared_data("boundaries", "beijing_districts_amap_gcj02.geojson")
    raw = place_from_file(amap, select=["110102"], name_field="adcode")
    fixed = place_from_file(amap, select=["110102"], name_field="adcode", datum="gcj02")
    utm = gpd.GeoSeries([truth], crs=4326).estimate_utm_crs()

    def offset(g) -> float:  # noqa: ANN001
        a = gpd.GeoSeries([g.geometry, truth], crs=4326).to_crs(utm).centroid
        return float(a.iloc[0].distance(a.iloc[1]))

    assert offset(raw) > 300  # AMap's shift
    assert offset(fixed) < 60


@pytest.mark.shared
def test_query_stopped_for_memory_is_asked_again_in_four_parts(server, cache, tmp_path, capsys, shared_data):
    head = _overpass_head(shared_data)
    server.answer(200, head + b"<remark> runtime error: Query run out of memory using about 2048 MB of RAM. </remark>\n"
                  b"</osm>\n")
    server.answer(200, recorded(shared_data, "tw_hsinchu_east_2020.osm"))
    rc, _, err = cli(capsys, *fetch_args(server, cache, tmp_path / "o", "-q"))
    assert rc == 0, err
    assert len(server.requests) == 5
    first = server.posted_query(0).split("\n")[1]
    parts = {server.posted_query(i).split("\n")[1] for i in range(1, 5)}
    assert len(parts) == 4 and first not in parts
    assert len(list(cache.glob("overpass-*.osm.gz"))) == 4  # the error answer is not cached
    assert objects(tmp_path / "o" / "extract.osm.pbf") == objects(shared_data("corpus", "tw_hsinchu_east_2020.osm"))

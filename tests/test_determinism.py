"""Trustworthy outputs: the same inputs give byte-identical tables and JSON on
every run, and the test suite cannot reach the network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.request
import warnings
from pathlib import Path

import pytest

import geoplan.cli  # noqa: F401  (registers the installed analyses, as the command line does)
from geoplan import write_audit

REPO = Path(__file__).resolve().parents[1]


def _files(folder: Path) -> dict[str, bytes]:
    """The deterministic outputs: every table and the summary JSON, by relative path."""
    files = sorted(folder.glob("tables/*.csv")) + [folder / "summary.json"]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, helsinki_audit):
    """The bundled sample audited here, written twice, and audited again in a fresh process
    with another hash seed (set and dict orders, caches and module state all differ)."""
    geoplan.cli.build_parser()  # imports the analyses' modules, which register them, as the command line does
    d = tmp_path_factory.mktemp("determinism")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = helsinki_audit  # the session's audit, read by other modules too: any change they made would show here
        out = {"first": write_audit(result, d / "first", maps=False),
               "rewrite": write_audit(result, d / "rewrite", maps=False)}
    # the fresh process is outside the conftest guard: it blocks every socket itself
    code = ("import socket, sys\n"
            "def blocked(*a, **k): raise OSError(101, 'tests must not use the network')\n"
            "socket.socket.connect = socket.socket.connect_ex = socket.getaddrinfo = blocked\n"
            "from geoplan.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    seed = "12345" if os.environ.get("PYTHONHASHSEED") != "12345" else "54321"
    proc = subprocess.run(
        [sys.executable, "-c", code, "audit", "--sample", "helsinki", "--out", str(d / "fresh"), "--no-maps", "-q"],
        cwd=str(d), env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out["fresh"] = d / "fresh"
    return out


@pytest.mark.slow
def test_same_files_every_run(runs):
    names = {k: sorted(_files(v)) for k, v in runs.items()}
    assert names["first"] == names["rewrite"] == names["fresh"]
    assert "summary.json" in names["first"] and "tables/park_coverage_overall.csv" in names["first"]
    assert len(names["first"]) >= 5


@pytest.mark.parametrize("other", ["rewrite", "fresh"])
def test_tables_and_json_are_byte_identical(runs, other):
    a, b = _files(runs["first"]), _files(runs[other])
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f"not byte-identical between runs: {differ}"


def test_summary_has_no_run_specific_values(runs):
    """No timings, output paths or dates in the JSON (they would break byte identity)."""
    text = (runs["first"] / "summary.json").read_text(encoding="utf-8")
    assert str(runs["first"]) not in text
    assert "timings" not in text


# ----------------------------------------------------------------- the network guard (tests/conftest.py)
def test_outside_connections_are_blocked():
    """Blocked calls raise OSError (socket.gaierror for look-ups), as on an offline machine."""
    with pytest.raises(OSError, match="tests must not use the network"):
        socket.create_connection(("download.geofabrik.de", 443), timeout=2)
    with pytest.raises(socket.gaierror, match="tests must not use the network"):
        socket.getaddrinfo("overpass-api.de", 443)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="93.184.216.34"):
            s.connect(("93.184.216.34", 80))
        with pytest.raises(OSError, match="tests must not use the network"):
            s.connect_ex(("8.8.8.8", 53))
    finally:
        s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(OSError, match="tests must not use the network"):
            u.sendto(b"x", ("8.8.8.8", 53))
    finally:
        u.close()
    with pytest.raises(OSError, match="tests must not use the network"):
        urllib.request.urlopen("http://overpass-api.de/api/status", timeout=2)


def test_loopback_still_works():
    """Headless-browser tests talk to chromedriver on 127.0.0.1: that must keep working."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        with conn:
            conn.sendall(conn.recv(16).upper())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        for host in ("127.0.0.1", "localhost"):
            if host == "localhost":
                t2 = threading.Thread(target=serve, daemon=True)
                t2.start()
            with socket.create_connection((host, port), timeout=5) as c:
                c.sendall(b"ping")
                assert c.recv(16) == b"PING"
    finally:
        srv.close()
    assert socket.getaddrinfo("localhost", 80)
    # this machine's own name (dask's LocalCluster looks it up) is not blocked
    try:
        socket.getaddrinfo(socket.gethostname(), None)
    except socket.gaierror as exc:
        assert "tests must not use the network" not in str(exc)

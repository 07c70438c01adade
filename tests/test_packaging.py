"""Packaging: the conda environment files list pyproject.toml's dependencies under their
conda-forge names; the CLI is installed; the README's commands match CI."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# pip name -> (conda-forge name, or None where the package is not on conda-forge,
#              the page that was checked for that name).
# Where the names differ, the conda-forge package is the one that installs what the pip
# name installs without extras (conda-forge's plain name is a metapackage that adds
# optional dependencies: Qt for matplotlib, bokeh/pyarrow for dask, mapclassify for
# geopandas, the osmnx extras for osmnx).
# A dependency added to pyproject.toml needs an entry here, checked on conda-forge's own
# pages (anaconda.org/conda-forge/<name> or github.com/conda-forge/<name>-feedstock).
CONDA_FORGE: dict[str, tuple[str | None, str]] = {
    # project.dependencies
    "geopandas": ("geopandas-base", "https://github.com/conda-forge/geopandas-feedstock/blob/main/recipe/meta.yaml"),
    "shapely": ("shapely", "https://github.com/conda-forge/shapely-feedstock"),
    "pyogrio": ("pyogrio", "https://github.com/conda-forge/pyogrio-feedstock"),
    "pyproj": ("pyproj", "https://github.com/conda-forge/pyproj-feedstock"),
    "osmnx": ("osmnx-base", "https://anaconda.org/channels/conda-forge/packages/osmnx-base/files"),
    "networkx": ("networkx", "https://anaconda.org/conda-forge/networkx"),
    "scipy": ("scipy", "https://github.com/conda-forge/scipy-feedstock"),
    "numpy": ("numpy", "https://github.com/conda-forge/numpy-feedstock"),
    "pandas": ("pandas", "https://anaconda.org/conda-forge/pandas"),
    "rasterio": ("rasterio", "https://github.com/conda-forge/rasterio-feedstock"),
    "folium": ("folium", "https://anaconda.org/conda-forge/folium"),
    "pyrosm": ("pyrosm", "https://anaconda.org/conda-forge/pyrosm"),
    # built from PyPI's osmium sdist; `osmium` itself is only in a third-party channel
    "osmium": ("pyosmium", "https://github.com/conda-forge/pyosmium-feedstock/blob/main/recipe/recipe.yaml"),
    "pyyaml": ("pyyaml", "https://github.com/conda-forge/pyyaml-feedstock"),
    "openpyxl": ("openpyxl", "https://anaconda.org/conda-forge/openpyxl"),
    "matplotlib": ("matplotlib-base", "https://github.com/conda-forge/matplotlib-feedstock/blob/main/recipe/recipe.yaml"),
    "tqdm": ("tqdm", "https://anaconda.org/conda-forge/tqdm"),
    # no conda-forge package or feedstock named xstatic-leaflet (checked: conda-forge has
    # xstatic, xstatic-jquery and xleaflet, a C++ widget backend, but no xstatic-leaflet)
    "xstatic-leaflet": (None, "https://pypi.org/project/xstatic-leaflet"),
    "xstatic-jquery": ("xstatic-jquery", "https://anaconda.org/conda-forge/xstatic-jquery"),
    # "conda install dask-core ... similar to python -m pip install dask"
    "dask": ("dask-core", "https://docs.dask.org/en/latest/install.html"),
    "distributed": ("distributed", "https://anaconda.org/conda-forge/distributed"),
    # project.optional-dependencies.test
    "pytest": ("pytest", "https://anaconda.org/conda-forge/pytest"),
    "hypothesis": ("hypothesis", "https://anaconda.org/conda-forge/hypothesis"),
    "nbclient": ("nbclient", "https://anaconda.org/conda-forge/nbclient"),
    "nbformat": ("nbformat", "https://anaconda.org/conda-forge/nbformat"),
    "ipykernel": ("ipykernel", "https://github.com/conda-forge/ipykernel-feedstock"),
    "selenium": ("selenium", "https://github.com/conda-forge/selenium-feedstock/blob/main/recipe/recipe.yaml"),
    "import-linter": ("import-linter", "https://anaconda.org/conda-forge/import-linter"),
    "ruff": ("ruff", "https://github.com/conda-forge/ruff-feedstock"),
}

# environment file -> the pyproject.toml requirement list it mirrors
ENV_FILES = {"environment.yml": "dependencies", "environment-test.yml": "test"}


def _name(req: str) -> str:
    """Normalized distribution name of a requirement string (PEP 503)."""
    name = re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _bounds(req: str) -> str:
    """The version bounds of a requirement string, without spaces."""
    req = req.split(";")[0].replace(" ", "")
    return req[len(re.split(r"[<>=!~\[]", req, maxsplit=1)[0]):]


def _pyproject_reqs(which: str) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    if which == "dependencies":
        return list(project["dependencies"])
    return list(project["optional-dependencies"][which])


def _env(filename: str) -> tuple[dict[str, str], dict[str, str]]:
    """(conda entries, pip entries) of an environment file, name -> bounds."""
    env = yaml.safe_load((ROOT / filename).read_text())
    assert env["channels"] == ["conda-forge"], f"{filename}: use the conda-forge channel only"
    conda: dict[str, str] = {}
    pip: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for p in dep.get("pip", []):
                if not p.startswith("-e"):
                    pip[_name(p)] = _bounds(p)
        elif _name(dep) not in ("python", "pip"):
            conda[_name(dep)] = _bounds(dep)
    return conda, pip


@pytest.mark.parametrize("filename", sorted(ENV_FILES))
def test_environment_matches_pyproject(filename):
    reqs = {_name(r): _bounds(r) for r in _pyproject_reqs(ENV_FILES[filename])}
    missing = sorted(set(reqs) - set(CONDA_FORGE))
    assert not missing, (
        f"pyproject.toml names {missing} with no entry in CONDA_FORGE (tests/test_packaging.py): "
        "look the conda-forge name up on anaconda.org/conda-forge or the conda-forge feedstock, "
        f"add it with that page's URL, and list it in {filename}")
    want_conda = {CONDA_FORGE[n][0]: b for n, b in reqs.items() if CONDA_FORGE[n][0]}
    want_pip = {n: b for n, b in reqs.items() if not CONDA_FORGE[n][0]}
    conda, pip = _env(filename)
    assert conda == want_conda, (
        f"{filename} conda entries differ from pyproject.toml under conda-forge names: "
        f"missing or other bounds {sorted(set(want_conda.items()) - set(conda.items()))}, "
        f"extra {sorted(set(conda.items()) - set(want_conda.items()))}")
    assert pip == want_pip, f"{filename} pip entries {pip} != {want_pip} (only packages not on conda-forge)"


def test_pip_only_entries_say_why():
    """Each package taken from PyPI is under a comment saying it is not on conda-forge."""
    for filename in ENV_FILES:
        lines = (ROOT / filename).read_text().splitlines()
        _, pip = _env(filename)
        for name in pip:
            at = next(i for i, line in enumerate(lines)
                      if line.strip().startswith("- ") and _name(line.strip()[2:]) == name)
            comment = []
            for line in reversed(lines[:at]):
                if not line.strip().startswith("#"):
                    break
                comment.append(line)
            assert "not on conda-forge" in " ".join(comment), f"{filename}: say why {name} comes from PyPI"


def test_environment_python_matches_requires_python():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{requires}" in env["dependencies"]
    pip_section = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    assert "-e ." in pip_section, "environment.yml must install geoplan itself"


def test_conda_forge_table_cites_sources():
    for pip_name, (conda_name, url) in CONDA_FORGE.items():
        assert url.startswith("https://"), f"{pip_name}: no source URL"
        if conda_name is None:
            continue
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", conda_name), conda_name
        if "anaconda.org" in url:
            assert f"/{conda_name}" in url, f"{pip_name}: {url} is not the page of {conda_name}"
        elif "github.com/conda-forge/" in url:
            feedstock = url.split("github.com/conda-forge/")[1].split("/")[0]
            assert feedstock.endswith("-feedstock"), url


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "geoplan.cli", "presets"], capture_output=True, text=True, check=True)
    assert "cn-garden-city" in out.stdout and "tpl-10min" in out.stdout


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = 'pip install -e ".[test]" && python -m pytest -q'
    assert test_cmd in readme and test_cmd in ci
    assert 'pip install -e . && geoplan audit' in readme

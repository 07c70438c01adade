"""Packaging: pyproject.toml and environment.yml list the same dependencies; the CLI is installed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge names that differ from PyPI names
CONDA_NAMES = {"pyyaml": "pyyaml", "osmium": "osmium"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower()


def test_environment_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = {_name(d): d.replace(" ", "") for d in py["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = list(env["dependencies"])
    for d in env["dependencies"]:
        if isinstance(d, dict):
            deps += [x for x in d.get("pip", []) if not x.startswith("-e")]
    conda = {_name(d): d.replace(" ", "") for d in deps if isinstance(d, str) and _name(d) not in ("python", "pip")}
    assert set(pip_deps) == set(conda), (set(pip_deps) ^ set(conda))
    for k in pip_deps:
        assert pip_deps[k] == conda[k], f"version bound of {k} differs"


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "geoplan.cli", "presets"], capture_output=True, text=True, check=True)
    assert "cn-garden-city" in out.stdout and "tpl-10min" in out.stdout


def test_readme_commands_match_ci():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = 'pip install -e ".[test]" && python -m pytest -q'
    assert test_cmd in readme and test_cmd in ci
    assert 'pip install -e . && geoplan audit' in readme

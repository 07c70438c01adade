"""The rules that keep the package in floors (docs/ARCHITECTURE.md), enforced by the suite.

* import contracts (import-linter, ``[tool.importlinter]`` in pyproject.toml): each floor
  imports only from the floors below, analyses never draw, commands stand alone, no cycles;
* only ``geoplan/network.py`` runs a shortest-path search (scipy's ``csgraph.dijkstra``);
* no module imports an underscore name from another module;
* ruff (``[tool.ruff]``): pyflakes, complexity and argument-count limits as OSMnx sets them;
* every label and sentence the presenters ask for is in ``geoplan/i18n/labels.yaml``.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "geoplan"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        out[name[: -len(".__init__")] if name.endswith(".__init__") else name] = p
    return out


def _resolve(module: str, is_pkg: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".") if is_pkg else module.split(".")[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([target] if target else []))


def test_import_contracts_hold():
    """import-linter: the floors, analyses that do not draw, independent commands, no cycles."""
    pytest.importorskip("importlinter")
    from importlinter.cli import lint_imports

    rc = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    assert rc == 0, "an import contract is broken: run `lint-imports` for the import chain"


def test_only_the_kernel_runs_dijkstra():
    """Every shortest path goes through geoplan.network (one kernel, one place to make it fast)."""
    offenders = []
    for name, path in _modules().items():
        if name == "geoplan.network":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("dijkstra", "shortest_path", "johnson", "bellman_ford"):
                offenders.append(f"{name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module and "csgraph" in node.module:
                if any(a.name in ("dijkstra", "shortest_path", "johnson", "bellman_ford") for a in node.names):
                    offenders.append(f"{name}:{node.lineno} imports a shortest-path function")
    assert not offenders, offenders


def test_no_underscore_names_across_modules():
    """A name with a leading underscore belongs to its module: another module never imports it."""
    mods = _modules()
    offenders = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(name, path.name == "__init__.py", node.level, node.module)
                if not target.startswith("geoplan"):
                    continue
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__") and f"{target}.{a.name}" not in mods:
                        offenders.append(f"{name} imports {a.name} from {target}")
    assert not offenders, offenders


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_passes():
    """pyflakes errors, complexity (mccabe 14) and argument counts (8), as OSMnx sets them."""
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    r = subprocess.run([exe, "check", "geoplan", "--no-cache", "--output-format", "concise"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_text_key_is_in_the_labels_file():
    """Each ``text("...")`` a module asks for exists in labels.yaml (in English and Chinese)."""
    from geoplan import i18n

    data = i18n._data()  # noqa: SLF001 - the test reads the file as the module loaded it
    keys = set()
    for path in _modules().values():
        src = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"(?<![.\w])_?text\(\s*\"([a-z_0-9.]+)\"", src))
        for prefix in re.findall(r"(?<![.\w])_?text\(\s*f\"([a-z_0-9.]+)\{", src):  # text(f"whatif.model_{m}")
            assert any(k.startswith(prefix) for k in data["text"]), prefix
    missing = sorted(k for k in keys if k not in data["text"])
    assert not missing, missing
    for k, v in data["text"].items():
        assert v.get("en") is not None and v.get("zh") is not None, k


def test_no_inline_translations():
    """Languages are chosen in labels.yaml, not by ``"…" if zh else "…"`` in the code."""
    pat = re.compile(r"""["'][^"'\n]*["']\s+if\s+(zh|lang\s*==\s*["']zh["'])\s+else\s+["']""")
    offenders = []
    for name, path in _modules().items():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pat.search(line) and "label_zh" not in line:
                offenders.append(f"{name}:{i}")
    assert not offenders, offenders

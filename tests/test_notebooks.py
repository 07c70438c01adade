"""Execute every notebook in ``notebooks/`` on the bundled sample, in a fresh kernel of this interpreter.

The kernel is the Python running the tests (a kernel spec written to a
temporary ``JUPYTER_PATH``), so the test works in a fresh virtual environment
with ``ipykernel`` installed and never picks up another interpreter's
``python3`` kernel.  Each notebook runs in its own temporary working folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("pyrosm")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "geoplan-test-python"
#: Seconds a single cell may take (an audit with its report is the longest).
CELL_TIMEOUT = 600


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory):
    """A kernel spec running this interpreter, first on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "geoplan tests", "language": "python",
        "env": {"GEOPLAN_WORKERS": "1", "PROJ_NETWORK": "OFF"}}))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(root) + (os.pathsep + old if old else "")
    yield root
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def test_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["01_park_coverage.ipynb", "02_life_circle.ipynb", "03_greenways.ipynb",
                                           "04_report.ipynb"]


def test_notebooks_use_only_the_public_api():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "geoplan._" not in code and "._" not in code.replace("_repr_", ""), path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} is saved with outputs"
        # one helper in the package, not a copy per notebook
        assert "def show(" not in code, f"{path.name} copies show(): use geoplan.presenters.notebook.show"


def test_notebooks_folder_holds_only_notebooks():
    """Nothing a notebook wrote is left beside the notebooks (they write into output_folder())."""
    folder = NOTEBOOKS[0].parent
    assert sorted(p.name for p in folder.iterdir() if p.name != ".ipynb_checkpoints") == [p.name for p in NOTEBOOKS]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel_path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    work = tmp_path / "work"  # the notebook's working folder: it must stay empty
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # output_folder() goes here (the kernel inherits it)
    (tmp_path / "tmp").mkdir()
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(work)}})
    t = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert not list(work.iterdir()), f"{path.name} wrote into its working folder: {sorted(p.name for p in work.iterdir())}"
    # every map cell shows something: an inline map (HTML) or a picture (PNG)
    rich = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") in ("execute_result", "display_data")]
    assert any("text/html" in o.get("data", {}) and "leaflet" in o["data"]["text/html"].lower() for o in rich) or \
        any("image/png" in o.get("data", {}) for o in rich), path.name
    if path.stem in ("01_park_coverage", "02_life_circle"):  # a result shown as itself: headline table and a small map
        assert any("data:image/png;base64," in o.get("data", {}).get("text/html", "") for o in rich), path.name
    print(f"\n{path.name}: {seconds:.1f} s")

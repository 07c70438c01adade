"""Every analysis on every real extract of the corpus (issue #14): a figure or a clear error, never a traceback.

``../shared/data/corpus/`` holds real OpenStreetMap exports from several
countries and eras (its README lists them: no parks, no residential land use,
no relations; Chinese, Thai, Hangul, Vietnamese names; ``.osm``, ``.osm.gz``,
``.osm.pbf``).  For each file, ``geoplan audit`` (maps on, as a planner runs it),
``geoplan lifecircle``, ``geoplan greenways``, ``geoplan whatif`` on the audit
and ``geoplan compare`` of the audit with a copy of itself must each exit 0
with a complete folder, or exit 3 with one ``error:`` line and no folder; an
undefined figure is never printed as ``nan``; the audit compared with itself
changes nothing.  The checks are those of ``scripts/corpus.py``, which writes
the table of ``benchmarks/corpus.md``.

Marker ``corpus`` (with ``slow``): ``python -m pytest -q -m "not corpus"`` skips it.
Skipped when the corpus folder is absent.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("geoplan_corpus_script", REPO / "scripts" / "corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = corpus  # dataclasses look their module up by name
_spec.loader.exec_module(corpus)

pytestmark = [pytest.mark.corpus, pytest.mark.slow, pytest.mark.shared]

FILES = [p.name for p in corpus.corpus_files()] if corpus.CORPUS.is_dir() else []


def test_the_corpus_is_there_and_varied():
    if not FILES:
        pytest.skip(f"corpus folder {corpus.CORPUS} is absent (see ../shared/data/corpus/README.md)")
    assert len(FILES) >= 10
    assert {".osm", ".gz", ".pbf"} <= {Path(f).suffix for f in FILES}


@pytest.mark.parametrize("name", FILES or [pytest.param("none", marks=pytest.mark.skip(reason="corpus folder absent"))])
def test_every_analysis_gives_figures_or_one_clear_error(name, tmp_path):
    # the audit draws its maps (report, interactive and print maps: where the crashes were); the other
    # commands write their folders without maps to keep the run affordable (their maps are the audit's)
    runs = corpus.run_file(corpus.CORPUS / name, tmp_path, maps=True, side_maps=False)
    by = {r.analysis: r for r in runs}
    assert set(by) == set(corpus.ANALYSES)
    broken = [f"{r.analysis}: {'; '.join(r.problems)}\n{(r.traceback or r.stderr)[-2500:]}" for r in runs if r.problems]
    assert not broken, "\n\n".join(broken)
    for r in runs:
        if r.exit == 3:  # the one error line names what is missing (a layer, a file or a figure's input)
            assert len(r.error_lines) == 1 and len(r.error_lines[0]) > 30, r.stderr
    if by["audit"].exit == 0:  # then the what-if and the comparison ran on it
        assert by["whatif"].exit in (0, 3) and by["compare"].exit == 0
    else:
        assert by["audit"].exit == 3 and by["whatif"].exit is None and by["compare"].exit is None

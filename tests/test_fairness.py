"""Fairness (均好度): Gini, Lorenz, worst decile and ranking, against independent computations."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoplan.fairness import (
    gini,
    inequality_table,
    lorenz,
    rank_units,
    weighted_mean,
    weighted_quantile,
    worst_decile,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAU = SHARED / "osm" / "haidian_cau_campus.osm"
BUPT = SHARED / "osm" / "haidian_bupt_campus.osm"


def gini_pairs(x: np.ndarray, w: np.ndarray) -> float:
    """Independent Gini: mean absolute difference over all pairs of residents / (2 x mean)."""
    x = np.asarray(x, float)
    w = np.asarray(w, float)
    W = w.sum()
    mean = (w * x).sum() / W
    return float((w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum() / (2 * W * W * mean))


def gini_replicated(x: np.ndarray, k: np.ndarray) -> float:
    """Independent Gini of integer-weighted data: repeat each value k times, textbook formula
    G = (2 sum_i i x_(i)) / (n sum x) - (n + 1) / n with i = 1..n on the sorted values."""
    v = np.sort(np.repeat(np.asarray(x, float), np.asarray(k, int)))
    n = len(v)
    i = np.arange(1, n + 1)
    return float(2 * (i * v).sum() / (n * v.sum()) - (n + 1) / n)


def test_gini_known_values():
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)  # one of four has everything: 1 - 1/n
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # sum |xi-xj| = 20 over 16 pairs, / (2 * 2.5)
    assert gini([0, 0, 0]) == 0.0
    assert np.isnan(gini([]))
    with pytest.raises(ValueError):
        gini([-1, 2])


def test_gini_agrees_with_independent_formulas():
    rng = np.random.default_rng(10)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        x = rng.gamma(1.5, 300.0, n)
        k = rng.integers(1, 8, n)
        assert gini(x, k) == pytest.approx(gini_replicated(x, k), abs=1e-12)
        w = rng.uniform(0.1, 50.0, n)
        assert gini(x, w) == pytest.approx(gini_pairs(x, w), abs=1e-12)


def test_lorenz_curve_and_its_area():
    rng = np.random.default_rng(3)
    x = rng.exponential(500.0, 200)
    w = rng.uniform(1, 10, 200)
    c = lorenz(x, w)
    assert c.iloc[0].tolist() == [0.0, 0.0] and c.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert (np.diff(c["pop_share"]) >= 0).all() and (np.diff(c["value_share"]) >= 0).all()
    assert (c["value_share"] <= c["pop_share"] + 1e-12).all()  # sorted from the lowest: below the diagonal
    # Gini = 1 - 2 x area under the Lorenz curve (trapezoids), independently
    area = np.sum(np.diff(c["pop_share"]) * (c["value_share"].to_numpy()[1:] + c["value_share"].to_numpy()[:-1]) / 2)
    assert gini(x, w) == pytest.approx(1 - 2 * area, abs=1e-12)
    # resampled curve: 101 points, same ends
    r = lorenz(x, w, points=101)
    assert len(r) == 101 and r["value_share"].iloc[-1] == pytest.approx(1.0)


def test_worst_decile_and_quantiles():
    x = np.arange(1, 101, dtype=float)  # 100 residents, one each
    w = np.ones(100)
    mask, t = worst_decile(x, w, higher_is_worse=True)
    assert t == 91.0 and mask.sum() == 10
    mask, t = worst_decile(x, w, higher_is_worse=False)
    assert t == 10.0 and mask.sum() == 10
    assert weighted_quantile([1, 2, 3], [1, 1, 8], 0.5) == 3.0
    assert weighted_mean([1, 3], [3, 1]) == pytest.approx(1.5)


def test_inequality_table_per_unit():
    df = pd.DataFrame({"v": [100, 200, 300, 2000, 2500, 3000], "residents": [10, 10, 10, 5, 5, 5],
                       "unit_id": [1, 1, 1, 2, 2, 2], "unit_name": ["a", "a", "a", "b", "b", "b"]})
    t = inequality_table(df, "v", by=["unit_id", "unit_name"], cap=3000)
    allr = t[t["unit_id"] == "all"].iloc[0]
    assert allr["gini"] == pytest.approx(gini_pairs(df["v"].to_numpy(), df["residents"].to_numpy()))
    b = t[t["unit_id"] == 2].iloc[0]
    # the worst decile of the whole area (the longest walks) lives entirely in unit b
    assert b["worst_share_of_all_pct"] == pytest.approx(100.0)
    assert b["censored_pct"] == pytest.approx(100 / 3)
    assert t[t["unit_id"] == 1].iloc[0]["worst_residents"] == 0


def test_rank_units():
    u = pd.DataFrame({"unit_id": [1, 2, 3], "unit_name": ["a", "b", "c"], "p": [50.0, 90.0, 50.0], "q": [50.0, 70.0, 50.0],
                      "mean_m": [300.0, 100.0, 200.0]})
    r = rank_units(u, ["p", "q"], tie_col="mean_m")
    assert list(r["unit_name"]) == ["b", "c", "a"] and list(r["rank"]) == [1, 2, 3]
    assert r["score"].iloc[0] == pytest.approx(80.0)


# ---------------------------------------------------------------------------
# real data
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cau(haidian_audit):
    """The session's CAU audit (tests/conftest.py: life circles, compounds, fairness; skips without ../shared)."""
    return haidian_audit(CAU.name)


@pytest.mark.shared
def test_cau_gini_and_lorenz_agree_with_independent_computation(cau):
    f = cau.analyses["fairness"]
    assert f.models == ["plain", "compounds"]
    o = f.origins
    cells = o[o["origin"] == "cell"]
    homes = o[o["origin"] == "home"]
    for model in f.models:
        x = cells[f"park_distance_m:{model}"].to_numpy()
        w = cells["residents"].to_numpy()
        keep = w > 0
        assert f.gini("park_distance_m", model) == pytest.approx(gini_pairs(x[keep], w[keep]), abs=1e-9)
        # the same per unit
        for uid, g in cells[keep].groupby("unit_id"):
            assert f.gini("park_distance_m", model, uid) == pytest.approx(
                gini_pairs(g[f"park_distance_m:{model}"].to_numpy(), g["residents"].to_numpy()), abs=1e-9)
        # Lorenz curve of the table = the curve of the same values, independently sorted and summed
        c = f.lorenz[(f.lorenz["model"] == model) & (f.lorenz["measure"] == "park_distance_m") & (f.lorenz["unit"] == "all")]
        order = np.argsort(x[keep], kind="stable")
        p = np.concatenate([[0], np.cumsum(w[keep][order]) / w[keep].sum()])
        L = np.concatenate([[0], np.cumsum((w * x)[keep][order]) / (w * x)[keep].sum()])
        assert np.allclose(c["value_share"].to_numpy(), np.interp(c["pop_share"].to_numpy(), p, L), atol=1e-12)
        # categories reached within 15 minutes, per home
        n = homes[f"categories_15min:{model}"].to_numpy()
        wh = homes["residents"].to_numpy()
        k = wh > 0
        assert f.gini("categories_15min", model) == pytest.approx(gini_pairs(n[k], wh[k]), abs=1e-9)
    # the distances are the walk to the nearest counted park of any tier: never longer than the walk to
    # the nearest park serving the cell (the audit's net_dist), and beyond the smallest radius where none serves
    d_audit = cau.parks.cells["net_dist"].to_numpy()
    d = cells["park_distance_m:plain"].to_numpy()
    served = np.isfinite(d_audit)
    assert (d[served] <= d_audit[served] + 1e-9).all()
    assert np.isclose(d[served], d_audit[served]).mean() > 0.5
    assert (d <= 3000.0).all() and (d[~served] >= min(t.radius_m for t in cau.config.rules.tiers) - 1e-9).all()


@pytest.mark.shared
def test_cau_ranking_worst_decile_and_outputs(cau, tmp_path):
    f = cau.analyses["fairness"]
    r = f.ranking[f.ranking["model"] == "compounds"]
    assert list(r["rank"]) == list(range(1, len(r) + 1))
    assert (np.diff(r["score"].to_numpy()) <= 1e-12).all()
    t = f.inequality
    allr = t[(t["unit_id"] == "all") & (t["measure"] == "park_distance_m") & (t["model"] == "plain")].iloc[0]
    assert allr["worst_pct"] >= 10.0 - 1e-9
    # the units' shares of the worst-off residents add up to 100 %
    per = t[(t["unit_id"] != "all") & (t["measure"] == "park_distance_m") & (t["model"] == "plain")]
    assert per["worst_share_of_all_pct"].sum() == pytest.approx(100.0)
    m = f.mean_time
    cats = set(m["category"])
    assert "counted_park" in cats and "kindergarten" in cats
    assert (m["mean_min"].dropna() >= 0).all()
    from geoplan import presenters

    figs = presenters.figures(f, tmp_path, "zh")
    assert all((tmp_path / p).stat().st_size > 1000 for _, p in figs)
    assert set(f.tables()) == {"fairness_inequality", "fairness_ranking", "fairness_mean_time", "fairness_lorenz"}
    s = f.summary()
    assert s["compounds"]["park_distance_m"]["gini"] == pytest.approx(f.gini("park_distance_m", "compounds"), abs=1e-4)
    assert presenters.headline(f, "zh") and presenters.map_layers(f, "en")


@pytest.mark.shared
def test_bupt_no_parks_everyone_equally_far(haidian_audit):
    from geoplan import presenters

    f = haidian_audit(BUPT.name).analyses["fairness"]
    # no park at all: the walk to a park is undefined for everyone, so is its Gini (not 0, perfect equality: #14);
    # every resident is beyond the cap (censored), with or without walls
    assert f.models == ["plain", "compounds"]
    for model in f.models:
        assert math.isnan(f.gini("park_distance_m", model))
    assert f.undefined == {"park_distance_m": "no_park"} and f.summary()["undefined"] == {"park_distance_m": "no_park"}
    row = f.inequality[(f.inequality["unit_id"] == "all")].iloc[0]
    assert row["censored_pct"] == pytest.approx(100.0)
    assert presenters.headline(f, "en").startswith("Fairness: Gini of the walk to the nearest park undefined: no park;")
    assert "无法计算：无公园" in presenters.headline(f, "zh") and "0.000" not in presenters.headline(f, "en")

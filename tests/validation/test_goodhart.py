"""Goodhart curve (Gao, Schulman & Hilton, ICML 2023; LITERATURE.md 4.3, 4.5, V6): ranking
with rising best-of-n pressure on predicted likes raises likes; true utility was published to
rise, then fall; a multi-signal value model keeps more utility at the same pressure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.metrics.overfit import best_of_n_pressure
from sim.replications import goodhart

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    return goodhart.run(size="small", out=tmp_path_factory.mktemp("goodhart"), seed=0)


@pytest.fixture(scope="module")
def like(rep):
    return rep.table[rep.table["model"] == goodhart.LIKE].set_index("n").sort_index()


@pytest.fixture(scope="module")
def value(rep):
    return rep.table[rep.table["model"] == goodhart.VALUE].set_index("n").sort_index()


def claim(rep, start: str) -> bool:
    hits = [holds for text, holds in rep.claims.items() if text.startswith(start)]
    assert len(hits) == 1, (start, list(rep.claims))
    return hits[0]


def test_claims_are_the_published_ones(rep):
    assert len(rep.claims) == 4
    assert all(isinstance(v, bool) for v in rep.claims.values())


def test_likes_keep_rising_with_pressure(rep, like):
    assert claim(rep, "Likes (the proxy) keep rising")
    rate = like["like_rate"].to_numpy()
    assert (np.diff(rate) > 0.005).all(), rate
    assert rate[-1] > 2.0 * rate[0], rate


@pytest.mark.xfail(
    strict=True,
    reason="feedsim's like-bait raises like odds and leaves utility unchanged, independently of utility; "
    "with the default bait the expected utility given the like score keeps rising, so best-of-n utility "
    "rises with n (more slowly than likes). The fall needs bait with a utility cost or rare, strong bait "
    "(it appears in some worlds only); see the replication's notes.",
)
def test_utility_rises_then_falls(rep):
    assert claim(rep, "True utility first rises, then falls")


def test_utility_under_like_pressure_rises_more_slowly_than_likes(like):
    # what feedsim does show: utility gains flatten while likes keep their pace
    u = like["utility"].to_numpy()
    assert u[-1] > u[0] + 0.3, u
    rate = like["like_rate"].to_numpy()
    gain_u = np.diff(u) / (u[-1] - u[0])
    gain_l = np.diff(rate) / (rate[-1] - rate[0])
    assert gain_u[-1] < gain_l[-1], (gain_u, gain_l)


def test_like_bait_crowds_in(rep, like, value):
    assert claim(rep, "Like-bait takes a growing share")
    bait = like["like_bait_share"].to_numpy()
    assert bait[-1] > 2.0 * bait[0] and bait[-1] > 0.2, bait
    assert value["like_bait_share"].iloc[-1] < bait[-1] - 0.1


def test_value_model_keeps_more_utility_at_the_same_pressure(rep, like, value):
    assert claim(rep, "A multi-signal value model keeps more true utility")
    gap = value["utility"] - like["utility"]
    assert (gap.iloc[1:] > 0.2).all(), gap
    assert gap.iloc[-1] > gap.iloc[1], gap  # the gap widens as the pressure grows


def test_n_one_is_a_random_feed_for_both(like, value):
    # the two objectives share the world, the pools and the random arm
    assert abs(like.loc[1, "utility"] - value.loc[1, "utility"]) < 0.1
    assert abs(like.loc[1, "like_rate"] - value.loc[1, "like_rate"]) < 0.01


def test_table_and_figure(rep):
    assert np.allclose(rep.table["pressure"], best_of_n_pressure(rep.table["n"].to_numpy()))
    assert (rep.table["impressions"] > 3000).all()
    assert rep.figure is not None and rep.figure.is_file()
    assert "best-of-n" in rep.notes


def test_best_of_n_takes_the_top_predicted_candidates():
    """With n far above the pool size each slot is the best remaining eligible candidate, so
    the feed is the top of the value model's score; with n = 1 it is a random draw."""
    from sim.testing import toy_model

    big = goodhart.BestOfNPressure(arms=[20_000], feed_size=5)
    model = toy_model(seed=3, recommender=big)
    for _ in range(4):
        model.step()
    view = model.view
    users = np.arange(20, dtype=np.int64)
    cands = model.build_candidate_pool()
    base = np.asarray(goodhart.ValueModel.score(big, users, cands, view), dtype=np.float64)
    ok = big.eligible(users, cands, view)
    scores = big.score(users, cands, view)
    for row in range(len(users)):
        winners = np.flatnonzero(scores[row] >= goodhart.BIG - 100)
        k = min(5 + big.reserve, int(ok[row].sum()))
        assert len(winners) == k
        assert ok[row, winners].all()
        best = np.sort(base[row][ok[row]])[::-1][:k]
        assert np.allclose(np.sort(base[row, winners])[::-1], best)
    big.arms = [1]  # the same trained predictor, no pressure
    picks = [np.flatnonzero(big.score(users[:1], cands, view)[0] >= goodhart.BIG - 100) for _ in range(50)]
    eligible = np.flatnonzero(ok[0])
    ranks = np.empty(len(cands))
    ranks[eligible] = np.argsort(np.argsort(-base[0, eligible]))  # 0 = best eligible
    mean_rank = np.mean([ranks[p].mean() for p in picks])
    assert abs(mean_rank - (len(eligible) - 1) / 2) < 0.1 * len(eligible), mean_rank  # a uniform draw


def test_pressure_recommender_conforms():
    from sim.testing import check_recommender

    check_recommender("_goodhart_pressure", {"arms": [1, 4, 64], "feed_size": 5})


def test_scenario_file_is_the_replications_base():
    loaded = sim.Scenario.load(ROOT / "scenarios" / "goodhart.toml")
    assert loaded.model_dump() == sim.Scenario.from_dict(goodhart.BASE).model_dump()

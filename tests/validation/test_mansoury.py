"""Mansoury et al. (CIKM 2020): retraining on its own feedback makes a recommender's exposure
more popular, more concentrated and narrower, beyond what random feeds on the same world do."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.replications import mansoury

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOOPS = ["mf", "user_knn"]


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    return mansoury.run(size="small", out=tmp_path_factory.mktemp("mansoury"), seed=0)


@pytest.fixture(scope="module")
def by(rep):
    return rep.table.set_index("recommender")


def claim(rep, start: str) -> bool:
    (key,) = [k for k in rep.claims if k.startswith(start)]
    return rep.claims[key]


def test_claims_are_the_papers(rep):
    assert len(rep.claims) == 5
    assert rep.figure is not None and rep.figure.is_file()


def test_popularity_bias_is_amplified(rep, by):
    assert claim(rep, "The feedback loop amplifies popularity bias")
    # ARP (share of users who liked the item before the round) rises well beyond the control's
    assert (by.loc[LOOPS, "arp_beyond_random"] > 0.003).all(), by["arp_beyond_random"]
    assert (by.loc[LOOPS, "arp_last"] > 2 * by.loc[LOOPS, "arp_first"]).all()
    assert abs(by.loc["random", "arp_change"]) < 0.001


def test_exposure_concentrates(rep, by):
    assert claim(rep, "Exposure concentrates")
    assert (by.loc[LOOPS, "gini_beyond_random"] > 0.01).all(), by["gini_beyond_random"]
    assert (by.loc[LOOPS, "gini_last"] > by.loc["random", "gini_last"] + 0.2).all()


def test_aggregate_diversity_declines(rep, by):
    assert claim(rep, "Aggregate diversity declines")
    assert (by.loc[LOOPS, "coverage_beyond_random"] > 0.03).all(), by["coverage_beyond_random"]
    assert (by.loc[LOOPS, "coverage_last"] < by.loc["random", "coverage_last"] - 0.2).all()


def test_the_control_separates_the_loop_from_catalogue_growth(by):
    # raw exposure over a growing catalogue concentrates even under random feeds ...
    assert by.loc["random", "gini_raw_last"] > by.loc["random", "gini_raw_first"] + 0.05
    assert by.loc["random", "coverage_raw_last"] < by.loc["random", "coverage_raw_first"] - 0.05
    # ... at one exposure density it does not
    assert abs(by.loc["random", "gini_change"]) < 0.04
    assert abs(by.loc["random", "coverage_change"]) < 0.04


def test_popularity_bias_is_amplified_more_for_the_minority_under_user_knn(rep, by):
    assert claim(rep, "Popularity bias is amplified more for the minority group under UserKNN")
    assert 0.2 < by.loc["user_knn", "minority_share"] < 0.36  # the 28% segment
    assert by.loc["user_knn", "arp_change_minority"] > by.loc["user_knn", "arp_change_majority"]


@pytest.mark.xfail(
    strict=True,
    reason="with a 28% minority segment, its ARP rises more (user_knn in every seed, mf on average), but its "
    "exposure Gini rises less and its coverage falls less than the majority's, under both recommenders "
    "(full size: intervals below 0), so the combined claim does not hold",
)
def test_effect_is_stronger_for_the_minority(rep):
    assert claim(rep, "The effect is stronger for the minority group")


def test_scenario_file_is_the_replications_base():
    loaded = sim.Scenario.load(ROOT / "scenarios" / "mansoury.toml")
    assert loaded.model_dump() == sim.Scenario.from_dict(mansoury.BASE).model_dump()

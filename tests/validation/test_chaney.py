"""Chaney, Stewart, Engelhardt (RecSys 2018): feedback-trained recommenders homogenise users
relative to the ideal recommender, without a gain in utility; random homogenises least."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.replications import chaney

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CONFOUNDED = ["popularity", "content", "mf", "social"]


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    return chaney.run(size="small", out=tmp_path_factory.mktemp("chaney"), seed=0)


@pytest.fixture(scope="module")
def by(rep):
    return rep.table.set_index("recommender")


def test_every_claim_holds(rep):
    assert len(rep.claims) == 5
    failed = [claim for claim, holds in rep.claims.items() if not holds]
    assert not failed, failed


def test_confounded_recommenders_homogenise_more_than_ideal(by):
    # change in Jaccard index vs the ideal run on the same pairs, with a margin
    assert (by.loc[CONFOUNDED, "dH_random"] > 0.05).all(), by["dH_random"]
    assert (by.loc[CONFOUNDED, "dH_similar"] > 0.05).all(), by["dH_similar"]
    assert by.loc["ideal", "dH_random"] == 0.0


def test_no_utility_gain_over_ideal(by):
    assert (by.loc[CONFOUNDED, "dU"] < -0.1).all(), by["dU"]
    assert by.loc["ideal", "utility"] > by.loc["random", "utility"] + 0.5


def test_random_homogenises_least(by):
    others = by.drop(index="random")
    assert by.loc["random", "dH_random"] < -0.02
    assert by.loc["random", "dH_random"] < others["dH_random"].min() - 0.1


def test_homogenisation_grows_under_repeated_training(by):
    assert by.loc[CONFOUNDED, "dH_random"].mean() > by.loc[CONFOUNDED, "dH_random_mid"].mean() + 0.02


def test_setup_is_the_papers(by, rep):
    # every recommender faces the same consumption volume (attention by position only)
    assert by["views_per_step"].nunique() == 1
    assert 2.0 < by["views_per_step"].iloc[0] < 2.7  # slot 2 reached with probability 2^-0.8
    assert rep.figure is not None and rep.figure.is_file()
    assert "rank^-0.8" in rep.notes


def test_scenario_file_is_the_replications_base():
    loaded = sim.Scenario.load(ROOT / "scenarios" / "chaney.toml")
    assert loaded.model_dump() == sim.Scenario.from_dict(chaney.BASE).model_dump()

"""The built-in library as a whole: listed, conforming, and between random and the oracle."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.recommenders import available_recommenders

from .conftest import BASELINE


def builtin_names() -> list[str]:
    return [
        name for name, cls in available_recommenders().items()
        if cls.__module__.startswith("sim.recommenders.") and not name.startswith("test_")
    ]


@pytest.fixture(scope="module")
def baseline_results():
    scenario = sim.Scenario.load(BASELINE, overrides=["steps=15", "feed.explain_users=0", "metrics.families=[]"])
    out = {}
    for name in builtin_names():
        params = {"base": "popularity"} if name == "epsilon_greedy" else {}
        out[name] = sim.run(scenario.with_recommender(name, **params), write=False).summary["mean_utility"]
    return out


def test_every_builtin_is_listed_with_params_and_a_description():
    result = CliRunner().invoke(app, ["recommenders"])
    assert result.exit_code == 0
    for name in builtin_names():
        assert name in result.output
        cls = available_recommenders()[name]
        assert (cls.__doc__ or "").strip(), f"{name} has no description"


#: Organic baselines that learn nothing about tastes. The chronological feed shows the newest
#: uploads, which do worse than a random draw from a pool that is 40% trending videos.
NON_LEARNING = {"random", "oracle", "chronological"}


def test_every_learning_recommender_lies_between_random_and_the_oracle(baseline_results):
    low, high = baseline_results["random"], baseline_results["oracle"]
    assert low < high
    for name, utility in baseline_results.items():
        if name in NON_LEARNING:
            continue
        assert low < utility < high, f"{name}: {utility:.3f} not within random {low:.3f} and oracle {high:.3f}"

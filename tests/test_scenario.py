"""Scenarios: loading, defaults, dotted overrides, round trips."""

from __future__ import annotations

import pytest

import sim
from sim.scenario import iter_fields, parse_override

from .conftest import BASELINE


def test_baseline_loads_with_its_values():
    s = sim.Scenario.load(BASELINE)
    assert s.name == "baseline" and s.recommender.name == "popularity"
    assert s.recommender.params == {"half_life": 3.0, "signal": "likes"}
    assert s.holdout.recommender.name == "chronological"


def test_dotted_overrides_parse_toml_values():
    s = sim.Scenario.load(BASELINE, ["world.n_users=5000", "privacy.epsilon=1.5", 'recommender.name="random"',
                                     "recommender.params={}", "feed.inbox=false", "name=plain-word"])
    assert s.world.n_users == 5000 and s.privacy.epsilon == 1.5
    assert s.recommender.name == "random" and s.recommender.params == {}
    assert s.feed.inbox is False and s.name == "plain-word"
    assert parse_override("a.b = 3") == ("a.b", 3)


def test_resolved_scenario_round_trips_through_toml(tmp_path):
    s = sim.Scenario.load(BASELINE, ["privacy.epsilon=2.0", "steps=3"])
    path = tmp_path / "resolved.toml"
    path.write_text(s.to_toml())
    assert sim.Scenario.load(path) == s
    none_eps = sim.Scenario.load(BASELINE)
    path.write_text(none_eps.to_toml())
    assert sim.Scenario.load(path).privacy.epsilon is None


def test_every_field_has_a_description():
    fields = list(iter_fields())
    assert len(fields) > 60
    missing = [p for p, info in fields if not info.description]
    assert not missing, missing


@pytest.mark.parametrize(
    "override, field",
    [
        ("world.n_users=0", "world.n_users"),
        ("world.n_users=-5", "world.n_users"),
        ("social.homophily=1.2", "social.homophily"),
        ("behaviour.w_topic=nan", "behaviour.w_topic"),
        ("world.colour=3", "world.colour"),
        ("feed.fresh_share=0.9", "feed"),
        ("steps=2.5", "steps"),
    ],
)
def test_bad_values_name_the_field(override, field):
    with pytest.raises(sim.ScenarioError) as err:
        sim.Scenario.load(BASELINE, [override])
    msg = str(err.value)
    assert msg.startswith(field) and "\n" not in msg

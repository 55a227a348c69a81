"""The guided lessons, headless: each runs at a small size, fills its narrative, writes its
figure; the ``feedsim lesson`` command."""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

import sim
from sim.app.lessons import LESSONS, Lesson
from sim.app.lessons._common import fill, load_scenario
from sim.app.lessons.like_to_prediction import score_agreement
from sim.cli import app
from sim.scenario import ScenarioError

#: Small sizes at which every lesson runs in a few seconds and still measures something.
SMALL = {
    "like_to_prediction": dict(n_users=300, steps=8),
    "trends": dict(n_users=600, steps=12),
    "echo_chambers": dict(n_users=300, steps=10),
    "likes_mislead": dict(n_users=300, steps=6, feed__n_candidates=300),
    "likes_reveal": dict(n_users=500, steps=8, feed__n_candidates=300),
}
ORDER = ["like_to_prediction", "trends", "echo_chambers", "likes_mislead", "likes_reveal"]


def test_the_five_lessons_in_teaching_order():
    assert list(LESSONS) == ORDER
    assert set(SMALL) == set(LESSONS)


@pytest.mark.parametrize("name", ORDER)
def test_lesson_is_complete_and_its_scenario_loads(name):
    lesson = LESSONS[name]
    assert isinstance(lesson, Lesson) and lesson.name == name and lesson.title
    assert 3 <= len(lesson.questions) <= 5 and 3 <= len(lesson.look_for) <= 5
    assert lesson.recommenders and lesson.narrative.strip()
    scenario = sim.Scenario.load(lesson.scenario)
    assert scenario.name == name
    assert scenario.recommender.name == lesson.recommenders[0]


@pytest.mark.parametrize("name", ORDER)
def test_lesson_runs_small_with_finite_numbers_and_a_filled_narrative(name, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = LESSONS[name].run(tmp_path, **SMALL[name])
    assert result.lesson == name
    bad = {k: v for k, v in result.numbers.items() if not np.isfinite(v)}
    assert not bad, f"non-finite numbers: {bad}"
    assert result.numbers["n_users"] == SMALL[name]["n_users"]
    assert result.numbers["steps"] == SMALL[name]["steps"]
    assert not re.search(r"[{}]", result.text), "an unfilled {field} is left in the narrative"
    assert "nan" not in result.text.lower().split()
    assert result.figure == tmp_path / f"{name}.png"
    assert result.figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_narrative_field_is_a_number_of_the_run(tmp_path):
    """The narrative's fields are the run's numbers (plus a few chosen sentences), so the text
    a reader sees reports this run: checked on the quickest lesson."""
    name = "like_to_prediction"
    result = LESSONS[name].run(None, **SMALL[name])
    assert result.figure is None
    fields = {f for _, f, _, _ in string.Formatter().parse(LESSONS[name].narrative) if f}
    numeric = fields & set(result.numbers)
    assert len(numeric) >= 10
    assert f"{result.numbers['mf_last']:.2f}" in result.text
    assert f"{result.numbers['likes_last']:.1f}" in result.text


def test_agreement_is_one_for_the_oracle_and_near_zero_for_random():
    """The lesson's measure of prediction quality: the oracle scores by true utility itself."""
    scenario = load_scenario(LESSONS["like_to_prediction"].scenario, dict(n_users=200, steps=3))
    users = np.arange(50)
    agreement = {}
    for name in ("oracle", "random"):
        model = sim.FeedModel(scenario.with_recommender(name).with_overrides(["world.make_agents=false"]))
        for _ in range(3):
            model.step()
        agreement[name] = score_agreement(model, users, np.random.default_rng(0))
    assert agreement["oracle"] > 0.99
    assert abs(agreement["random"]) < 0.1


def test_overrides_reach_the_scenario_and_bad_ones_name_the_field():
    path = LESSONS["trends"].scenario
    scenario = load_scenario(path, dict(seed=5, n_users=321, feed__feed_size=7, set=["behaviour.plasticity_mean=0.1"]))
    assert (scenario.seed, scenario.world.n_users, scenario.feed.feed_size) == (5, 321, 7)
    assert scenario.behaviour.plasticity_mean == 0.1
    with pytest.raises(ScenarioError, match="n_users"):
        load_scenario(path, dict(n_users=-1))


def test_fill_refuses_a_field_without_a_value():
    assert fill("r = {r:.2f}, {word}", {"r": 0.5}, {"word": "up"}) == "r = 0.50, up\n"
    with pytest.raises(KeyError, match="missing_one"):
        fill("{r} {missing_one}", {"r": 1.0})


@pytest.fixture
def small_lessons(monkeypatch):
    """The registry's lessons, run at their small size (the command is what is tested)."""
    for name, size in SMALL.items():
        lesson = LESSONS[name]
        monkeypatch.setitem(LESSONS, name, dataclasses.replace(lesson, run=functools.partial(lesson.run, **size)))


def test_cli_lesson_writes_the_figure_and_prints_the_narrative(small_lessons, tmp_path):
    out = tmp_path / "lesson"
    result = CliRunner().invoke(app, ["lesson", "like_to_prediction", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "like_to_prediction.png").is_file()
    assert "How a like becomes a prediction" in result.output
    assert "seed 3" in result.output
    assert "Look for" in result.output and "figure:" in result.output


def test_cli_lesson_lists_lessons_without_a_name():
    for args in (["lesson"], ["lesson", "--list"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0
        for name in ORDER:
            assert name in result.output


def test_cli_unknown_lesson_is_one_line_and_exit_2():
    result = CliRunner().invoke(app, ["lesson", "no_such_lesson"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown lesson" in lines[0] and "like_to_prediction" in lines[0]


def test_cli_lesson_bad_seed_is_one_line_and_exit_2(small_lessons, tmp_path):
    result = CliRunner().invoke(app, ["lesson", "trends", "--seed", "-4", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "seed" in lines[0]
    assert not (tmp_path / "x" / "trends.png").exists()


def test_numbers_that_round_to_zero_print_without_a_minus_sign():
    from sim.app.lessons._common import fill

    text = fill("{a:+.2f} | {b:.1%} | {c:.2f} | {d:+.2f}", {"a": -0.001, "b": -0.0001, "c": -1.5, "d": 0.3})
    assert text == "0.00 | 0.0% | -1.50 | +0.30\n"

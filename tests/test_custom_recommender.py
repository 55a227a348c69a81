"""docs/custom-recommender.md: the 30-line recommender runs, and the shipped plugin is found."""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.recommenders.base import ENTRY_POINT_GROUP
from sim.testing import check_recommender

from .conftest import ROOT

DOC = (ROOT / "docs" / "custom-recommender.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)


def test_the_tutorial_recommender_is_about_30_lines_and_runs(monkeypatch):
    definition, usage = BLOCKS[0], BLOCKS[1]
    assert len([line for line in definition.splitlines() if line.strip()]) <= 40
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(definition, "custom-recommender.md", "exec"), namespace)
    exec(compile(usage, "custom-recommender.md", "exec"), namespace)
    result = namespace["result"]
    assert result.summary["recommender"] == "creator_loyalty_demo"
    assert result.model.recommender.half_life == 3.0
    why = result.model.explanations_frame()
    assert set(why[why.recommender == "creator_loyalty_demo"].part) == {"creator loyalty", "trending prior"}
    with pytest.raises(sim.RecommenderError, match="'creator_loyalty_demo': param 'half_life'"):
        sim.make_recommender("creator_loyalty_demo", {"half_life": -1})


def test_the_shipped_plugin_is_found_through_its_entry_point(tmp_path):
    names = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert names.get("creator_loyalty") == "feedsim_creator_loyalty:CreatorLoyalty", (
        "install the example: pip install -e examples/feedsim-creator-loyalty (make test does)"
    )
    check_recommender("creator_loyalty")
    runner = CliRunner()
    listing = runner.invoke(app, ["recommenders"])
    assert listing.exit_code == 0 and "creator_loyalty" in listing.output
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        ["run", str(ROOT / "scenarios" / "baseline.toml"), "-r", "creator_loyalty", "--steps", "3", "-q",
         "--set", "world.n_users=300", "--set", "recommender.params.half_life=2.0", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["recommender"] == "creator_loyalty" and summary["complete"]
    resolved = sim.Scenario.load(out / "scenario.toml")
    assert resolved.recommender.params == {"half_life": 2.0}

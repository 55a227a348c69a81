"""feedsim compare / sim.compare: one world and seed, several recommenders, side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.compare import compare

from .conftest import BASELINE, small


def test_compare_runs_each_recommender_on_one_world(tmp_path):
    result = compare(small(steps=4), ["popularity", "random", ("oracle", {})], out=tmp_path / "cmp")
    assert list(result.results) == ["popularity", "random", "oracle"]
    worlds = [r.model.world.users for r in result.results.values()]
    for w in worlds[1:]:
        np.testing.assert_array_equal(w.taste0, worlds[0].taste0)
    t = result.table
    assert {"popularity", "random", "oracle", "random - popularity", "oracle - popularity"} <= set(t.columns)
    np.testing.assert_allclose(t["oracle - popularity"], t["oracle"] - t["popularity"])
    assert t.loc["mean_utility", "oracle"] > t.loc["mean_utility", "random"]
    assert t.loc["mean_utility", "oracle"] == result.results["oracle"].summary["mean_utility"]
    for name in ("compare.csv", "compare.png", "popularity/summary.json", "oracle/metrics.csv"):
        assert (tmp_path / "cmp" / name).exists(), name
    saved = pd.read_csv(tmp_path / "cmp" / "compare.csv", index_col=0)
    assert saved.loc["like_rate", "random"] == result.table.loc["like_rate", "random"]


def test_the_same_recommender_twice_gets_two_labels():
    result = compare(small(steps=2), ["random", ("random", {})])
    assert list(result.results) == ["random", "random-2"]
    np.testing.assert_allclose(result.table["random-2 - random"].dropna(), 0.0)


def test_cli_compare_prints_the_table_and_writes_the_folder(tmp_path):
    out = tmp_path / "c"
    res = CliRunner().invoke(
        app, ["compare", str(BASELINE), "-r", "popularity", "-r", "oracle", "--steps", "2",
              "--set", "world.n_users=300", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "oracle - popularity" in res.output and "mean_utility" in res.output
    assert (out / "compare.png").exists()


def test_cli_compare_and_replicate_bad_input_is_one_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["compare", str(BASELINE), "-r", "nope", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown recommender 'nope'" in res.output
    assert not (tmp_path / "x").exists()
    res = runner.invoke(app, ["replicate", "nobody2020"])
    assert res.exit_code == 2 and "unknown replication 'nobody2020'" in res.output

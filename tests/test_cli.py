"""``feedsim run`` writes a complete run folder; ``feedsim recommenders`` lists the registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
RUN_FILES = {"scenario.toml", "metrics.parquet", "metrics.csv", "summary.json", "metrics.png"}
LOG_COLUMNS = [
    "user", "video", "step", "position", "watch_ratio", "liked", "shared", "commented", "not_interested",
    "share_parent",
]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def feedsim_run(out: Path, *args: str):
    result = invoke("run", BASELINE, "--steps", "3", "--set", "world.n_users=300", "--quiet", "--out", out, *args)
    assert result.exit_code == 0, (result.output, result.exception)
    assert ANSI.sub("", result.stdout).strip() == f"run folder: {out}"
    return result


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "baseline"
    feedsim_run(out)
    return out


def test_run_writes_every_file(baseline_run):
    assert {p.name for p in baseline_run.iterdir()} == RUN_FILES
    assert (baseline_run / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    siblings = [p.name for p in baseline_run.parent.iterdir()]
    assert siblings == [baseline_run.name]  # no temporary folder left next to it


def test_run_summary(baseline_run):
    summary = summary_of(baseline_run)
    assert summary["complete"] is True
    assert summary["steps_done"] == 3
    assert summary["steps_requested"] == 3
    assert summary["n_users"] == 300
    assert summary["scenario"] == "baseline"
    assert summary["recommender"] == "popularity"
    assert summary["holdout_recommender"] == "chronological"
    assert summary["seed"] == 7
    assert summary["impressions"] > 0
    assert 0.0 <= summary["like_rate"] <= 1.0


def test_run_metrics(baseline_run):
    metrics = pd.read_csv(baseline_run / "metrics.csv")
    assert len(metrics) == 3
    assert list(metrics["step"]) == [0, 1, 2]
    for column in ("like_rate", "watch_ratio", "mean_utility", "active_users"):
        assert column in metrics.columns
        assert metrics[column].notna().all(), column
    assert (metrics["active_users"] <= 300).all()
    parquet = pd.read_parquet(baseline_run / "metrics.parquet")
    assert list(parquet.columns) == list(metrics.columns)
    pd.testing.assert_frame_equal(parquet, metrics, check_dtype=False)
    assert metrics["impressions"].sum() == summary_of(baseline_run)["impressions"]


def test_run_scenario_round_trips(baseline_run):
    saved = sim.Scenario.load(baseline_run / "scenario.toml")
    assert saved == sim.Scenario.load(BASELINE, ["world.n_users=300", "steps=3"])
    assert saved.steps == 3
    assert saved.world.n_users == 300
    assert saved.recommender.params == {"half_life": 3.0, "signal": "likes"}


def test_save_log(tmp_path):
    out = tmp_path / "logged"
    feedsim_run(out, "--save-log")
    assert {p.name for p in out.iterdir()} == RUN_FILES | {"log.parquet", "videos.parquet", "users.parquet"}
    summary = summary_of(out)
    log = pd.read_parquet(out / "log.parquet")
    assert len(log) == summary["impressions"] > 0
    for column in LOG_COLUMNS:
        assert column in log.columns, column
    assert set(log["step"]) == {0, 1, 2}
    assert log["user"].between(0, 299).all()
    # the catalog and the users, to read the log by: one row per id
    videos = pd.read_parquet(out / "videos.parquet")
    users = pd.read_parquet(out / "users.parquet")
    assert (videos["video"].to_numpy() == np.arange(len(videos))).all() and log["video"].max() < len(videos)
    assert {"creator", "sound", "upload_step", "like_bait", "quality", "topics"} <= set(videos.columns)
    assert len(videos["topics"].iloc[0]) == 16 and abs(sum(videos["topics"].iloc[0]) - 1) < 1e-4
    assert (users["user"].to_numpy() == np.arange(300)).all()
    assert {"segment", "holdout", "trait", "taste0", "taste"} <= set(users.columns)
    assert 0 < users["holdout"].mean() < 0.3
    assert sim.Scenario.load(out / "scenario.toml").output.save_log is True


def test_recommender_and_seed_options(tmp_path):
    out = tmp_path / "oracle"
    feedsim_run(out, "--recommender", "oracle", "--seed", "11")
    summary = summary_of(out)
    assert summary["recommender"] == "oracle"
    assert summary["seed"] == 11
    saved = sim.Scenario.load(out / "scenario.toml")
    assert saved.recommender.name == "oracle"
    assert saved.recommender.params == {}  # the baseline's popularity params are dropped
    assert saved.seed == 11


def test_short_recommender_option(tmp_path):
    out = tmp_path / "random"
    feedsim_run(out, "-r", "random")
    assert summary_of(out)["recommender"] == "random"


def test_default_folder_under_output_dir(tmp_path):
    runs = tmp_path / "runs"
    result = invoke(
        "run", BASELINE, "--steps", "3", "--set", "world.n_users=300", "--set", f'output.dir="{runs}"',
        "--set", "output.figures=false", "--quiet",
    )
    assert result.exit_code == 0, (result.output, result.exception)
    (folder,) = runs.iterdir()
    assert folder.name.startswith("baseline-popularity-seed7-")
    assert f"run folder: {folder}" in result.stdout
    assert {p.name for p in folder.iterdir()} == RUN_FILES - {"metrics.png"}


def test_without_quiet_prints_the_summary_table(tmp_path):
    out = tmp_path / "loud"
    result = invoke("run", BASELINE, "--steps", "3", "--set", "world.n_users=300", "--out", out)
    assert result.exit_code == 0, (result.output, result.exception)
    text = ANSI.sub("", result.stdout)
    assert "like rate" in text and "mean true utility" in text
    assert f"run folder: {out}" in text
    assert result.stderr == ""


def test_empty_existing_out_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    feedsim_run(out)
    assert {p.name for p in out.iterdir()} == RUN_FILES


def test_non_empty_out_is_refused(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    result = invoke("run", BASELINE, "--steps", "3", "--set", "world.n_users=300", "--quiet", "--out", out)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stdout == ""
    lines = ANSI.sub("", result.stderr).splitlines()
    assert len(lines) == 1
    assert "--out" in lines[0] and str(out) in lines[0] and "not an empty folder" in lines[0]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine\n"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def recommender_rows(text: str) -> dict[str, list[str]]:
    """Rows of the rich table: name -> [params, description], wrapped cells joined."""
    rows: dict[str, list[str]] = {}
    name = None
    for line in ANSI.sub("", text).splitlines():
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if cells[0]:
            name = cells[0]
            rows[name] = cells[1:]
        elif name is not None:
            rows[name] = [f"{a} {b}".strip() for a, b in zip(rows[name], cells[1:])]
    return rows


def test_recommenders_lists_builtins_with_params():
    result = invoke("recommenders")
    assert result.exit_code == 0, (result.output, result.exception)
    rows = recommender_rows(result.stdout)
    assert {"random", "chronological", "popularity", "oracle"} <= set(rows)
    params, doc = rows["popularity"]
    assert "half_life" in params and "signal" in params
    assert "float > 0 = 3.0" in params
    assert "'likes'" in params and "'engagement'" in params
    assert "followed_first" in rows["chronological"][0]
    assert rows["random"][0] == "-"
    assert "[privileged]" in rows["oracle"][1]
    assert doc.startswith("Rank by a decayed count")

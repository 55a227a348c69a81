"""Bad input ends in one line naming the field and the problem, exit status 2, no run folder.

Ctrl-C keeps the finished steps in a run folder that is marked incomplete.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
FEEDSIM = Path(sys.executable).with_name("feedsim")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SMALL = ["--set", "world.n_users=300"]


# -- recommenders that answer badly ---------------------------------------------------------
@sim.register_recommender("test_nan_scores")
class NaNScores(sim.Recommender):
    """Scores are NaN from the first step."""

    def __init__(self):
        pass

    def score(self, users, candidates, view):
        return np.full((len(users), len(candidates)), np.nan)


@sim.register_recommender("test_nan_later")
class NaNLater(sim.Recommender):
    """Finite scores for two steps, then NaN: the run fails after some steps were done."""

    def __init__(self):
        pass

    def score(self, users, candidates, view):
        value = np.nan if view.step >= 2 else 1.0
        return np.full((len(users), len(candidates)), value)


@sim.register_recommender("test_wrong_shape")
class WrongShape(sim.Recommender):
    """One score too many per user."""

    def __init__(self):
        pass

    def score(self, users, candidates, view):
        return np.zeros((len(users), len(candidates) + 1))


@sim.register_recommender("test_interrupt_at_3")
class InterruptAtThree(sim.Recommender):
    """Behaves like Ctrl-C arriving while step 3 (0-based) is being served."""

    def __init__(self):
        pass

    def score(self, users, candidates, view):
        if view.step == 3:
            raise KeyboardInterrupt
        return np.zeros((len(users), len(candidates)))


# -- helpers ------------------------------------------------------------------------------
@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working directory (so a stray default ``runs/`` folder would show)."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def error_line(result) -> str:
    """Assert a bad-input exit: status 2, nothing on stdout, exactly one line on stderr."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout == ""
    text = ANSI.sub("", result.stderr)
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {text!r}"
    line = lines[0].strip()
    assert line.startswith("error: "), line
    return line


def assert_nothing_written(work: Path, *paths: Path) -> None:
    for path in paths:
        assert not path.exists(), f"{path} was left behind"
        if path.parent.exists():
            assert not [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]
    assert list(work.iterdir()) == []


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- scenario fields through the CLI ------------------------------------------------------
# (extra CLI args, substrings the one line must contain)
FIELD_CASES = {
    "zero count": (["--set", "world.n_users=0"], ["world.n_users", "greater than 0", "got 0"]),
    "negative count": (["--set", "world.n_creators=-5"], ["world.n_creators", "greater than 0", "-5"]),
    "zero steps": (["--steps", "0"], ["steps", "greater than 0"]),
    "negative steps": (["--steps", "-2"], ["steps", "greater than 0", "-2"]),
    "zero feed size": (["--set", "feed.feed_size=0"], ["feed.feed_size", "greater than 0"]),
    "negative seed": (["--seed", "-1"], ["seed", "greater than or equal to 0", "-1"]),
    "probability above 1": (["--set", "behaviour.visit_prob=1.5"], ["behaviour.visit_prob", "less than or equal to 1", "1.5"]),
    "probability below 0": (["--set", "holdout.fraction=-0.1"], ["holdout.fraction", "greater than or equal to 0"]),
    "nan": (["--set", "behaviour.w_topic=nan"], ["behaviour.w_topic", "finite", "nan"]),
    "infinity": (["--set", "world.upload_rate=inf"], ["world.upload_rate", "inf"]),
    "unknown field": (["--set", "world.n_userz=10"], ["world.n_userz", "unknown field"]),
    "unknown top-level field": (["--set", "stepz=3"], ["stepz", "unknown field"]),
    "wrong type": (["--set", "world.n_users=many"], ["world.n_users", "valid integer", "many"]),
    "fractional count": (["--set", "world.n_users=2.5"], ["world.n_users", "fractional", "2.5"]),
    "shares above 1": (
        ["--set", "feed.fresh_share=0.6", "--set", "feed.trending_share=0.5"],
        ["feed", "fresh_share + trending_share + followed_share", "at most 1", "1.2"],
    ),
    "override without =": (["--set", "world.n_users"], ["world.n_users", "PATH=VALUE"]),
    "override with empty path": (["--set", "=5"], ["'=5'", "empty field path"]),
    "override into a value": (["--set", "world.n_users.x=1"], ["world.n_users", "not a table"]),
    "table given a value": (["--set", "world=3"], ["world", "valid dictionary"]),
    "zero epsilon": (["--set", "privacy.epsilon=0"], ["privacy.epsilon", "greater than 0"]),
}


@pytest.mark.parametrize("args, expected", list(FIELD_CASES.values()), ids=list(FIELD_CASES))
def test_bad_field_is_one_line_and_writes_nothing(work, tmp_path, args, expected):
    out = tmp_path / "out" / "x"
    line = error_line(invoke("run", BASELINE, *SMALL, *args, "--out", out))
    for part in expected:
        assert part in line, f"{part!r} not in {line!r}"
    assert_nothing_written(work, out, out.parent)


# -- recommender names and params through the CLI -----------------------------------------
RECOMMENDER_CASES = {
    "unknown recommender by --set": (
        ["--set", 'recommender.name="tiktok"'],
        ["unknown recommender 'tiktok'", "popularity", "chronological"],
    ),
    "unknown recommender by -r": (["-r", "tiktok"], ["unknown recommender 'tiktok'", "random"]),
    "unknown recommender by --recommender": (["--recommender", "nope"], ["unknown recommender 'nope'"]),
    "unknown holdout recommender": (["--set", 'holdout.recommender.name="nope"'], ["unknown recommender 'nope'"]),
    "unknown param": (
        ["--set", "recommender.params={foo=1}"],
        ["recommender 'popularity'", "unknown param 'foo'", "half_life", "signal"],
    ),
    "param out of range": (
        ["--set", "recommender.params={half_life=-1}"],
        ["recommender 'popularity'", "param 'half_life'", "greater than 0", "-1"],
    ),
    "param of the wrong type": (
        ["--set", 'recommender.params={half_life="soon"}'],
        ["recommender 'popularity'", "param 'half_life'", "soon"],
    ),
    "param not one of the choices": (
        ["--set", 'recommender.params={signal="shares"}'],
        ["recommender 'popularity'", "param 'signal'", "shares"],
    ),
    "nan param": (
        ["--set", "recommender.params={half_life=nan}"],
        ["recommender 'popularity'", "param 'half_life'", "nan"],
    ),
}


@pytest.mark.parametrize("args, expected", list(RECOMMENDER_CASES.values()), ids=list(RECOMMENDER_CASES))
def test_bad_recommender_is_one_line_and_writes_nothing(work, tmp_path, args, expected):
    out = tmp_path / "out" / "x"
    line = error_line(invoke("run", BASELINE, *SMALL, *args, "--out", out))
    for part in expected:
        assert part in line, f"{part!r} not in {line!r}"
    assert_nothing_written(work, out, out.parent)


def test_bad_input_with_default_output_dir_writes_nothing(work, tmp_path):
    runs = tmp_path / "runs"
    line = error_line(invoke("run", BASELINE, *SMALL, "--set", f'output.dir="{runs}"', "--set", "world.n_users=0"))
    assert "world.n_users" in line
    line = error_line(invoke("run", BASELINE, *SMALL, "--set", f'output.dir="{runs}"', "-r", "nope"))
    assert "'nope'" in line
    assert_nothing_written(work, runs)


# -- the scenario file ---------------------------------------------------------------------
def test_missing_file(work, tmp_path):
    missing = tmp_path / "no-such-scenario.toml"
    line = error_line(invoke("run", missing, "--out", tmp_path / "out"))
    assert "not found" in line
    assert str(missing) in line
    assert_nothing_written(work, tmp_path / "out")


def test_malformed_toml(work, tmp_path):
    path = write(tmp_path / "in" / "broken.toml", 'name = "broken\nsteps = 3\n')
    line = error_line(invoke("run", path, "--out", tmp_path / "out"))
    assert "malformed" in line
    assert str(path) in line
    assert_nothing_written(work, tmp_path / "out")


def test_not_utf8(work, tmp_path):
    path = write(tmp_path / "in" / "latin1.toml", 'name = "caf\xe9"\n'.encode("latin-1"))
    line = error_line(invoke("run", path, "--out", tmp_path / "out"))
    assert "UTF-8" in line
    assert_nothing_written(work, tmp_path / "out")


FILE_CASES = {
    "unknown field": ("[world]\nn_users = 300\npopulation = 10\n", ["world.population", "unknown field"]),
    "unknown table": ("[wrold]\nn_users = 300\n", ["wrold", "unknown field"]),
    "nan": ("[world]\nn_users = 300\n[behaviour]\nw_topic = nan\n", ["behaviour.w_topic", "finite"]),
    "probability": ("[world]\nn_users = 300\n[social]\nhomophily = 2.0\n", ["social.homophily", "less than or equal to 1"]),
    "negative count": ("steps = -3\n[world]\nn_users = 300\n", ["steps", "greater than 0", "-3"]),
}


@pytest.mark.parametrize("text, expected", list(FILE_CASES.values()), ids=list(FILE_CASES))
def test_bad_field_in_file(work, tmp_path, text, expected):
    path = write(tmp_path / "in" / "scenario.toml", text)
    line = error_line(invoke("run", path, "--out", tmp_path / "out"))
    for part in expected:
        assert part in line, f"{part!r} not in {line!r}"
    assert_nothing_written(work, tmp_path / "out")


def test_several_problems_are_still_one_line(work, tmp_path):
    path = write(tmp_path / "in" / "scenario.toml", "steps = 0\n[world]\nn_users = 0\nn_creators = -1\n")
    line = error_line(invoke("run", path, "--out", tmp_path / "out"))
    assert line.startswith("error: steps: ")
    assert "and 2 more problems" in line


# -- the output folder ---------------------------------------------------------------------
def test_out_inside_a_file_is_refused_before_running(work, tmp_path):
    blocker = write(tmp_path / "afile", "not a folder\n")
    line = error_line(invoke("run", BASELINE, *SMALL, "--steps", "2", "--out", blocker / "x"))
    assert "--out" in line
    assert str(blocker) in line
    assert blocker.read_text() == "not a folder\n"
    assert list(work.iterdir()) == []


def test_output_dir_inside_a_file_is_refused_before_running(work, tmp_path):
    blocker = write(tmp_path / "afile", "not a folder\n")
    line = error_line(invoke("run", BASELINE, *SMALL, "--steps", "2", "--set", f'output.dir="{blocker}/runs"'))
    assert "output.dir" in line
    assert str(blocker) in line
    assert list(work.iterdir()) == []


# -- recommenders that answer badly --------------------------------------------------------
@pytest.mark.parametrize(
    "name, problem",
    [
        ("test_nan_scores", "NaN or infinite scores"),
        ("test_nan_later", "NaN or infinite scores"),
        ("test_wrong_shape", "shape"),
    ],
)
def test_bad_scores_are_one_line_and_write_nothing(work, tmp_path, name, problem):
    out = tmp_path / "out" / "x"
    line = error_line(invoke("run", BASELINE, *SMALL, "--steps", "4", "-r", name, "--out", out))
    assert f"recommender {name!r}" in line
    assert problem in line
    assert_nothing_written(work, out, out.parent)

    cfg = sim.Scenario.load(BASELINE, ["world.n_users=300", "steps=4", f'recommender.name="{name}"', "recommender.params={}"])
    with pytest.raises(sim.RecommenderError) as info:
        sim.run(cfg, out=out)
    assert line == f"error: {info.value}"
    assert_nothing_written(work, out, out.parent)


# -- the Python API raises the same one-line errors ----------------------------------------
API_SCENARIO_CASES = [
    ["world.n_users=0"],
    ["behaviour.visit_prob=1.5"],
    ["behaviour.w_topic=nan"],
    ["world.n_userz=10"],
    ["seed=-1"],
    ["feed.feed_size=0"],
    ["feed.fresh_share=0.6", "feed.trending_share=0.5"],
    ["world.n_users"],
]


@pytest.mark.parametrize("overrides", API_SCENARIO_CASES, ids=lambda o: " ".join(o))
def test_api_scenario_error_matches_cli(work, tmp_path, overrides):
    with pytest.raises(sim.ScenarioError) as info:
        sim.Scenario.load(BASELINE, overrides)
    message = str(info.value)
    assert "\n" not in message
    args = [a for o in overrides for a in ("--set", o)]
    assert error_line(invoke("run", BASELINE, *args, "--out", tmp_path / "out")) == f"error: {message}"
    assert_nothing_written(work, tmp_path / "out")


def test_api_scenario_error_for_files(tmp_path):
    with pytest.raises(sim.ScenarioError, match="not found"):
        sim.Scenario.load(tmp_path / "missing.toml")
    path = write(tmp_path / "broken.toml", "[world\n")
    with pytest.raises(sim.ScenarioError, match="malformed TOML") as info:
        sim.Scenario.load(path)
    assert "\n" not in str(info.value)
    with pytest.raises(sim.ScenarioError, match=r"^world\.n_users: "):
        sim.Scenario(world={"n_users": 300}).with_overrides(["world.n_users=-1"])


API_RECOMMENDER_CASES = [
    ['recommender.name="tiktok"'],
    ["recommender.params={foo=1}"],
    ["recommender.params={half_life=-1}"],
    ['holdout.recommender.name="nope"'],
]


@pytest.mark.parametrize("overrides", API_RECOMMENDER_CASES, ids=lambda o: " ".join(o))
def test_api_recommender_error_matches_cli(work, tmp_path, overrides):
    out = tmp_path / "out" / "x"
    cfg = sim.Scenario.load(BASELINE, ["world.n_users=300", *overrides])
    with pytest.raises(sim.RecommenderError) as info:
        sim.run(cfg, out=out)
    message = str(info.value)
    assert "\n" not in message
    args = [a for o in overrides for a in ("--set", o)]
    assert error_line(invoke("run", BASELINE, *SMALL, *args, "--out", out)) == f"error: {message}"
    assert_nothing_written(work, out, out.parent)


def test_make_recommender_errors():
    with pytest.raises(sim.RecommenderError, match=r"^unknown recommender 'tiktok' \(known: .*popularity"):
        sim.make_recommender("tiktok")
    with pytest.raises(sim.RecommenderError, match=r"^recommender 'popularity': unknown param 'foo'"):
        sim.make_recommender("popularity", {"foo": 1})
    with pytest.raises(sim.RecommenderError, match=r"^recommender 'popularity': param 'half_life': .*greater than 0"):
        sim.make_recommender("popularity", {"half_life": -1})
    rec = sim.make_recommender("popularity", {"half_life": 2})
    assert rec.get_params() == {"half_life": 2.0, "signal": "likes"}


# -- end to end through the installed console script ---------------------------------------
@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "missing.toml"], "scenario file not found: missing.toml"),
        (["run", str(BASELINE), "--set", "world.n_users=0"], "error: world.n_users: Input should be greater than 0"),
    ],
    ids=["missing file", "zero count"],
)
def test_console_script_bad_input(tmp_path, args, expected):
    proc = subprocess.run([str(FEEDSIM), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0]
    assert list(tmp_path.iterdir()) == []


# -- Ctrl-C ----------------------------------------------------------------------------------
def read_run(folder: Path) -> tuple[dict, pd.DataFrame]:
    summary = json.loads((folder / "summary.json").read_text())
    return summary, pd.read_csv(folder / "metrics.csv")


def test_interrupt_keeps_finished_steps_api(tmp_path):
    cfg = sim.Scenario.load(BASELINE, ["world.n_users=300", "steps=10"])
    calls = []

    def progress(done, total):
        calls.append((done, total))
        if done == 3:
            raise KeyboardInterrupt

    out = tmp_path / "r"
    with pytest.raises(sim.RunInterrupted) as info:
        sim.run(cfg, out=out, progress=progress)
    assert isinstance(info.value, KeyboardInterrupt)
    assert calls == [(1, 10), (2, 10), (3, 10)]
    result = info.value.result
    assert result.run_dir == out
    assert result.summary["complete"] is False
    assert result.summary["steps_done"] == 3

    summary, metrics = read_run(out)
    assert summary["complete"] is False
    assert summary["steps_done"] == 3
    assert summary["steps_requested"] == 10
    assert len(metrics) == 3
    assert list(metrics["step"]) == [0, 1, 2]
    assert len(pd.read_parquet(out / "metrics.parquet")) == 3
    assert summary["impressions"] == metrics["impressions"].sum() > 0
    assert (out / "metrics.png").is_file()
    assert sim.Scenario.load(out / "scenario.toml") == cfg
    assert list(tmp_path.iterdir()) == [out]  # no temporary sibling left behind


def test_interrupt_through_cli_exits_130_and_marks_incomplete(work, tmp_path):
    out = tmp_path / "r"
    result = invoke("run", BASELINE, *SMALL, "--steps", "10", "-r", "test_interrupt_at_3", "--out", out)
    assert result.exit_code == 130, (result.output, result.exception)
    (line,) = ANSI.sub("", result.stderr).splitlines()
    assert line == f"interrupted after 3 of 10 steps; partial run (marked incomplete) in {out}"
    summary, metrics = read_run(out)
    assert summary["complete"] is False
    assert summary["steps_done"] == 3
    assert len(metrics) == 3
    assert list(work.iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")
def test_sigint_to_console_script_keeps_partial_run(tmp_path):
    # How long this machine takes to start up and run one step: interrupt well after that.
    t0 = time.monotonic()
    calib = subprocess.run(
        [str(FEEDSIM), "run", str(BASELINE), "--steps", "1", "--quiet", "--set", "output.figures=false",
         "--out", str(tmp_path / "calibration")],
        capture_output=True, text=True, timeout=60,
    )
    startup = time.monotonic() - t0
    assert calib.returncode == 0, calib.stderr
    wait = max(2.0, 1.5 * startup + 0.5)

    out = tmp_path / "r"
    proc = subprocess.Popen(
        [str(FEEDSIM), "run", str(BASELINE), "--steps", "400", "--out", str(out)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary, metrics = read_run(out)
    (line,) = ANSI.sub("", stderr).splitlines()
    assert line == (
        f"interrupted after {summary['steps_done']} of 400 steps; partial run (marked incomplete) in {out}"
    )
    assert "run folder:" not in stdout
    assert summary["complete"] is False
    assert summary["steps_requested"] == 400
    assert 0 < summary["steps_done"] < 400
    assert len(metrics) == summary["steps_done"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration", "r"]

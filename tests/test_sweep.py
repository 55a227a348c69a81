"""Sweeps: grid expansion and validation, identical results on every executor, resume,
failures that cost one run only, the CLI and the report."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.replications import mean_interval
from sim.scenario import Scenario, ScenarioError
from sim.sweep import (
    LocalProcessExecutor,
    ResultStore,
    SweepError,
    plan_sweep,
    run_one,
    start_dask,
)
from sim.sweep import sweep as run_sweep
from sim.sweep_report import write_report

ROOT = Path(__file__).resolve().parents[1]
FAULTY = str(Path(__file__).with_name("sweep_recommenders.py"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TIMING = ["wall_seconds", "seconds_per_step"]


def tiny(grid: dict, seeds=2, **sections) -> Scenario:
    """A world small enough for a run in a fraction of a second, with a sweep table."""
    data = {
        "name": "tiny",
        "steps": 3,
        "world": {"n_users": 150, "n_creators": 30, "make_agents": False},
        "feed": {"n_candidates": 150, "explain_users": 0},
        "metrics": {"families": ["welfare"]},
        "holdout": {"fraction": 0.1},
        "sweep": {"grid": grid, "seeds": seeds},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value) if isinstance(value, dict) else data.__setitem__(key, value)
    return Scenario.from_dict(data)


GRID = {"behaviour.plasticity_mean": [0.0, 0.3], "recommender.name": ["popularity", "random"]}


def faulty_grid(fault: str, attempts: Path) -> dict:
    return {
        "recommender.name": ["test_sweep_faulty"],
        "recommender.params": [{"fault": "none", "attempts": str(attempts)}, {"fault": fault, "attempts": str(attempts)}],
    }


def attempts_of(folder: Path, fault: str) -> int:
    return len(list(folder.glob(f"{fault}-*")))


def results_by_run(folder: Path) -> dict[str, tuple[pd.DataFrame, dict]]:
    store = ResultStore(folder)
    out = {}
    for run_id in store.finished():
        meta, metrics = store.read_run(run_id)
        out[run_id] = (metrics, {k: v for k, v in meta["summary"].items() if k not in TIMING})
    return out


@pytest.fixture(scope="module")
def dask_executor():
    executor = start_dask(local_workers=2)
    yield executor
    executor.client.close()
    executor.cluster.close()


@pytest.fixture(scope="module")
def pool_sweep(tmp_path_factory) -> Path:
    """A finished 2 x 2 grid x 2 seeds sweep on the local process pool."""
    out = tmp_path_factory.mktemp("sweep") / "pool"
    frame = run_sweep(tiny(GRID), out, workers=2)
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    return out


# -- expansion and validation ----------------------------------------------------------------
def test_grid_crosses_paths_zips_groups_and_repeats_seeds():
    scenario = tiny(
        {"behaviour.plasticity_mean": [0.0, 0.1, 0.2], "recommender.name": ["value", "popularity"],
         "recommender.params": [{"w_like": 2.0}, {}]},
        seeds=[5, 9],
        sweep={"zip": [["recommender.name", "recommender.params"]]},
    )
    plan = plan_sweep(scenario)
    points = {(c["params"]["behaviour.plasticity_mean"], c["params"]["recommender.name"], c["seed"]) for c in plan.configs}
    assert len(plan.configs) == 3 * 2 * 2 == len(points)
    assert {(c["scenario"]["recommender"]["name"], json.dumps(c["scenario"]["recommender"]["params"]))
            for c in plan.configs} == {("value", '{"w_like": 2.0}'), ("popularity", "{}")}
    assert all(c["scenario"]["seed"] == c["seed"] for c in plan.configs)
    assert len({c["run_id"] for c in plan.configs}) == len(plan.configs)
    assert plan_sweep(scenario).configs == plan.configs  # ids are stable
    assert [c["seed"] for c in plan_sweep(tiny(GRID, seeds=3)).configs[:3]] == [0, 1, 2]


def test_run_id_ignores_the_sweep_table_and_outputs():
    a = plan_sweep(tiny({"behaviour.plasticity_mean": [0.1]}, seeds=[4]))
    b = plan_sweep(tiny({"behaviour.plasticity_mean": [0.1], "world.n_users": [150]}, seeds=[4], output={"dir": "elsewhere"}))
    assert a.configs[0]["run_id"] == b.configs[0]["run_id"]


def test_a_sweep_table_does_not_change_a_single_run():
    with_sweep = tiny({"behaviour.plasticity_mean": [0.0, 0.5]})
    data = with_sweep.model_dump()
    data.pop("sweep")
    plain = Scenario.from_dict(data)
    a = sim.run(with_sweep, write=False).metrics
    b = sim.run(plain, write=False).metrics
    pd.testing.assert_frame_equal(a, b)


def test_run_one_matches_sim_run():
    config = plan_sweep(tiny({"behaviour.plasticity_mean": [0.2]}, seeds=[3])).configs[0]
    result = run_one(config)
    assert result["status"] == "ok" and result["error"] is None
    direct = sim.run(Scenario.from_dict(config["scenario"]), write=False)
    pd.testing.assert_frame_equal(result["metrics"], direct.metrics)


@pytest.mark.parametrize(
    "grid, sweep_extra, words",
    [
        ({}, {}, ["sweep.grid", "empty"]),
        ({"behaviour.plastcity": [0.1]}, {}, ["unknown parameter path", "behaviour.plastcity"]),
        ({"behaviour.plasticity_mean": []}, {}, ["behaviour.plasticity_mean", "empty"]),
        ({"behaviour.plasticity_mean": [0.1, -1.0]}, {}, ["behaviour.plasticity_mean", "-1.0"]),
        ({"recommender.params.w_like": [1.0, -2.0]}, {}, ["w_like", "-2.0"]),
        ({"recommender.name": ["popularity", "no_such_rec"]}, {}, ["no_such_rec"]),
        ({"seed": [1, 2]}, {}, ["seed", "sweep.seeds"]),
        ({"behaviour.plasticity_mean": [0.1, 0.1]}, {}, ["behaviour.plasticity_mean=0.1", "more than once"]),
        ({"world.n_users": [100, 200], "steps": [3]}, {"zip": [["world.n_users", "steps"]]}, ["zip", "lengths"]),
    ],
)
def test_bad_sweeps_fail_before_any_run(grid, sweep_extra, words, tmp_path):
    base = {"recommender": {"name": "value"}} if "w_like" in str(grid) else {}
    with pytest.raises((SweepError, ScenarioError)) as err:
        run_sweep(tiny(grid, sweep=sweep_extra, **base), tmp_path / "out", serial=True)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    assert not (tmp_path / "out").exists()


# -- executors ---------------------------------------------------------------------------------
def test_local_pool_and_dask_give_identical_results(pool_sweep, dask_executor, tmp_path):
    frame = run_sweep(tiny(GRID), tmp_path / "dask", client=dask_executor.client)
    assert (frame["status"] == "ok").all()
    pool, dask = results_by_run(pool_sweep), results_by_run(tmp_path / "dask")
    assert len(pool) == 8 and set(pool) == set(dask)
    for run_id, (metrics, summary) in pool.items():
        pd.testing.assert_frame_equal(metrics, dask[run_id][0], check_exact=True)
        assert summary == dask[run_id][1]
    # and the runs differ from each other: the grid and seeds matter
    assert len({json.dumps(s, sort_keys=True) for _, s in pool.values()}) == 8


def test_resume_computes_only_the_missing_runs(pool_sweep, tmp_path):
    folder = tmp_path / "resumed"
    shutil.copytree(pool_sweep, folder)
    before = results_by_run(folder)
    files = sorted((folder / "runs").glob("*.parquet"))
    deleted = {p.stem for p in files[::2]}
    for run_id in deleted:
        (folder / "runs" / f"{run_id}.parquet").unlink()
    frame = run_sweep(tiny(GRID), folder, workers=2)
    assert set(frame.attrs["executed"]) == deleted
    assert frame.attrs["skipped"] == 8 - len(deleted)
    after = results_by_run(folder)
    assert set(after) == set(before)
    for run_id in deleted:
        pd.testing.assert_frame_equal(after[run_id][0], before[run_id][0])
    again = run_sweep(tiny(GRID), folder, workers=2)
    assert again.attrs["executed"] == [] and (again["status"] == "ok").all()


def test_a_run_that_raises_is_recorded_and_the_rest_complete(tmp_path):
    scenario = tiny(faulty_grid("raise", tmp_path / "attempts"), sweep={"zip": []})
    frame = run_sweep(scenario, tmp_path / "out", workers=2, imports=[FAULTY])
    failed = frame[frame["status"] == "failed"]
    assert len(failed) == 2 and (frame["status"] == "ok").sum() == 2  # both seeds of the raising point
    assert all("RuntimeError: faulty recommender raised on purpose" in e for e in failed["error"])
    record = json.loads((tmp_path / "out" / "failed" / f"{failed['run_id'].iloc[0]}.json").read_text())
    assert record["scenario"]["recommender"]["params"]["fault"] == "raise"
    assert "Traceback" in record["traceback"]
    assert attempts_of(tmp_path / "attempts", "raise") == 2  # a raising run is not retried
    rerun = run_sweep(scenario, tmp_path / "out", workers=2, imports=[FAULTY])
    assert set(rerun.attrs["executed"]) == set(failed["run_id"])  # a rerun tries failed runs again


def test_a_killed_worker_process_costs_only_its_run(tmp_path):
    attempts = tmp_path / "attempts"
    scenario = tiny(faulty_grid("kill", attempts), seeds=[0])
    frame = run_sweep(scenario, tmp_path / "out", executor=LocalProcessExecutor(2), imports=[FAULTY])
    by_fault = frame.set_index(frame["recommender.params"].map(lambda p: p["fault"]))
    assert by_fault.loc["none", "status"] == "ok"
    assert by_fault.loc["kill", "status"] == "failed"
    assert "killed by SIGKILL" in by_fault.loc["kill", "error"]
    assert attempts_of(attempts, "kill") == 2  # retried once
    assert attempts_of(attempts, "none") == 1


def test_a_lost_dask_worker_becomes_a_recorded_failure(dask_executor, tmp_path):
    attempts = tmp_path / "attempts"
    scenario = tiny(faulty_grid("kill", attempts), seeds=[0])
    frame = run_sweep(scenario, tmp_path / "out", client=dask_executor.client, imports=[FAULTY])
    by_fault = frame.set_index(frame["recommender.params"].map(lambda p: p["fault"]))
    assert by_fault.loc["none", "status"] == "ok"
    assert by_fault.loc["kill", "status"] == "failed"
    assert "KilledWorker" in by_fault.loc["kill", "error"]
    assert attempts_of(attempts, "kill") == 2  # allowed-failures = 1: retried once


# -- CLI and report ------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def write_scenario(path: Path, scenario: Scenario) -> Path:
    path.write_text(scenario.to_toml(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "sweep.grid={}"], ["sweep.grid", "empty"]),
        (["--set", 'sweep.grid={"behaviour.plastcity" = [0.1]}'], ["behaviour.plastcity"]),
        (["--set", 'sweep.grid={"behaviour.visit_prob" = [0.5, 1.5]}'], ["behaviour.visit_prob", "1.5"]),
        (["--scheduler", "tcp://127.0.0.1:9"], ["scheduler", "127.0.0.1:9"]),
        (["--workers", "0"], ["--workers"]),
        (["--import", "no_such_plugin_module.py"], ["--import", "no_such_plugin_module.py"]),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    scenario = write_scenario(tmp_path / "s.toml", tiny(GRID))
    result = invoke("sweep", scenario, "--out", tmp_path / "out", "--quiet", *args)
    assert result.exit_code == 2, result.output
    lines = [line for line in ANSI.sub("", result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / "out").exists()


def test_cli_sweep_on_an_existing_scheduler(pool_sweep, dask_executor, tmp_path):
    scenario = write_scenario(tmp_path / "s.toml", tiny(GRID, seeds=[1]))
    address = dask_executor.cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    result = invoke("sweep", scenario, "--out", tmp_path / "out", "--scheduler", address, "--quiet")
    assert result.exit_code == 0, result.output
    assert "4 runs: 4 computed, 0 already finished, 0 failed" in ANSI.sub("", result.stdout)
    pool, remote = results_by_run(pool_sweep), results_by_run(tmp_path / "out")
    assert len(remote) == 4 and set(remote) < set(pool)
    for run_id, (metrics, summary) in remote.items():
        pd.testing.assert_frame_equal(metrics, pool[run_id][0], check_exact=True)
        assert summary == pool[run_id][1]


def test_cli_sweep_reports_failures_with_exit_1_and_report_writes_everything(tmp_path):
    scenario = write_scenario(tmp_path / "s.toml", tiny(faulty_grid("raise", tmp_path / "attempts")))
    out = tmp_path / "out"
    result = invoke("sweep", scenario, "--out", out, "--workers", "2", "--import", FAULTY, "--quiet")
    assert result.exit_code == 1, result.output
    stderr = ANSI.sub("", result.stderr)
    assert stderr.count("failed run") == 2 and "faulty recommender raised on purpose" in stderr
    assert "4 runs: 4 computed, 0 already finished, 2 failed" in ANSI.sub("", result.stdout)

    result = invoke("report", out, "--metric", "like_rate", "--metric", "mean_utility")
    assert result.exit_code == 0, result.output
    report = out / "report"
    table = pd.read_parquet(report / "table.parquet")
    assert len(table) == 2 * 3  # two finished runs x three steps
    assert {"run_id", "recommender.name", "recommender.params", "seed", "step", "like_rate", "regret"} <= set(table.columns)
    assert pd.read_csv(report / "table.csv").shape == table.shape
    figure = report / "figures" / "recommender.params.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (report / "summary.md").read_text()
    assert "(figures/recommender.params.png)" in page and "## Failed runs" in page
    assert page.count("faulty recommender raised on purpose") == 2

    bad = invoke("report", out, "--metric", "no_such_metric")
    assert bad.exit_code == 2 and "no_such_metric" in ANSI.sub("", bad.stderr)


def test_report_aggregates_seeds_with_their_interval(pool_sweep):
    report = write_report(pool_sweep, ["like_rate", "exposure_gini"])
    runs = pd.read_csv(report / "runs.csv")
    agg = pd.read_csv(report / "aggregate.csv")
    assert set(agg["metric"]) == {"like_rate", "exposure_gini"} and len(agg) == 4 * 2
    row = agg[(agg["behaviour.plasticity_mean"] == 0.3) & (agg["recommender.name"] == "random") & (agg["metric"] == "like_rate")]
    seeds = runs[(runs["behaviour.plasticity_mean"] == 0.3) & (runs["recommender.name"] == "random")]["like_rate"]
    mean, low, high = mean_interval(seeds.to_numpy())
    assert len(seeds) == 2 and row["n_seeds"].item() == 2
    assert np.isclose(row["mean"].item(), mean) and np.isclose(row["low"].item(), low) and np.isclose(row["high"].item(), high)
    assert low < mean < high
    figures = sorted(p.name for p in (report / "figures").iterdir())
    assert figures == ["behaviour.plasticity_mean.png", "recommender.name.png"]
    table = pd.read_parquet(report / "table.parquet")
    assert len(table) == 8 * 3 and table.groupby("run_id").size().eq(3).all()


def test_example_sweeps_expand_and_validate():
    paths = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))
    assert len(paths) >= 4
    for path in paths:
        plan = plan_sweep(Scenario.load(path))
        assert len(plan.configs) >= 4, path.name

"""Run one scenario end to end and write its run folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import measure
from .model import FeedModel
from .recommenders.base import Recommender
from .scenario import Scenario, ScenarioError


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        scenario: the resolved scenario.
        metrics: per-step metrics, one row per step (column ``step`` is 0-based).
        summary: headline numbers and run facts (``complete`` is False for a cut-short run).
        run_dir: the folder written, or None when nothing was written.
        model: the model in its final state, for further inspection.
    """

    scenario: Scenario
    metrics: pd.DataFrame
    summary: dict
    run_dir: Path | None = None
    model: FeedModel | None = field(default=None, repr=False)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the partial result was kept (``result.summary['complete']`` is False)."""

    def __init__(self, result: RunResult):
        super().__init__("run interrupted")
        self.result = result


def run(
    scenario: Scenario | None = None,
    *,
    recommender: Recommender | None = None,
    out: str | Path | None = None,
    write: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run a scenario for ``scenario.steps`` steps.

    Args:
        scenario: the scenario (defaults when None).
        recommender: a built recommender to use instead of the scenario's.
        out: the run folder to create; by default a new folder under ``scenario.output.dir``.
        write: write the run folder (scenario, metrics, summary, figure, optional log).
        progress: called as ``progress(steps_done, steps_total)`` after each step.

    Raises:
        ScenarioError, RecommenderError: bad input, before anything is written.
        RunInterrupted: on Ctrl-C, after writing the finished steps, marked incomplete.
    """
    scenario = scenario or Scenario()
    run_dir = _choose_run_dir(scenario, out) if write else None
    model = FeedModel(scenario, recommender)
    start = time.perf_counter()
    interrupted = False
    try:
        with _sigint_between_steps() as stop:
            for i in range(scenario.steps):
                model.step()
                if progress:
                    progress(i + 1, scenario.steps)
                if stop.is_set():
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
    wall = time.perf_counter() - start
    result = _result(model, wall, complete=not interrupted)
    if write:
        result.run_dir = write_run(result, run_dir)
    if interrupted:
        raise RunInterrupted(result)
    return result


@contextlib.contextmanager
def _sigint_between_steps():
    """Defer Ctrl-C to the end of the current step, so a cut-short run never holds half a
    step. Yields an Event that is set when Ctrl-C arrived. Off the main thread (where
    signal handlers cannot be installed) Ctrl-C behaves as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def metrics_frame(model: FeedModel) -> pd.DataFrame:
    """The DataCollector's model-level table, with a 0-based ``step`` column first."""
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    frame.insert(0, "step", np.arange(len(frame)))
    return frame


def summarise(model: FeedModel, metrics: pd.DataFrame, wall: float, complete: bool) -> dict:
    """Headline numbers over the whole run, from the log and the final state."""
    log = model.log
    steps_done = len(metrics)
    n = len(log)
    holdout = model.world.users.holdout[log.observed.column("user")] if n else np.zeros(0, bool)
    util = log.hidden.column("utility")
    periodic = model.final_periodic_metrics() if steps_done else {}

    def mean(x):
        return float(np.mean(x)) if len(x) else float("nan")

    summary = {
        "scenario": model.config.name,
        "recommender": model.recommender.name,
        "holdout_recommender": model.holdout_recommender.name,
        "seed": model.config.seed,
        "steps_requested": model.config.steps,
        "steps_done": steps_done,
        "complete": bool(complete and steps_done == model.config.steps),
        "wall_seconds": round(wall, 3),
        "seconds_per_step": round(wall / steps_done, 4) if steps_done else None,
        "n_users": model.world.users.n,
        "n_videos": model.world.videos.n,
        "impressions": n,
        "like_rate": mean(log.hidden.column("liked_true")),
        "watch_ratio_median": float(np.median(log.observed.column("watch_ratio"))) if n else float("nan"),
        "share_rate": mean(log.observed.column("shared")),
        "comment_rate": mean(log.observed.column("commented")),
        "not_interested_rate": mean(log.observed.column("not_interested")),
        "mean_utility": mean(util[~holdout]),
        "mean_utility_holdout": mean(util[holdout]),
        "active_users_final": int(metrics["active_users"].iloc[-1]) if steps_done else 0,
        "churned_users": int(model.world.users.churned.sum()),
        "follows": int(model.follows.matrix.nnz),
        **{k: _nanmean(metrics[k]) for k in measure.keys(model.config.metrics.families)[0] if k in metrics},
        **measure.run_metrics(model, metrics),
        **periodic,
    }
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in summary.items()}


def _nanmean(series: pd.Series) -> float:
    values = series.to_numpy(dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _result(model: FeedModel, wall: float, complete: bool) -> RunResult:
    metrics = metrics_frame(model)
    return RunResult(model.config, metrics, summarise(model, metrics, wall, complete), None, model)


def _choose_run_dir(scenario: Scenario, out: str | Path | None) -> Path:
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ScenarioError(f"--out: {path} exists and is not an empty folder")
        _check_creatable(path, "--out")
        return path
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(scenario.output.dir) / f"{scenario.name}-{scenario.recommender.name}-seed{scenario.seed}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    _check_creatable(path, "output.dir")
    return path


def _check_creatable(path: Path, field: str) -> None:
    """Refuse, before the run starts, a run folder that could not be created at its end."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ScenarioError(f"{field}: {parent} is not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ScenarioError(f"{field}: cannot create folders in {parent}")
            return


def write_world(model: FeedModel, folder: Path) -> None:
    """Beside the log, what reading it needs: ``videos.parquet`` (one row per video id: the
    public catalog and the latent columns) and ``users.parquet`` (one row per user id:
    segment, holdout flag, hidden trait, churned, plasticity, tastes at the start and the end)."""
    import pyarrow.parquet as pq

    from .table import arrow_table

    videos = model.world.videos
    columns = {"video": np.arange(videos.n, dtype=np.int32)}
    columns.update({k: videos.catalog.column(k) for k in videos.catalog.names})
    columns.update({k: videos.latent.column(k) for k in videos.latent.names})
    pq.write_table(arrow_table(columns), str(folder / "videos.parquet"))
    users = model.world.users
    pq.write_table(
        arrow_table({
            "user": np.arange(users.n, dtype=np.int32), "segment": users.segment, "holdout": users.holdout,
            "trait": users.trait, "churned": users.churned, "plasticity": users.plasticity,
            "taste0": users.taste0, "taste": users.taste,
        }),
        str(folder / "users.parquet"),
    )


def write_run(result: RunResult, run_dir: Path) -> Path:
    """Write the run folder atomically: everything goes to a temporary sibling first."""
    from .report import plot_main_metrics

    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", dir=run_dir.parent))
    try:
        scenario = result.scenario
        (tmp / "scenario.toml").write_text(scenario.to_toml(), encoding="utf-8")
        result.metrics.to_parquet(tmp / "metrics.parquet", index=False)
        result.metrics.to_csv(tmp / "metrics.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
        if scenario.output.save_log and result.model is not None:
            result.model.log.to_parquet(tmp / "log.parquet")
            write_world(result.model, tmp)
        if scenario.output.figures and len(result.metrics):
            title = f"{scenario.name}: {result.summary['recommender']} (seed {scenario.seed})"
            if not result.summary["complete"]:
                title += " [incomplete]"
            plot_main_metrics(result.metrics, tmp / "metrics.png", title)
        if run_dir.exists():
            run_dir.rmdir()  # an empty folder named by --out
        os.replace(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_dir

"""Sweeps: a scenario's ``[sweep]`` grid x seeds, run on local processes or a Dask cluster.

A sweep is a scenario with a ``[sweep]`` table::

    [sweep]
    seeds = 20                                   # seeds 0..19, or a list
    grid = { "behaviour.plasticity_mean" = [0.0, 0.1, 0.3] }
    zip = []                                     # groups of grid paths that move together

Every grid point x seed becomes one run of :func:`run_one`, a pure function of its config
(the resolved scenario and seed). The same function runs in-process (``serial``), in one
fresh local process per run (the default, ``workers`` at a time) or on Dask workers, and gives
the same numbers on each. Each finished run is written as its own Parquet file named by a
hash of its resolved config and seed, so a rerun skips it (resume), a run that raises is
recorded with its error, and a worker that dies costs only the run it held (retried once).

>>> from sim.scenario import Scenario
>>> plan = plan_sweep(Scenario(sweep={"grid": {"behaviour.plasticity_mean": [0.0, 0.1]}, "seeds": 2}))
>>> [(c["params"]["behaviour.plasticity_mean"], c["seed"]) for c in plan.configs]
[(0.0, 0), (0.0, 1), (0.1, 0), (0.1, 1)]
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import itertools
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import Any

import pandas as pd

from .scenario import Scenario, ScenarioError, SweepConfig, _deep_copy, set_dotted

RESULT_META_KEY = b"feedsim.sweep"
TIMING_KEYS = ("wall_seconds", "seconds_per_step")
MAX_ATTEMPTS = 2  # a run whose worker dies is retried once


class SweepError(ValueError):
    """A sweep that cannot start: one line naming the problem."""


@dataclass
class SweepPlan:
    """The runs a sweep expands to.

    Attributes:
        scenario: the base scenario (with its ``[sweep]`` table).
        paths: the swept parameter paths, in grid order.
        seeds: the seeds every grid point runs with.
        configs: one :func:`run_one` config per run (grid points in order, seeds inner).
    """

    scenario: Scenario
    paths: list[str]
    seeds: list[int]
    configs: list[dict[str, Any]]


# -- expansion ---------------------------------------------------------------------------
def sweep_seeds(scenario: Scenario) -> list[int]:
    """The seeds of a sweep: its list, ``range(n)`` for a count, or the scenario's seed."""
    seeds = scenario.sweep.seeds
    if isinstance(seeds, int):
        return list(range(seeds))
    return list(seeds) or [scenario.seed]


def grid_points(spec: SweepConfig) -> list[dict[str, Any]]:
    """Every combination of the grid; paths in one zip group move together."""
    zipped = [p for group in spec.zip for p in group]
    axes = [[dict(zip(group, values)) for values in zip(*(spec.grid[p] for p in group))] for group in spec.zip]
    axes += [[{path: value} for value in spec.grid[path]] for path in spec.grid if path not in zipped]
    points = []
    for combo in itertools.product(*axes):
        merged = {k: v for part in combo for k, v in part.items()}
        points.append({path: merged[path] for path in spec.grid})
    return points


def run_key(resolved: dict[str, Any]) -> str:
    """A run's id: a hash of its resolved scenario (seed included; names and outputs left out)."""
    keyed = {k: v for k, v in resolved.items() if k not in ("output", "description", "sweep")}
    text = json.dumps(keyed, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def plan_sweep(scenario: Scenario, imports: Iterable[str] = ()) -> SweepPlan:
    """Expand a scenario's grid x seeds and validate every run before any starts.

    Args:
        scenario: a scenario with a non-empty ``[sweep]`` grid.
        imports: modules (names or ``.py`` paths) that register recommenders; every worker
            imports them before its run.

    Raises:
        SweepError: an empty grid, or a grid point that fails validation (its scenario
            fields or its recommender's params); the message names the point and the field.
    """
    from .recommenders import RecommenderError, make_recommender

    imports = tuple(_normalise_import(m) for m in imports)
    for module in imports:
        try:
            import_plugin(module)
        except Exception as exc:  # noqa: BLE001 - any failure to import is bad input
            raise SweepError(f"--import {module}: {type(exc).__name__}: {exc}") from None
    spec = scenario.sweep
    if not spec.grid:
        raise SweepError('sweep.grid: empty; add parameter paths with lists of values, e.g. "behaviour.plasticity_mean" = [0.0, 0.3]')
    base = scenario.model_dump()
    base.pop("sweep")
    seeds = sweep_seeds(scenario)
    configs = []
    checked: set[str] = set()
    for point in grid_points(spec):
        data = _deep_copy(base)
        label = ", ".join(f"{p}={v!r}" for p, v in point.items())
        try:
            for path, value in point.items():
                set_dotted(data, path, _deep_copy(value))
            resolved = Scenario.from_dict(data)
            for rec in (resolved.recommender, resolved.holdout.recommender):
                key = json.dumps([rec.name, rec.params], sort_keys=True, default=repr)
                if key not in checked:
                    make_recommender(rec.name, rec.params)
                    checked.add(key)
        except (ScenarioError, RecommenderError) as exc:
            raise SweepError(f"sweep point {label}: {exc}") from None
        for seed in seeds:
            run_scenario = resolved.model_dump()
            run_scenario.pop("sweep")
            run_scenario["seed"] = seed
            configs.append(
                {"run_id": run_key(run_scenario), "params": point, "seed": seed, "scenario": run_scenario, "imports": imports}
            )
    ids = [c["run_id"] for c in configs]
    if len(set(ids)) < len(ids):
        twice = next(c for c in configs if ids.count(c["run_id"]) > 1)
        label = ", ".join(f"{p}={v!r}" for p, v in twice["params"].items())
        raise SweepError(f"sweep.grid: the point {label} runs twice (a value is listed more than once)")
    return SweepPlan(scenario, list(spec.grid), seeds, configs)


# -- one run ---------------------------------------------------------------------------
def run_one(config: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep config; never raises for a failing run.

    Args:
        config: ``run_id``, ``params``, ``seed``, ``scenario`` (a resolved scenario dict) and
            ``imports`` (modules to import first), as :func:`plan_sweep` makes them.

    Returns:
        ``run_id``, ``params``, ``seed``, ``status`` ("ok" or "failed"), ``metrics`` (the
        per-step DataFrame, or None), ``summary`` (dict, or None), ``error`` (one line, or None)
        and ``traceback``. BLAS and OpenMP run on one thread (as Dask workers do by default), so
        that every executor gives the same numbers and parallel runs do not oversubscribe cores.
    """
    from threadpoolctl import threadpool_limits

    from .experiments import run

    out = {k: config[k] for k in ("run_id", "params", "seed")}
    try:
        for module in config.get("imports", ()):
            import_plugin(module)
        scenario = Scenario.from_dict(config["scenario"])
        with threadpool_limits(limits=1):
            result = run(scenario, write=False)
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded, the sweep goes on
        return out | {
            "status": "failed",
            "metrics": None,
            "summary": None,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
    return out | {"status": "ok", "metrics": result.metrics, "summary": result.summary, "error": None, "traceback": None}


def failed_result(config: dict[str, Any], error: str) -> dict[str, Any]:
    """The result of a run that produced none (its worker died)."""
    out = {k: config[k] for k in ("run_id", "params", "seed")}
    return out | {"status": "failed", "metrics": None, "summary": None, "error": error, "traceback": None}


def _normalise_import(module: str) -> str:
    return str(Path(module).resolve()) if module.endswith(".py") else module


def import_plugin(module: str) -> None:
    """Import a module by name, or a ``.py`` file by path (once per process)."""
    if not module.endswith(".py"):
        importlib.import_module(module)
        return
    name = "feedsim_plugin_" + hashlib.sha1(module.encode()).hexdigest()[:12]
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, module)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {module}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise


# -- executors ---------------------------------------------------------------------------
class SerialExecutor:
    """Runs one after another in this process (no fault isolation: for timing and debugging)."""

    name = "serial"

    def map(self, configs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for config in configs:
            yield run_one(config)

    def close(self) -> None:
        pass


@dataclass
class _Job:
    config: dict[str, Any]
    attempt: int
    process: Any
    conn: Any


def _child_main(conn, config: dict[str, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    conn.send(run_one(config))
    conn.close()


def describe_exit(exitcode: int | None) -> str:
    """'killed by SIGKILL' for a negative exit code, else 'exit code N'."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class LocalProcessExecutor:
    """One fresh process per run, at most ``workers`` at a time.

    A process that dies (killed, out of memory, ``os._exit``) loses only the run it held:
    that run is started again once, then recorded as failed; the other runs go on. Processes
    are forked from a forkserver that has imported feedsim already, so a run starts in
    milliseconds, with no threads inherited from this process.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, context: str = "forkserver"):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.ctx = multiprocessing.get_context(context)
        if context == "forkserver":
            self.ctx.set_forkserver_preload(["sim.sweep"])

    def map(self, configs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        pending = deque((config, 1) for config in configs)
        active: dict[Any, _Job] = {}
        try:
            while pending or active:
                while pending and len(active) < self.workers:
                    job = self._start(*pending.popleft())
                    active[job.process.sentinel] = job
                ready = set(wait_for([j.conn for j in active.values()] + list(active)))
                for sentinel, job in list(active.items()):
                    if sentinel not in ready and job.conn not in ready:
                        continue
                    result = self._collect(job)
                    del active[sentinel]
                    if result is not None:
                        yield result
                    elif job.attempt < MAX_ATTEMPTS:
                        pending.appendleft((job.config, job.attempt + 1))
                    else:
                        why = describe_exit(job.process.exitcode)
                        yield failed_result(job.config, f"worker process died ({why}) on both attempts")
        finally:
            for job in active.values():
                job.process.kill()
                job.process.join()
                job.conn.close()

    def _start(self, config: dict[str, Any], attempt: int) -> _Job:
        receiver, sender = self.ctx.Pipe(duplex=False)
        process = self.ctx.Process(target=_child_main, args=(sender, config), name=f"feedsim-run-{config['run_id']}")
        process.start()
        sender.close()
        return _Job(config, attempt, process, receiver)

    @staticmethod
    def _collect(job: _Job) -> dict[str, Any] | None:
        """The job's result, or None if its process died without sending one."""
        result = None
        try:
            if job.conn.poll():
                result = job.conn.recv()
        except (EOFError, OSError):
            result = None
        job.conn.close()
        job.process.join()
        return result

    def close(self) -> None:
        pass


class DaskExecutor:
    """Runs on a Dask cluster: ``client.submit(run_one, config, retries=1)``.

    A worker lost mid-run is retried by the scheduler (``allowed-failures``; 1 on the
    LocalCluster this module starts), then surfaces as ``KilledWorker``: recorded as failed.
    """

    name = "dask"

    def __init__(self, client, cluster=None, owns_client: bool = False):
        self.client = client
        self.cluster = cluster
        self.owns_client = owns_client or cluster is not None

    def map(self, configs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        from uuid import uuid4

        from distributed import as_completed

        futures = {}
        for config in configs:
            key = f"feedsim-run-{config['run_id']}-{uuid4().hex[:8]}"
            futures[self.client.submit(run_one, config, key=key, retries=1, pure=False)] = config
        try:
            for future in as_completed(list(futures), loop=self.client.loop):
                config = futures.pop(future)
                if future.status == "finished":
                    yield future.result()
                else:
                    exc = future.exception()
                    yield failed_result(config, f"worker lost: {type(exc).__name__}: {exc}")
                future.release()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self.owns_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def start_dask(scheduler: str | None = None, local_workers: int = 2, timeout: float = 5.0) -> DaskExecutor:
    """Connect to a scheduler at ``tcp://HOST:PORT``, or start a LocalCluster on 127.0.0.1.

    Raises:
        SweepError: the scheduler cannot be reached within ``timeout`` seconds.
    """
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"--scheduler: cannot reach Dask scheduler at {scheduler} ({type(exc).__name__})") from None
        return DaskExecutor(client, owns_client=True)
    settings = {
        "distributed.scheduler.allowed-failures": 1,  # a task whose worker dies is retried once
        "distributed.scheduler.worker-saturation": 1.0,  # no queued task shares a dying worker's fate
        # Dask's default environment minus MALLOC_TRIM_THRESHOLD_: returning freed memory to the
        # system at once made a 2,000-user run about 8% slower in a worker.
        "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=local_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.CRITICAL,
        )
    return DaskExecutor(Client(cluster, set_as_default=False), cluster)


# -- result store ------------------------------------------------------------------------
class ResultStore:
    """A sweep folder: ``runs/<id>.parquet`` per finished run, ``failed/<id>.json`` per failure,
    ``manifest.json`` (the planned runs) and ``sweep.toml`` (the scenario)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.failed = self.root / "failed"

    def check_usable(self) -> None:
        """Refuse a folder that exists and holds something other than a sweep."""
        root = self.root
        if root.exists() and (not root.is_dir() or (any(root.iterdir()) and not (root / "manifest.json").is_file())):
            raise SweepError(f"--out: {root} exists and is not a sweep folder")
        for parent in root.parents:
            if parent.exists():
                if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                    raise SweepError(f"--out: cannot create folders in {parent}")
                return

    def prepare(self, plan: SweepPlan) -> None:
        """Create the folder and write the scenario and the manifest of planned runs."""
        self.runs.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(exist_ok=True)
        _atomic_write_text(self.root / "sweep.toml", plan.scenario.to_toml())
        manifest = {
            "scenario": plan.scenario.name,
            "paths": plan.paths,
            "seeds": plan.seeds,
            "metrics": plan.scenario.sweep.metrics,
            "runs": [{"run_id": c["run_id"], "params": c["params"], "seed": c["seed"]} for c in plan.configs],
        }
        _atomic_write_text(self.root / "manifest.json", json.dumps(manifest, indent=1, default=repr) + "\n")

    def manifest(self) -> dict[str, Any]:
        path = self.root / "manifest.json"
        if not path.is_file():
            raise SweepError(f"{self.root}: not a sweep folder (no manifest.json)")
        return json.loads(path.read_text(encoding="utf-8"))

    def finished(self) -> set[str]:
        """Ids of runs with a result file."""
        return {p.stem for p in self.runs.glob("*.parquet")} if self.runs.is_dir() else set()

    def write(self, result: dict[str, Any], config: dict[str, Any]) -> None:
        """Record a result: a Parquet file for a finished run, a JSON file for a failure."""
        if result["status"] == "ok":
            self._write_ok(result, config)
            (self.failed / f"{result['run_id']}.json").unlink(missing_ok=True)
        else:
            record = {k: result[k] for k in ("run_id", "params", "seed", "error", "traceback")}
            record["scenario"] = config["scenario"]
            _atomic_write_text(self.failed / f"{result['run_id']}.json", json.dumps(record, indent=1, default=repr) + "\n")

    def _write_ok(self, result: dict[str, Any], config: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = {k: result[k] for k in ("run_id", "params", "seed", "summary")} | {"scenario": config["scenario"]}
        table = pa.Table.from_pandas(result["metrics"], preserve_index=False)
        table = table.replace_schema_metadata(
            (table.schema.metadata or {}) | {RESULT_META_KEY: json.dumps(meta, default=repr).encode("utf-8")}
        )
        target = self.runs / f"{result['run_id']}.parquet"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=self.runs)
        os.close(fd)
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_run(self, run_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
        """A finished run's metadata (run_id, params, seed, summary, scenario) and metrics."""
        import pyarrow.parquet as pq

        table = pq.read_table(self.runs / f"{run_id}.parquet")
        meta = json.loads(table.schema.metadata[RESULT_META_KEY])
        return meta, table.to_pandas()

    def failure(self, run_id: str) -> dict[str, Any] | None:
        path = self.failed / f"{run_id}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def runs_frame(store: ResultStore) -> pd.DataFrame:
    """One row per planned run: run_id, status, error, the swept parameters, seed and the
    run's summary numbers (status "missing" for a run with neither result nor failure)."""
    manifest = store.manifest()
    finished = store.finished()
    rows = []
    for run in manifest["runs"]:
        row = {"run_id": run["run_id"], **run["params"], "seed": run["seed"]}
        if run["run_id"] in finished:
            meta, _ = store.read_run(run["run_id"])
            rows.append(row | {"status": "ok", "error": None} | (meta["summary"] or {}) | {"seed": run["seed"]})
            continue
        failure = store.failure(run["run_id"])
        rows.append(row | {"status": "failed" if failure else "missing", "error": failure["error"] if failure else None})
    return pd.DataFrame(rows)


# -- the sweep -----------------------------------------------------------------------------
def default_sweep_dir(scenario: Scenario) -> Path:
    """``<output.dir>/sweep-<name>``: a fixed folder, so that a rerun resumes."""
    return Path(scenario.output.dir) / f"sweep-{scenario.name}"


def make_executor(
    workers: int | None = None, scheduler: str | None = None, dask_local: bool = False, serial: bool = False, client=None
):
    """The executor for the chosen options: serial, local processes (default) or Dask."""
    if client is not None:
        return DaskExecutor(client)
    if scheduler or dask_local:
        return start_dask(scheduler, local_workers=workers or 2)
    if serial:
        return SerialExecutor()
    return LocalProcessExecutor(workers)


def sweep(
    scenario: Scenario | str | Path,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    serial: bool = False,
    client=None,
    resume: bool = True,
    imports: Iterable[str] = (),
    progress: Callable[[int, int, int], None] | None = None,
    executor=None,
) -> pd.DataFrame:
    """Run a scenario's ``[sweep]`` grid x seeds and return one row per run.

    Args:
        scenario: the scenario (or a TOML path) with a ``[sweep]`` table.
        out: the sweep folder; by default ``<output.dir>/sweep-<name>``.
        workers: local processes at a time (default: the core count); with ``dask_local``,
            the LocalCluster's workers (default 2).
        scheduler: a Dask scheduler address (``tcp://HOST:PORT``) to run on.
        dask_local: start a LocalCluster on 127.0.0.1 for this sweep.
        serial: run in this process, one after another.
        client: an existing ``distributed.Client`` to run on.
        resume: skip runs whose result file exists (otherwise run everything again).
        imports: modules or ``.py`` files that register recommenders, imported by every worker.
        progress: called as ``progress(completed, failed, total)`` after each run.
        executor: an executor object (anything with ``map(configs)`` and ``close()``).

    Returns:
        The :func:`runs_frame` of the sweep; ``attrs["sweep_dir"]`` is the folder and
        ``attrs["executed"]`` the ids of the runs computed by this call.

    Raises:
        SweepError, ScenarioError: bad input, before any run starts.
    """
    if not isinstance(scenario, Scenario):
        scenario = Scenario.load(scenario)
    plan = plan_sweep(scenario, imports)
    store = ResultStore(out if out is not None else default_sweep_dir(scenario))
    store.check_usable()
    executor = executor or make_executor(workers, scheduler, dask_local, serial, client)
    try:
        store.prepare(plan)
        done = store.finished() if resume else set()
        by_id = {c["run_id"]: c for c in plan.configs if c["run_id"] not in done}
        todo = list(by_id.values())
        executed, failed = [], 0
        if progress:
            progress(0, 0, len(todo))
        for result in executor.map(todo):
            store.write(result, by_id[result["run_id"]])
            executed.append(result["run_id"])
            failed += result["status"] != "ok"
            if progress:
                progress(len(executed), failed, len(todo))
    finally:
        executor.close()
    frame = runs_frame(store)
    frame.attrs["sweep_dir"] = str(store.root)
    frame.attrs["executed"] = executed
    frame.attrs["skipped"] = len(plan.configs) - len(todo)
    return frame


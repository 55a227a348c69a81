"""The command line: ``feedsim run`` and ``feedsim recommenders``.

Every bad input ends in one line on stderr (``error: <field>: <problem>``) and exit
status 2, with no run folder left behind.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(
    name="feedsim",
    help="feedsim: an agent-based simulator of short-video feed dynamics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

HEADLINE = (
    ("like_rate", "like rate", "{:.2%}"),
    ("watch_ratio_median", "median watch ratio", "{:.3f}"),
    ("share_rate", "share rate", "{:.3%}"),
    ("comment_rate", "comment rate", "{:.3%}"),
    ("mean_utility", "mean true utility", "{:+.3f}"),
    ("mean_utility_holdout", "mean true utility, holdout", "{:+.3f}"),
    ("active_users_final", "active users (last step)", "{:,}"),
    ("churned_users", "churned users", "{:,}"),
    ("exposure_gini", "exposure Gini (videos)", "{:.3f}"),
    ("creator_gini", "exposure Gini (creators)", "{:.3f}"),
    ("impressions", "impressions", "{:,}"),
    ("seconds_per_step", "seconds per step", "{:.3f}"),
)


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")] = Path("scenarios/baseline.toml"),
    set_: Annotated[
        Optional[list[str]], typer.Option("--set", "-s", help="Override a field: --set world.n_users=5000 (repeatable).")
    ] = None,
    steps: Annotated[Optional[int], typer.Option(help="Steps to run (overrides the scenario).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed (overrides the scenario).")] = None,
    recommender: Annotated[Optional[str], typer.Option("--recommender", "-r", help="Recommender name.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run folder to create.")] = None,
    save_log: Annotated[bool, typer.Option("--save-log", help="Also write the interaction log (Parquet).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Run one scenario and write its run folder."""
    from .experiments import RunInterrupted, run as run_scenario
    from .recommenders import RecommenderError
    from .scenario import Scenario, ScenarioError

    overrides = []  # the options first, so that --set can refine them (e.g. the new recommender's params)
    if recommender is not None:
        overrides += [f'recommender.name="{recommender}"', "recommender.params={}"]
    if steps is not None:
        overrides.append(f"steps={steps}")
    if seed is not None:
        overrides.append(f"seed={seed}")
    if save_log:
        overrides.append("output.save_log=true")
    overrides += list(set_ or [])
    try:
        cfg = Scenario.load(scenario, overrides)
    except ScenarioError as exc:
        fail(str(exc))
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=err, disable=quiet or not err.is_terminal, transient=True,
    )
    task = progress.add_task(f"{cfg.name} / {cfg.recommender.name}", total=cfg.steps)
    try:
        with progress:
            result = run_scenario(cfg, out=out_dir, progress=lambda i, n: progress.update(task, completed=i))
    except (ScenarioError, RecommenderError) as exc:
        fail(str(exc))
    except RunInterrupted as exc:
        s = exc.result.summary
        err.print(
            f"interrupted after {s['steps_done']} of {s['steps_requested']} steps; "
            f"partial run (marked incomplete) in {exc.result.run_dir}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        print_summary(result.summary, title=f"{cfg.name}: {cfg.recommender.name}, seed {cfg.seed}")
    out.print(f"run folder: {result.run_dir}", highlight=False, soft_wrap=True)


def _load(scenario: Path, set_: list[str] | None, steps: int | None, seed: int | None):
    from .scenario import Scenario, ScenarioError

    overrides = [] if steps is None else [f"steps={steps}"]
    overrides += [] if seed is None else [f"seed={seed}"]
    try:
        return Scenario.load(scenario, overrides + list(set_ or []))
    except ScenarioError as exc:
        fail(str(exc))


@app.command()
def compare(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    recommender: Annotated[list[str], typer.Option("--recommender", "-r", help="A recommender to compare (repeat).")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", "-s", help="Override a field (repeatable).")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Steps to run.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the comparison.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
) -> None:
    """Several recommenders on one world and seed: a side-by-side table and figures."""
    from datetime import datetime

    from .compare import compare as run_compare
    from .experiments import RunInterrupted
    from .recommenders import RecommenderError, make_recommender
    from .scenario import ScenarioError

    cfg = _load(scenario, set_, steps, seed)
    for name in recommender:
        try:
            make_recommender(name)
        except RecommenderError as exc:
            fail(str(exc))
    out_dir = out_dir or Path(cfg.output.dir) / f"compare-{cfg.name}-seed{cfg.seed}-{datetime.now():%Y%m%d-%H%M%S}"
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, disable=quiet or not err.is_terminal, transient=True,
    )
    tasks = {}
    try:
        with progress:
            def report(label, i, n):
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=n)
                progress.update(tasks[label], completed=i)

            result = run_compare(cfg, list(recommender), out=out_dir, progress=report)
    except (ScenarioError, RecommenderError) as exc:
        fail(str(exc))
    except RunInterrupted:
        err.print("interrupted; finished runs are in " + str(out_dir), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    if not quiet:
        table = Table(title=f"{cfg.name}, seed {cfg.seed}: one world, {len(recommender)} recommenders", header_style="bold")
        table.add_column("metric", no_wrap=True)
        for col in result.table.columns:
            table.add_column(str(col), justify="right")
        for metric, row in result.table.iterrows():
            table.add_row(metric, *("n/a" if np.isnan(v) else f"{v:.4g}" for v in row))
        out.print(table)
    out.print(f"comparison folder: {result.out}", highlight=False, soft_wrap=True)


@app.command()
def replicate(
    name: Annotated[str, typer.Argument(help="chaney, kosinski, huszar, mansoury, goodhart or sirbu.")],
    small: Annotated[bool, typer.Option("--small", help="The small version (seconds), as the tests run it.")] = False,
    seed: Annotated[int, typer.Option(min=0, help="Seed.")] = 0,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the figure and table.")] = None,
) -> None:
    """Reproduce a published result: writes its figure and table, prints which claims hold."""
    from .replications import REPLICATIONS, replicate as run_replication

    if name not in REPLICATIONS:
        fail(f"unknown replication {name!r} (known: {', '.join(REPLICATIONS)})")
    out_dir = out_dir or Path("runs") / f"replicate-{name}{'-small' if small else ''}-seed{seed}"
    with err.status(f"replicating {REPLICATIONS[name][1]} ..."):
        result = run_replication(name, size="small" if small else "full", out=out_dir, seed=seed)
    table = Table(title=REPLICATIONS[name][1], header_style="bold")
    for col in result.table.columns:
        table.add_column(str(col), justify="right")
    for _, row in result.table.iterrows():
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    out.print(table)
    for claim, holds in result.claims.items():
        out.print(f"{'[green]holds[/]' if holds else '[red]does not hold[/]'}: {claim}")
    if result.notes:
        out.print(result.notes, highlight=False)
    out.print(f"figure and table: {out_dir}", highlight=False, soft_wrap=True)


@app.command("sweep")
def sweep_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file with a \\[sweep] table.")],
    set_: Annotated[Optional[list[str]], typer.Option("--set", "-s", help="Override a field (repeatable).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Sweep folder (default: <output.dir>/sweep-<name>).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Runs at a time on this machine (default: the core count; 2 with --dask-local).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Run on an existing Dask cluster: tcp://HOST:PORT.")] = None,
    dask_local: Annotated[bool, typer.Option("--dask-local", help="Start a Dask LocalCluster on 127.0.0.1 for this sweep.")] = False,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Skip runs whose result file exists.")] = True,
    import_: Annotated[
        Optional[list[str]], typer.Option("--import", help="A module or .py file that registers recommenders (repeatable).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run a scenario's \\[sweep] grid x seeds; one result file per run. Exit 1 if any run failed."""
    from .recommenders import RecommenderError
    from .scenario import ScenarioError
    from .sweep import SweepError, sweep

    if workers is not None and workers < 1:
        fail(f"--workers: must be at least 1 (got {workers})")
    if scheduler and dask_local:
        fail("--scheduler and --dask-local: choose one")
    cfg = _load(scenario, set_, None, None)
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("failed: {task.fields[failed]}"),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=err, disable=quiet or not err.is_terminal,
    )
    task = progress.add_task(f"sweep {cfg.name}", total=None, failed=0)
    try:
        with progress:
            frame = sweep(
                cfg, out_dir, workers=workers, scheduler=scheduler, dask_local=dask_local, resume=resume,
                imports=list(import_ or []),
                progress=lambda done, failed, total: progress.update(task, completed=done, total=total, failed=failed),
            )
    except (ScenarioError, RecommenderError, SweepError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("interrupted; finished runs are kept and a rerun resumes", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    counts = frame["status"].value_counts()
    executed = len(frame.attrs["executed"])
    out.print(
        f"{len(frame)} runs: {executed} computed, {frame.attrs['skipped']} already finished, "
        f"{counts.get('failed', 0)} failed",
        highlight=False,
    )
    for _, row in frame[frame["status"] == "failed"].iterrows():
        err.print(f"[red]failed[/] run {row['run_id']} (seed {row['seed']}): {row['error']}", highlight=False, soft_wrap=True)
    out.print(f"sweep folder: {frame.attrs['sweep_dir']}  (feedsim report {frame.attrs['sweep_dir']})", highlight=False, soft_wrap=True)
    if counts.get("failed", 0):
        raise typer.Exit(1)


@app.command("report")
def report_command(
    sweep_dir: Annotated[Path, typer.Argument(help="A folder written by feedsim sweep.")],
    metric: Annotated[
        Optional[list[str]], typer.Option("--metric", "-m", help="A summary metric to plot (repeatable; default: the sweep's).")
    ] = None,
) -> None:
    """Tidy table, mean and 95% interval across seeds, figures and a summary page for a sweep."""
    from .sweep import SweepError
    from .sweep_report import write_report

    if not sweep_dir.is_dir():
        fail(f"sweep folder not found: {sweep_dir}")
    try:
        path = write_report(sweep_dir, list(metric or []))
    except SweepError as exc:
        fail(str(exc))
    out.print(f"report: {path / 'summary.md'}", highlight=False, soft_wrap=True)


@app.command()
def lesson(
    name: Annotated[Optional[str], typer.Argument(help="The lesson to run; none lists them.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the lessons.")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Seed (overrides the lesson's).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for the figure.")] = None,
) -> None:
    """Run a guided lesson headless: writes its figure, prints its narrative with this run's numbers."""
    from rich.markdown import Markdown

    from .app.lessons import LESSONS
    from .recommenders import RecommenderError
    from .scenario import ScenarioError

    if name is None or list_:
        table = Table(title="Lessons (feedsim lesson NAME)", header_style="bold", title_justify="left")
        table.add_column("name")
        table.add_column("title")
        for known in LESSONS.values():
            table.add_row(known.name, known.title)
        out.print(table)
        return
    if name not in LESSONS:
        fail(f"unknown lesson {name!r} (known: {', '.join(LESSONS)})")
    chosen = LESSONS[name]
    out_dir = out_dir or Path("runs") / f"lesson-{name}{'' if seed is None else f'-seed{seed}'}"
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out: {out_dir} is not a folder")
    try:
        with err.status(f"running the lesson {chosen.title!r} ..."):
            result = chosen.run(out_dir, seed=seed)
    except (ScenarioError, RecommenderError) as exc:
        fail(str(exc))
    out.print(Markdown(result.text))
    out.print()
    out.print(Markdown("**Try on the page** (`feedsim app`):\n\n" + "\n".join(f"- {q}" for q in chosen.questions)))
    out.print()
    out.print(Markdown("**Look for:**\n\n" + "\n".join(f"- {q}" for q in chosen.look_for)))
    out.print(f"figure: {result.figure}", highlight=False, soft_wrap=True)


@app.command()
def assets(
    source: Annotated[
        Optional[str],
        typer.Option(help="npm registry URL or folder of tarballs (default: $FEEDSIM_ASSETS_SOURCE, else the npm registry)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Fill Solara's asset cache, so the page works without internet access."""
    from .app.assets import REQUIRED_ASSETS, AssetError, ensure_assets

    try:
        cache = ensure_assets(verbose=not quiet, source=source)
    except AssetError as exc:
        fail(str(exc))
    if not quiet:
        out.print(f"assets: all {len(REQUIRED_ASSETS)} front-end packages in {cache}", highlight=False, soft_wrap=True)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@app.command("app")
def app_command(
    scenario: Annotated[
        Optional[str], typer.Argument(help="Scenario preset (e.g. echo_chamber) or TOML file; default: baseline.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to serve on; anything but 127.0.0.1 opens the page to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
) -> None:
    """Serve the interactive page (Solara) on 127.0.0.1: watch a feed loop form."""
    import os

    from .app.state import APP_SCENARIO_ENV, DEFAULT_PRESET, Settings, SettingsError, build_scenario
    from .recommenders import RecommenderError
    from .scenario import ScenarioError

    if not 0 < port < 65536:
        fail(f"--port: must be between 1 and 65535 (got {port})")
    preset = scenario or DEFAULT_PRESET
    try:
        build_scenario(Settings.for_preset(preset))
    except (ScenarioError, SettingsError, RecommenderError) as exc:
        fail(str(exc))
    if host not in LOCAL_HOSTS:
        err.print(
            f"[bold yellow]warning:[/] serving on {host}: anyone who can reach this machine on port {port} can use the page",
            highlight=False, soft_wrap=True,
        )
    try:
        from .app import assets as page_assets
    except ImportError:
        page_assets = None
    if page_assets is not None and hasattr(page_assets, "ensure_assets"):
        try:
            page_assets.ensure_assets()
        except Exception as exc:  # online users need no cache; say why an offline page would stay blank
            err.print(f"[bold yellow]warning:[/] front-end assets not cached ({exc}); the page needs internet access",
                      highlight=False, soft_wrap=True)
    env = dict(os.environ, **{APP_SCENARIO_ENV: preset})
    cmd = [sys.executable, "-m", "solara", "run", "sim.app.page", "--host", host, "--port", str(port), "--production", "--no-open"]
    out.print(f"feedsim page on http://{host}:{port}/ (Ctrl+C stops it)", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)  # the server takes this process over: signals reach it directly


def print_summary(summary: dict, title: str) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label, fmt in HEADLINE:
        value = summary.get(key)
        table.add_row(label, "n/a" if value is None else fmt.format(value))
    out.print(table)


@app.command("recommenders")
def list_recommenders() -> None:
    """List registered recommenders (built-ins and plugins) and re-rankers, with their params."""
    from .recommenders import RecommenderError, available_recommenders
    from .rerank import available_rerankers

    try:
        registry = available_recommenders()
    except RecommenderError as exc:
        fail(str(exc))
    out.print(_catalogue("Recommenders ([recommender] name and params)", registry))
    out.print(_catalogue("Re-rankers ([[feed.rerankers]] name and params)", available_rerankers()))


def _catalogue(title: str, registry: dict) -> Table:
    from .recommenders import param_specs

    from rich.markup import escape

    table = Table(title=escape(title), show_header=True, header_style="bold", title_justify="left")
    table.add_column("name")
    table.add_column("params (type = default)")
    table.add_column("what it does")
    for name, cls in registry.items():
        params = ", ".join(f"{n}: {t} = {d!r}" for n, t, d in param_specs(cls)) or "-"
        doc = (cls.__doc__ or "").strip().splitlines()[0].strip() if cls.__doc__ else ""
        if getattr(cls, "privileged", False):
            doc = "\\[privileged] " + doc
        table.add_row(name, params, doc)
    return table


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()

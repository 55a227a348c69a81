"""The report of a finished sweep: a tidy table, seed intervals, figures and a summary page.

``write_report(sweep_dir)`` writes ``<sweep_dir>/report/``:

* ``table.parquet`` and ``table.csv``: one row per run and step, with a column for every
  swept parameter, the seed, the recommender and every per-step metric;
* ``runs.csv``: one row per run (its summary numbers, status and error);
* ``aggregate.csv``: for every grid point and metric, the mean over seeds of the run's
  summary value and its 95% t-interval;
* ``figures/<parameter>.png``: each chosen metric against each swept parameter, one line
  per recommender (and per value of the other swept parameters) with its interval band;
* ``summary.md``: the page that ties them together and lists failed runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .replications import mean_interval  # noqa: E402
from .sweep import ResultStore, SweepError, runs_frame  # noqa: E402

DEFAULT_METRICS = (
    "like_rate",
    "mean_utility",
    "regret",
    "exposure_gini",
    "topic_entropy",
    "taste_drift",
    "polarization",
    "trait_auc",
    "amplification_creator_mean",
)
MAX_DEFAULT_METRICS = 6
REC = "recommender"  # the column holding each run's recommender name


def cell(value: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, tables and lists as JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def tidy_table(store: ResultStore) -> pd.DataFrame:
    """One row per finished run and step: run_id, swept parameters, seed, recommender, metrics."""
    manifest = store.manifest()
    finished = store.finished()
    frames = []
    for run in manifest["runs"]:
        if run["run_id"] not in finished:
            continue
        meta, metrics = store.read_run(run["run_id"])
        head = {"run_id": run["run_id"], **{p: cell(v) for p, v in run["params"].items()}, "seed": run["seed"]}
        head[REC] = (meta["summary"] or {}).get("recommender")
        frames.append(pd.concat([pd.DataFrame([head] * len(metrics)), metrics.reset_index(drop=True)], axis=1))
    if not frames:
        return pd.DataFrame(columns=["run_id", *manifest["paths"], "seed", REC, "step"])
    return pd.concat(frames, ignore_index=True)


def choose_metrics(runs: pd.DataFrame, requested: list[str] | None) -> list[str]:
    """The metrics to report: those requested (each must be a summary number), else the
    default ones with at least one value.

    Raises:
        SweepError: a requested metric that no run has.
    """
    numeric = [c for c in runs.columns if c not in ("seed",) and pd.api.types.is_numeric_dtype(runs[c])]
    if requested:
        for name in requested:
            if name not in numeric:
                raise SweepError(f"--metric: unknown metric {name!r} (known: {', '.join(sorted(numeric))})")
        return list(requested)
    chosen = [m for m in DEFAULT_METRICS if m in numeric and runs[m].notna().any()]
    return chosen[:MAX_DEFAULT_METRICS]


def point_keys(paths: list[str]) -> list[str]:
    """The columns that name a grid point: the swept paths, and the recommender's name
    unless ``recommender.name`` is swept already."""
    return [*paths] + ([] if "recommender.name" in paths else [REC])


def aggregate(runs: pd.DataFrame, paths: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean and 95% interval across seeds of each metric, per grid point and recommender."""
    ok = runs[runs["status"] == "ok"].copy()
    keys = point_keys(paths)
    for path in paths:
        ok[path] = ok[path].map(cell)
    rows = []
    for point, group in ok.groupby(keys, dropna=False, sort=False):
        for metric in metrics:
            values = group[metric].dropna().to_numpy(dtype=float)
            mean, low, high = mean_interval(values) if len(values) else (math.nan,) * 3
            rows.append(dict(zip(keys, point)) | {"metric": metric, "mean": mean, "low": low, "high": high, "n_seeds": len(values)})
    return pd.DataFrame(rows, columns=[*keys, "metric", "mean", "low", "high", "n_seeds"])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def plot_parameter(runs: pd.DataFrame, path: str, paths: list[str], metrics: list[str], out: Path, title: str) -> Path:
    """One panel per metric against ``path``: a line per recommender (and per value of the
    other swept parameters) with its 95% interval band across seeds."""
    ok = runs[runs["status"] == "ok"].copy()
    for p in paths:
        ok[p] = ok[p].map(cell)
    values = list(dict.fromkeys(ok[path]))
    numeric = all(_is_number(v) for v in values)
    position = {v: (float(v) if numeric else i) for i, v in enumerate(values)}
    identity = path == "recommender" or path == "recommender.name"
    others = [p for p in paths if p not in (path, "recommender.name") and ok[p].nunique(dropna=False) > 1]
    line_keys = ([] if identity else [REC]) + others
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows + 0.6), squeeze=False, layout="constrained")
    groups = list(ok.groupby(line_keys, dropna=False, sort=True)) if line_keys else [((), ok)]
    for ax, metric in zip(axes.flat, metrics):
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            label = ", ".join(str(k) if lk == REC else f"{lk}={k}" for lk, k in zip(line_keys, key)) or metric
            stats = []
            for value, at in group.groupby(path, dropna=False, sort=False):
                series = at[metric].dropna().to_numpy(dtype=float)
                if len(series):
                    stats.append((position[value], *mean_interval(series)))
            if not stats:
                continue
            x, mean, low, high = (np.array(c) for c in zip(*sorted(stats)))
            (line,) = ax.plot(x, mean, marker="o", label=label)
            band = np.isfinite(low) & np.isfinite(high)
            if band.any():
                ax.fill_between(x[band], low[band], high[band], color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel(path)
        if numeric:
            _log_axis_if_wide(ax, list(position.values()))
        if not numeric:
            ax.set_xticks(list(position.values()), [_short(v) for v in values], rotation=30, ha="right", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if len(handles) > 1 or line_keys:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), frameon=False, fontsize=8)
    fig.suptitle(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out


def _log_axis_if_wide(ax, xs: list[float]) -> None:
    """A log x axis (symlog when 0 is among the values) for values spanning 50x or more."""
    positive = [x for x in xs if x > 0]
    if min(xs) < 0 or len(positive) < 2 or max(positive) / min(positive) < 50:
        return
    if min(xs) == 0:
        ax.set_xscale("symlog", linthresh=min(positive))
    else:
        ax.set_xscale("log")


def _short(value: Any, width: int = 28) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def figure_name(path: str) -> str:
    """A file name for a parameter path: ``behaviour.plasticity_mean.png``."""
    return re.sub(r"[^\w.-]+", "_", path) + ".png"


def summary_page(manifest: dict, runs: pd.DataFrame, agg: pd.DataFrame, metrics: list[str], figures: list[str]) -> str:
    """The Markdown page: what was swept, a table of means and intervals, figures, failures."""
    counts = runs["status"].value_counts()
    lines = [
        f"# Sweep: {manifest['scenario']}",
        "",
        f"{len(runs)} runs: {counts.get('ok', 0)} finished, {counts.get('failed', 0)} failed, "
        f"{counts.get('missing', 0)} not run yet. Seeds: {', '.join(map(str, manifest['seeds']))}.",
        "",
        "Swept parameters:",
        "",
    ]
    for path in manifest["paths"]:
        seen = list(dict.fromkeys(json.dumps(r["params"][path], sort_keys=True) for r in manifest["runs"]))
        lines.append(f"- `{path}`: {', '.join(seen)}")
    lines += ["", "## Results", "", "Mean over seeds of each run's summary value, with its 95% interval.", ""]
    keys = point_keys(manifest["paths"])
    if len(agg):
        wide = agg.assign(value=[_fmt_interval(m, lo, hi) for m, lo, hi in zip(agg["mean"], agg["low"], agg["high"])])
        wide = wide.set_index([*keys, "metric"])["value"].unstack("metric").reset_index()
        wide = wide[[*keys, *[m for m in metrics if m in wide.columns]]]
        lines.append("| " + " | ".join(keys + metrics) + " |")
        lines.append("|" + "---|" * (len(keys) + len(metrics)))
        for _, row in wide.iterrows():
            lines.append("| " + " | ".join(str(row[c]) for c in wide.columns) + " |")
    else:
        lines.append("No finished runs.")
    lines += ["", "## Figures", ""]
    for path, name in zip(manifest["paths"], figures):
        lines += [f"### {path}", "", f"![{', '.join(metrics)} against {path}](figures/{name})", ""]
    failed = runs[runs["status"] == "failed"]
    if len(failed):
        lines += ["## Failed runs", ""]
        for _, row in failed.iterrows():
            params = ", ".join(f"{p}={row[p]!r}" for p in manifest["paths"])
            lines.append(f"- `{row['run_id']}` ({params}, seed {row['seed']}): {row['error']}")
        lines.append("")
    lines += [
        "## Files",
        "",
        "- `table.parquet`, `table.csv`: one row per run and step (parameters, seed, recommender, metrics)",
        "- `runs.csv`: one row per run (summary numbers, status, error)",
        "- `aggregate.csv`: mean and 95% interval across seeds per grid point and metric",
        "",
    ]
    return "\n".join(lines)


def _fmt_interval(mean: float, low: float, high: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"


def write_report(sweep_dir: str | Path, metrics: list[str] | None = None) -> Path:
    """Write ``<sweep_dir>/report/`` (atomically: a temporary sibling, then renamed).

    Args:
        sweep_dir: a folder written by :func:`sim.sweep.sweep`.
        metrics: summary metrics to aggregate and plot; default: the sweep's
            ``sweep.metrics``, else a default set.

    Raises:
        SweepError: not a sweep folder, no finished run, or an unknown metric.
    """
    store = ResultStore(sweep_dir)
    manifest = store.manifest()
    runs = runs_frame(store)
    if not (runs["status"] == "ok").any():
        raise SweepError(f"{store.root}: no finished runs to report")
    chosen = choose_metrics(runs, metrics or manifest.get("metrics") or None)
    paths = manifest["paths"]
    target = store.root / "report"
    tmp = Path(tempfile.mkdtemp(prefix=".report.", dir=store.root))
    try:
        table = tidy_table(store)
        table.to_parquet(tmp / "table.parquet", index=False)
        table.to_csv(tmp / "table.csv", index=False)
        runs.assign(**{p: runs[p].map(cell) for p in paths}).to_csv(tmp / "runs.csv", index=False)
        agg = aggregate(runs, paths, chosen)
        agg.to_csv(tmp / "aggregate.csv", index=False)
        figures = []
        for path in paths:
            name = figure_name(path)
            plot_parameter(runs, path, paths, chosen, tmp / "figures" / name, f"{manifest['scenario']}: against {path}")
            figures.append(name)
        (tmp / "summary.md").write_text(summary_page(manifest, runs, agg, chosen, figures), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target

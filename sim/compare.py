"""Several recommenders on one world and seed, side by side (common random numbers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .experiments import RunResult, run
from .scenario import Scenario, ScenarioError

#: Summary rows of the side-by-side table, in order (those a run has).
TABLE_METRICS = (
    "like_rate", "watch_ratio_median", "share_rate", "comment_rate", "mean_utility", "mean_utility_holdout",
    "regret", "kendall_tau", "like_bait_share", "active_users_final", "churned_users",
    "exposure_gini", "creator_gini", "top1_share", "arp", "aplt", "coverage",
    "amplification_creator_median", "amplified_creator_share",
    "homogenization_random", "homogenization_nearest", "topic_entropy", "intra_list_diversity", "taste_drift",
    "polarization", "effective_clusters", "co_like_modularity",
    "cascade_size_mean", "structural_virality_mean", "trait_auc", "segment_ari", "segment_nmi", "targeting_lift",
)
#: Per-step metrics drawn over time, one panel each (those a run has).
FIGURE_METRICS = ("like_rate", "mean_utility", "regret", "kendall_tau", "like_bait_share", "active_users")


@dataclass
class Comparison:
    """Runs of several recommenders on one scenario and seed.

    Attributes:
        results: recommender label -> RunResult.
        table: metric x recommender, then one "<label> - <first>" difference column per other run.
        out: the folder written, if any.
    """

    results: dict[str, RunResult]
    table: pd.DataFrame
    out: Path | None = None
    figures: list[Path] = field(default_factory=list)


def parse_recommender(spec: str | tuple[str, dict]) -> tuple[str, dict]:
    """``"mf"`` or ``("mf", {"factors": 32})``."""
    if isinstance(spec, str):
        return spec, {}
    name, params = spec
    return name, dict(params)


def compare(
    scenario: Scenario,
    recommenders: list[str | tuple[str, dict]],
    *,
    out: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    """Run each recommender on the same world and seed and put the results side by side.

    The world, the users, the uploads and each step's behaviour draws come from the same
    seed, so differences are the recommenders' (common random numbers).

    Args:
        scenario: the scenario; its recommender is replaced by each of ``recommenders``.
        recommenders: names, or (name, params) pairs; at least one.
        out: a folder for the comparison (one run folder per recommender, ``compare.csv``,
            ``compare.png``); nothing is written when None.
        progress: ``progress(label, steps_done, steps_total)`` after each step.
    """
    specs = [parse_recommender(r) for r in recommenders]
    if not specs:
        raise ScenarioError("compare: name at least one recommender (-r NAME)")
    labels = _labels(specs)
    scenarios = {label: scenario.with_recommender(name, **params) for label, (name, params) in zip(labels, specs)}
    out = Path(out) if out is not None else None
    if out is not None and out.exists() and any(out.iterdir()):
        raise ScenarioError(f"--out: {out} exists and is not an empty folder")
    results: dict[str, RunResult] = {}
    for label, sc in scenarios.items():
        report = (lambda i, n, label=label: progress(label, i, n)) if progress else None
        results[label] = run(sc, out=(out / label) if out else None, write=out is not None, progress=report)
    table = side_by_side(results)
    comparison = Comparison(results, table, out)
    if out is not None:
        table.to_csv(out / "compare.csv")
        comparison.figures.append(plot_over_time(results, out / "compare.png", title=scenario.name))
    return comparison


def _labels(specs: list[tuple[str, dict]]) -> list[str]:
    labels, seen = [], {}
    for name, params in specs:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return labels


def side_by_side(results: dict[str, RunResult]) -> pd.DataFrame:
    """metric x recommender table of the runs' summaries, with differences to the first run."""
    labels = list(results)
    rows = [m for m in TABLE_METRICS if any(m in r.summary for r in results.values())]
    data = {
        label: [_num(results[label].summary.get(m)) for m in rows] for label in labels
    }
    table = pd.DataFrame(data, index=pd.Index(rows, name="metric"))
    first = labels[0]
    for label in labels[1:]:
        table[f"{label} - {first}"] = table[label] - table[first]
    return table


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def plot_over_time(results: dict[str, RunResult], path: Path, title: str = "") -> Path:
    """One panel per per-step metric, one line per recommender."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [m for m in FIGURE_METRICS if any(m in r.metrics for r in results.values())]
    cols = 3
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, panels):
        for label, res in results.items():
            if metric in res.metrics:
                ax.plot(res.metrics["step"], res.metrics[metric], label=label)
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, frameon=False)
    fig.suptitle(f"{title}: recommenders on one world and seed" if title else "")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

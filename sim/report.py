"""Figures and tables from run results (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

MAIN_PANELS = (
    ("like_rate", "Like rate (likes per impression)"),
    ("watch_ratio", "Median watch ratio"),
    ("mean_utility", "Mean true utility"),
    ("active_users", "Active users"),
)


def plot_main_metrics(metrics: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Four panels over time: like rate, watch ratio, true utility (with holdout), active users."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)
    for ax, (col, label) in zip(axes.flat, MAIN_PANELS):
        ax.plot(metrics["step"], metrics[col], color="tab:blue", label="treatment" if col == "mean_utility" else None)
        if col == "mean_utility" and "mean_utility_holdout" in metrics:
            ax.plot(metrics["step"], metrics["mean_utility_holdout"], color="tab:orange", label="holdout")
            ax.legend(frameon=False, fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

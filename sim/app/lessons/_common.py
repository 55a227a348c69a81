"""What every lesson's headless run shares: its scenario with overrides, stepping a model,
filling the narrative, and writing the figure."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...model import FeedModel
from ...scenario import Scenario, ScenarioError

SHORTCUTS = {"n_users": "world.n_users"}
"""Keyword overrides that name a nested scenario field by its short name."""


def load_scenario(path: Path, overrides: Mapping[str, Any]) -> Scenario:
    """The lesson's scenario with keyword overrides applied.

    ``seed=3``, ``steps=10`` and ``n_users=500`` set those fields; any other keyword names a
    dotted field with ``__`` for the dot (``world__n_creators=50``); ``set=[...]`` passes
    dotted overrides as written on the command line (``"behaviour.plasticity_mean=0.1"``).

    Raises:
        ScenarioError: an unknown field or a bad value (one line naming the field).
    """
    dotted = [str(s) for s in overrides.get("set", ()) or ()]
    for key, value in overrides.items():
        if key == "set" or value is None:
            continue
        field = SHORTCUTS.get(key, key.replace("__", "."))
        dotted.append(f"{field}={toml_value(value)}")
    return Scenario.load(path, dotted)


def toml_value(value: Any) -> str:
    """A Python value as a TOML literal for a dotted override.

    >>> toml_value(True), toml_value(3), toml_value("mf"), toml_value([1, 2])
    ('true', '3', '"mf"', '[1, 2]')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    return json.dumps(value)


def with_recommender(scenario: Scenario, name: str) -> Scenario:
    """The scenario with recommender ``name``: its params from the scenario when the scenario
    already names it, the recommender's defaults otherwise."""
    if scenario.recommender.name == name:
        return scenario
    return scenario.with_recommender(name)


def run_model(scenario: Scenario, every: int = 0, checkpoint=None) -> FeedModel:
    """Step a model through the scenario; call ``checkpoint(model)`` every ``every`` steps
    and after the last one."""
    model = FeedModel(scenario)
    for i in range(scenario.steps):
        model.step()
        if checkpoint is not None and every and ((i + 1) % every == 0 or i + 1 == scenario.steps):
            checkpoint(model)
    return model


def fill(narrative: str, numbers: Mapping[str, float], words: Mapping[str, str] | None = None) -> str:
    """The narrative with its ``{name}`` / ``{name:format}`` fields filled.

    Raises:
        KeyError: a field has no number or word (a lesson bug, caught by the tests).
    """
    values = {**numbers, **(words or {})}
    missing = [f for _, f, _, _ in string.Formatter().parse(narrative) if f and f not in values]
    if missing:
        raise KeyError(f"narrative fields without a value: {', '.join(sorted(set(missing)))}")
    return _NoNegativeZero().vformat(narrative, (), values).strip() + "\n"


class _NoNegativeZero(string.Formatter):
    """Formats as ``str.format`` does, but a number that rounds to zero never prints as "-0.00"."""

    def format_field(self, value, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        return re.sub(r"^(\s*)-(0(?:\.0*)?%?\s*)$", r"\1\2", text)


def new_figure(ncols: int, width: float = 5.2, height: float = 3.8):
    """A matplotlib Figure (no pyplot, so no GUI backend and no global state) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def plot_over_steps(axes, frames: Mapping[str, Any], panels, labels: Mapping[str, str], **style) -> None:
    """One panel per ``(metric, ylabel, title)`` of ``panels``: each run's metric against the
    step (1-based), one line per run of ``frames`` (name -> per-step metrics frame)."""
    for ax, (metric, ylabel, title) in zip(axes, panels):
        for name, frame in frames.items():
            ax.plot(frame["step"].to_numpy() + 1, frame[metric].to_numpy(dtype=float), label=labels[name], **style)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)


def save_figure(fig, out_dir: str | Path | None, name: str) -> Path | None:
    """Write ``<out_dir>/<name>.png`` (nothing when ``out_dir`` is None); returns its path."""
    if out_dir is None:
        return None
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out: {out} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110)
    return path


def as_floats(numbers: Mapping[str, float]) -> dict[str, float]:
    """The numbers as plain Python floats."""
    return {k: float(v) for k, v in numbers.items()}


def compare_words(a: float, b: float, tolerance: float, more: str, less: str, same: str) -> str:
    """``more`` when a exceeds b by more than ``tolerance``, ``less`` when it falls short by more,
    ``same`` otherwise (also when either is NaN).

    >>> compare_words(0.5, 0.2, 0.05, "higher", "lower", "about the same")
    'higher'
    >>> compare_words(0.21, 0.2, 0.05, "higher", "lower", "about the same")
    'about the same'
    """
    if not (np.isfinite(a) and np.isfinite(b)):
        return same
    if a > b + tolerance:
        return more
    if a < b - tolerance:
        return less
    return same

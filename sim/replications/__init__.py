"""Published results the simulator reproduces, one module per paper.

Each module has ``run(size="full" | "small", out=None, seed=0) -> Replication``: the full
size writes the paper-style figure and table (``feedsim replicate NAME``); the small size
runs in seconds and is what ``tests/validation`` checks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: name -> (module, one-line description)
REPLICATIONS = {
    "chaney": ("sim.replications.chaney", "Chaney et al. 2018: feedback-trained recommenders homogenise users"),
    "kosinski": ("sim.replications.kosinski", "Kosinski et al. 2013: likes reveal a hidden trait"),
    "huszar": ("sim.replications.huszar", "Huszar et al. 2022: a personalised ranker amplifies against a holdout"),
    "mansoury": ("sim.replications.mansoury", "Mansoury et al. 2020: the feedback loop concentrates exposure"),
    "goodhart": ("sim.replications.goodhart", "Goodhart curve: optimising likes harder costs utility"),
    "sirbu": ("sim.replications.sirbu", "Sirbu et al. 2019: algorithmic bias fragments and slows a bounded-confidence model"),
}


@dataclass
class Replication:
    """What a replication produced.

    Attributes:
        name: the replication's name.
        table: the numbers behind the figure (one row per condition).
        claims: each published claim checked on these numbers -> whether it holds here.
        figure: the PNG written (when ``out`` was given).
        notes: how the setup maps onto feedsim, and what differs from the paper.
    """

    name: str
    table: pd.DataFrame
    claims: dict[str, bool]
    figure: Path | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)


def mean_interval(values) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds: ``(mean, low, high)``; the interval is NaN with one seed.

    >>> mean_interval([1.0, 2.0, 3.0])[0]
    2.0
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


def replicate(name: str, size: str = "full", out: str | Path | None = None, seed: int = 0) -> Replication:
    """Run one replication by name (see ``REPLICATIONS``)."""
    if name not in REPLICATIONS:
        raise ValueError(f"unknown replication {name!r} (known: {', '.join(REPLICATIONS)})")
    if size not in ("full", "small"):
        raise ValueError(f"size must be 'full' or 'small', not {size!r}")
    module = importlib.import_module(REPLICATIONS[name][0])
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    result = module.run(size=size, out=out, seed=seed)
    if out is not None:
        result.table.to_csv(out / f"{name}.csv", index=False)
    return result

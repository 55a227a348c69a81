"""Sirbu, Pedreschi, Giannotti, Kertesz (PLoS ONE 2019): "Algorithmic bias amplifies opinion
fragmentation and polarization: a bounded confidence model" (LITERATURE.md 3.3, validation V2).

Published claims checked here: with no bias (gamma = 0) the model is Deffuant et al.'s bounded
confidence model (about ``floor(1/(2 eps))`` opinion clusters, consensus for large enough
``eps``); an algorithmic bias that makes like-minded partners likelier (gamma > 0) gives more
clusters, also where the unbiased model reaches consensus, a higher polarisation (mean pairwise
opinion distance) and a dramatic slowing down of convergence.

The model, fully mixed (the platform "recommends" who meets whom): N = 100 agents with
opinions drawn uniformly in [0, 1]. An interaction picks agent i uniformly, then a partner
j != i with probability proportional to ``max(|x_i - x_j|, 1e-5)^(-gamma)`` (the distance
floor of NDlib's ``AlgorithmicBiasModel``, which guards identical opinions); if
``|x_i - x_j| < eps`` both adopt the average (mu = 0.5), else nothing happens. A run stops
when it has settled (every pair closer than ``eps`` is within ``1e-3``: no interaction can
change the clusters any more, only shrink them) or at a cap on interactions. Measured at the
end: the effective number of clusters ``C = N^2 / sum_k c_k^2`` (sorted opinions grouped
within 0.01; :func:`sim.metrics.effective_clusters`), the mean pairwise distance
``d = 1/(N(N-1)) sum_{i != j} |x_i - x_j|`` (:func:`sim.metrics.polarization`) and the time to
settle in interactions per agent.

The interaction loop is sequential within a replica, so replicas run side by side: the
replicas of every epsilon at one gamma are the rows of one array, and each pass of the loop
does one interaction in every row with array operations (partners drawn by inverse CDF on
each row's cumulative weights). Settled rows leave the array.
"""

from __future__ import annotations

import multiprocessing
import time as _time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import metrics as M
from sim.replications import Replication
from sim.replications import mean_interval as _interval

NAME = "sirbu"

#: Agents per population (the paper's N).
N_AGENTS = 100

#: Smallest distance used in the partner weights: NDlib's ``AlgorithmicBiasModel`` floors
#: ``|x_i - x_j|`` at 1e-5 so that identical opinions get a finite weight ``1e-5^(-gamma)``.
DISTANCE_FLOOR = 1e-5

#: A run has settled when every pair of agents closer than epsilon is within this distance.
SETTLED_TOL = 1e-3

#: Opinions within this distance (in sorted order) are one cluster for C (Sirbu et al.).
CLUSTER_TOL = 0.01

#: Uniform draws made at once per stream (interactions per replica).
_DRAW_CHUNK = 1000

#: Run sizes: bias strengths, confidence bounds, replicas per condition, the cap on the run
#: length in interactions per agent (a run still unsettled there stops and counts at the cap),
#: and the worker processes (each batch of conditions has its own streams, so the numbers do
#: not depend on how the conditions are split between workers).
SIZES = {
    "small": {
        "gammas": (0.0, 1.0), "epsilons": (0.1, 0.2, 0.3, 0.4), "replicas": 30, "max_time": 600, "workers": 1,
    },
    "full": {
        "gammas": (0.0, 0.5, 1.0, 1.5),
        "epsilons": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5),
        "replicas": 40,
        "max_time": 2000,
        "workers": 2,
    },
}

#: gamma = 0 is taken to reach consensus at an epsilon when its mean C is at most this.
CONSENSUS_C = 1.2

NOTES = (
    "Sirbu et al. ran 100 replicas per condition to convergence; here each condition has the replicas "
    "of the size and a cap on the run length, and a run still unsettled at the cap stops there: its "
    "clusters and distance are those at the cap and its time counts as the cap (a lower bound), so "
    "'settled' in the table is the share of runs that settled. Every condition starts from the same "
    "initial populations (common random numbers); each (gamma, epsilon) has its own random stream for "
    "the interactions. Identical opinions get the weight of the distance floor 1e-5 (as in NDlib's "
    "AlgorithmicBiasModel): with gamma = 1.5 two agents that have averaged weigh 1e-5^-1.5 = 3e7 for "
    "each other against about 11 for an agent 0.2 away, so pairs lock in early and the population "
    "coarsens from many small clusters very slowly; those runs do not settle within the cap, and their "
    "C is that of a slowly merging, still fragmented state (the paper's 'highly unstable' regime), not "
    "a final one. The distance floor sets that time scale (a smaller floor locks pairs in harder). The "
    "paper reports consensus for every gamma above eps = 0.4 and, at eps = 0.4, times near 35 exp(3.4 "
    "gamma) interactions per agent (captions of its Figs. 1 and 4): about 1,000 at gamma = 1, close to "
    "what the full size measures, and 5,700 at gamma = 1.5, beyond its cap. gamma = 0.5 changes little, "
    "and settles faster than gamma = 0 at small eps: fewer partners are drawn from beyond eps, where "
    "nothing happens. 'Consensus' for gamma = 0 means mean C <= 1.2; with N = 100, eps = 0.3 is in the "
    "transition (some populations split in two). Intervals are 95% t-intervals over replicas; the "
    "changes against gamma = 0 are paired by initial population. The paper's other finding, stronger "
    "effects from a fragmented initial population, is not run here."
)


# -- the model's pieces (rows are independent replicas) ----------------------------------------
def partner_weights(
    opinions: np.ndarray, focal: np.ndarray, gamma: float, floor: float = DISTANCE_FLOOR
) -> np.ndarray:
    """Unnormalised probability of each agent being the focal agent's partner, row by row.

    ``w_ij = max(|x_i - x_j|, floor)^(-gamma)`` for ``j != i`` and ``w_ii = 0``, with ``i =
    focal[r]`` in row r of ``opinions`` (replicas x agents). gamma = 0 gives uniform weights
    (the Deffuant model).

    >>> partner_weights(np.array([[0.0, 0.5, 0.75]]), np.array([0]), 1.0).round(4).tolist()
    [[0.0, 2.0, 1.3333]]
    """
    x = np.asarray(opinions, dtype=np.float64)
    rows = np.arange(x.shape[0])
    d = np.abs(x - x[rows, focal][:, None])
    np.maximum(d, floor, out=d)
    if gamma == 0:
        w = np.ones_like(d)
    elif gamma == 1:
        w = np.reciprocal(d, out=d)
    elif gamma == 0.5:
        w = np.reciprocal(np.sqrt(d, out=d), out=d)
    elif gamma == 1.5:
        w = np.reciprocal(d * np.sqrt(d), out=d)
    else:
        w = np.power(d, -gamma, out=d)
    w[rows, focal] = 0.0
    return w


def draw_partners(opinions: np.ndarray, focal: np.ndarray, gamma: float, u: np.ndarray) -> np.ndarray:
    """Each row's partner of its focal agent, by inverse CDF on the partner weights.

    ``u`` holds one uniform number in [0, 1) per row; the partner is the first agent whose
    cumulative weight exceeds ``u * total``, so agent j is drawn with probability
    ``w_ij / sum_k w_ik`` and never the focal agent itself. gamma = 0 draws uniformly among
    the other agents without computing weights.

    >>> draw_partners(np.array([[0.0, 0.5, 0.75]]), np.array([0]), 1.0, np.array([0.59]))
    array([1])
    >>> draw_partners(np.array([[0.0, 0.5, 0.75]]), np.array([0]), 1.0, np.array([0.61]))
    array([2])
    """
    n = opinions.shape[1]
    if gamma == 0:
        j = np.minimum((u * (n - 1)).astype(np.intp), n - 2)
        return j + (j >= focal)
    cum = np.cumsum(partner_weights(opinions, focal, gamma), axis=1)
    j = np.count_nonzero(cum[:, :-1] <= (u * cum[:, -1])[:, None], axis=1)
    # j == focal only if focal is the last agent and u * total rounded up to the total
    return j - (j == focal)


def interact(opinions: np.ndarray, focal: np.ndarray, partner: np.ndarray, epsilon) -> np.ndarray:
    """One bounded-confidence interaction per row, in place: where ``|x_i - x_j| < epsilon``
    both agents adopt their average (mu = 0.5); elsewhere nothing changes.

    Returns which rows' agents moved. The row sums (the mean opinion) do not change.

    >>> x = np.array([[0.1, 0.3, 0.9], [0.1, 0.3, 0.9]])
    >>> interact(x, np.array([0, 0]), np.array([1, 2]), 0.25)
    array([ True, False])
    >>> x
    array([[0.2, 0.2, 0.9],
           [0.1, 0.3, 0.9]])
    """
    rows = np.arange(opinions.shape[0])
    xi, xj = opinions[rows, focal], opinions[rows, partner]
    close = np.abs(xi - xj) < epsilon
    mean = 0.5 * (xi + xj)
    opinions[rows, focal] = np.where(close, mean, xi)
    opinions[rows, partner] = np.where(close, mean, xj)
    return close


def settled(opinions: np.ndarray, epsilon, tol: float = SETTLED_TOL) -> np.ndarray:
    """Whether each row has settled: no two agents closer than ``epsilon`` are more than
    ``tol`` apart (needs ``epsilon > 2 tol``).

    Then opinions sit in groups of width at most ``tol``, at least ``epsilon`` apart: no
    interaction can join two groups, so the clusters are final. On sorted opinions this is:
    no gap between neighbours lies in ``(tol, epsilon)``, and each run of gaps of at most
    ``tol`` spans at most ``tol`` (a wider run would hold a pair between ``tol`` and
    ``2 tol < epsilon`` apart).

    >>> settled(np.array([[0.1, 0.1005, 0.5], [0.1, 0.12, 0.5]]), 0.2)
    array([ True, False])
    """
    s = np.sort(np.asarray(opinions, dtype=np.float64), axis=1)
    eps = np.broadcast_to(np.asarray(epsilon, dtype=np.float64), (s.shape[0],))[:, None]
    if np.any(eps <= 2 * tol):
        raise ValueError(f"settled: epsilon must exceed 2 * tol = {2 * tol}")
    gap = np.diff(s, axis=1)
    big = gap > tol
    no_middle_gap = ~(big & (gap < eps)).any(axis=1)
    # index of the first agent of each agent's run of small gaps
    starts = np.maximum.accumulate(np.where(big, np.arange(1, s.shape[1]), 0), axis=1)
    starts = np.concatenate([np.zeros((s.shape[0], 1), np.intp), starts], axis=1)
    span = s - np.take_along_axis(s, starts, axis=1)
    return no_middle_gap & (span <= tol).all(axis=1)


@dataclass
class Runs:
    """Where a batch of runs ended.

    Attributes:
        opinions: final opinions, replicas x agents (at settling, or at the cap).
        settled: whether each run settled before the cap.
        time: interactions per agent until the run settled (checked once per N interactions),
            the cap for runs that did not.
    """

    opinions: np.ndarray
    settled: np.ndarray
    time: np.ndarray


def simulate(initial: np.ndarray, gamma: float, epsilon, streams, max_time: int) -> Runs:
    """Run every row of ``initial`` (replicas x agents) until it settles or ``max_time``
    interactions per agent have passed.

    Each pass of the loop does one interaction in every unsettled row: a focal agent drawn
    uniformly, a partner by :func:`draw_partners`, the update by :func:`interact`. Every N
    interactions the rows are checked with :func:`settled` and settled rows stop.

    Args:
        initial: starting opinions in [0, 1], replicas x agents (not modified).
        gamma: algorithmic bias (0: Deffuant).
        epsilon: confidence bound, a scalar or one per row.
        streams: a ``numpy.random.Generator``, or a list of them, one per equal block of
            consecutive rows (e.g. one per condition), each drawing that block's uniforms.
        max_time: cap on the run length, in interactions per agent.
    """
    x = np.array(initial, dtype=np.float64)
    n_rows, n = x.shape
    streams = [streams] if isinstance(streams, np.random.Generator) else list(streams)
    if n_rows % len(streams):
        raise ValueError(f"simulate: {n_rows} rows do not split into {len(streams)} equal blocks")
    block = n_rows // len(streams)
    eps = np.broadcast_to(np.asarray(epsilon, dtype=np.float64), (n_rows,)).copy()
    final, done = x.copy(), np.zeros(n_rows, bool)
    settle_time = np.full(n_rows, float(max_time))
    live = np.arange(n_rows)  # the rows still running
    total = int(max_time) * n
    t = 0
    while t < total and len(live):
        chunk = min(_DRAW_CHUNK, total - t)
        u = np.concatenate([g.random((chunk, 2, block)) for g in streams], axis=2)[:, :, live]
        for k in range(chunk):
            focal = np.minimum((u[k, 0] * n).astype(np.intp), n - 1)
            interact(x, focal, draw_partners(x, focal, gamma, u[k, 1]), eps)
            t += 1
            if t % n == 0:
                now = settled(x, eps)
                if now.any():
                    rows = live[now]
                    final[rows], done[rows], settle_time[rows] = x[now], True, t / n
                    keep = ~now
                    x, eps, live, u = x[keep], eps[keep], live[keep], u[:, :, keep]
                    if not len(live):
                        break
    final[live] = x
    return Runs(final, done, settle_time)


# -- the replication ---------------------------------------------------------------------------
def deffuant_clusters(epsilon: float) -> int:
    """The classic Deffuant benchmark, about ``floor(1/(2 eps))`` clusters (at least 1).

    >>> deffuant_clusters(0.1), deffuant_clusters(0.4)
    (5, 1)
    """
    return max(1, int(np.floor(1.0 / (2.0 * epsilon) + 1e-9)))


def run_gamma(gamma: float, epsilons, initial: np.ndarray, seed: int, max_time: int) -> pd.DataFrame:
    """Every epsilon at one gamma, all replicas side by side; one row per run.

    Each (gamma, epsilon) draws from its own stream, ``default_rng([seed, 1, 1000 gamma,
    1000 eps])``, so a condition's runs are the same whatever else is in the batch.
    """
    epsilons = np.asarray(epsilons, dtype=np.float64)
    n_rep = initial.shape[0]
    streams = [np.random.default_rng([seed, 1, round(gamma * 1000), round(e * 1000)]) for e in epsilons]
    start = _time.perf_counter()
    runs = simulate(np.tile(initial, (len(epsilons), 1)), gamma, np.repeat(epsilons, n_rep), streams, max_time)
    seconds = _time.perf_counter() - start
    return pd.DataFrame({
        "gamma": gamma,
        "epsilon": np.repeat(epsilons, n_rep),
        "replica": np.tile(np.arange(n_rep), len(epsilons)),
        "clusters": [M.effective_clusters(o, "threshold", tol=CLUSTER_TOL) for o in runs.opinions],
        "distance": [M.polarization(o) for o in runs.opinions],
        "time": runs.time,
        "settled": runs.settled,
        "mean_shift": np.abs(runs.opinions.mean(axis=1) - np.tile(initial.mean(axis=1), len(epsilons))),
        "batch_seconds": seconds,
    })


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (gamma, epsilon): means and 95% intervals over replicas, and the change
    against gamma = 0 on the same initial populations (paired by replica; ``runs`` must hold
    gamma = 0 at every epsilon).

    ``clusters_gain`` and ``distance_gain`` are the mean per-replica differences to gamma = 0
    at the same epsilon (with ``_lo``/``_hi``); ``time_ratio`` is the ratio of mean times.
    """
    none = runs[runs.gamma == 0].set_index(["epsilon", "replica"])
    rows = []
    for (gamma, eps), sub in runs.groupby(["gamma", "epsilon"], sort=True):
        row = {"gamma": gamma, "epsilon": eps, "replicas": len(sub), "deffuant_clusters": deffuant_clusters(eps)}
        for col in ("clusters", "distance", "time"):
            row[col], row[f"{col}_lo"], row[f"{col}_hi"] = _interval(sub[col])
        row["time_median"] = float(sub["time"].median())
        row["settled"] = float(sub["settled"].mean())
        base = none.loc[eps].loc[sub.replica]
        for col in ("clusters", "distance"):
            gain = sub[col].to_numpy() - base[col].to_numpy()
            row[f"{col}_gain"], row[f"{col}_gain_lo"], row[f"{col}_gain_hi"] = _interval(gain)
        row["time_ratio"] = row["time"] / float(base["time"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _run_conditions(cfg: dict, initial: np.ndarray, seed: int) -> pd.DataFrame:
    """Every condition of a size, in batches of epsilons at one gamma; the strongest bias (the
    slowest: its runs go to the cap) first, split over the worker processes."""
    parts = np.array_split(np.asarray(cfg["epsilons"], dtype=np.float64), cfg["workers"])
    batches = [(g, part) for g in sorted(cfg["gammas"], reverse=True) for part in parts if len(part)]
    n = len(batches)
    args = [[g for g, _ in batches], [p for _, p in batches], [initial] * n, [seed] * n, [cfg["max_time"]] * n]
    if cfg["workers"] == 1:
        results = list(map(run_gamma, *args))
    else:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
        with ProcessPoolExecutor(cfg["workers"], mp_context=context) as pool:
            results = list(pool.map(run_gamma, *args))
    return pd.concat(results, ignore_index=True).sort_values(["gamma", "epsilon", "replica"], ignore_index=True)


def run(size: str = "full", out: Path | None = None, seed: int = 0) -> Replication:
    """Every (gamma, epsilon) condition from the same initial populations; one stream per condition."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, not {seed}")
    cfg = SIZES[size]
    start = _time.perf_counter()
    initial = np.random.default_rng([seed, 0]).random((cfg["replicas"], N_AGENTS))
    runs = _run_conditions(cfg, initial, seed)
    wall = _time.perf_counter() - start
    table = summarise(runs)
    claims = _claims(table)
    figure = _plot(table, out / f"{NAME}.png", size, cfg["max_time"]) if out is not None else None
    notes = NOTES + (
        f" This run: N = {N_AGENTS}, {cfg['replicas']} replicas per condition from seed {seed}, cap "
        f"{cfg['max_time']} interactions per agent; {wall:.0f} s."
    )
    return Replication(NAME, table, claims, figure, notes,
                       extra={"runs": runs, "size": size, "seed": seed, "wall_seconds": wall})


def _claims(table: pd.DataFrame) -> dict[str, bool]:
    t = table.set_index(["gamma", "epsilon"]).sort_index()
    none = t.loc[0.0]
    strong = [t.loc[g] for g in t.index.get_level_values("gamma").unique() if g >= 1.0]
    small_eps = none[none.index <= 0.2]
    large_eps = none[none.index >= 0.3]
    fragmented = none.index[none.clusters > CONSENSUS_C]  # where gamma = 0 ends in several clusters
    consensus = none.index[none.clusters <= CONSENSUS_C]

    def gain(rows: pd.DataFrame, col: str, eps) -> pd.Series:
        """Whether the paired 95% interval of the change against gamma = 0 lies above 0, per epsilon."""
        return rows.loc[eps, f"{col}_gain_lo"] > 0

    def stays_fragmented(rows: pd.DataFrame) -> bool:
        return bool((gain(rows, "clusters", consensus) & (rows.loc[consensus, "clusters"] > CONSENSUS_C)).any())

    return {
        "gamma = 0 reproduces the Deffuant model: about floor(1/(2 eps)) clusters at small eps "
        "(mean C within 25% of it at every eps <= 0.2)":
            bool(len(small_eps) and (abs(small_eps.clusters / small_eps.deffuant_clusters - 1) <= 0.25).all()),
        f"gamma = 0 reaches consensus for eps >= 0.3 (mean C near 1: at most {CONSENSUS_C})":
            bool(len(large_eps) and (large_eps.clusters <= CONSENSUS_C).all()),
        "Algorithmic bias fragments opinions: with gamma >= 1, C is above gamma = 0's at every eps where "
        f"gamma = 0 ends in several clusters (mean C > {CONSENSUS_C}; paired 95% interval above 0)":
            bool(strong and len(fragmented) and all(gain(r, "clusters", fragmented).all() for r in strong)),
        "Fragmentation emerges also where the unbiased model reaches consensus: with gamma >= 1 there is an "
        f"eps where gamma = 0 ends at consensus (mean C <= {CONSENSUS_C}) but gamma's mean C stays above "
        f"{CONSENSUS_C} (paired 95% interval above 0)":
            bool(strong and len(consensus) and all(stays_fragmented(r) for r in strong)),
        "Algorithmic bias raises polarisation: with gamma >= 1, the mean pairwise opinion distance is above "
        "gamma = 0's at every eps where gamma = 0 ends in several clusters (paired 95% interval above 0)":
            bool(strong and len(fragmented) and all(gain(r, "distance", fragmented).all() for r in strong)),
        "Convergence slows down dramatically: with gamma >= 1 the mean time to settle is at least 5 times "
        "gamma = 0's at every eps (unsettled runs count at the cap, a lower bound)":
            bool(strong and all((r.time_ratio >= 5).all() for r in strong)),
    }


def _plot(table: pd.DataFrame, path: Path, size: str, max_time: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    panels = [
        ("clusters", "effective number of clusters C", "Fragmentation"),
        ("distance", "mean pairwise opinion distance d", "Polarisation"),
        ("time", "interactions per agent to settle", "Convergence time"),
    ]
    for ax, (col, label, title) in zip(axes, panels):
        for i, (gamma, sub) in enumerate(table.groupby("gamma", sort=True)):
            sub = sub.sort_values("epsilon")
            ax.plot(sub.epsilon, sub[col], "o-", color=f"C{i}", ms=4, label=f"gamma = {gamma:g}")
            if not sub[f"{col}_lo"].isna().all():
                ax.fill_between(sub.epsilon, sub[f"{col}_lo"], sub[f"{col}_hi"], color=f"C{i}", alpha=0.2)
        ax.set_xlabel("confidence bound eps")
        ax.set_ylabel(label)
        ax.set_title(title)
    eps = np.sort(table.epsilon.unique())
    axes[0].plot(eps, [deffuant_clusters(e) for e in eps], "k:", lw=1, label="floor(1/(2 eps))")
    axes[0].set_yscale("log")
    axes[2].axhline(max_time, color="grey", ls="--", lw=0.8, label="cap (unsettled runs)")
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.suptitle(f"Sirbu et al. (PLoS ONE 2019) in feedsim: bounded confidence with algorithmic bias ({size})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

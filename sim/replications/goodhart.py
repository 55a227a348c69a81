"""The Goodhart curve of ranking by predicted likes (LITERATURE.md 4.3, 4.5; validation V6).

Gao, Schulman, Hilton (ICML 2023), "Scaling laws for reward model overoptimization": as a
policy is optimised harder against a learned proxy reward (best-of-n sampling, n rising),
the proxy keeps rising while the true ("gold") reward first rises, then falls, following
``R(d) = d (alpha - beta d)`` with ``d = sqrt(KL_bon)``, ``KL_bon = log n - (n - 1) / n``.
RecSim's long-term-satisfaction environment (choc / kale) and Kleinberg, Mullainathan,
Raghavan (2022) tell the same story for engagement: optimising the engagement proxy buys
engagement at the cost of what users value.

Mapping onto feedsim: the proxy is the value model's like predictor (``value`` with weight on
likes alone; its like model is the platform's "reward model", trained on the observed log),
the gold reward is true utility, and the selection pressure is best-of-n: each feed slot
takes the best of ``n`` candidates drawn at random (with replacement, from the pool's videos
the user has not seen or blocked) by predicted like probability. ``n = 1`` is a random feed.
The same best-of-n on the full value model (like, watch, share, comment, not interested)
is the multi-signal comparison. All pressure levels run in one world at once: a visit of user
``u`` at step ``t`` gets ``n = arms[(u + t) mod k]``, so every level meets the same users,
the same candidate pools and the same trained predictor (within-user rotation, common random
numbers), much as Gao et al. evaluate every n against one proxy reward model. The first
``startup`` steps serve random feeds to everyone, so the predictor first learns from
unbiased exposure (Gao et al.'s proxy is trained on samples of the initial policy).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats

import sim
from sim.feed import candidate_columns, seen_pairs
from sim.metrics.overfit import GoodhartCurve, best_of_n_pressure, goodhart_curve
from sim.recommenders.base import register_recommender
from sim.recommenders.value import ValueModel
from sim.replications import Replication
from sim.replications import mean_interval as _interval

NAME = "goodhart"

#: The base scenario (scenarios/goodhart.toml holds the same fields; a validation test checks it).
#: Its recommender is the like optimiser at full pressure (greedy top-K of the value model's
#: like predictor); the replication swaps in the best-of-n wrapper below.
BASE = {
    "name": "goodhart",
    "description": "Goodhart curve: ranking harder on predicted likes, likes rise faster than true utility.",
    "seed": 0,
    "steps": 40,
    "metrics_every": 10,
    "world": {
        "n_users": 2000,
        "like_bait_creators": 0.15,  # the default like-bait supply, stated explicitly
        "make_agents": False,
    },
    "behaviour": {"like_bait_effect": 1.2},
    "recommender": {
        "name": "value",
        "params": {"w_like": 1.0, "w_watch": 0.0, "w_share": 0.0, "w_comment": 0.0, "w_not_interested": 0.0},
    },
    "feed": {
        # A pool that does not depend on what was liked (newest 40%, the rest a uniform draw):
        # best-of-n draws from one fixed candidate distribution, as Gao et al. sample the initial policy.
        "n_candidates": 1000,
        "fresh_share": 0.4,
        "trending_share": 0.0,
        "followed_share": 0.0,
        "inbox": False,  # shared videos would bypass the ranking and dilute the pressure
        "explain_users": 0,
    },
    "metrics": {"families": ["welfare", "overfit"]},
    "holdout": {"fraction": 0.0},
}

#: The two objectives under pressure: label -> value-model weights.
MODELS = {
    "like optimiser": {"w_like": 1.0, "w_watch": 0.0, "w_share": 0.0, "w_comment": 0.0, "w_not_interested": 0.0},
    "value model": {"w_like": 1.0, "w_watch": 2.0, "w_share": 20.0, "w_comment": 10.0, "w_not_interested": 10.0},
}
LIKE, VALUE = list(MODELS)

SIZES = {
    "full": {"users": 2000, "steps": 40, "startup": 5, "seeds": 4, "arms": [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024]},
    "small": {"users": 1000, "steps": 20, "startup": 4, "seeds": 1, "arms": [1, 4, 16, 64, 256]},
}
#: Like-bait regimes tried for the like optimiser in the full run (world.like_bait_creators,
#: behaviour.like_bait_effect): none, the default, and rare but strong.
BAIT_REGIMES = {"no like-bait": (0.0, 0.0), "default like-bait": (0.15, 1.2), "rare, strong like-bait": (0.02, 4.0)}

BIG = 1.0e4  # score of a best-of-n winner (minus its slot): above any value-model score


@register_recommender("_goodhart_pressure")
class BestOfNPressure(ValueModel):
    """Best-of-n over the value model's score, n rotating over visits (Goodhart replication).

    Each of ``feed_size + reserve`` slots takes the best, by the value model's score, of
    ``n`` candidates drawn uniformly with replacement from the pool's videos the user has
    not seen or blocked (a video already taken by an earlier slot does not count; a slot
    whose draws were all taken gets one fresh uniform draw). The engine then shows the
    first ``feed_size`` winners, in slot order. ``n = 1`` is a random feed; large ``n``
    approaches greedy ranking. A visit of user ``u`` at step ``t`` uses
    ``n = arms[(u + t) mod len(arms)]``; before step ``startup`` every visit uses ``n = 1``.
    The value-model params are those of ``value`` (``w_like`` alone: the like optimiser).
    """

    def __init__(
        self,
        arms: list[Annotated[int, Field(ge=1)]] = [1],  # noqa: B006 - validated and copied
        feed_size: Annotated[int, Field(ge=1)] = 10,
        reserve: Annotated[int, Field(ge=0)] = 3,
        startup: Annotated[int, Field(ge=0)] = 0,
        w_like: Annotated[float, Field(ge=0)] = 1.0,
        w_watch: Annotated[float, Field(ge=0)] = 0.0,
        w_share: Annotated[float, Field(ge=0)] = 0.0,
        w_comment: Annotated[float, Field(ge=0)] = 0.0,
        w_not_interested: Annotated[float, Field(ge=0)] = 0.0,
        prior_strength: Annotated[float, Field(gt=0)] = 5.0,
        half_life: Annotated[float, Field(gt=0)] | None = None,
    ):
        super().__init__(w_like, w_watch, w_share, w_comment, w_not_interested, prior_strength, half_life)
        if not arms:
            raise ValueError("arms: at least one n")
        self.arms = [int(n) for n in arms]
        self.feed_size = feed_size
        self.reserve = reserve
        self.startup = startup

    def n_for(self, users: np.ndarray, step: int) -> np.ndarray:
        """The n of each user's visit at ``step``."""
        users = np.asarray(users, dtype=np.int64)
        if step < self.startup:
            return np.ones(len(users), dtype=np.int64)
        return np.asarray(self.arms, dtype=np.int64)[(users + step) % len(self.arms)]

    @staticmethod
    def eligible(users: np.ndarray, candidates: np.ndarray, view) -> np.ndarray:
        """(users x candidates) True where the engine may show the candidate: not seen, not blocked."""
        users = np.asarray(users, dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)
        out = np.ones((len(users), len(candidates)), dtype=bool)
        if len(users) == 0 or len(candidates) == 0:
            return out
        row_of = np.full(view.n_users, -1, dtype=np.int64)
        row_of[users] = np.arange(len(users))
        since = int(view.upload_step[candidates].min())
        su, sv = seen_pairs(view.log, candidates, since, view.n_videos)
        r = row_of[su]
        rows, cols = candidate_columns(r[r >= 0], sv[r >= 0], candidates, view.n_videos)
        out[rows, cols] = False
        if getattr(view, "controls", None) is not None:
            bu, bc = view.controls.blocked_pairs(candidates, view)
            r = row_of[bu]
            out[r[r >= 0], bc[r >= 0]] = False
        return out

    def _select(self, base: np.ndarray, users, candidates, view) -> np.ndarray:
        b, c = base.shape
        out = np.array(base, dtype=np.float64)
        if b == 0 or c == 0:
            return out
        n_of = self.n_for(users, view.step)
        ok_cell = self.eligible(users, candidates, view)
        n_ok = ok_cell.sum(axis=1)
        order = np.argsort(~ok_cell, axis=1, kind="stable")  # eligible columns first
        slots = self.feed_size + self.reserve
        for n in np.unique(n_of):
            rows = np.flatnonzero((n_of == n) & (n_ok > 0))
            if len(rows) == 0:
                continue
            ar = np.arange(len(rows))
            draws = (self.rng.random((len(rows), slots, int(n))) * n_ok[rows, None, None]).astype(np.int64)
            idx = order[rows[:, None, None], draws]  # (rows, slots, n) pool columns
            vals = base[rows[:, None, None], idx]
            taken = np.zeros((len(rows), c), dtype=bool)
            for k in range(slots):
                v = vals[:, k, :].copy()
                v[taken[ar[:, None], idx[:, k, :]]] = -np.inf
                w = np.argmax(v, axis=1)
                win = idx[ar, k, w]
                lost = ~np.isfinite(v[ar, w])
                if lost.any():  # every draw already taken: one fresh uniform draw among the rest
                    li = np.flatnonzero(lost)
                    keys = self.rng.random((len(li), c))
                    keys[~ok_cell[rows[li]] | taken[li]] = np.inf
                    pick = np.argmin(keys, axis=1)
                    win[li] = pick
                    lost[li] = ~np.isfinite(keys[np.arange(len(li)), pick])
                taken[ar[~lost], win[~lost]] = True
                out[rows[~lost], win[~lost]] = BIG - k
        return out

    def score(self, users, candidates, view):
        base = np.asarray(super().score(users, candidates, view), dtype=np.float64)
        return self._select(base, users, candidates, view)

    def explain(self, user, candidates, view):
        users = np.array([user], dtype=np.int64)
        base = np.asarray(super().score(users, candidates, view), dtype=np.float64)
        total = self._select(base, users, candidates, view)
        return {"predicted value": base[0], "best-of-n selection": total[0] - base[0]}


# -- running ------------------------------------------------------------------------------
def base_scenario(seed: int = 0, users: int = 2000, steps: int = 40, overrides=()) -> sim.Scenario:
    """The replication's scenario (no metric families: the replication measures from the log)."""
    return sim.Scenario.from_dict(
        BASE,
        [f"seed={seed}", f"steps={steps}", f"world.n_users={users}", "metrics.families=[]", "output.figures=false",
         *overrides],
    )


def arm_metrics(model, arms: list[int], startup: int) -> pd.DataFrame:
    """Per pressure level, over impressions from step ``startup`` on: like rate (true likes per
    impression), mean true utility per impression, likes and utility per session (a visit),
    session length (views per visit) and the like-bait share of impressions."""
    log = model.log
    user = log.observed.column("user").astype(np.int64)
    step = log.observed.column("step").astype(np.int64)
    video = log.observed.column("video")
    keep = step >= startup
    user, step, video = user[keep], step[keep], video[keep]
    liked = log.hidden.column("liked_true")[keep].astype(np.float64)
    util = log.hidden.column("utility")[keep].astype(np.float64)
    bait = model.world.videos.latent.column("like_bait")[video] > 0
    arm = (user + step) % len(arms)
    session = user * (int(step.max()) + 1 if len(step) else 1) + step
    rows = []
    for a, n in enumerate(arms):
        s = arm == a
        sessions = len(np.unique(session[s]))
        rows.append({
            "n": n,
            "like_rate": liked[s].mean(),
            "utility": util[s].mean(),
            "likes_per_session": liked[s].sum() / sessions,
            "utility_per_session": util[s].sum() / sessions,
            "session_length": s.sum() / sessions,
            "like_bait_share": bait[s].mean(),
            "impressions": int(s.sum()),
        })
    return pd.DataFrame(rows)


def run_condition(weights: dict, seed: int, cfg: dict, overrides=()) -> pd.DataFrame:
    """One run of best-of-n pressure on the value model with ``weights``; one row per n."""
    scenario = base_scenario(seed, cfg["users"], cfg["steps"], overrides)
    scenario = scenario.with_recommender(
        "_goodhart_pressure", arms=list(cfg["arms"]), feed_size=scenario.feed.feed_size,
        startup=cfg["startup"], **weights,
    )
    result = sim.run(scenario, write=False)
    frame = arm_metrics(result.model, cfg["arms"], cfg["startup"])
    frame.insert(0, "seed", seed)
    return frame


METRICS = ("like_rate", "utility", "likes_per_session", "utility_per_session", "session_length", "like_bait_share")




def summarise(per_seed: pd.DataFrame, label: str) -> pd.DataFrame:
    """Mean and 95% interval over seeds, per n."""
    rows = []
    for n, g in per_seed.groupby("n", sort=True):
        row = {"model": label, "n": int(n), "pressure": float(best_of_n_pressure(n))}
        for key in METRICS:
            m, lo, hi = _interval(g[key])
            row[key] = m
            if key in ("like_rate", "utility", "like_bait_share"):
                row[f"{key}_lo"], row[f"{key}_hi"] = lo, hi
        row["impressions"] = int(g["impressions"].sum())
        row["seeds"] = int(g["seed"].nunique())
        rows.append(row)
    return pd.DataFrame(rows)


def curve_of(table: pd.DataFrame, label: str) -> GoodhartCurve:
    t = table[table["model"] == label].sort_values("n")
    return goodhart_curve(t["pressure"].to_numpy(), t["like_rate"].to_numpy(), t["utility"].to_numpy())


def run(size: str = "full", out: Path | None = None, seed: int = 0) -> Replication:
    """Run the replication; ``size="small"`` is the quick version the validation test runs."""
    cfg = SIZES[size]
    seeds = [seed + i for i in range(cfg["seeds"])]
    start = time.perf_counter()
    per_seed = {label: pd.concat([run_condition(w, s, cfg) for s in seeds]) for label, w in MODELS.items()}
    table = pd.concat([summarise(per_seed[label], label) for label in MODELS], ignore_index=True)
    curves = {label: curve_of(table, label) for label in MODELS}

    regimes = {}
    if size == "full":  # the like optimiser under each like-bait regime, seed by seed
        for regime, (share, effect) in BAIT_REGIMES.items():
            if (share, effect) == (0.15, 1.2):
                frames = per_seed[LIKE]
            else:
                over = [f"world.like_bait_creators={share}", f"behaviour.like_bait_effect={effect}"]
                frames = pd.concat([run_condition(MODELS[LIKE], s, cfg, over) for s in seeds])
            summary = summarise(frames, LIKE)
            per = [
                goodhart_curve(best_of_n_pressure(g["n"]), g["like_rate"].to_numpy(), g["utility"].to_numpy())
                for _, g in frames.groupby("seed")
            ]
            regimes[regime] = {
                "table": summary,
                "curve": goodhart_curve(summary["pressure"], summary["like_rate"], summary["utility"]),
                "seeds_with_fall": int(sum(c.goodhart for c in per)),
                "seeds": len(per),
            }
    wall = time.perf_counter() - start

    like = table[table["model"] == LIKE].set_index("n")
    value = table[table["model"] == VALUE].set_index("n")
    ns = list(like.index)
    top = ns[-1]
    claims = {
        "Likes (the proxy) keep rising as ranking pressure on predicted likes grows "
        "(like rate rises with every step up in best-of-n)": bool(np.all(np.diff(like["like_rate"].to_numpy()) > 0)),
        "True utility first rises, then falls as the pressure grows, while likes still rise "
        "(Gao, Schulman & Hilton 2023: gold reward d(alpha - beta d) under best-of-n)": bool(curves[LIKE].goodhart),
        "Like-bait takes a growing share of what is shown as the pressure grows "
        "(Spearman correlation of like-bait share with n above 0.9)": bool(
            stats.spearmanr(ns, like["like_bait_share"].to_numpy()).statistic > 0.9
        ),
        "A multi-signal value model keeps more true utility than the like optimiser at the same pressure "
        "(every n > 1)": bool((value.loc[ns[1:], "utility"] > like.loc[ns[1:], "utility"]).all()),
    }
    figure = _figure(table, curves, regimes, out, size) if out is not None else None
    fit = curves[LIKE]
    notes = (
        NOTES
        + f" This run: {len(seeds)} seed(s) from {seed}, {cfg['users']} users, {cfg['steps']} steps "
        f"({cfg['startup']} of random start-up), n in {cfg['arms']}, {wall:.0f} s. Like optimiser: utility "
        f"{like['utility'].iloc[0]:+.3f} at n = 1 and {like['utility'].iloc[-1]:+.3f} at n = {top}, "
        f"likes {like['like_rate'].iloc[0]:.3f} -> {like['like_rate'].iloc[-1]:.3f}, like-bait share "
        f"{like['like_bait_share'].iloc[0]:.2f} -> {like['like_bait_share'].iloc[-1]:.2f}; Gao et al.'s form fitted "
        f"to its utility: alpha {fit.alpha:.3f}, beta {fit.beta:.3f}, peak at d = {fit.fitted_peak:.2f} "
        f"(largest d tested {float(best_of_n_pressure(top)):.2f}). Value model at n = {top}: utility "
        f"{value['utility'].iloc[-1]:+.3f}, likes {value['like_rate'].iloc[-1]:.3f}."
    )
    if regimes:
        parts = []
        for k, v in regimes.items():
            u = v["table"]["utility"]
            falls = "falls" if v["curve"].goodhart else "does not fall"
            parts.append(
                f"{k}: {v['seeds_with_fall']} of {v['seeds']}, mean curve {falls} (utility {u.iloc[0]:+.3f} at "
                f"n = 1, peak {v['curve'].peak_utility:+.3f}, {u.iloc[-1]:+.3f} at n = {top})"
            )
        notes += " Like-bait regimes (like optimiser; seeds where utility rose then fell): " + "; ".join(parts) + "."
    extra = {
        "wall_seconds": wall,
        "per_seed": pd.concat([f.assign(model=label) for label, f in per_seed.items()], ignore_index=True),
        "curves": curves,
        "regimes": regimes,
    }
    return Replication(NAME, table, claims, figure, notes, extra=extra)


def _figure(table, curves, regimes, out: Path, size: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {LIKE: "tab:red", VALUE: "tab:blue"}
    panels = 4 if regimes else 3
    fig, axes = plt.subplots(1, panels, figsize=(4.8 * panels, 4.4))
    for label in MODELS:
        t = table[table["model"] == label].sort_values("n")
        d = t["pressure"].to_numpy()
        for ax, key, ylabel in (
            (axes[0], "like_rate", "likes per impression (true)"),
            (axes[1], "utility", "mean true utility per impression"),
            (axes[2], "like_bait_share", "share of impressions with like-bait"),
        ):
            ax.plot(d, t[key], "o-", color=colors[label], label=label)
            lo, hi = t[f"{key}_lo"].to_numpy(), t[f"{key}_hi"].to_numpy()
            if not np.isnan(lo).any():
                ax.fill_between(d, lo, hi, color=colors[label], alpha=0.15, lw=0)
            ax.set_ylabel(ylabel)
        c = curves[label]
        if np.isfinite(c.alpha):
            x = np.linspace(0, d.max(), 100)
            base = t["utility"].to_numpy()
            intercept = float(np.mean(base - (c.alpha * d - c.beta * d**2)))
            axes[1].plot(x, intercept + c.alpha * x - c.beta * x**2, ":", color=colors[label], lw=1)
    for ax, title in zip(axes[:3], ("Proxy: likes", "Gold: true utility (dotted: c + d(alpha - beta d))", "Like-bait")):
        ax.set_xlabel("pressure d = sqrt(log n - (n-1)/n), best-of-n")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        top = ax.secondary_xaxis("top")
        ns = table["n"].unique()
        top.set_xticks(best_of_n_pressure(ns), [str(n) for n in ns], fontsize=7)
    axes[0].legend(fontsize=8)
    if regimes:
        ax = axes[3]
        for (regime, r), color in zip(regimes.items(), ("tab:gray", "tab:red", "tab:purple")):
            t = r["table"].sort_values("n")
            label = f"{regime} (falls in {r['seeds_with_fall']} of {r['seeds']} seeds)"
            ax.plot(t["pressure"], t["utility"], "o-", color=color, label=label)
        ax.set_xlabel("pressure d (best-of-n)")
        ax.set_ylabel("mean true utility per impression")
        ax.set_title("Like optimiser, by like-bait regime", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    seeds = int(table["seeds"].iloc[0])
    fig.suptitle(
        f"Gao, Schulman & Hilton (ICML 2023) on feedsim: best-of-n ranking on predicted likes vs a value model "
        f"({size}, {seeds} seed{'s' if seeds > 1 else ''})"
    )
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{NAME}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


NOTES = (
    "Mapping: the proxy reward is the value model's like predictor (logistic on smoothed video, user, "
    "user x tag and user x creator like rates, refit every step on the observed log), the gold reward is true "
    "utility, and the pressure is best-of-n per feed slot over uniform draws from the user's unseen, unblocked "
    "candidates (n = 1 is a random feed), with d = sqrt(log n - (n - 1)/n) as in Gao et al. Every n runs in the "
    "same world, rotating over visits (user u at step t gets arms[(u + t) mod k]), after a few steps of random "
    "feeds that train the predictor on unbiased exposure; the predictor keeps learning from every arm's "
    "impressions. The pool is the newest 40% plus a uniform draw (no trending or followed share, no inbox), so "
    "the candidates do not depend on what was liked. The value model is the same best-of-n on the value "
    "recommender's default weighted sum (like 1, watch 2, share 20, comment 10, not interested 10). Differences: "
    "Gao et al. fix the proxy and sample text from a policy; here the proxy keeps learning and the candidates "
    "are videos; likes are realised (true) likes; users' satiation and satisfaction carry over between visits "
    "of different arms, so per-arm churn is not measured. Finding: feedsim's like-bait adds a fixed amount to "
    "the like log-odds and nothing to utility, independently of utility. Unless that amount is large against "
    "the spread of utility and bait is rare (the like score's error is then far from log-concave), the expected "
    "utility given the like score rises with the score (Efron 1965, for log-concave utility and error), so "
    "best-of-n utility keeps rising with n. Likes rise faster than utility and like-bait crowds the feed, the "
    "utility gap to the value model widens with pressure, but utility does not fall on average. Tried: like-bait "
    "shares 0.02 to 0.15 with effects 1.2 to 6 (a fall appears only in some worlds with rare, strong bait: the "
    "peak sits where a typical best-of-n draw starts to hold a bait video; see the regimes below), per-user "
    "instead of per-visit arms, trending pools, 20 to 40 steps, and, by patching the engine outside the package, "
    "a utility cost of 0.5 to 1.5 per bait video and a heavy-tailed (Pareto 1.5) bait intensity: utility still "
    "rose, or flattened, on average. The initial rise is small because likes are sparse (about 5% of impressions) "
    "and the like predictor ranks utility weakly, so there is little to give back."
)

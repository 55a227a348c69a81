"""Chaney, Stewart, Engelhardt (RecSys 2018): "How algorithmic confounding in recommendation
systems increases homogeneity and decreases utility" (LITERATURE.md section 1, validation V1).

Published claims checked here: recommenders trained on the data their own recommendations
produced (popularity, content filtering, matrix factorisation, social filtering) make users
consume more alike sets of items than the ideal recommender does, without any gain in
utility; random recommendations homogenise least; under repeated training the gap grows.

The setup maps the paper's simulation onto feedsim (details in ``NOTES``): 100 users, 20
topics, Dirichlet tastes around one Dirichlet hyper-prior, nearly one-topic items, 10 new
items per step, utility = topic match only, 10 start-up steps of random feeds and then 90
steps of repeated training; six recommenders on one world per seed (common random numbers).
Homogenisation is the Jaccard index of consumed (viewed) sets over user pairs
(:func:`sim.metrics.jaccard_homogenization`), relative to the ideal run on the same pairs:
``dH = H_rec - H_ideal`` (:func:`sim.metrics.relative_homogenization`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

import sim
from sim import metrics as M
from sim.recommenders.base import Recommender, make_recommender
from sim.replications import Replication
from sim.replications import mean_interval as _interval
from sim.rng import Streams
from sim.world import World

NAME = "chaney"

#: The base scenario (scenarios/chaney.toml holds the same fields; a validation test checks it).
BASE = {
    "name": "chaney",
    "description": "Chaney et al. (RecSys 2018): feedback-trained recommenders homogenise users.",
    "seed": 0,
    "steps": 100,
    "metrics_every": 10,
    "world": {
        "n_users": 100,
        "n_topics": 20,
        "n_segments": 1,  # one hyper-prior for every user, as in the paper
        "segment_concentration": 1.0,  # mu_rho ~ Dirichlet(1_K) ...
        "taste_concentration": 10.0,  # ... theta_u ~ Dirichlet(10 mu_rho)
        "n_creators": 100,
        "upload_rate": 0.1,  # 100 creators x 0.1 = 10 new items per step (Poisson)
        "upload_rate_sigma": 0.0,
        "niche_concentration": 0.1,  # sparse topic mixes: most items are about one topic
        "video_concentration": 100.0,  # an item's mix is its creator's
        "quality_sd": 0.0,
        "like_bait_creators": 0.0,
        "tag_noise": 0.0,  # content filtering sees the true attributes (top 2 topics)
        "tags_per_video": 2,
        "trend_adoption": 0.0,
        "video_max_age": 1000,  # items never expire
        "make_agents": False,
    },
    "social": {"mean_friends": 5.0, "follow_prob": 0.0},
    "behaviour": {
        # utility is topic match only (Chaney: V_ui = theta_u . beta_i)
        "w_topic": 3.0, "w_quality": 0.0, "w_pace": 0.0, "w_sound": 0.0, "w_length": 0.0,
        "w_satiation": 0.0, "utility_noise": 0.0,
        # the like is the interaction the recommenders learn from: common and steep in utility
        "like_intercept": -1.0, "like_utility": 2.0, "like_bait_effect": 0.0, "like_propensity_sd": 0.0,
        # no shares, comments or "not interested" (not in the paper)
        "share_intercept": -30.0, "comment_intercept": -30.0, "not_interested_intercept": -30.0,
        # attention by position only: slot 2 is reached with probability 2^-0.8 (the paper's
        # rank^-0.8 at rank 2), i.e. session intent 1 / (1 - 2^-0.8) = 2.35 videos
        "session_median": 2.35, "session_sigma": 0.0, "session_utility": 0.0,
        "plasticity_mean": 0.0,  # tastes do not drift in the paper
        # everyone visits every step, nobody leaves
        "visit_prob": 1.0, "visit_satisfaction": 0.0, "churn_intercept": -30.0, "churn_satisfaction": 0.0,
    },
    "recommender": {"name": "mf", "params": {"factors": 20, "refit_every": 1, "prior_weight": 0.0}},
    "feed": {"feed_size": 10, "n_candidates": 5000, "inbox": False, "explain_users": 0},
    "metrics": {"families": ["welfare", "echo"]},
    "holdout": {"fraction": 0.0},
    "output": {"figures": True},
}

#: Attention exponent of the paper's choice rule (T-RECS ``attention_exp``).
ATTENTION_EXP = -0.8

#: label -> (registered name, params); "ideal" is feedsim's oracle.
RECOMMENDERS = {
    "ideal": ("oracle", {}),
    "popularity": ("popularity", {"half_life": 1000.0, "signal": "likes"}),
    "content": (
        "content",
        {"half_life": 1000.0, "pace_weight": 0.0, "length_weight": 0.0, "sound_weight": 0.0, "creator_weight": 0.0},
    ),
    "mf": ("mf", {"factors": 20, "refit_every": 1, "prior_weight": 0.0}),
    "social": ("social", {"half_life": 1000.0, "tie_strength": "none", "max_age": 1000}),
    "random": ("random", {}),
}
CONFOUNDED = ("popularity", "content", "mf", "social")

SIZES = {
    "full": {"seeds": 10, "steps": 100, "startup": 10},
    "small": {"seeds": 2, "steps": 60, "startup": 10},
}


def base_scenario(seed: int = 0, steps: int = 100) -> sim.Scenario:
    """The replication's scenario (no metric families: the replication measures from the log)."""
    return sim.Scenario.from_dict(
        BASE, [f"seed={seed}", f"steps={steps}", "metrics.families=[]", "output.figures=false"]
    )


class _FriendsView:
    """A platform view whose friend graph is replaced (everything else is the real view's)."""

    def __init__(self, view, friends: sp.csr_matrix):
        object.__setattr__(self, "_view", view)
        object.__setattr__(self, "friends", friends)

    def __getattr__(self, name):
        return getattr(self._view, name)


class StartupThenTrain(Recommender):
    """Random feeds for the first ``startup`` steps, then the wrapped recommender.

    The paper's start-up period (``--startup_iters``): every recommender first serves random
    recommendations, then is trained on the data so collected. The wrapped recommender
    observes every step (start-up included) and is refitted as its own schedule says
    (``refit_every = 1`` for mf: repeated training). The start-up order is drawn from a
    generator keyed on (seed, step) only, so every recommender's run has the very same
    start-up feeds. ``friends`` (optional) replaces the friend graph the wrapped recommender
    sees (the paper's social network for social filtering).
    """

    def __init__(self, base: Recommender, startup: int, seed: int, friends: sp.csr_matrix | None = None):
        self.base = base
        self.startup = startup
        self.seed = seed
        self.friends = friends
        self.privileged = base.privileged
        self.name = base.name
        self.steps_seen = 0

    @property
    def rng(self) -> np.random.Generator:
        return self.base.rng

    @rng.setter
    def rng(self, value: np.random.Generator) -> None:
        self.base.rng = value

    def _view(self, view):
        return view if self.friends is None else _FriendsView(view, self.friends)

    def observe(self, events, view) -> None:
        self.base.observe(events, self._view(view))
        self.steps_seen += 1

    def score(self, users, candidates, view):
        if self.steps_seen < self.startup:  # scores at step t follow t observations
            g = np.random.default_rng([self.seed, 7_000_001, self.steps_seen])
            return g.random((view.n_users, len(candidates)))[users]
        return self.base.score(users, candidates, self._view(view))


def taste_network(theta: np.ndarray) -> sp.csr_matrix:
    """The paper's social network: the user x user covariance of true tastes, thresholded
    at the largest value that leaves every user at least one connection."""
    c = np.cov(np.asarray(theta, dtype=np.float64))
    np.fill_diagonal(c, -np.inf)
    threshold = c.max(axis=1).min()
    a = c >= threshold
    a = a | a.T
    return sp.csr_matrix(a.astype(np.float32))




def _run_seed(seed: int, steps: int, startup: int, checkpoints: np.ndarray) -> dict:
    """Six recommenders on one world. Per recommender: homogenisation curves over random
    pairs and over true-taste neighbours, the final homogenisation relative to the ideal run
    over the pairs the recommender's own representation makes, mean true utility after
    start-up, the like rate and views per step."""
    scenario = base_scenario(seed, steps)
    world = World(scenario, Streams.from_seed(seed).world)  # the world every run below builds
    theta = world.users.taste0
    n_users = world.users.n
    friends = taste_network(theta)
    random_pairs = M.random_user_pairs(n_users, M.CHANEY_RANDOM_PAIRS, seed)
    taste_pairs = M.nearest_neighbour_pairs(theta, "cosine", seed)
    out, consumed, own_pairs = {}, {}, {}
    for label, (name, params) in RECOMMENDERS.items():
        rec = StartupThenTrain(
            make_recommender(name, params), startup, seed, friends if name == "social" else None
        )
        result = sim.run(scenario, recommender=rec, write=False)
        model, log = result.model, result.model.log
        if not np.array_equal(model.world.users.taste0, theta):  # the network and pairs were built on it
            raise RuntimeError("chaney: the run's world differs from the one built from its seed")
        user, video = log.observed.column("user"), log.observed.column("video")
        step = log.observed.column("step")
        n_videos = model.world.videos.n
        h_random, h_taste = [], []
        for t in checkpoints:
            upto = step <= t
            d = M.consumption_matrix(user[upto], video[upto], n_users, n_videos)
            h_random.append(M.jaccard_homogenization(d, random_pairs))
            h_taste.append(M.jaccard_homogenization(d, taste_pairs))
        consumed[label] = M.consumption_matrix(user, video, n_users, n_videos)
        # The recommender's own user representation at the end: its scores over the whole
        # catalogue (mf: x_u . Y; content: profile matches; popularity: one row for all,
        # so its "most similar" users are random; ideal: true utility).
        view = model.oracle_view if rec.privileged else model.view
        rep = np.asarray(rec.score(np.arange(n_users), np.arange(n_videos), view), dtype=np.float64)
        own_pairs[label] = M.nearest_neighbour_pairs(rep, "cosine", seed)
        utility = log.hidden.column("utility")
        post = step >= startup
        out[label] = {
            "h_random": np.array(h_random),
            "h_taste": np.array(h_taste),
            "utility": float(utility[post].mean()),
            "like_rate": float(log.hidden.column("liked_true")[post].mean()),
            "views_per_step": len(user) / (n_users * steps),
        }
    topics = model.world.videos.latent.column("topics")
    for label in RECOMMENDERS:  # the same pairs for the recommender's run and the ideal run
        pairs = own_pairs[label]
        out[label]["dH_similar"] = M.relative_homogenization(
            M.jaccard_homogenization(consumed[label], pairs), M.jaccard_homogenization(consumed["ideal"], pairs)
        )
        out[label]["d_distance"] = M.mean_interaction_distance(
            consumed[label], topics, random_pairs
        ) - M.mean_interaction_distance(consumed["ideal"], topics, random_pairs)
    return out


def run(size: str = "full", out: Path | None = None, seed: int = 0) -> Replication:
    """Run the replication; ``size="small"`` is the quick version the validation test runs."""
    cfg = SIZES[size]
    steps, startup = cfg["steps"], cfg["startup"]
    checkpoints = np.arange(startup - 1, steps)  # from the last start-up step on
    start = time.perf_counter()
    runs = [_run_seed(seed + i, steps, startup, checkpoints) for i in range(cfg["seeds"])]
    wall = time.perf_counter() - start

    def relative(label: str, key: str) -> np.ndarray:  # seeds x checkpoints
        return np.stack([M.relative_homogenization(r[label][key], r["ideal"][key]) for r in runs])

    mid = len(checkpoints) // 2
    rows, curves = [], {}
    for label in RECOMMENDERS:
        d_random, d_taste = relative(label, "h_random"), relative(label, "h_taste")
        curves[label] = (d_random, d_taste)
        row = {"recommender": label, "seeds": len(runs)}
        for key, values in (
            ("dH_random", d_random[:, -1]),
            ("dH_similar", [r[label]["dH_similar"] for r in runs]),
            ("dH_taste", d_taste[:, -1]),
            ("dU", [r[label]["utility"] - r["ideal"]["utility"] for r in runs]),
        ):
            m, lo, hi = _interval(values)
            row.update({key: m, f"{key}_lo": lo, f"{key}_hi": hi})
        row["dH_random_mid"] = float(d_random[:, mid].mean())
        row["d_distance"] = float(np.mean([r[label]["d_distance"] for r in runs]))
        row["H_random"] = float(np.mean([r[label]["h_random"][-1] for r in runs]))
        row["utility"] = float(np.mean([r[label]["utility"] for r in runs]))
        row["like_rate"] = float(np.mean([r[label]["like_rate"] for r in runs]))
        row["views_per_step"] = float(np.mean([r[label]["views_per_step"] for r in runs]))
        rows.append(row)
    table = pd.DataFrame(rows)
    by = table.set_index("recommender")
    confounded = list(CONFOUNDED)
    not_random = [k for k in RECOMMENDERS if k != "random"]
    claims = {
        "Feedback-trained recommenders (popularity, content, MF, social) homogenise user behaviour "
        "more than the ideal recommender (change in Jaccard index > 0, random user pairs)": bool(
            (by.loc[confounded, "dH_random"] > 0).all()
        ),
        "They homogenise the behaviour of similar users more than the ideal recommender (change in "
        "Jaccard index > 0, each user paired with the most similar user in the recommender's representation)": bool(
            (by.loc[confounded, "dH_similar"] > 0).all()
        ),
        "Homogenisation comes without gains in utility (mean true utility <= ideal's)": bool(
            (by.loc[confounded, "dU"] <= 0).all()
        ),
        "Random recommendations homogenise least (lowest change in Jaccard index, random pairs)": bool(
            (by.loc["random", "dH_random"] < by.loc[not_random, "dH_random"]).all()
        ),
        "Under repeated training homogenisation relative to ideal grows over time "
        "(mean over the four at the end > half way through training)": bool(
            by.loc[confounded, "dH_random"].mean() > by.loc[confounded, "dH_random_mid"].mean()
        ),
    }
    figure = _figure(curves, checkpoints, table, out, size) if out is not None else None
    notes = NOTES + f" This run: {len(runs)} seed(s) from {seed}, {steps} steps, {wall:.0f} s."
    return Replication(NAME, table, claims, figure, notes, extra={"wall_seconds": wall, "checkpoints": checkpoints})


def _figure(curves, checkpoints, table, out: Path, size: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {
        "ideal": "black", "popularity": "tab:red", "content": "tab:green", "mf": "tab:blue",
        "social": "tab:purple", "random": "tab:gray",
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    x = checkpoints + 1
    for ax, which, title in (
        (axes[0], 0, "random user pairs"),
        (axes[1], 1, "each user and the most similar by true taste"),
    ):
        for label, pair in curves.items():
            y = pair[which]
            m = y.mean(axis=0)
            ax.plot(x, m, color=colors[label], label=label)
            if len(y) > 1:
                half = stats.t.ppf(0.975, len(y) - 1) * y.std(axis=0, ddof=1) / np.sqrt(len(y))
                ax.fill_between(x, m - half, m + half, color=colors[label], alpha=0.15, lw=0)
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(checkpoints[0] + 1, color="gray", ls=":", lw=1)
        ax.set_xlabel("step (dotted: end of random start-up)")
        ax.set_ylabel("change in Jaccard index vs ideal")
        ax.set_title(f"Homogenisation, {title}")
    axes[0].legend(fontsize=8)
    ax = axes[2]
    labels = list(table["recommender"])
    m = table["dU"].to_numpy()
    err = np.vstack([m - table["dU_lo"].to_numpy(), table["dU_hi"].to_numpy() - m])
    ax.bar(labels, m, color=[colors[k] for k in labels], yerr=None if np.isnan(err).any() else err, capsize=3)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("mean true utility minus ideal's")
    ax.set_title("Utility after start-up (95% interval over seeds)")
    fig.suptitle(
        f"Chaney, Stewart & Engelhardt (RecSys 2018) on feedsim: algorithmic confounding homogenises users "
        f"({size}, {int(table['seeds'].iloc[0])} seeds)"
    )
    fig.tight_layout()
    path = out / f"{NAME}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


NOTES = (
    "Mapping: 100 users, 20 topics; one segment whose centroid is Dirichlet(1) and tastes "
    "Dirichlet(10 x centroid) (the paper's mu_rho = 10 Dirichlet(1), theta ~ Dirichlet(mu_rho), plus feedsim's "
    "0.01 smoothing); items nearly one-topic (niche concentration 0.1, video concentration 100: a video takes its "
    "creator's sparse mix; the paper's items are Dirichlet(0.1 x near-uniform)); 100 creators uploading 0.1 "
    "videos per step (10 new items per step on average, Poisson); no quality, pace, sound, length, satiation or "
    "noise terms, so true utility is the topic match w_topic (cos(theta, beta) - c0), a cosine where the paper "
    "has a dot product and no 2% perception noise; tastes fixed; items never expire; every user visits every step. "
    "Choice: the paper's users consume one item per step, argmax rank^-0.8 x utility; feedsim's users scroll the "
    "feed from the top, so attention falls with position only (session_utility 0): the session intent 2.35 "
    "makes the chance of reaching slot 2 equal to 2^-0.8 = 0.57, the paper's attention at rank 2 relative to "
    "rank 1, and the chance of reaching slot k is 0.57^(k-1) (geometric, steeper than k^-0.8), about 2.3 views "
    "per step, so users consume about 23% of the catalogue where the paper's consume 10%. Users do not choose by "
    "utility, so the like (common, steep in utility: intercept -1, slope 2) is the interaction recommenders "
    "learn from. Training: 10 start-up steps of random feeds, identical across recommenders (a generator keyed on "
    "seed and step), then repeated training (mf refitted every step with 20 factors and no popularity prior; "
    "popularity, content and social update every step and never forget: half-lives of 1000 steps). Content "
    "filtering uses the true top-2 topics as tags (tag noise 0) and no pace, length, sound or creator blocks. "
    "Social filtering uses the paper's network, the users' taste covariance thresholded at the largest value "
    "that leaves everyone a connection (feedsim's friend graph, a block model over segments, would be random "
    "with one segment); shares are off. Homogenisation is the Jaccard index of viewed sets, relative to the "
    "ideal (oracle) run on the same pairs: 800 random pairs; each user with the most similar user in the "
    "recommender's own representation, as the paper's code does (here the recommender's final scores over the "
    "whole catalogue, so popularity and random pair users at random; computed at the end only); and each user "
    "with the most similar user by true taste (the same pairs for every recommender; shown over time). "
    "Utility is the mean true utility of impressions after start-up. The companion distance (d_distance: "
    "mean distance between paired users' average consumed topic mix, relative to ideal) is reported but not "
    "claimed: random consumption averages every user toward the catalogue's mean mix, so it ranks random "
    "among the most homogenising. Conditions share the world and every step's random draws "
    "(common random numbers); intervals are 95% t-intervals over seeds."
)

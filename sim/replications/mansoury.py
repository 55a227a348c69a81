"""Mansoury, Abdollahpouri, Pechenizkiy, Mobasher, Burke (CIKM 2020): "Feedback loop and bias
amplification in recommender systems" (LITERATURE.md 2.4, validation V5).

Published claims checked here: when a collaborative recommender is retrained, round after
round, on the feedback its own recommendations produced, the average popularity of what it
recommends rises, exposure concentrates (Gini) and aggregate diversity (catalogue coverage)
falls, and these effects are stronger for a minority group of users.

The setup maps the paper's offline loop onto feedsim (details in ``NOTES``): after a start-up
period of random feeds (the initial rating data), matrix factorisation (``mf``) and user-based
collaborative filtering (``user_knn``) are refitted every ``ROUND_STEPS`` steps; each refit
opens a retraining round. Users accept recommendations stochastically (they view the top of
the feed and like with a probability that grows with true utility); likes are what the
recommenders learn from. Per round, on the window of the log that round's model served, the
functions of :mod:`sim.metrics` give exposure Gini, catalogue coverage and ARP, overall and
for the minority and majority groups. A random feed on the same world and seed (common random
numbers) is the no-feedback control; every claim asks for a change beyond it, in every seed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import metrics as M
from sim.recommenders.base import make_recommender
from sim.replications import Replication
from sim.replications import mean_interval as _interval
from sim.replications.chaney import StartupThenTrain

NAME = "mansoury"

#: Steps between refits: one retraining round.
ROUND_STEPS = 5

#: Start-up steps of random feeds (the initial rating data): 6 rounds' worth plus one, so that
#: the refit at the end of the last start-up step serves round 1.
STARTUP = 6 * ROUND_STEPS + 1

#: The base scenario (scenarios/mansoury.toml holds the same fields; a validation test checks it).
BASE = {
    "name": "mansoury",
    "description": "Mansoury et al. (CIKM 2020): retraining on its own feedback concentrates exposure.",
    "seed": 0,
    "steps": STARTUP + 14 * ROUND_STEPS,
    "metrics_every": ROUND_STEPS,
    "world": {
        "n_users": 1000,
        "n_segments": 2,  # a minority and a majority segment, of ML-1M's gender split (28% / 72%)
        "segment_shares": [0.28, 0.72],
        "n_creators": 200,
        "upload_rate": 0.5,  # about 100 new videos per step ...
        "video_max_age": 1000,  # ... that never expire: a catalogue that accumulates, as rating data does
        "trend_adoption": 0.0,  # creators keep their niches: the catalogue's topic mix is stable
        "make_agents": False,
    },
    "behaviour": {"plasticity_mean": 0.0},  # users' true tastes stay put (the paper's users are data)
    "recommender": {"name": "mf", "params": {"refit_every": ROUND_STEPS}},
    "feed": {"feed_size": 10, "n_candidates": 20000, "inbox": False, "explain_users": 0},
    "metrics": {"families": ["amplification"]},
    "holdout": {"fraction": 0.0},
    "output": {"figures": True},
}

#: label -> (registered name, params); "random" is the no-feedback control.
RECOMMENDERS = {
    "mf": ("mf", {"refit_every": ROUND_STEPS}),
    "user_knn": ("user_knn", {"refit_every": ROUND_STEPS}),
    "random": ("random", {}),
}
LOOPS = ("mf", "user_knn")

SIZES = {
    "full": {"seeds": 5, "n_users": 1000, "rounds": 14},
    "small": {"seeds": 2, "n_users": 500, "rounds": 6},
}

#: Per-round metrics; the sign each one's change takes when exposure concentrates.
METRICS = {"arp": +1, "gini": +1, "coverage": -1}
GROUPS = ("minority", "majority")


def base_scenario(seed: int = 0, steps: int = BASE["steps"], n_users: int = 1000) -> sim.Scenario:
    """The replication's scenario (no metric families: the replication measures from the log)."""
    return sim.Scenario.from_dict(
        BASE,
        [f"seed={seed}", f"steps={steps}", f"world.n_users={n_users}", "metrics.families=[]", "output.figures=false"],
    )


def round_windows(rounds: int, startup: int = STARTUP) -> list[tuple[int, int]]:
    """(first, last) step of each round: round k (1-based) is served by the refit made at the
    end of step ``startup - 1 + (k - 1) * ROUND_STEPS`` (mf and user_knn refit every
    ``ROUND_STEPS`` steps from step 0)."""
    return [(startup + k * ROUND_STEPS, startup + (k + 1) * ROUND_STEPS - 1) for k in range(rounds)]


def _available(upload: np.ndarray, a: int, b: int, max_age: int) -> np.ndarray:
    """Videos eligible at some step of the window [a, b]."""
    return (upload <= b) & (upload > a - max_age)


def _thinned_exposure(rng, shown: np.ndarray, available: np.ndarray, density: float) -> tuple[float, float]:
    """Gini and coverage over the available videos of ``density * |available|`` impressions
    drawn without replacement from ``shown``."""
    n = min(len(shown), int(round(density * available.sum())))
    thin = rng.choice(shown, size=n, replace=False)
    return (
        M.gini(np.bincount(thin, minlength=len(available))[available]),
        M.catalogue_coverage(thin, len(available), available),
    )


def round_metrics(
    model, windows, minority: np.ndarray, majority: np.ndarray, density: float, group_density: float, sample_seed: int
):
    """Per round, over the impressions of the window its model served.

    The paper's catalogue is fixed; feedsim's grows every step, and a fixed volume of
    impressions spread over a growing catalogue is by itself more unequal (sparser counts)
    and covers less of it. So Gini and coverage are taken at one density of exposure: over
    the videos available in the round, on ``density`` impressions per available video drawn
    without replacement from the window (the same density in every round and for every
    recommender), so that random feeds give the same Gini and coverage in every round up to
    sampling noise; ``gini_raw`` and ``coverage_raw`` use every impression. Per group (two
    groups of as many users: the exposure of a group's feeds spreads with its number of
    users), the same at ``group_density``. ARP uses every impression, with popularity =
    the share of users who liked the video before the round.
    """
    log, world = model.log, model.world
    user, video = log.observed.column("user"), log.observed.column("video")
    step, liked = log.observed.column("step"), log.observed.column("liked")
    upload = world.videos.catalog.column("upload_step")
    n_users, n_videos = world.users.n, world.videos.n
    in_group = {"minority": minority[user], "majority": majority[user]}
    rng = np.random.default_rng(sample_seed)
    rows = []
    for k, (a, b) in enumerate(windows, start=1):
        w = (step >= a) & (step <= b)
        available = _available(upload, a, b, model.config.world.video_max_age)
        before = (step < a) & liked
        phi = M.item_popularity(user[before], video[before], n_videos, n_users)
        gini, coverage = _thinned_exposure(rng, video[w], available, density)
        row = {
            "round": k,
            "arp": M.average_recommendation_popularity(user[w], video[w], phi),
            "gini": gini,
            "coverage": coverage,
            "gini_raw": M.gini(np.bincount(video[w], minlength=n_videos)[available]),
            "coverage_raw": M.catalogue_coverage(video[w], n_videos, available),
        }
        for name, mask in in_group.items():
            g = w & mask
            gini, coverage = _thinned_exposure(rng, video[g], available, group_density)
            row.update(
                {
                    f"arp_{name}": M.average_recommendation_popularity(user[g], video[g], phi),
                    f"gini_{name}": gini,
                    f"coverage_{name}": coverage,
                }
            )
        row.update(
            {
                "catalogue": int(available.sum()),
                "impressions": int(w.sum()),
                "like_rate": float(log.hidden.column("liked_true")[w].mean()),
                "utility": float(log.hidden.column("utility")[w].mean()),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _run_seed(seed: int, n_users: int, rounds: int) -> pd.DataFrame:
    """The three recommenders on one world; their per-round metrics."""
    scenario = base_scenario(seed, STARTUP + rounds * ROUND_STEPS, n_users)
    windows = round_windows(rounds)
    models = {}
    for label, (name, params) in RECOMMENDERS.items():
        rec = StartupThenTrain(make_recommender(name, params), STARTUP, seed)
        models[label] = sim.run(scenario, recommender=rec, write=False).model
    segment = models["random"].world.users.segment  # the same world in every run
    sizes = np.bincount(segment, minlength=scenario.world.n_segments)
    minority = segment == int(np.argmin(sizes))
    # The majority's side: as many users, drawn from the largest segment. Both sides are one
    # segment each (a group's exposure depends on its number of users and on how alike their
    # tastes are), and they differ in how much of the data their segment makes.
    majority = np.zeros(len(segment), dtype=bool)
    largest = np.flatnonzero(segment == int(np.argmax(sizes)))
    majority[np.random.default_rng([seed, 5]).choice(largest, int(minority.sum()), replace=False)] = True
    upload = models["random"].world.videos.catalog.column("upload_step")
    max_age = scenario.world.video_max_age
    # One density of exposure for every round and recommender (and one per group): the
    # fewest impressions per available video any of them made in a round.
    density, group_density = np.inf, np.inf
    for model in models.values():
        step, user = model.log.observed.column("step"), model.log.observed.column("user")
        for a, b in windows:
            w = (step >= a) & (step <= b)
            size = _available(upload, a, b, max_age).sum()
            density = min(density, w.sum() / size)
            for mask in (minority[user], majority[user]):
                group_density = min(group_density, (w & mask).sum() / size)
    frames = []
    for label, model in models.items():
        df = round_metrics(model, windows, minority, majority, density, group_density, sample_seed=seed)
        df.insert(0, "recommender", label)
        df.insert(1, "seed", seed)
        df["minority_share"] = float(minority.mean())
        df["majority_segment_share"] = float(sizes.max() / sizes.sum())
        df["density"] = density
        df["group_density"] = group_density
        frames.append(df)
    return pd.concat(frames, ignore_index=True)




def _change(y) -> float:
    """Change from the first round to the last."""
    y = np.asarray(y, dtype=np.float64)
    return float(y[-1] - y[0])


def run(size: str = "full", out: Path | None = None, seed: int = 0) -> Replication:
    """Run the replication; ``size="small"`` is the quick version the validation test runs."""
    cfg = SIZES[size]
    start = time.perf_counter()
    per_round = pd.concat(
        [_run_seed(seed + i, cfg["n_users"], cfg["rounds"]) for i in range(cfg["seeds"])], ignore_index=True
    )
    wall = time.perf_counter() - start
    series = {key: g.sort_values("round") for key, g in per_round.groupby(["recommender", "seed"], sort=False)}
    seeds = sorted(per_round["seed"].unique())

    def per_seed(label: str, column: str, fn) -> np.ndarray:
        return np.array([fn(series[(label, s)][column]) for s in seeds])

    rows, evidence = [], {}
    for label in RECOMMENDERS:
        row = {"recommender": label, "seeds": len(seeds), "rounds": cfg["rounds"]}
        for metric, sign in METRICS.items():
            row[f"{metric}_first"] = float(per_seed(label, metric, lambda y: y.iloc[0]).mean())
            row[f"{metric}_last"] = float(per_seed(label, metric, lambda y: y.iloc[-1]).mean())
            change = per_seed(label, metric, _change)
            m, lo, hi = _interval(change)
            row.update({f"{metric}_change": m, f"{metric}_change_lo": lo, f"{metric}_change_hi": hi})
            # paired with the random control of the same seed (same world, same draws)
            beyond = (change - per_seed("random", metric, _change)) * sign
            evidence[(label, metric)] = beyond
            row[f"{metric}_beyond_random"] = float(beyond.mean())
            # the minority's change beyond the majority's, in the direction of concentration
            minority = per_seed(label, f"{metric}_minority", _change)
            gap = (minority - per_seed(label, f"{metric}_majority", _change)) * sign
            evidence[(label, f"{metric}_minority")] = gap
            for part in GROUPS:
                row[f"{metric}_change_{part}"] = float(per_seed(label, f"{metric}_{part}", _change).mean())
            m, lo, hi = _interval(gap)
            row.update({f"{metric}_minority_gap": m, f"{metric}_minority_gap_lo": lo, f"{metric}_minority_gap_hi": hi})
        for metric in ("gini_raw", "coverage_raw"):
            row[f"{metric}_first"] = float(per_seed(label, metric, lambda y: y.iloc[0]).mean())
            row[f"{metric}_last"] = float(per_seed(label, metric, lambda y: y.iloc[-1]).mean())
        row["minority_share"] = float(per_seed(label, "minority_share", lambda y: y.iloc[0]).mean())
        row["majority_segment_share"] = float(per_seed(label, "majority_segment_share", lambda y: y.iloc[0]).mean())
        row["utility"] = float(per_seed(label, "utility", np.mean).mean())
        row["like_rate"] = float(per_seed(label, "like_rate", np.mean).mean())
        rows.append(row)
    table = pd.DataFrame(rows)

    def every_seed(*keys: str) -> bool:
        """For both loops and in every seed, each piece of evidence is positive."""
        return bool(all((evidence[(label, key)] > 0).all() for label in LOOPS for key in keys))

    claims = {
        "The feedback loop amplifies popularity bias: the average popularity of recommended items rises "
        "over retraining rounds (MF and UserKNN, more than under random feeds, in every seed)": every_seed("arp"),
        "Exposure concentrates: the Gini index of exposure rises over retraining rounds "
        "(MF and UserKNN, more than under random feeds, in every seed)": every_seed("gini"),
        "Aggregate diversity declines: catalogue coverage falls over retraining rounds "
        "(MF and UserKNN, more than under random feeds, in every seed)": every_seed("coverage"),
        "The effect is stronger for the minority group (the 28% segment, against as many users of the 72% "
        "one): average popularity and Gini rise more and coverage falls more (MF and UserKNN, in every seed)":
            every_seed("arp_minority", "gini_minority", "coverage_minority"),
        "Popularity bias is amplified more for the minority group under UserKNN: the average popularity of what "
        "it is recommended rises more than the majority's, in every seed":
            bool((evidence[("user_knn", "arp_minority")] > 0).all()),
    }
    figure = _figure(per_round, table, out, size) if out is not None else None
    notes = NOTES + (
        f" This run: {len(seeds)} seed(s) from {seed}, {cfg['n_users']} users, {STARTUP} start-up steps, then "
        f"{cfg['rounds']} rounds of {ROUND_STEPS} steps; the minority segment holds "
        f"{100 * table['minority_share'].iloc[0]:.1f}% of users on average (28% expected); {wall:.0f} s."
    )
    return Replication(NAME, table, claims, figure, notes, extra={"per_round": per_round, "wall_seconds": wall})


def _figure(per_round: pd.DataFrame, table: pd.DataFrame, out: Path, size: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"mf": "tab:blue", "user_knn": "tab:orange", "random": "tab:gray"}
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.4))
    panels = (
        ("arp", "ARP: share of users who liked the item before"),
        ("gini", "exposure Gini (equal exposure density)"),
        ("coverage", "catalogue coverage (equal exposure density)"),
    )
    for ax, (metric, ylabel) in zip(axes, panels):
        for label, g in per_round.groupby("recommender", sort=False):
            mean = g.groupby("round")[metric].mean()
            ax.plot(mean.index, mean.to_numpy(), marker="o", ms=3, color=colors[label], label=label)
            if metric in ("gini", "coverage"):
                raw = g.groupby("round")[f"{metric}_raw"].mean()
                ax.plot(raw.index, raw.to_numpy(), ls=":", color=colors[label], lw=1)
        ax.set_xlabel("retraining round")
        ax.set_ylabel(ylabel)
        ax.set_title(metric.upper() if metric == "arp" else metric.capitalize())
    axes[0].legend(fontsize=8, title="dotted: all impressions", title_fontsize=7, loc="center right")
    ax = axes[3]
    for label in LOOPS:
        g = per_round[per_round.recommender == label]
        for part, ls in (("minority", "-"), ("majority", "--")):
            mean = g.groupby("round")[f"arp_{part}"].mean()
            ax.plot(mean.index, mean.to_numpy(), ls=ls, color=colors[label], label=f"{label}, {part}")
    ax.set_xlabel("retraining round")
    ax.set_ylabel("ARP of the group's recommendations")
    ax.set_title("Minority segment (28%) vs as many users of the majority (72%)")
    ax.legend(fontsize=8)
    fig.suptitle(
        f"Mansoury et al. (CIKM 2020) on feedsim: the feedback loop amplifies popularity bias "
        f"({size}, mean of {int(table['seeds'].iloc[0])} seed(s))"
    )
    fig.tight_layout()
    path = out / f"{NAME}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


NOTES = (
    "Mapping: the paper iterates on MovieLens-1M: recommend a top-10 list to every user, users accept items with "
    "some probability, accepted items join the rating data, the model is retrained. Here users in 8 audience "
    "segments get a 10-slot feed every step; they view its top (about 6 slots) and like with a probability "
    "rising with true utility; likes are the data mf (implicit ALS) and user_knn learn from, and each refit "
    "(every 5 steps) opens a retraining round. The initial rating data is a 31-step start-up of random feeds, "
    "the same for every recommender; the refit at its last step serves round 1. The paper's catalogue is fixed; "
    "feedsim's creators upload every step (about 100 videos), so the catalogue accumulates (videos never "
    "expire, creators do not chase trends, tastes do not drift). A fixed volume of impressions over a growing "
    "catalogue is by itself more unequal and covers less of it, so Gini and coverage are measured at one "
    "density of exposure (impressions drawn without replacement so that every round has the same number per "
    "available video; the raw values are in gini_raw and coverage_raw), and a random feed on the same world is "
    "the no-feedback control: each claim asks for a change from the first round to the last beyond the "
    "control's, in every seed. Metrics are on impressions (viewed slots), not whole top-10 lists; popularity is "
    "the share of users who liked the video before the round. The minority: the paper's minority (female users) "
    "is 28% of ML-1M against a majority of 72%; here the world has two audience segments of 28% and 72% of users "
    "(`world.segment_shares`; creators' home segments in the same shares), and the majority side is as many "
    "users drawn from the 72% segment: one segment each, of equal numbers, since a group's exposure Gini and "
    "coverage depend on its number of users and on how alike their tastes are; they differ in how much of the "
    "data their segment makes. Finding (5 seeds, 1,000 users, 14 rounds): the minority's ARP rises more than "
    "the majority's under user_knn in every seed (gap +0.017, interval +0.004 to +0.030) and under mf on "
    "average (+0.002, interval -0.001 to +0.005; 4 of 5 seeds), but its exposure Gini rises less and its "
    "coverage falls less under both (gaps -0.009 and -0.005 to -0.009, intervals below 0): the popularity-bias "
    "part of the claim holds for user_knn, the exposure part does not. With 8 equal-chance segments (the "
    "smallest about 11%, the largest about 15%) every gap's interval straddled 0; with 8 segments of which one "
    "holds 5%, user_knn's ARP gap was positive and mf's negative (2 seeds). mf's ARP "
    "rises round after round; user_knn's jumps within three rounds and then partly relaxes as users run out of "
    "their neighbours' liked videos. Also tried, not claimed: the hidden "
    "trait at 15% prevalence as the minority (a taste-based group; 3 seeds: ARP rose more for it in 3 of 6 "
    "runs), 11 instead of 31 start-up steps (user_knn's exposure is then nearly saturated from round 1), "
    "videos expiring after 20 steps (a transient, then a plateau), and per-round taste shift and homogenisation "
    "(dominated by the size of each user's like sample and by users exhausting the videos they match)."
)

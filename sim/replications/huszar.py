"""Huszar, Ktena, O'Brien, Belli, Schlaikjer, Hardt (PNAS 2022): "Algorithmic amplification
of politics on Twitter" (LITERATURE.md 2.1, validation V4).

Published claims checked here: against a randomly held-out control group served a
reverse-chronological feed, the personalised ranking amplifies most content groups (the
amplification ratio ``a > 0``); amplification is unequal across groups (the paper: the
mainstream right more than the left in six of seven countries); and it varies widely across
individual accounts, some below 0%, others several hundred percent above.

The setup: one world per seed; 20% of users are the control group (``holdout.fraction =
0.2``, so the treatment is four times the control, as in the paper) on the chronological feed
(followed creators first, then newest); the other 80% get the personalised ranker. The
headline ranker is implicit-feedback matrix factorisation trained on likes (``mf``), an
engagement-trained ranker like the paper's; the trending feed (``popularity``), a
content-based feed (``content``) and a multi-signal value model (``value``) are also run on
the same world (common random numbers), and so is an A/A placebo (the chronological feed in
both arms), whose amplification should be 0 up to noise. Amplification of a group of videos
on day ``d`` uses the paper's reach sets (:func:`sim.metrics.group_reach`); the days are
pooled: ``a = (sum_d R_T,d + 1) / ((N_T / N_C) sum_d R_C,d + 1) - 1``
(:func:`sim.metrics.amplification_ratio`), ``R_T,d`` the treatment users the group reached on
day ``d``. Groups: each creator (the paper's individual legislators), the creators' home
segments (the paper's parties), public topic tags and sounds, and like-bait against other
creators (the "outrage vs calm" contrast of V4).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import metrics as M
from sim.replications import Replication
from sim.replications import mean_interval as _interval

NAME = "huszar"

#: The base scenario (scenarios/huszar.toml holds the same fields; a validation test checks it).
BASE = {
    "name": "huszar",
    "description": (
        "Huszar et al. (PNAS 2022): a personalised ranker amplifies content against a chronological holdout."
    ),
    "seed": 0,
    "steps": 60,
    "metrics_every": 20,
    "world": {"n_users": 4000, "make_agents": False},
    "recommender": {"name": "mf", "params": {}},
    "feed": {"explain_users": 0},
    "metrics": {"families": ["amplification"]},
    # 20% control: |U_treatment| = 4 |U_control|, as in the paper
    "holdout": {"fraction": 0.2, "recommender": {"name": "chronological", "params": {"followed_first": True}}},
}

#: Run sizes: the recommenders compared, the seeds, and the world.
SIZES = {
    "small": {
        "n_users": 2000, "steps": 40, "seeds": 3,
        "recommenders": ("chronological", "mf"),
    },
    "full": {
        "n_users": 4000, "steps": 60, "seeds": 3,
        "recommenders": ("chronological", "popularity", "mf", "content", "value"),
    },
}

#: The ranker whose numbers the claims are checked on.
HEADLINE = "mf"

NOTES = (
    "Twitter's control group saw followed accounts' tweets in reverse-chronological order; "
    "feedsim's control gets the chronological recommender on the shared candidate pool "
    "(followed creators' videos first, then the newest), and shares from friends reach both "
    "arms through the inbox. A linger impression (50% of a tweet visible for 500 ms) maps to "
    "any viewed slot (every logged impression; a skip is a play under 3 s, longer than a "
    "linger). A day is a step; the first quarter of the steps is a burn-in (the ranker's "
    "first fits), and the reach of the remaining days is pooled per group, which keeps small "
    "creators' ratios stable (the paper defines the ratio a_d for one day). N_T / N_C is "
    "the realised ratio of the two arms (about 4). Groups stand in for the paper's: creators "
    "for legislators, creators' home segments for parties, tags and sounds for content "
    "groups; like-bait creators against the others for an 'outrage vs calm' contrast. Reach "
    "is bounded by attention here (a few videos per visit), so a ranker cannot amplify "
    "everything: it amplifies what it concentrates on. Intervals are 95% t-intervals over "
    "seeds; each seed is one world on which every ranker and the A/A placebo run."
)


def base_scenario(size: str = "full", seed: int = 0) -> sim.Scenario:
    """The base scenario at a size (metric families off: the replication measures at the end)."""
    cfg = SIZES[size]
    return sim.Scenario.from_dict(BASE).with_overrides(
        [f"seed={seed}", f"world.n_users={cfg['n_users']}", f"steps={cfg['steps']}",
         f"metrics_every={cfg['steps']}", "metrics.families=[]", "output.figures=false"]
    )


def pooled_amplification(user, step, group, is_treatment, n_groups: int) -> dict[str, np.ndarray]:
    """Amplification of each group with the reach of every day pooled.

    ``R_T(g) = sum_d |U_{g,d} ∩ U_treatment|`` (and ``R_C``), from :func:`sim.metrics.group_reach`
    on each day's impressions; ``a = amplification_ratio(R_T, R_C, N_T, N_C)``.
    """
    is_treatment = np.asarray(is_treatment, bool)
    n_t, n_c = int(is_treatment.sum()), int((~is_treatment).sum())
    r_t, r_c = np.zeros(n_groups, np.int64), np.zeros(n_groups, np.int64)
    for d in np.unique(step):
        on_day = step == d
        t, c = M.group_reach(user[on_day], group[on_day], is_treatment, n_groups)
        r_t += t
        r_c += c
    return {"reach_treatment": r_t, "reach_control": r_c, "amplification": M.amplification_ratio(r_t, r_c, n_t, n_c)}


def measure_run(model, burn_in: int) -> tuple[dict, np.ndarray]:
    """The run's amplification numbers, and each reached creator's ``a``."""
    world, log = model.world, model.log
    step = log.observed.column("step")
    keep = step >= burn_in
    step = step[keep]
    user = log.observed.column("user")[keep].astype(np.int64)
    video = log.observed.column("video")[keep].astype(np.int64)
    treat = ~world.users.holdout
    catalog = world.videos.catalog
    creator = catalog.column("creator")[video].astype(np.int64)

    by_creator = pooled_amplification(user, step, creator, treat, world.creators.n)
    reached = (by_creator["reach_treatment"] + by_creator["reach_control"]) > 0
    a = by_creator["amplification"][reached]

    imp, topic = np.nonzero(catalog.column("tags")[video])  # a video counts for each of its tags
    by_topic = pooled_amplification(user[imp], step[imp], topic.astype(np.int64), treat, world.n_topics)
    a_topic = by_topic["amplification"][(by_topic["reach_treatment"] + by_topic["reach_control"]) > 0]

    n_sounds = model.config.world.n_sounds
    by_sound = pooled_amplification(user, step, catalog.column("sound")[video].astype(np.int64), treat, n_sounds)
    a_sound = by_sound["amplification"][(by_sound["reach_treatment"] + by_sound["reach_control"]) > 0]

    home = world.creators.home_segment.astype(np.int64)[creator]
    by_segment = pooled_amplification(user, step, home, treat, model.config.world.n_segments)
    a_segment = by_segment["amplification"][(by_segment["reach_treatment"] + by_segment["reach_control"]) > 0]

    bait = world.creators.like_bait[creator].astype(np.int64)
    a_bait = pooled_amplification(user, step, bait, treat, 2)["amplification"]

    n_t, n_c = int(treat.sum()), int((~treat).sum())
    in_t = treat[user]
    q = np.quantile(a, [0.05, 0.25, 0.5, 0.75, 0.95]) if a.size else np.full(5, np.nan)
    out = {
        "creators_reached": int(reached.sum()),
        "creator_q05": q[0], "creator_q25": q[1], "creator_median": q[2], "creator_q75": q[3], "creator_q95": q[4],
        "creator_share_positive": float(np.mean(a > 0)),
        "creator_share_negative": float(np.mean(a < 0)),
        "creator_share_above_100": float(np.mean(a > 1)),
        "topic_share_positive": float(np.mean(a_topic > 0)),
        "topic_median": float(np.median(a_topic)),
        "sound_share_positive": float(np.mean(a_sound > 0)),
        "sound_median": float(np.median(a_sound)),
        "segment_share_positive": float(np.mean(a_segment > 0)),
        "segment_spread": float(a_segment.max() - a_segment.min()),
        "like_bait_a": float(a_bait[1]),
        "calm_a": float(a_bait[0]),
        "views_per_user_t": float(in_t.sum() / max(n_t, 1)),
        "views_per_user_c": float((~in_t).sum() / max(n_c, 1)),
        "mean_utility": float(model.log.hidden.column("utility")[keep][in_t].mean()),
    }
    return out, a




#: Columns given with a 95% interval over seeds.
WITH_INTERVAL = (
    "creator_median", "creator_share_positive", "creator_share_above_100", "topic_share_positive",
    "topic_median", "sound_share_positive", "sound_median", "segment_spread", "like_bait_a", "calm_a",
)


def run(size: str = "full", out: Path | None = None, seed: int = 0) -> Replication:
    """Run every ranker and the A/A placebo on the same worlds (seeds ``seed .. seed + n - 1``)."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    cfg = SIZES[size]
    burn_in = cfg["steps"] // 4
    per_run, creators = [], {}
    for s in range(seed, seed + cfg["seeds"]):
        base = base_scenario(size, s)
        for name in cfg["recommenders"]:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", M.UndefinedMetricWarning)
                result = sim.run(base.with_recommender(name), write=False)
                numbers, a = measure_run(result.model, burn_in)
            per_run.append({"recommender": name, "seed": s, **numbers, "seconds": time.perf_counter() - t0})
            creators.setdefault(name, []).append(a)
    runs = pd.DataFrame(per_run)
    rows = []
    for name in cfg["recommenders"]:
        sub = runs[runs.recommender == name]
        condition = "A/A placebo" if name == "chronological" else "ranked vs chronological"
        row = {"recommender": name, "condition": condition, "seeds": len(sub)}
        for col in [c for c in runs.columns if c not in ("recommender", "seed")]:
            mean, lo, hi = _interval(sub[col])
            row[col] = mean
            if col in WITH_INTERVAL:
                row[f"{col}_lo"], row[f"{col}_hi"] = lo, hi
        rows.append(row)
    table = pd.DataFrame(rows)
    claims = _claims(table)
    creators = {k: np.concatenate(v) for k, v in creators.items()}
    figure = _plot(table, creators, out / f"{NAME}.png", size) if out is not None else None
    return Replication(NAME, table, claims, figure, NOTES,
                       extra={"runs": runs, "creator_amplification": creators, "size": size, "seed": seed})


def _claims(table: pd.DataFrame) -> dict[str, bool]:
    head = table.set_index("recommender").loc[HEADLINE]
    placebo = table.set_index("recommender").loc["chronological"]
    return {
        "The personalised ranking amplifies most content groups (topics, sounds) relative to the "
        "reverse-chronological feed (a > 0)":
            bool(head.topic_share_positive > 0.5 and head.sound_share_positive > 0.5
                 and head.topic_median > 0.1 and head.sound_median > 0.1),
        "Amplification is unequal across groups (the paper: parties; here: creators' home segments), "
        "well beyond the placebo's spread":
            bool(head.segment_spread > 0.2 and head.segment_spread > 3 * placebo.segment_spread),
        "Amplification varies widely across individual accounts: some below 0%, others above 100%":
            bool(head.creator_share_negative >= 0.1 and head.creator_share_above_100 >= 0.1
                 and head.creator_share_above_100 > 2 * placebo.creator_share_above_100
                 and _iqr(head) > 3 * _iqr(placebo)),
    }


def _iqr(row) -> float:
    """Interquartile range of the creators' amplification (means of the seeds' quartiles)."""
    return float(row.creator_q75 - row.creator_q25)


def _plot(table: pd.DataFrame, creators: dict[str, np.ndarray], path: Path, size: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    ax = axes[0]
    for i, (name, a) in enumerate(creators.items()):
        x = np.sort(a) * 100
        style = dict(color="grey", ls=":") if name == "chronological" else dict(color=f"C{i}")
        label = "chronological (A/A placebo)" if name == "chronological" else name
        ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=label, **style)
    ax.axvline(0, color="k", lw=0.8)
    ax.axvline(100, color="k", lw=0.8, ls="--")
    ax.set_xscale("symlog", linthresh=100)
    ax.set_xlabel("amplification of a creator, a (%)")
    ax.set_ylabel("share of creators with at most a")
    ax.set_title("Individual creators (pooled over seeds)")
    ax.legend(fontsize=8)

    ax = axes[1]
    x = np.arange(len(table))
    w = 0.27
    for j, (col, label) in enumerate([("topic_median", "topics"), ("sound_median", "sounds"),
                                      ("creator_median", "creators")]):
        lo, hi = table[f"{col}_lo"], table[f"{col}_hi"]
        err = None if lo.isna().all() else [(table[col] - lo) * 100, (hi - table[col]) * 100]
        ax.bar(x + (j - 1) * w, table[col] * 100, w, yerr=err, capsize=2, label=label)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(table.recommender, rotation=20)
    ax.set_ylabel("median amplification over groups, a (%)")
    ax.set_title("Topics, sounds and creators: the median group")
    ax.legend(fontsize=8)

    ax = axes[2]
    for j, (col, label) in enumerate([("like_bait_a", "like-bait creators"), ("calm_a", "other creators")]):
        lo, hi = table[f"{col}_lo"], table[f"{col}_hi"]
        err = None if lo.isna().all() else [(table[col] - lo) * 100, (hi - table[col]) * 100]
        ax.errorbar(x + (j - 0.5) * 0.2, table[col] * 100, yerr=err, fmt="o", capsize=3, label=label)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(table.recommender, rotation=20)
    ax.set_ylabel("group amplification a (%)")
    ax.set_title("Like-bait ('outrage') against other creators")
    ax.legend(fontsize=8)

    fig.suptitle(f"Huszar et al. (PNAS 2022) in feedsim: amplification against a chronological holdout ({size})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path

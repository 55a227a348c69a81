"""What a run measures, and when: the metric functions of :mod:`sim.metrics` applied to a
FeedModel's state.

Per step (cheap, on this step's impressions and a sample of visitors):
  welfare       ``regret``: normalised regret of the treatment feed against the oracle and
                a random feed, computed as counterfactuals on the same candidate pool;
  overfit       ``kendall_tau`` between the recommender's scores and true utility on the
                pool, ``like_bait_share`` of impressions, and the like AUC of the
                recommender's scores on the sampled impressions before it learns from them
                (``like_auc_heldout``) and after (``like_auc_train``, ``like_auc_gap``);
                over the run (summary only), ``like_utility_divergence``;
  echo          ``intra_list_diversity`` of served feeds (latent topics) and their
                ``calibration_kl`` against each user's watch history (Steck 2018);
  amplification ``arp_feed`` and ``aplt_feed`` of the lists served to the treatment.
Every ``metrics_every`` steps and at the end (costly, over the whole run so far):
  echo          homogenisation (random pairs, nearest neighbours), topic entropy, taste
                drift, polarisation, effective clusters, co-like modularity;
  amplification amplification ratio by creator and by sound against the holdout (reach
                over the last ``metrics_every`` steps), trend timing per sound against the
                holdout's organic peak, ARP, APLT, coverage, cascades;
  privacy       the hidden trait's AUC from the likes the platform holds (Kosinski et al.);
  segments      segments recovered from likes (ARI, NMI) and a campaign's targeting lift.

Metrics never draw from a stream a subsystem uses (they have their own per step), and the
recommender's random state is restored after it is asked for sample scores, so measuring
never changes a run.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from . import metrics as M

if TYPE_CHECKING:  # pragma: no cover
    from .model import FeedModel

KENDALL_USERS = 64  # of the sampled visitors, those whose Kendall tau is computed each step

STEP_KEYS = {
    "welfare": ("regret", "utility_oracle", "utility_random"),
    "overfit": ("kendall_tau", "like_bait_share", "like_auc_heldout", "like_auc_train", "like_auc_gap"),
    "echo": ("intra_list_diversity", "calibration_kl"),
    "amplification": ("arp_feed", "aplt_feed"),
}
PERIODIC_KEYS = {
    "echo": (
        "homogenization_random", "homogenization_nearest", "topic_entropy", "taste_drift",
        "polarization", "effective_clusters", "co_like_modularity",
    ),
    "amplification": (
        "amplification_creator_mean", "amplification_creator_median", "amplified_creator_share",
        "amplification_sound_mean", "arp", "aplt", "coverage", "cascade_size_mean", "cascade_depth_max",
        "structural_virality_mean", "trend_share_before_peak", "trend_share_before_peak_organic",
        "trend_lead_steps", "trend_time_to_peak",
    ),
    "privacy": ("trait_auc",),
    "segments": ("segment_ari", "segment_nmi", "targeting_lift"),
}


def keys(families) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(per-step keys, periodic keys) of the chosen families."""
    step = tuple(k for f in families for k in STEP_KEYS.get(f, ()))
    periodic = tuple(k for f in families for k in PERIODIC_KEYS.get(f, ()))
    return step, periodic


def quietly(fn, *args, **kwargs):
    """Call a metric with its UndefinedMetricWarning silenced (it returns NaN, the record says so)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        return fn(*args, **kwargs)


def step_metrics(model: FeedModel, users: np.ndarray, feeds: np.ndarray, resp, pool) -> dict[str, float]:
    """This step's cheap metrics. ``feeds`` are the recommended feeds of ``users`` (before
    inbox items); ``pool`` is (candidates, seen_users, seen_cols)."""
    fams = model.config.metrics.families
    out: dict[str, float] = {}
    holdout = model.world.users.holdout
    treated = users[~holdout[users]]
    rows = np.flatnonzero(~holdout[users])
    candidates, seen_users, seen_cols = pool
    rng = model.streams.at("metrics", model.t)
    n = min(model.config.metrics.sample_users, len(treated))
    need_block = ("welfare" in fams or "overfit" in fams) and n > 0 and len(candidates) > 0
    if need_block:
        pick = np.sort(rng.choice(len(treated), n, replace=False))
        sample, sample_rows = treated[pick], rows[pick]
        block = model.utility(sample[:, None], candidates[None, :]).astype(np.float64)
        row_of = np.full(model.world.users.n, -1)
        row_of[sample] = np.arange(n)
        r = row_of[seen_users]
        eligible = np.ones(block.shape, dtype=bool)
        eligible[r[r >= 0], seen_cols[r >= 0]] = False
    if "welfare" in fams:
        if need_block:
            served = feeds[sample_rows]
            served_u = model.utility(sample[:, None], np.maximum(served, 0)).astype(np.float64)
            u_rec = float(served_u[served >= 0].mean()) if (served >= 0).any() else float("nan")
            u_or, u_rand = quietly(M.counterfactual_feed_utility, block, feeds.shape[1], eligible)
            out.update(
                regret=quietly(M.normalised_regret, u_rec, u_or, u_rand), utility_oracle=u_or, utility_random=u_rand
            )
        else:
            out.update(regret=np.nan, utility_oracle=np.nan, utility_random=np.nan)
    if "overfit" in fams:
        tau = auc = np.nan
        model.measures.heldout = None
        if need_block:
            rec = model.recommender
            scores = _scores(rec, sample, candidates, model._view_for(rec))
            few = slice(0, KENDALL_USERS)  # scipy's tau-b runs row by row: a smaller sample
            tau = quietly(M.score_utility_kendall, scores[few], block[few], eligible[few])
            # The recommender's scores of the impressions it is about to learn from: held out.
            served, viewed = feeds[sample_rows], resp.viewed[sample_rows]
            cols = np.minimum(np.searchsorted(candidates, served), len(candidates) - 1)
            pair = viewed & (candidates[cols] == served)  # recommended slots (not inbox items)
            r, c = np.nonzero(pair)
            liked = resp.liked[sample_rows][r, c]
            auc = quietly(M.like_prediction_auc, liked, scores[r, cols[r, c]])
            model.measures.heldout = (sample[r], served[r, c], liked)
        model.measures.heldout_auc = auc
        bait = model.world.videos.latent.column("like_bait")[np.maximum(feeds, 0)] > 0
        out.update(
            kendall_tau=tau, like_bait_share=quietly(M.like_bait_share, bait[resp.viewed]), like_auc_heldout=auc
        )
    if "echo" in fams:
        topics = model.world.videos.latent.column("topics")
        k = min(64, len(users))
        take = rng.choice(len(users), k, replace=False) if k else np.zeros(0, int)
        shown = feeds[take] >= 0
        vecs = topics[np.maximum(feeds[take], 0)]
        ild = quietly(M.intra_list_diversity, vecs, shown) if k else np.nan
        out["intra_list_diversity"] = float(np.nanmean(ild)) if np.size(ild) else np.nan
        history = model.measures.topic_history[users[take]]
        listed = (vecs * shown[:, :, None]).sum(axis=1)
        kl = quietly(M.calibration_kl, history, listed) if k else np.nan
        out["calibration_kl"] = float(np.nanmean(kl)) if np.size(kl) and not np.isnan(kl).all() else np.nan
    if "amplification" in fams:
        # Popularity bias of the lists served to the treatment (every slot, watched or not):
        # popularity = the public views so far per user, the long tail among the live videos.
        n_videos = model.world.videos.n
        first = model.world.videos.first_alive(model.t, model.config.world.video_max_age)
        phi = np.zeros(n_videos)
        phi[first:] = model.counters.views[first:n_videos] / model.world.users.n
        tail = np.ones(n_videos, dtype=bool)
        tail[first:] = M.long_tail_mask(phi[first:])
        lists = feeds[rows]
        r, c = np.nonzero(lists >= 0)
        listed_users, listed = treated[r], lists[r, c]
        out.update(
            arp_feed=quietly(M.average_recommendation_popularity, listed_users, listed, phi),
            aplt_feed=quietly(M.aplt, listed_users, listed, tail),
        )
    return out


class MeasureState:
    """What measuring keeps between phases and steps.

    Attributes:
        topic_history: users x topics, the latent topic mass of every video each user
            watched so far (the history ``p`` of calibration; kept when echo is measured).
        heldout: this step's sampled impressions ``(users, videos, liked)``, scored by the
            recommender before it learned from them; scored again after (overfit).
    """

    def __init__(self, n_users: int, n_topics: int, families):
        self.topic_history = np.zeros((n_users if "echo" in families else 0, n_topics), dtype=np.float32)
        self.heldout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.heldout_auc = float("nan")


def after_learning(model: FeedModel, events) -> dict[str, float]:
    """Measures taken once the recommender has learned from this step's events: the like
    AUC of the held-out impressions scored again, now as training data, and the gap
    (train minus held-out); the watched topics join each user's history."""
    fams = model.config.metrics.families
    out: dict[str, float] = {}
    if "overfit" in fams:
        train = np.nan
        if model.measures.heldout is not None and len(model.measures.heldout[0]):
            users, videos, liked = model.measures.heldout
            rows, r = np.unique(users, return_inverse=True)
            cols, c = np.unique(videos, return_inverse=True)
            rec = model.recommender
            train = quietly(M.like_prediction_auc, liked, _scores(rec, rows, cols, model._view_for(rec))[r, c])
        out.update(like_auc_train=train, like_auc_gap=train - model.measures.heldout_auc)
    if "echo" in fams:
        topics = model.world.videos.latent.column("topics")
        history = model.measures.topic_history
        n = len(events.user)
        if n:
            per_user = sp.csr_matrix((np.ones(n, np.float32), (events.user, np.arange(n))), shape=(history.shape[0], n))
            history += per_user @ topics[events.video]
    return out


def _scores(rec, users: np.ndarray, videos: np.ndarray, view) -> np.ndarray:
    """The recommender's scores, with its random state restored (measuring changes nothing)."""
    state = rec.rng.bit_generator.state
    try:
        return np.asarray(rec.score(users, videos, view), dtype=np.float64)
    finally:
        rec.rng.bit_generator.state = state


def periodic_metrics(model: FeedModel) -> dict[str, float]:
    """The costly metrics over the run so far (every ``metrics_every`` steps and at the end)."""
    fams = model.config.metrics.families
    out: dict[str, float] = {}
    log, world = model.log, model.world
    n_users, n_videos = world.users.n, world.videos.n
    user = log.observed.column("user")
    video = log.observed.column("video")
    seed = model.config.seed
    if "echo" in fams:
        consumed = M.consumption_matrix(user, video, n_users, n_videos)
        sample = _sample_users(consumed, 2000, seed)
        topics = world.videos.latent.column("topics")
        per_user_topics = consumed @ topics
        active = np.asarray(consumed.sum(axis=1)).ravel() > 0
        out.update(
            homogenization_random=quietly(M.homogenization, consumed, "random", seed=seed),
            homogenization_nearest=quietly(M.homogenization, consumed[sample], "nearest", seed=seed),
            topic_entropy=float(np.nanmean(quietly(M.topic_entropy, per_user_topics[active]))) if active.any() else np.nan,
            taste_drift=float(M.taste_drift(world.users.taste, world.users.taste0).mean()),
            polarization=quietly(M.polarization, world.users.taste, seed=seed),
            effective_clusters=quietly(
                M.effective_clusters, world.users.taste, "kmeans", n_clusters=model.config.world.n_segments, seed=seed
            ),
            co_like_modularity=quietly(M.co_like_modularity, log.like_matrix(n_users, n_videos), world.users.segment),
        )
    if "amplification" in fams:
        treated = ~world.users.holdout[user]  # one flag per impression
        creator = world.videos.catalog.column("creator")[video]
        sound = world.videos.catalog.column("sound")[video]
        step = log.observed.column("step")
        n_t, n_c = int((~world.users.holdout).sum()), int(world.users.holdout.sum())
        in_treatment = ~world.users.holdout  # one flag per user id
        # Reach over the last metrics_every steps: over a whole run nearly everyone ends up
        # reached by every creator and sound, and the ratio saturates toward 0.
        recent = step > model.t - model.config.metrics_every
        by_creator = quietly(
            M.amplification_by_group, user[recent], creator[recent], in_treatment, world.creators.n, n_t, n_c
        )
        by_sound = quietly(
            M.amplification_by_group, user[recent], sound[recent], in_treatment, model.config.world.n_sounds, n_t, n_c
        )
        reached = (by_creator["reach_treatment"] + by_creator["reach_control"]) > 0
        a = np.asarray(by_creator["amplification"], dtype=float)[reached]
        s_reached = (by_sound["reach_treatment"] + by_sound["reach_control"]) > 0
        popularity = M.item_popularity(user, video, n_videos, n_users)
        tail = M.long_tail_mask(popularity)
        cascades = quietly(M.cascades_from_log, video, user, log.observed.column("share_parent"))
        out.update(
            amplification_creator_mean=float(np.nanmean(a)) if a.size and not np.isnan(a).all() else np.nan,
            amplification_creator_median=float(np.nanmedian(a)) if a.size and not np.isnan(a).all() else np.nan,
            amplified_creator_share=float(np.mean(a > 0)) if a.size else np.nan,
            amplification_sound_mean=float(np.nanmean(np.asarray(by_sound["amplification"], float)[s_reached]))
            if s_reached.any() and n_c > 0 else np.nan,
            arp=quietly(M.average_recommendation_popularity, user[treated], video[treated], popularity),
            aplt=quietly(M.aplt, user[treated], video[treated], tail),
            coverage=quietly(M.catalogue_coverage, video, n_videos),
            cascade_size_mean=float(cascades["size"].mean()) if len(cascades["size"]) else 0.0,
            cascade_depth_max=float(cascades["depth"].max()) if len(cascades["depth"]) else 0.0,
            structural_virality_mean=float(np.nanmean(cascades["virality"]))
            if len(cascades["virality"]) and not np.isnan(cascades["virality"]).all() else np.nan,
        )
        out.update(_trend_metrics(step, sound, treated, model.t + 1, model.config.world.n_sounds, n_t, n_c))
    if "privacy" in fams or "segments" in fams:
        likes = log.like_matrix(n_users, n_videos, observed=True)  # what the platform holds, built once
    if "privacy" in fams:
        out["trait_auc"] = float(quietly(M.trait_auc, likes, world.users.trait, seed=seed).auc)
    if "segments" in fams:
        k = model.config.world.n_segments
        predicted = quietly(M.recover_segments, likes, k, seed=seed)
        rec = quietly(M.segment_recovery, world.users.segment, predicted)
        topic = int(np.argmax(world.centroids[0]))  # a campaign for segment 0's main topic
        budget = max(1, n_users // k)
        lift = quietly(
            M.targeting_lift, world.users.taste[:, topic], predicted, likes,
            world.videos.catalog.column("tags"), [topic], budget,
        )
        out.update(segment_ari=float(rec.ari), segment_nmi=float(rec.nmi), targeting_lift=float(lift))
    return out


TREND_MIN_VIEWS = 20  # a sound needs this many views in each arm to count as a trend


def _trend_metrics(step, sound, treated, n_steps: int, n_sounds: int, n_t: int, n_c: int) -> dict[str, float]:
    """Trend timing per sound, treatment against the holdout's organic curve (medians over
    sounds seen at least ``TREND_MIN_VIEWS`` times in each arm): the share of the
    treatment's views served before the organic peak, the organic curve's own share (the
    baseline), how many steps the treatment's peak leads the organic one, and the
    treatment's time from onset to peak. The holdout curve is smoothed over 3 steps."""
    keys = ("trend_share_before_peak", "trend_share_before_peak_organic", "trend_lead_steps", "trend_time_to_peak")
    if n_c == 0 or n_t == 0 or n_steps < 2:
        return dict.fromkeys(keys, np.nan)
    rec = M.trend_curves(step[treated], sound[treated], n_sounds, n_steps) / n_t
    org = M.trend_curves(step[~treated], sound[~treated], n_sounds, n_steps) / n_c
    org = M.smooth_curves(org, 3)
    enough = (rec.sum(axis=1) * n_t >= TREND_MIN_VIEWS) & (org.sum(axis=1) * n_c >= TREND_MIN_VIEWS)
    if not enough.any():
        return dict.fromkeys(keys, np.nan)
    rec, org = rec[enough], org[enough]
    return dict(
        zip(keys, (
            float(np.nanmedian(quietly(M.share_before_peak, rec, org))),
            float(np.nanmedian(quietly(M.share_before_peak, org, org))),
            float(np.median(org.argmax(axis=1) - rec.argmax(axis=1))),
            float(np.nanmedian(quietly(M.time_to_peak, rec))),
        ))
    )


def run_metrics(model: FeedModel, metrics) -> dict[str, float]:
    """Metrics of the whole run's per-step series (for the summary)."""
    out: dict[str, float] = {}
    if "overfit" in model.config.metrics.families:
        out["like_utility_divergence"] = quietly(
            M.like_utility_divergence, metrics["like_rate"].to_numpy(float), metrics["mean_utility"].to_numpy(float)
        )
    return out


def _sample_users(consumed, n: int, seed: int) -> np.ndarray:
    active = np.flatnonzero(np.diff(consumed.indptr))
    if len(active) <= n:
        return active
    return np.sort(np.random.default_rng(seed).choice(active, n, replace=False))

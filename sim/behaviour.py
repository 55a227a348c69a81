"""How users respond to impressions, vectorised over every impression of a step.

Feeds arrive as an (n, K) matrix of video ids (-1 = empty slot) for n visiting users.
Every function here works on whole matrices: no per-user Python.

True utility of user u for video v (the ground truth of welfare)::

    U = w_topic * (cos(theta_u, beta_v) - c0) + w_quality * q_v
        - w_pace * |pace_u - pace_v| + w_sound * a_u * appeal(sound_v)
        - w_length * |log(len_v / len_u)| + sigma * eps_uv - w_satiation * S_u . beta_v

with c0 the population's mean topic cosine and eps_uv a persistent N(0, 1) match that
depends only on (seed, u, v). Responses follow from U:

* watch ratio ``r = m * exp(w_r U + s_r z)`` (m = 0.72, KuaiRec's median), capped;
* skip when ``r * len < min(skip_seconds, len)`` (KuaiRec's short-time play);
* like ~ Bernoulli(sigmoid(a + a_u + b U + c bait_v)); share, comment and "not interested"
  likewise, rarer; nothing but "not interested" after a skip;
* the user scrolls on after each video with probability
  ``sigmoid(logit(1 - 1/intent_u) + w_s * mean utility so far)``: attention falls with
  position and sessions end early when the feed disappoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rng import pair_noise
from .scenario import BehaviourConfig
from .world import World, unit_rows


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class UtilityModel:
    """True utility of (user, video) pairs, from the world's latent state."""

    def __init__(self, world: World, cfg: BehaviourConfig, seed: int):
        self.world = world
        self.cfg = cfg
        self.seed = seed
        self._unit_taste: np.ndarray | None = None

    def refresh(self) -> None:
        """Recompute cached unit tastes (call after tastes drift)."""
        self._unit_taste = unit_rows(self.world.users.taste)

    def __call__(self, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
        """True utility; ``users`` and ``videos`` are index arrays that broadcast.

        A (B, 1) user column against a (1, C) video row gives a (B, C) block; an (n, 1)
        column against an (n, K) feed gives one utility per impression.
        """
        if self._unit_taste is None:
            self.refresh()
        w, u, cfg = self.world, self.world.users, self.cfg
        users = np.asarray(users)
        vid = np.maximum(np.asarray(videos), 0)
        lat, cat = w.videos.latent, w.videos.catalog
        topics = lat.column("topics")[vid]
        unit_topics = topics / np.linalg.norm(topics, axis=-1, keepdims=True)
        # Every term linear in a user feature times a video feature goes into one product:
        # [w_t theta^, -w_s S, w_snd a_u, 1] . [beta^, beta, appeal(sound), w_q q - w_t c0].
        ones = np.ones(users.shape + (1,), dtype=np.float32)
        user_side = np.concatenate(
            [
                cfg.w_topic * self._unit_taste[users],
                -cfg.w_satiation * u.satiation[users],
                cfg.w_sound * u.sound_affinity[users][..., None],
                ones,
            ],
            axis=-1,
            dtype=np.float32,
        )
        offset = cfg.w_quality * lat.column("quality")[vid] - cfg.w_topic * w.topic_baseline
        video_side = np.concatenate(
            [unit_topics, topics, w.sound_appeal[cat.column("sound")[vid]][..., None], offset[..., None]],
            axis=-1,
            dtype=np.float32,
        )
        if users.ndim == 2 and users.shape[1] == 1 and vid.ndim == 2 and vid.shape[0] == 1:
            util = user_side[:, 0] @ video_side[0].T  # a (B, C) block
        else:
            util = np.einsum("...t,...t->...", user_side, video_side)
        util -= cfg.w_pace * np.abs(u.pace_pref[users] - cat.column("pace")[vid])
        log_len = np.log(cat.column("length_s")[vid])
        util -= cfg.w_length * np.abs(log_len - np.log(u.length_pref_s[users]))
        if cfg.utility_noise > 0:
            util += cfg.utility_noise * pair_noise(self.seed, users, vid)
        return util.astype(np.float32, copy=False)


@dataclass
class Responses:
    """One step's responses, each an (n, K) matrix aligned with the feeds."""

    viewed: np.ndarray  # bool: the user reached this slot
    utility: np.ndarray  # float32: true utility (NaN where not viewed)
    watch_ratio: np.ndarray  # float32
    skipped: np.ndarray  # bool
    liked: np.ndarray  # bool
    shared: np.ndarray  # bool
    commented: np.ndarray  # bool
    not_interested: np.ndarray  # bool

    @property
    def session_length(self) -> np.ndarray:
        return self.viewed.sum(axis=1)


def respond(
    utility_model: UtilityModel,
    users: np.ndarray,
    feeds: np.ndarray,
    cfg: BehaviourConfig,
    rng: np.random.Generator,
) -> Responses:
    """Simulate every impression of a step for the visiting ``users``.

    Args:
        users: (n,) user ids.
        feeds: (n, K) video ids in feed order, -1 for an empty slot.
        rng: the behaviour stream. Draws have fixed shapes, so the same seed gives the same
            numbers whatever the recommender.
    """
    world = utility_model.world
    n, k = feeds.shape
    valid = feeds >= 0
    util = utility_model(users[:, None], feeds)
    util = np.where(valid, util, np.float32(0.0))
    z_watch = rng.standard_normal((n, k), dtype=np.float32)
    draws = rng.random((5, n, k), dtype=np.float32)  # continue, like, share, comment, not interested

    # Session: scroll on after each video with a probability set by intent and mean utility so far.
    intent = world.users.session_intent[users]
    base = np.log(np.maximum(intent - 1.0, 1e-3))[:, None]  # logit(1 - 1/intent)
    running = np.cumsum(util, axis=1) / np.arange(1, k + 1, dtype=np.float32)
    go_on = draws[0] < sigmoid(base + cfg.session_utility * running)
    reach = np.ones((n, k), dtype=bool)
    reach[:, 1:] = np.cumprod(go_on[:, :-1], axis=1, dtype=bool)
    viewed = reach & np.cumprod(valid, axis=1, dtype=bool)

    vid = np.maximum(feeds, 0)
    length = world.videos.catalog.column("length_s")[vid]
    watch = cfg.watch_ratio_median * np.exp(cfg.watch_utility * util + cfg.watch_noise * z_watch)
    watch = np.minimum(watch, cfg.max_watch_ratio).astype(np.float32)
    skipped = viewed & (watch * length < np.minimum(cfg.skip_seconds, length))
    engaged = viewed & ~skipped

    lat = world.videos.latent
    like_logit = cfg.like_intercept + world.users.like_bias[users][:, None] + cfg.like_utility * util
    like_logit = like_logit + cfg.like_bait_effect * lat.column("like_bait")[vid]
    liked = engaged & (draws[1] < sigmoid(like_logit))
    share_logit = cfg.share_intercept + cfg.share_utility * util + cfg.share_virality * lat.column("virality")[vid]
    shared = engaged & (draws[2] < sigmoid(share_logit))
    commented = engaged & (draws[3] < sigmoid(cfg.comment_intercept + cfg.comment_utility * util))
    not_interested = viewed & (
        draws[4] < sigmoid(cfg.not_interested_intercept - cfg.not_interested_utility * util)
    )
    return Responses(
        viewed=viewed,
        utility=np.where(viewed, util, np.float32(np.nan)),
        watch_ratio=np.where(viewed, watch, np.float32(0.0)),
        skipped=skipped,
        liked=liked,
        shared=shared,
        commented=commented,
        not_interested=not_interested,
    )


def drift_and_satiate(world: World, users: np.ndarray, feeds: np.ndarray, resp: Responses, cfg: BehaviourConfig) -> float:
    """Tastes drift toward watched content; satiation stocks decay and refill.

    ``theta_u <- (1 - a) theta_u + a * mean_w(beta_v)`` over the session's watched videos,
    weighted by watch ratio (capped at 1), with ``a = plasticity_u * watched share``
    (preference amplification, Kalimeris et al. 2021). ``S_u <- d S_u + (1 - d) * mean
    beta_v`` (satiation, Leqi et al. 2021). Users who did not visit recover: their S decays.

    Returns:
        mean absolute taste change this step over visiting users.
    """
    u = world.users
    topics = world.videos.latent.column("topics")
    weight = np.where(resp.viewed, np.minimum(resp.watch_ratio, 1.0), 0.0).astype(np.float32)
    total = weight.sum(axis=1)
    watched_mix = np.einsum("nk,nkt->nt", weight, topics[np.maximum(feeds, 0)])
    has = total > 0
    mean_mix = np.zeros_like(watched_mix)
    mean_mix[has] = watched_mix[has] / total[has, None]
    alpha = (u.plasticity[users] * np.minimum(total / feeds.shape[1], 1.0))[:, None]
    old = u.taste[users]
    new = np.where(has[:, None], (1 - alpha) * old + alpha * mean_mix, old)
    new /= new.sum(axis=1, keepdims=True)
    u.taste[users] = new
    d = cfg.satiation_decay
    u.satiation *= d
    viewed_share = resp.viewed.sum(axis=1) > 0
    mix = np.einsum("nk,nkt->nt", resp.viewed.astype(np.float32), topics[np.maximum(feeds, 0)])
    count = np.maximum(resp.viewed.sum(axis=1), 1)[:, None]
    u.satiation[users[viewed_share]] += (1 - d) * (mix[viewed_share] / count[viewed_share])
    return float(np.abs(new - old).sum(axis=1).mean()) if len(users) else 0.0


def update_retention(world: World, users: np.ndarray, resp: Responses, cfg: BehaviourConfig, rng: np.random.Generator) -> int:
    """Satisfaction follows session utility; unhappy users churn for good.

    ``sat_u <- (1 - r) sat_u + r * mean U of the session``; a visiting user leaves for good
    with probability ``sigmoid(c0 - c1 * sat_u)`` (Kleinberg et al.'s "cold turkey").

    Returns:
        how many users churned this step.
    """
    u = world.users
    counts = resp.viewed.sum(axis=1)
    session_u = np.where(counts > 0, np.nansum(resp.utility, axis=1) / np.maximum(counts, 1), 0.0)
    r = cfg.satisfaction_rate
    u.satisfaction[users] = (1 - r) * u.satisfaction[users] + r * session_u
    leave = rng.random(len(users)) < sigmoid(cfg.churn_intercept - cfg.churn_satisfaction * u.satisfaction[users])
    u.churned[users[leave]] = True
    return int(leave.sum())


def visitors(world: World, cfg: BehaviourConfig, rng: np.random.Generator) -> np.ndarray:
    """Users who open the app this step: not churned, and a satisfaction-driven coin.

    ``P(visit) = sigmoid(logit(visit_prob) + w * sat_u)``.
    """
    u = world.users
    p = np.clip(cfg.visit_prob, 1e-6, 1 - 1e-6)
    logit = np.log(p / (1 - p)) + cfg.visit_satisfaction * u.satisfaction
    come = rng.random(u.n) < sigmoid(logit)
    return np.flatnonzero(come & ~u.churned)

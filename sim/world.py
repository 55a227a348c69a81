"""The world as arrays: users, creators, sounds and videos (struct of arrays).

Everything latent lives here: tastes, traits, true quality, like-bait. The platform never
holds a reference to this module's objects; it gets :class:`sim.platform.PlatformView`,
which is built from the public catalog alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenario import Scenario, WorldConfig
from .table import ColumnTable


def draw_segments(rng: np.random.Generator, cfg: WorldConfig, n: int) -> np.ndarray:
    """Segment of each of ``n`` users (or creators): uniform, or by ``cfg.segment_shares``."""
    if cfg.segment_shares is None:
        return rng.integers(0, cfg.n_segments, n).astype(np.int16)
    return rng.choice(cfg.n_segments, size=n, p=np.asarray(cfg.segment_shares, dtype=np.float64)).astype(np.int16)


def dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (rows may differ), via normalised gammas."""
    g = rng.gamma(np.maximum(alpha, 1e-3))
    g += 1e-12
    return (g / g.sum(axis=1, keepdims=True)).astype(np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)


@dataclass
class Users:
    """Per-user state, one entry per user (index = user id)."""

    segment: np.ndarray  # int16: true audience segment
    taste: np.ndarray  # float32 (n, T): topic taste on the simplex; drifts
    taste0: np.ndarray  # float32 (n, T): taste at the start
    pace_pref: np.ndarray  # float32: preferred editing pace in [0, 1]
    length_pref_s: np.ndarray  # float32: preferred video length, seconds
    sound_affinity: np.ndarray  # float32: how much trending-sound appeal counts
    like_bias: np.ndarray  # float32: like propensity on the log-odds scale
    session_intent: np.ndarray  # float32: videos the user means to scroll per visit
    plasticity: np.ndarray  # float32: drift rate toward watched content
    trait: np.ndarray  # bool: the hidden trait (privacy ground truth)
    satisfaction: np.ndarray  # float32: running mean of session utility
    satiation: np.ndarray  # float32 (n, T): recent consumption by topic
    churned: np.ndarray  # bool: left for good
    holdout: np.ndarray  # bool: in the holdout (control) group

    @property
    def n(self) -> int:
        return len(self.segment)


@dataclass
class Creators:
    """Per-creator state (index = creator id)."""

    home_segment: np.ndarray  # int16
    niche: np.ndarray  # float32 (c, T): topic mixture; drifts toward trends
    quality: np.ndarray  # float32
    pace: np.ndarray  # float32: editing-pace style in [0, 1]
    upload_rate: np.ndarray  # float32: mean uploads per step
    like_bait: np.ndarray  # bool: uses calls to action
    current_sound: np.ndarray  # int32: the sound the creator is using now

    @property
    def n(self) -> int:
        return len(self.quality)


#: Public video features: what a platform (and so a recommender) may read.
PUBLIC_VIDEO_SCHEMA = {
    "creator": (np.int32, ()),
    "upload_step": (np.int32, ()),
    "pace": (np.float32, ()),
    "length_s": (np.float32, ()),
    "sound": (np.int32, ()),
}

#: Latent video features: only the world, behaviour and the oracle may read these.
PRIVATE_VIDEO_SCHEMA = {
    "quality": (np.float32, ()),
    "like_bait": (np.float32, ()),
    "virality": (np.float32, ()),
}


class Videos:
    """All videos uploaded so far: a public catalog and a private table, row-aligned.

    ``catalog`` holds the public features (creator, upload step, pace, length, sound, topic
    tags); ``latent`` holds the rest (topic mix, quality, like-bait, virality).
    """

    def __init__(self, n_topics: int, capacity: int):
        self.catalog = ColumnTable(PUBLIC_VIDEO_SCHEMA | {"tags": (np.bool_, (n_topics,))}, capacity)
        self.latent = ColumnTable(PRIVATE_VIDEO_SCHEMA | {"topics": (np.float32, (n_topics,))}, capacity)

    @property
    def n(self) -> int:
        return len(self.catalog)

    def append(self, public: dict[str, np.ndarray], private: dict[str, np.ndarray]) -> None:
        self.catalog.append(**public)
        self.latent.append(**private)

    def first_alive(self, step: int, max_age: int) -> int:
        """Index of the oldest video still eligible (videos are stored in upload order)."""
        return int(np.searchsorted(self.catalog.column("upload_step"), step - max_age + 1, side="left"))


class World:
    """Users, creators, sounds and videos, generated from one scenario and one stream.

    Args:
        scenario: the validated scenario.
        rng: the world stream (see :mod:`sim.rng`).
    """

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        cfg = scenario.world
        self.config = cfg
        self.n_topics = cfg.n_topics
        self.centroids = dirichlet_rows(rng, np.full((cfg.n_segments, cfg.n_topics), cfg.segment_concentration))
        self.users = self._make_users(scenario, rng)
        self.creators = self._make_creators(cfg, rng)
        # Sounds: a latent appeal, and a Zipf popularity that sets how often they are picked.
        self.sound_appeal = rng.normal(0.0, 1.0, cfg.n_sounds).astype(np.float32)
        ranks = rng.permutation(cfg.n_sounds) + 1.0
        self.sound_weights = (1.0 / ranks) / (1.0 / ranks).sum()
        self.trait_topics = rng.choice(cfg.n_topics, size=min(2, cfg.n_topics), replace=False)
        self.users.trait[:] = self._draw_trait(cfg, rng)
        expected = int(cfg.n_creators * cfg.upload_rate * (scenario.steps + 1) * 1.2) + 1024
        self.videos = Videos(cfg.n_topics, capacity=expected)
        self.topic_baseline = self._topic_baseline(rng)

    # -- generation ---------------------------------------------------------------------
    def _make_users(self, scenario: Scenario, rng: np.random.Generator) -> Users:
        cfg, beh = scenario.world, scenario.behaviour
        n, t = cfg.n_users, cfg.n_topics
        segment = draw_segments(rng, cfg, n)
        taste = dirichlet_rows(rng, cfg.taste_concentration * self.centroids[segment] + 0.01)
        session = beh.session_median * np.exp(beh.session_sigma * rng.normal(size=n))
        plasticity = rng.exponential(beh.plasticity_mean, n) if beh.plasticity_mean > 0 else np.zeros(n)
        return Users(
            segment=segment,
            taste=taste,
            taste0=taste.copy(),
            pace_pref=rng.beta(2.0, 2.0, n).astype(np.float32),
            length_pref_s=(cfg.video_length_median_s * np.exp(0.4 * rng.normal(size=n))).astype(np.float32),
            sound_affinity=rng.gamma(2.0, 0.5, n).astype(np.float32),
            like_bias=(beh.like_propensity_sd * rng.normal(size=n)).astype(np.float32),
            session_intent=np.maximum(session, 1.0).astype(np.float32),
            plasticity=np.clip(plasticity, 0.0, 0.5).astype(np.float32),
            trait=np.zeros(n, dtype=bool),
            satisfaction=np.zeros(n, dtype=np.float32),
            satiation=np.zeros((n, t), dtype=np.float32),
            churned=np.zeros(n, dtype=bool),
            holdout=np.zeros(n, dtype=bool),
        )

    def _make_creators(self, cfg: WorldConfig, rng: np.random.Generator) -> Creators:
        c = cfg.n_creators
        home = draw_segments(rng, cfg, c)
        rate = cfg.upload_rate * np.exp(cfg.upload_rate_sigma * rng.normal(size=c) - cfg.upload_rate_sigma**2 / 2)
        return Creators(
            home_segment=home,
            niche=dirichlet_rows(rng, cfg.niche_concentration * self.centroids[home] + 0.01),
            quality=(cfg.quality_sd * rng.normal(size=c)).astype(np.float32),
            pace=rng.beta(2.0, 2.0, c).astype(np.float32),
            upload_rate=rate.astype(np.float32),
            like_bait=rng.random(c) < cfg.like_bait_creators,
            current_sound=rng.integers(0, cfg.n_sounds, c).astype(np.int32),
        )

    def _draw_trait(self, cfg: WorldConfig, rng: np.random.Generator) -> np.ndarray:
        """Hidden binary trait, correlated with segment and with taste for two marker topics."""
        users = self.users
        seg_effect = cfg.trait_segment_effect * rng.normal(size=cfg.n_segments)
        marker = users.taste[:, self.trait_topics].sum(axis=1)
        logit = seg_effect[users.segment] + cfg.trait_topic_effect * (marker - marker.mean()) / (marker.std() + 1e-9)
        # Pick the intercept so that the expected prevalence is the configured one.
        lo, hi = -30.0, 30.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if (1 / (1 + np.exp(-(logit + mid)))).mean() < cfg.trait_prevalence:
                lo = mid
            else:
                hi = mid
        p = 1 / (1 + np.exp(-(logit + (lo + hi) / 2)))
        return rng.random(len(p)) < p

    def _topic_baseline(self, rng: np.random.Generator) -> float:
        """Mean cosine between a random user's taste and a random creator's niche.

        Utility is centred on it, so a random video has topic utility near zero.
        """
        k = min(4096, self.users.n)
        u = unit_rows(self.users.taste[rng.integers(0, self.users.n, k)])
        v = unit_rows(self.creators.niche[rng.integers(0, self.creators.n, k)])
        return float(np.mean(np.sum(u * v, axis=1)))

    # -- dynamics -------------------------------------------------------------------------
    def upload(self, step: int, rng: np.random.Generator) -> np.ndarray:
        """Creators upload this step's videos. Returns the new video ids."""
        cfg, cr = self.config, self.creators
        counts = rng.poisson(cr.upload_rate)
        # Shuffled, so that "the newest videos" of a step are no particular creators'.
        creator = rng.permutation(np.repeat(np.arange(cr.n, dtype=np.int32), counts))
        m = len(creator)
        start = self.videos.n
        if m == 0:
            return np.arange(start, start, dtype=np.int64)
        topics = dirichlet_rows(rng, cfg.video_concentration * cr.niche[creator] + 0.01)
        noisy = topics * np.exp(cfg.tag_noise * rng.normal(size=topics.shape))
        k = min(cfg.tags_per_video, cfg.n_topics)
        top = np.argpartition(-noisy, k - 1, axis=1)[:, :k]
        tags = np.zeros(topics.shape, dtype=bool)
        np.put_along_axis(tags, top, True, axis=1)
        use_current = rng.random(m) < 0.5
        sound = np.where(use_current, cr.current_sound[creator], rng.choice(cfg.n_sounds, m, p=self.sound_weights))
        bait = cr.like_bait[creator] & (rng.random(m) < 0.7)
        public = {
            "creator": creator,
            "upload_step": np.full(m, step, dtype=np.int32),
            "pace": np.clip(cr.pace[creator] + 0.15 * rng.normal(size=m), 0, 1).astype(np.float32),
            "length_s": (cfg.video_length_median_s * np.exp(cfg.video_length_sigma * rng.normal(size=m))).astype(
                np.float32
            ),
            "sound": sound.astype(np.int32),
            "tags": tags,
        }
        private = {
            "quality": (cr.quality[creator] + 0.5 * rng.normal(size=m)).astype(np.float32),
            "like_bait": bait.astype(np.float32),
            "virality": rng.normal(size=m).astype(np.float32),
            "topics": topics,
        }
        self.videos.append(public, private)
        return np.arange(start, start + m, dtype=np.int64)

    def follow_trends(self, trending_sound: int, trending_topic: int, rng: np.random.Generator) -> int:
        """Some creators adopt the trending sound and lean toward the trending topic.

        Creators see only public signals (which sounds and tags earned likes), so the
        trend they chase is the one the platform made visible. Returns how many adopted.
        """
        cr = self.creators
        adopt = rng.random(cr.n) < self.config.trend_adoption
        if trending_sound >= 0:
            cr.current_sound[adopt] = trending_sound
        if trending_topic >= 0 and adopt.any():
            cr.niche[adopt] *= 0.9
            cr.niche[adopt, trending_topic] += 0.1
        return int(adopt.sum())

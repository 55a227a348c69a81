"""Content-based filtering: a decayed per-user profile over public video features."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from sklearn.preprocessing import normalize

from .base import Recommender, register_recommender

NonNegative = Annotated[float, Field(ge=0)]

#: Explanation part of each feature block, in score order.
PARTS = {
    "topic": "topic match",
    "pace": "pace match",
    "length": "length match",
    "sound": "sound match",
    "creator": "creator affinity",
}
#: Centres of the length bins span 2^0 = 1 s to 2^10 = 1024 s, in log2 seconds.
LENGTH_RANGE_LOG2 = (0.0, 10.0)
#: Creator-profile entries smaller than this in magnitude (after decay) are dropped, so
#: each user keeps only the creators of recent or strong signals (memory stays bounded).
PRUNE_BELOW = 0.05
#: Up to this many sounds, the sound block joins the dense matmul as one-hot rows.
SOUNDS_IN_MATMUL = 256


def soft_bins(x: np.ndarray, centres: np.ndarray, width: float) -> np.ndarray:
    """Gaussian-kernel bucketing: each value spread over the nearby bins, unit L2 rows.

    The cosine of two such rows falls smoothly with the distance of their values
    (about ``exp(-d^2 / (4 width^2))``), so neighbouring buckets still match a little.

    >>> x = soft_bins(np.array([2.0, 3.0]), np.arange(6.0), 1.0)
    >>> round(float(x[0] @ x[1]), 3), round(float(np.exp(-1 / 4)), 3)
    (0.779, 0.779)
    """
    z = (np.asarray(x, dtype=np.float64)[:, None] - centres[None, :]) / width
    return unit_rows(np.exp(-0.5 * z * z))


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of a dense array scaled to unit L2 norm (zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    return x / np.maximum(norm, np.float32(1e-12))[:, None]


def onehot_columns(ids: np.ndarray, n_ids: int) -> sp.csr_matrix:
    """An (n_ids, len(ids)) 0/1 matrix with one 1 per column at row ``ids[j]``.

    Ids outside ``[0, n_ids)`` give an empty column.
    """
    ids = np.asarray(ids, dtype=np.int64)
    ok = (ids >= 0) & (ids < n_ids)
    cols = np.flatnonzero(ok)
    return sp.csr_matrix(
        (np.ones(len(cols), np.float32), (ids[ok], cols)), shape=(n_ids, len(ids))
    )


@register_recommender("content")
class ContentRecommender(Recommender):
    """Content-based filtering: match each user's decayed feature profile to the videos.

    Each video is described by public feature blocks ``x_b(v)``, each of unit length:
    topic tags (``tags / sqrt(#tags)``), editing pace and log2 length (Gaussian-kernel
    buckets, see :func:`soft_bins`), sound (one-hot) and creator (one-hot). A user's
    profile in block b is the decayed sum of the features of the videos they reacted to,
    weighted by the signal of each impression::

        P_b(u) <- d * P_b(u) + sum_i s_i x_b(v_i),     d = 0.5 ** (1 / half_life)
        s_i = like_weight * liked + share_weight * shared + comment_weight * commented
              - not_interested_weight * not_interested
              + watch_weight * clip(log(watch_ratio) - mean log watch ratio, -3, 3)

    (the mean is a decayed running mean over all observed impressions, so a watch above
    the usual counts for, one below against). The score sums per-block cosines plus a
    cold-start prior::

        score(u, v) = sum_b w_b * cos(P_b(u), x_b(v))
                      + prior_weight * log1p(l_v) / log1p(max_c l_c)

    with ``l_v`` the decayed count of observed likes of video v by everyone (the
    popularity recommender's signal, same half-life), normalised over the candidates:
    users with no history have zero profiles and get this trending order. Topic, pace,
    length and sound profiles are dense float32 arrays (users x bins, users x sounds seen
    so far: sounds are few); creator profiles are scipy.sparse (users x creators), scored
    as a sparse product with a one-hot creators x candidates matrix, and entries that
    decay below ``PRUNE_BELOW`` (0.05) in magnitude are dropped to bound their memory.

    Content-based recommendation as in Pazzani and Billsus (2007), "Content-based
    recommendation systems", The Adaptive Web; one of the recommenders of Chaney, Stewart
    and Engelhardt (2018), "How algorithmic confounding in recommendation systems
    increases homogeneity and decreases utility", RecSys.

    Args:
        like_weight: signal of a like.
        watch_weight: signal per unit of log watch ratio above the running mean.
        share_weight: signal of a share.
        comment_weight: signal of a comment.
        not_interested_weight: signal subtracted for a "not interested".
        half_life: steps for a profile entry to lose half its weight.
        topic_weight: weight w_b of the topic-tag cosine ("topic match").
        pace_weight: weight of the editing-pace cosine ("pace match").
        length_weight: weight of the length cosine ("length match").
        sound_weight: weight of the sound cosine ("sound match").
        creator_weight: weight of the creator cosine ("creator affinity").
        prior_weight: weight of the normalised like-trending prior ("cold-start prior").
        pace_bins: number of pace buckets, centres evenly spread over [0, 1].
        length_bin_octaves: spacing of the length buckets in octaves (log2 seconds);
            centres span 1 s to 1024 s.
    """

    def __init__(
        self,
        like_weight: NonNegative = 1.0,
        watch_weight: NonNegative = 1.0,
        share_weight: NonNegative = 2.0,
        comment_weight: NonNegative = 1.0,
        not_interested_weight: NonNegative = 2.0,
        half_life: Annotated[float, Field(gt=0)] = 10.0,
        topic_weight: NonNegative = 1.0,
        pace_weight: NonNegative = 0.5,
        length_weight: NonNegative = 0.3,
        sound_weight: NonNegative = 0.3,
        creator_weight: NonNegative = 0.5,
        prior_weight: NonNegative = 0.2,
        pace_bins: Annotated[int, Field(ge=2, le=64)] = 8,
        length_bin_octaves: Annotated[float, Field(ge=0.1, le=5.0)] = 0.5,
    ):
        self.like_weight = like_weight
        self.watch_weight = watch_weight
        self.share_weight = share_weight
        self.comment_weight = comment_weight
        self.not_interested_weight = not_interested_weight
        self.half_life = half_life
        self.topic_weight = topic_weight
        self.pace_weight = pace_weight
        self.length_weight = length_weight
        self.sound_weight = sound_weight
        self.creator_weight = creator_weight
        self.prior_weight = prior_weight
        self.pace_bins = pace_bins
        self.length_bin_octaves = length_bin_octaves
        self._pace_centres = np.linspace(0.0, 1.0, pace_bins)
        lo, hi = LENGTH_RANGE_LOG2
        self._length_centres = np.arange(lo, hi + 1e-9, length_bin_octaves)
        self._dense: np.ndarray | None = None  # users x (topics + pace bins + length bins), float32
        self._slices: dict[str, slice] = {}
        self._sound = np.zeros((0, 0), dtype=np.float32)  # users x sounds seen so far, dense
        self._creator = sp.csr_matrix((0, 0), dtype=np.float32)  # users x creators, sparse
        self._log_watch = [0.0, 0.0]  # decayed sum of log watch ratios, decayed count
        self._likes = np.zeros(0)  # decayed observed likes of each video (the prior)

    # -- features ---------------------------------------------------------------------
    def _weights(self) -> dict[str, float]:
        return {b: getattr(self, f"{b}_weight") for b in PARTS}

    def _setup(self, view) -> None:
        if self._dense is not None:
            return
        t, p, n_len = view.n_topics, len(self._pace_centres), len(self._length_centres)
        self._slices = {"topic": slice(0, t), "pace": slice(t, t + p), "length": slice(t + p, t + p + n_len)}
        self._dense = np.zeros((view.n_users, t + p + n_len), dtype=np.float32)
        self._sound = np.zeros((view.n_users, 0), dtype=np.float32)
        self._creator = sp.csr_matrix((view.n_users, max(view.n_creators, 1)), dtype=np.float32)

    def _grow(self, n_users: int, n_sounds: int = 0, n_creators: int = 0) -> None:
        """Make room for more users, sounds or creators (new entries are zero)."""
        rows, cols = self._sound.shape
        if n_users > rows or n_sounds > cols:
            grown = np.zeros((max(rows, n_users), max(cols, n_sounds)), dtype=np.float32)
            grown[:rows, :cols] = self._sound
            self._sound = grown
        if n_users > self._dense.shape[0]:
            extra = np.zeros((n_users - self._dense.shape[0], self._dense.shape[1]), dtype=np.float32)
            self._dense = np.concatenate([self._dense, extra])
        shape = self._creator.shape
        if n_users > shape[0] or n_creators > shape[1]:
            self._creator.resize((max(shape[0], n_users), max(shape[1], n_creators)))

    def dense_features(self, videos: np.ndarray, view) -> np.ndarray:
        """(len(videos), D) unit-length topic, pace and length blocks side by side."""
        topic = unit_rows(view.tags[videos])
        pace = soft_bins(view.pace[videos], self._pace_centres, self._pace_centres[1] - self._pace_centres[0])
        log_len = np.log2(np.maximum(view.length_s[videos], 1e-3))
        length = soft_bins(log_len, self._length_centres, self.length_bin_octaves)
        return np.concatenate([topic, pace, length], axis=1)

    # -- learning ---------------------------------------------------------------------
    def signal(self, events) -> np.ndarray:
        """Per-impression signal ``s_i`` (updates the running mean log watch ratio)."""
        d = 0.5 ** (1.0 / self.half_life)
        log_watch = np.log(np.maximum(np.asarray(events.watch_ratio, dtype=np.float64), 1e-3))
        self._log_watch[0] = d * self._log_watch[0] + log_watch.sum()
        self._log_watch[1] = d * self._log_watch[1] + len(log_watch)
        mean = self._log_watch[0] / self._log_watch[1] if self._log_watch[1] > 0 else 0.0
        s = (
            self.like_weight * events.liked
            + self.share_weight * events.shared
            + self.comment_weight * events.commented
            - self.not_interested_weight * events.not_interested
            + self.watch_weight * np.clip(log_watch - mean, -3.0, 3.0)
        )
        return s.astype(np.float64)

    def observe(self, events, view):
        self._setup(view)
        n_users = max(view.n_users, int(events.user.max()) + 1 if len(events) else 0)
        self._grow(n_users)
        d = np.float32(0.5 ** (1.0 / self.half_life))
        self._dense *= d
        self._sound *= d
        self._creator.data *= d
        n_videos = view.n_videos
        self._likes = np.concatenate([self._likes, np.zeros(max(n_videos - len(self._likes), 0))]) * d
        if len(events) == 0:
            return
        self._likes += np.bincount(events.video, weights=events.liked.astype(np.float64), minlength=n_videos)[
            :n_videos
        ]
        s = self.signal(events)
        users = np.asarray(events.user, dtype=np.int64)
        videos = np.asarray(events.video, dtype=np.int64)
        sounds = view.sound[videos].astype(np.int64)
        creators = view.creator[videos].astype(np.int64)
        self._grow(n_users, int(sounds.max()) + 1, int(creators.max()) + 1)
        uu, uinv = np.unique(users, return_inverse=True)
        vv, vinv = np.unique(videos, return_inverse=True)
        w = sp.csr_matrix((s, (uinv, vinv)), shape=(len(uu), len(vv)))
        self._dense[uu] += (w @ self.dense_features(vv, view)).astype(np.float32)
        by_sound = sp.csr_matrix((s, (uinv, sounds)), shape=(len(uu), self._sound.shape[1]))
        self._sound[uu] += by_sound.toarray().astype(np.float32)
        new = sp.csr_matrix((s.astype(np.float32), (users, creators)), shape=self._creator.shape)
        m = (self._creator + new).tocsr()
        m.data[np.abs(m.data) < PRUNE_BELOW] = 0.0
        m.eliminate_zeros()
        self._creator = m

    # -- answers ----------------------------------------------------------------------
    def prior(self, candidates: np.ndarray, view) -> np.ndarray:
        """Cold-start prior: ``prior_weight * log1p(l_v) / log1p(max_c l_c)`` with ``l_v``
        the decayed observed likes of each candidate (0 for videos never liked)."""
        likes = np.zeros(len(candidates))
        known = candidates < len(self._likes)
        likes[known] = self._likes[candidates[known]]
        trend = np.log1p(np.maximum(likes, 0.0))
        top = trend.max() if len(trend) else 0.0
        base = trend / top if top > 0 else trend
        return (self.prior_weight * base).astype(np.float32)

    def _parts(self, users: np.ndarray, candidates: np.ndarray, view, split: bool) -> dict[str, np.ndarray]:
        """Score parts: one per block when ``split``, else one "score" holding their sum."""
        self._setup(view)
        users = np.asarray(users, dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)
        self._grow(max(view.n_users, int(users.max()) + 1 if len(users) else 0))
        shape = (len(users), len(candidates))
        weights = self._weights()
        out: dict[str, np.ndarray] = {}
        prior = self.prior(candidates, view)
        # Topic, pace, length, sound and the prior: one matmul of the weighted unit profiles
        # (and a column of ones) with the unit features (and the prior row), features x
        # candidates. Sound features are one-hot rows; a sound no profile has seen is 0.
        prof = self._dense[users]
        d = prof.shape[1]
        sid = view.sound[candidates].astype(np.int64)
        seen = np.flatnonzero(sid < self._sound.shape[1])
        n_snd = self._sound.shape[1] if self._sound.shape[1] <= SOUNDS_IN_MATMUL else 0
        side = np.ones((len(users), d + n_snd + 1), dtype=np.float32)
        feats_t = np.zeros((d + n_snd + 1, len(candidates)), dtype=np.float32)
        feats_t[:d] = self.dense_features(candidates, view).T
        feats_t[-1] = prior
        for block, sl in self._slices.items():
            side[:, sl] = weights[block] * unit_rows(prof[:, sl])
            if split:
                out[PARTS[block]] = side[:, sl] @ feats_t[sl]
        snd_prof = unit_rows(self._sound[users]) * np.float32(weights["sound"])
        if n_snd:
            side[:, d : d + n_snd] = snd_prof
            feats_t[d + sid[seen], seen] = 1.0
            if split:
                out[PARTS["sound"]] = side[:, d : d + n_snd] @ feats_t[d : d + n_snd]
        total = side @ feats_t if not split else None
        if not n_snd:  # many sounds: a column gather instead
            sound = np.zeros(shape, dtype=np.float32) if split else total
            if len(seen) == len(candidates):
                sound += np.take(snd_prof, sid, axis=1)
            else:
                sound[:, seen] += np.take(snd_prof, sid[seen], axis=1)
            if split:
                out[PARTS["sound"]] = sound
        # Creator: sparse users x creators profiles times a one-hot creators x candidates.
        creator = np.zeros(shape, dtype=np.float32) if split else total
        if weights["creator"] > 0 and self._creator.nnz:
            rows = normalize(self._creator[users]) * np.float32(weights["creator"])
            hit = (rows @ onehot_columns(view.creator[candidates], self._creator.shape[1])).tocoo()
            creator[hit.row, hit.col] += hit.data
        if split:
            out[PARTS["creator"]] = creator
            out["cold-start prior"] = np.broadcast_to(prior, shape)
            return out
        return {"score": total}

    def score(self, users, candidates, view):
        return self._parts(users, candidates, view, split=False)["score"]

    def explain(self, user, candidates, view):
        parts = self._parts(np.array([user], dtype=np.int64), candidates, view, split=True)
        return {k: np.asarray(v[0], dtype=np.float64) for k, v in parts.items()}

"""Contextual bandits on public video features (linear Thompson sampling, LinUCB), and an
epsilon-greedy wrapper around any registered recommender."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from .base import Recommender, RecommenderError, make_recommender, register_recommender

#: Editing-pace buckets: [0, 1/3), [1/3, 1/2), [1/2, 2/3), [2/3, 1] (pace lies in [0, 1]).
PACE_EDGES = np.array([1.0 / 3.0, 0.5, 2.0 / 3.0])
#: Length buckets in seconds, at KuaiRec's quartiles (7.4 s, 9.6 s, 12.2 s).
LENGTH_EDGES_S = np.array([7.4, 9.6, 12.2])
#: The watch ratio is capped here in the "weighted" reward (replays add little).
WATCH_REWARD_CAP = 2.0


def feature_dim(n_topics: int) -> int:
    """Length of a video's feature vector: topic tags, 4 pace buckets, 4 length buckets, a bias."""
    return n_topics + len(PACE_EDGES) + 1 + len(LENGTH_EDGES_S) + 1 + 1


def _buckets(view, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pace and length bucket feature indices (after the tag block) of ``videos``."""
    t = view.n_topics
    pace = t + np.searchsorted(PACE_EDGES, view.pace[videos], side="right")
    length = t + len(PACE_EDGES) + 1 + np.searchsorted(LENGTH_EDGES_S, view.length_s[videos], side="right")
    return pace, length


def dense_features(view, videos: np.ndarray) -> np.ndarray:
    """(len(videos), d) float32 feature matrix: tags, one-hot pace and length buckets, 1.

    >>> from sim.testing import toy_model
    >>> m = toy_model(); x = dense_features(m.view, np.arange(3))
    >>> x.shape, x[:, -1].tolist(), (x[:, 4:8].sum(1) == 1).all()
    ((3, 13), [1.0, 1.0, 1.0], np.True_)
    """
    videos = np.asarray(videos, dtype=np.int64)
    n, d = len(videos), feature_dim(view.n_topics)
    x = np.zeros((n, d), dtype=np.float32)
    x[:, : view.n_topics] = view.tags[videos]
    pace, length = _buckets(view, videos)
    rows = np.arange(n)
    x[rows, pace] = 1.0
    x[rows, length] = 1.0
    x[:, d - 1] = 1.0
    return x


def sparse_features(view, videos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same features as (index, value) slots per video, each (len(videos), m).

    Videos with fewer tags than the most-tagged one are padded with index 0, value 0.
    """
    videos = np.asarray(videos, dtype=np.int64)
    n, d = len(videos), feature_dim(view.n_topics)
    tags = view.tags[videos]
    per_row = tags.sum(axis=1)
    m_tags = int(per_row.max()) if n else 0
    idx = np.zeros((n, m_tags + 3), dtype=np.int64)
    val = np.zeros((n, m_tags + 3), dtype=np.float32)
    r, c = np.nonzero(tags)
    slot = np.arange(len(r)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    idx[r, slot] = c
    val[r, slot] = 1.0
    idx[:, m_tags], idx[:, m_tags + 1] = _buckets(view, videos)
    idx[:, m_tags + 2] = d - 1
    val[:, m_tags:] = 1.0
    return idx, val


def reward_of(events, reward: str) -> np.ndarray:
    """Per-event reward: the observed like, or like + watch ratio (capped) + share - not interested."""
    r = events.liked.astype(np.float32)
    if reward == "weighted":
        r = (
            r
            + np.minimum(events.watch_ratio, WATCH_REWARD_CAP).astype(np.float32)
            + events.shared
            - events.not_interested.astype(np.float32)
        )
    return r


@register_recommender("bandit")
class LinearBandit(Recommender):
    """Contextual bandit on public video features: linear Thompson sampling or LinUCB.

    Each video is a feature vector ``x`` (d = n_topics + 9): its public topic tags, one-hot
    editing-pace bucket (edges 1/3, 1/2, 2/3), one-hot length bucket (edges 7.4, 9.6,
    12.2 s, KuaiRec's quartiles) and a bias. Each user ``u`` has a ridge-regression
    posterior over a reward model ``r = x . theta_u``::

        A_u = lambda I + sum_e g^(t - t_e) x_e x_e^T
        b_u = lambda theta_0 + sum_e g^(t - t_e) r_e x_e
        theta_u ~ N(A_u^-1 b_u, v^2 A_u^-1)

    with ``g = 0.5^(1 / half_life)`` (1 without forgetting: Russac et al. 2019's
    discounted linear bandit otherwise) and ``theta_0`` the pooled ridge fit over every
    user's events (or 0), so a user seen for the first time starts at the population's
    model. Scores, per block of users against the candidates:

    * ``method="thompson"`` (Agrawal & Goyal, ICML 2013): one draw of ``theta_u`` per user
      and step, by a batched Cholesky factor ``A_u = L L^T``:
      ``theta_u = L^-T (L^-1 b_u + v z)``, ``z ~ N(0, I)``; score ``x . theta_u``. The whole
      block is one (B x d) @ (d x C) product.
    * ``method="ucb"`` (LinUCB, Li et al., WWW 2010): ``x . mu_u + alpha sqrt(x^T A_u^-1 x)``
      with ``mu_u = A_u^-1 b_u``, exact: the quadratic forms of the whole block are one
      (B x d(d+1)/2) @ (d(d+1)/2 x C) product of the packed upper triangles of the batched
      inverses ``A_u^-1`` with the packed outer products ``x x^T``.

    State: the packed upper triangle of ``sum x x^T`` and ``sum r x``, float32, for every
    user id, and each user's last update step: ``n_users * (d(d+1)/2 + d + 1) * 4``
    bytes, 140 MB for 100,000 users and 16 topics (d = 25). Updates are sparse sums over
    the step's events (scipy.sparse, no loop over users); forgetting is applied lazily, to
    a user's sums when they are next touched or scored.

    Args:
        method: "thompson" (posterior sampling) or "ucb" (optimism).
        reward: "like" (observed like bit) or "weighted" (like + watch ratio capped at 2 +
            share - not interested).
        v: Thompson posterior scale (exploration knob of ``method="thompson"``).
        alpha: UCB width (exploration knob of ``method="ucb"``).
        prior_precision: ridge ``lambda``: the prior's weight, in events.
        pooled_prior: centre each user's prior on the pooled model ``theta_0`` (else on 0).
        half_life: steps for an event to lose half its weight; None keeps every event.
    """

    def __init__(
        self,
        method: Literal["thompson", "ucb"] = "thompson",
        reward: Literal["like", "weighted"] = "like",
        v: Annotated[float, Field(ge=0)] = 0.05,
        alpha: Annotated[float, Field(ge=0)] = 0.05,
        prior_precision: Annotated[float, Field(gt=0)] = 2.0,
        pooled_prior: bool = True,
        half_life: Annotated[float, Field(gt=0)] | None = None,
    ):
        self.method = method
        self.reward = reward
        self.v = v
        self.alpha = alpha
        self.prior_precision = prior_precision
        self.pooled_prior = pooled_prior
        self.half_life = half_life
        self._d = 0
        self.A = np.zeros((0, 0), dtype=np.float32)  # packed upper triangles of sum x x^T
        self.b = np.zeros((0, 0), dtype=np.float32)  # sum r x
        self.last = np.zeros(0, dtype=np.int32)  # step of each user's last update
        self.theta0 = np.zeros(0)

    # -- state ------------------------------------------------------------------------
    @property
    def _gamma(self) -> float:
        return 1.0 if self.half_life is None else 0.5 ** (1.0 / self.half_life)

    def _ensure(self, view) -> None:
        d = feature_dim(view.n_topics)
        if self._d != d:
            self._d = d
            self._iu, self._ju = np.triu_indices(d)
            self._pack = np.zeros((d, d), dtype=np.int64)
            self._pack[self._iu, self._ju] = np.arange(len(self._iu))
            self._pack[self._ju, self._iu] = np.arange(len(self._iu))
            self.A = np.zeros((0, len(self._iu)), dtype=np.float32)
            self.b = np.zeros((0, d), dtype=np.float32)
            self.A0 = np.zeros((d, d))
            self.b0 = np.zeros(d)
            self.theta0 = np.zeros(d)
        n = view.n_users
        if len(self.A) < n:
            grow = n - len(self.A)
            self.A = np.concatenate([self.A, np.zeros((grow, self.A.shape[1]), np.float32)])
            self.b = np.concatenate([self.b, np.zeros((grow, d), np.float32)])
            self.last = np.concatenate([self.last, np.zeros(grow, np.int32)])

    def observe(self, events, view):
        self._ensure(view)
        g = self._gamma
        self.A0 *= g
        self.b0 *= g
        if len(events):
            user = np.asarray(events.user, dtype=np.int64)
            r = reward_of(events, self.reward)
            idx, val = sparse_features(view, events.video)
            m = idx.shape[1]
            a, c = np.triu_indices(m)  # slot pairs of each event's outer product
            if g < 1.0:  # lazy forgetting: a user's sums age only when touched again
                touched = np.unique(user)
                f = (g ** (events.step - self.last[touched])).astype(np.float32)
                self.A[touched] *= f[:, None]
                self.b[touched] *= f[:, None]
            self.last[user] = events.step
            n, npk, d = len(self.A), self.A.shape[1], self._d
            outer = sp.csr_matrix(
                ((val[:, a] * val[:, c]).ravel(), (np.repeat(user, len(a)), self._pack[idx[:, a], idx[:, c]].ravel())),
                shape=(n, npk),
            )
            outer.sum_duplicates()
            rows = np.repeat(np.arange(n), np.diff(outer.indptr))
            self.A[rows, outer.indices] += outer.data
            rx = sp.csr_matrix(((val * r[:, None]).ravel(), (np.repeat(user, m), idx.ravel())), shape=(n, d))
            rx.sum_duplicates()
            rows = np.repeat(np.arange(n), np.diff(rx.indptr))
            self.b[rows, rx.indices] += rx.data
            packed = np.asarray(outer.sum(axis=0)).ravel()
            self.A0[self._iu, self._ju] += packed
            self.A0[self._ju, self._iu] += np.where(self._iu == self._ju, 0.0, packed)
            self.b0 += np.asarray(rx.sum(axis=0)).ravel()
        if self.pooled_prior:
            lam = self.prior_precision
            self.theta0 = np.linalg.solve(self.A0 + lam * np.eye(self._d), self.b0)

    # -- scoring ----------------------------------------------------------------------
    def _precision(self, users: np.ndarray, view) -> tuple[np.ndarray, np.ndarray]:
        """Each user's ``A_u`` (B, d, d) and ``b_u`` (B, d), float64, forgetting applied."""
        self._ensure(view)
        users = np.asarray(users, dtype=np.int64)
        d, lam = self._d, self.prior_precision
        f = np.ones(len(users))
        if self._gamma < 1.0:
            f = self._gamma ** np.maximum(view.step - 1 - self.last[users], 0)
        packed = self.A[users].astype(np.float64) * f[:, None]
        A = np.empty((len(users), d, d))
        A[:, self._iu, self._ju] = packed
        A[:, self._ju, self._iu] = packed
        A[:, np.arange(d), np.arange(d)] += lam
        rhs = self.b[users].astype(np.float64) * f[:, None] + lam * self.theta0
        return A, rhs

    def _thompson(self, users: np.ndarray, view) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means and one draw of each user's theta, by ``A = L L^T``:
        ``mean = L^-T L^-1 b``, ``draw = L^-T (L^-1 b + v z)``."""
        A, rhs = self._precision(users, view)
        L = np.linalg.cholesky(A)
        y = np.linalg.solve(L, rhs[:, :, None])
        z = self.rng.standard_normal((len(users), self._d))
        both = np.linalg.solve(np.swapaxes(L, 1, 2), np.concatenate([y, y + self.v * z[:, :, None]], axis=2))
        return both[:, :, 0], both[:, :, 1]

    def _parts(self, users, candidates, view) -> tuple[np.ndarray, np.ndarray]:
        """(expected reward, exploration) blocks, float32, each (len(users), len(candidates))."""
        x = dense_features(view, candidates)
        if self.method == "thompson":
            mean, theta = self._thompson(users, view)
            return mean.astype(np.float32) @ x.T, (theta - mean).astype(np.float32) @ x.T
        A, rhs = self._precision(users, view)
        ainv = np.linalg.inv(A)
        mean = np.einsum("bij,bj->bi", ainv, rhs)
        expected = mean.astype(np.float32) @ x.T
        if self.alpha == 0:
            return expected, np.zeros_like(expected)
        # x^T A^-1 x for every (user, candidate): the packed upper triangle of A^-1 (off-
        # diagonal entries doubled) against the packed outer products x_i x_j.
        off = np.where(self._iu == self._ju, 1.0, 2.0)
        ainv_packed = (ainv[:, self._iu, self._ju] * off).astype(np.float32)
        outer = x[:, self._iu] * x[:, self._ju]  # (C, d(d+1)/2)
        quad = ainv_packed @ outer.T
        np.maximum(quad, 0.0, out=quad)
        np.sqrt(quad, out=quad)
        quad *= np.float32(self.alpha)
        return expected, quad

    def score(self, users, candidates, view):
        if self.method == "thompson":
            x = dense_features(view, candidates)
            return self._thompson(users, view)[1].astype(np.float32) @ x.T
        expected, bonus = self._parts(users, candidates, view)
        expected += bonus
        return expected

    def explain(self, user, candidates, view):
        expected, explore = self._parts(np.array([user], dtype=np.int64), candidates, view)
        return {"expected reward": expected[0].astype(np.float64), "exploration": explore[0].astype(np.float64)}


@register_recommender("epsilon_greedy")
class EpsilonGreedy(Recommender):
    """Epsilon-greedy exploration around any registered recommender.

    For each user of a block, with probability ``epsilon`` the row explores: its scores
    are replaced by uniform random ones (a random order of the pool, as the "random"
    recommender gives); otherwise the row is the base recommender's. ``observe`` is
    forwarded to the base, which so learns from the exploring impressions too. The
    classic epsilon-greedy policy of the bandit literature (Sutton & Barto 2018, ch. 2; a
    baseline of Li et al. 2010). ``epsilon=0`` is the base unchanged,
    ``epsilon=1`` draws exactly as "random" does. The base shares this recommender's
    random stream (the base draws first in each block).

    Args:
        base: registered name of the recommender to explore around. A privileged base
            (the oracle) is refused: the engine decides which view to hand over from the
            class, and this wrapper is not privileged.
        base_params: the base's params (validated as for the base itself).
        epsilon: share of users whose feed is random, in [0, 1].
    """

    def __init__(
        self,
        base: str = "popularity",
        base_params: dict | None = None,
        epsilon: Annotated[float, Field(ge=0, le=1)] = 0.1,
    ):
        self.base = base
        self.base_params = base_params
        self.epsilon = epsilon
        try:
            self.inner = make_recommender(base, base_params or {})
        except RecommenderError as exc:
            param = "base_params" if base_params and "unknown recommender" not in str(exc) else "base"
            raise RecommenderError(f"recommender 'epsilon_greedy': param {param!r}: {exc}") from None
        if type(self.inner).privileged:
            raise RecommenderError(
                f"recommender 'epsilon_greedy': param 'base': {base!r} is privileged (sees true utility); "
                "a wrapper cannot pass the oracle view on"
            )

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    @rng.setter
    def rng(self, value: np.random.Generator) -> None:
        self._rng = value
        self.inner.rng = value

    def observe(self, events, view):
        self.inner.observe(events, view)

    def score(self, users, candidates, view):
        n, c = len(users), len(candidates)
        if self.epsilon >= 1.0:
            return self.rng.random((n, c), dtype=np.float32)
        base = self.inner.score(users, candidates, view)
        if self.epsilon <= 0.0:
            return base
        explore = self.rng.random(n) < self.epsilon
        k = int(explore.sum())
        if k == 0:
            return base
        base = np.asarray(base)
        out = np.array(base, dtype=np.float64 if base.dtype == np.float64 else np.float32)
        out[explore] = self.rng.random((k, c), dtype=np.float32)
        return out

    def explain(self, user, candidates, view):
        c = len(candidates)
        if self.epsilon >= 1.0:
            return {"exploration": self.rng.random((1, c), dtype=np.float32)[0].astype(np.float64)}
        parts = self.inner.explain(user, candidates, view)
        if self.epsilon <= 0.0:
            return parts
        if self.rng.random(1)[0] < self.epsilon:
            return {"exploration": self.rng.random((1, c), dtype=np.float32)[0].astype(np.float64)}
        return parts

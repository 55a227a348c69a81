"""Social filtering: what the user's friends liked and shared, weighted by tie strength."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from .base import Recommender, register_recommender

NonNegative = Annotated[float, Field(ge=0)]
#: Decayed entries smaller than this are dropped from the sparse matrices.
PRUNE_BELOW = 1e-4


def decay_add(
    matrix: sp.csr_matrix, factor: float, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """``factor * matrix`` plus 1 at each (row, col) (repeats add up), tiny entries dropped."""
    if matrix.shape != shape:
        matrix = matrix.copy()
        matrix.resize(shape)
    out = matrix * np.float32(factor)
    if len(rows):
        out = out + sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    out = out.tocsr()
    out.data[out.data < PRUNE_BELOW] = 0.0
    out.eliminate_zeros()
    return out


def rows_of(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """Rows of a CSR matrix; rows past its end read as zeros."""
    rows = np.asarray(rows, dtype=np.int64)
    n = matrix.shape[0]
    if len(rows) == 0 or rows.max() < n:
        return matrix[rows]
    inside = np.flatnonzero(rows < n)
    pick = sp.csr_matrix((np.ones(len(inside), np.float32), (inside, rows[inside])), shape=(len(rows), n))
    return (pick @ matrix).tocsr()


@register_recommender("social")
class SocialRecommender(Recommender):
    """Social filtering: rank by friends' decayed likes and shares, weighted by tie strength.

    ::

        score(u, v) = sum_f tie(u, f) * S(f, v) + prior_weight * log1p(l_v) / log1p(max_c l_c)
        S(f, v)     = L(f, v) + share_weight * Sh(f, v) + comment_weight * C(f, v)
        tie(u, f)   = A(u, f) * (1 + tie_weight * T(u, f))

    with ``A`` the friend graph, ``L``, ``Sh`` and ``C`` the observed likes, shares and
    comments of each user, each decayed as ``M <- d M + new`` with
    ``d = 0.5 ** (1 / half_life)``, and ``T(u, f)`` the decayed count of videos friend f
    shared to u that u watched (``share_parent`` in the log; half-life
    ``tie_half_life``); ``tie_strength="none"`` sets every tie to 1. Videos older than
    ``max_age`` steps are dropped from ``S``, so it holds only alive videos; a block's
    scores are the sparse product ``W[users] @ S[:, candidates]``. The trending prior,
    with ``l_v = sum_f L(f, v)`` the decayed likes of video v by everyone (the
    popularity recommender's signal), breaks ties for users whose friends did nothing.

    Social filtering is one of the six recommenders of Chaney, Stewart and Engelhardt
    (2018), "How algorithmic confounding in recommendation systems increases homogeneity
    and decreases utility", RecSys; tie strength from interactions as in Gilbert and
    Karahalios (2009), "Predicting tie strength with social media", CHI.

    Args:
        share_weight: weight of a friend's share relative to a like.
        comment_weight: weight of a friend's comment (0 leaves comments out).
        half_life: steps for a friend's signal to lose half its weight.
        tie_strength: "shares" (ties grow with shares received from the friend) or "none".
        tie_weight: tie strength added per (decayed) share received.
        tie_half_life: steps for a received share to lose half its weight in the tie.
        max_age: steps after upload after which a video's signals are dropped.
        prior_weight: weight of the normalised trending prior ("trending prior"); a like
            from a friend this step counts 1.
    """

    def __init__(
        self,
        share_weight: NonNegative = 2.0,
        comment_weight: NonNegative = 0.0,
        half_life: Annotated[float, Field(gt=0)] = 3.0,
        tie_strength: Literal["shares", "none"] = "shares",
        tie_weight: NonNegative = 1.0,
        tie_half_life: Annotated[float, Field(gt=0)] = 20.0,
        max_age: Annotated[int, Field(ge=1)] = 30,
        prior_weight: NonNegative = 0.1,
    ):
        self.share_weight = share_weight
        self.comment_weight = comment_weight
        self.half_life = half_life
        self.tie_strength = tie_strength
        self.tie_weight = tie_weight
        self.tie_half_life = tie_half_life
        self.max_age = max_age
        self.prior_weight = prior_weight
        empty = sp.csr_matrix((0, 0), dtype=np.float32)
        self.signals: dict[str, sp.csr_matrix] = {"like": empty, "share": empty, "comment": empty}
        self.received = empty  # T: users x users decayed shares received (row: receiver)
        self._ties: sp.csr_matrix | None = None  # W
        self._cache: tuple | None = None  # (step, candidates, {kind: S[:, candidates]}, prior)

    # -- learning ---------------------------------------------------------------------
    def _kinds(self) -> dict[str, float]:
        """Signal kinds in use and their weights."""
        kinds = {"like": 1.0, "share": self.share_weight}
        if self.comment_weight > 0:
            kinds["comment"] = self.comment_weight
        return kinds

    def observe(self, events, view):
        n_users = max(view.n_users, int(events.user.max()) + 1 if len(events) else 0)
        n_videos = view.n_videos
        d = 0.5 ** (1.0 / self.half_life)
        first_alive = int(np.searchsorted(view.upload_step[:n_videos], events.step - self.max_age + 1, side="left"))
        users = np.asarray(events.user, dtype=np.int64)
        videos = np.asarray(events.video, dtype=np.int64)
        flags = {"like": events.liked, "share": events.shared, "comment": events.commented}
        for kind in self._kinds():
            hit = np.asarray(flags[kind], dtype=bool) & (videos >= first_alive)
            m = decay_add(self.signals[kind], d, users[hit], videos[hit], (n_users, n_videos))
            if first_alive > 0 and m.nnz:  # drop videos past max_age
                m.data[m.indices < first_alive] = 0.0
                m.eliminate_zeros()
            self.signals[kind] = m
        if self.tie_strength == "shares":
            parent = np.asarray(events.share_parent, dtype=np.int64)
            got = parent >= 0
            dt = 0.5 ** (1.0 / self.tie_half_life)
            self.received = decay_add(self.received, dt, users[got], parent[got], (n_users, n_users))
        self._ties = None
        self._cache = None

    def ties(self, view) -> sp.csr_matrix:
        """W: users x users tie strengths (friends only)."""
        if self._ties is None or self._ties.shape[0] < view.n_users:
            a = view.friends.astype(np.float32)
            if self.tie_strength == "shares" and self.received.nnz and self.tie_weight > 0:
                t = self.received.copy()
                t.resize(a.shape)
                a = a + a.multiply(t) * np.float32(self.tie_weight)
            self._ties = sp.csr_matrix(a)
        return self._ties

    def _columns(self, candidates: np.ndarray, view) -> tuple[dict[str, sp.csr_matrix], np.ndarray]:
        """Each weighted signal matrix restricted to the candidates, their sum ("total"),
        and the candidates' prior; cached for the step's blocks."""
        c = self._cache
        if c is not None and c[0] == view.step and np.array_equal(c[1], candidates):
            return c[2], c[3]
        n = view.n_users
        cols: dict[str, sp.csr_matrix] = {}
        for kind, weight in self._kinds().items():
            m = self.signals[kind]
            known = candidates < m.shape[1]
            if m.shape[0] < n:
                m = m.copy()
                m.resize((n, m.shape[1]))
            pick = sp.csr_matrix(
                (np.full(int(known.sum()), weight, np.float32), (candidates[known], np.flatnonzero(known))),
                shape=(m.shape[1], len(candidates)),
            )
            cols[kind] = (m @ pick).tocsr()  # weighted S_kind[:, candidates]
        total = None
        for m in cols.values():
            total = m if total is None else total + m
        cols["total"] = total.tocsr()
        prior = self.prior(cols["like"])
        self._cache = (view.step, candidates.copy(), cols, prior)
        return cols, prior

    # -- answers ----------------------------------------------------------------------
    def prior(self, likes: sp.csr_matrix) -> np.ndarray:
        """The trending prior of each candidate: ``prior_weight * log1p(l_v) / log1p(max_c l_c)``
        with ``l_v`` the decayed observed likes of video v by everyone, the column sums of
        ``likes`` (L restricted to the candidates)."""
        likes = np.asarray(likes.sum(axis=0), dtype=np.float64).ravel()
        trend = np.log1p(np.maximum(likes, 0.0))
        top = trend.max() if len(trend) else 0.0
        base = trend / top if top > 0 else trend
        return (self.prior_weight * base).astype(np.float32)

    def _parts(self, users: np.ndarray, candidates: np.ndarray, view, split: bool) -> dict[str, np.ndarray]:
        users = np.asarray(users, dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)
        cols, prior = self._columns(candidates, view)
        w = rows_of(self.ties(view), users)
        names = {"like": "friends' likes", "share": "friends' shares", "comment": "friends' comments"}
        if split:
            out = {names[k]: (w @ m).toarray() for k, m in cols.items() if k != "total"}
            out["trending prior"] = np.broadcast_to(prior, (len(users), len(candidates)))
            return out
        total = cols["total"]
        score = (w @ total).toarray() if total.nnz else np.zeros((len(users), len(candidates)), np.float32)
        score += prior[None, :]
        return {"score": score}

    def score(self, users, candidates, view):
        return self._parts(users, candidates, view, split=False)["score"]

    def explain(self, user, candidates, view):
        parts = self._parts(np.array([user], dtype=np.int64), candidates, view, split=True)
        return {k: np.asarray(v[0], dtype=np.float64) for k, v in parts.items()}

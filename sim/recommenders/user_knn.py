"""User-based collaborative filtering: score a video by what similar users did with it."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from sklearn.preprocessing import normalize

from .base import Recommender, register_recommender
from .signals import NonNegative, SignalMatrix, resized, signal_values, trending_prior
DENSE_FRACTION = 0.25  # a sparse similarity block fuller than this is searched densely
DENSE_WORK = 0.1  # sparse multiply-adds per similarity cell above which blocks are dense
HEAVY_FRACTION = 0.1  # in dense blocks, videos with more than this share of the users go through BLAS


def _top_k_sparse(s: sp.csr_matrix, offset: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, value) of the k largest positive entries of each row of a sparse block,
    leaving out the diagonal ``col == row + offset``; ties are broken deterministically."""
    b = s.shape[0]
    r = np.repeat(np.arange(b), np.diff(s.indptr))
    c, v = s.indices, s.data
    keep = (c != r + offset) & (v > 0)
    r, c, v = r[keep], c[keep], v[keep]
    counts = np.bincount(r, minlength=b)
    if len(r) and counts.max() > k:
        # rows ascending, then similarity descending (similarities lie in (0, 1])
        order = np.argsort(r * 4.0 - v.astype(np.float64), kind="stable")
        r, c, v = r[order], c[order], v[order]
        rank = np.arange(len(r)) - (np.cumsum(counts) - counts)[r]
        sel = rank < k
        r, c, v = r[sel], c[sel], v[sel]
    return r, c, v


def _top_k_dense(d: np.ndarray, offset: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`_top_k_sparse` for a dense block (overwritten), by block-maxima selection."""
    from ..feed import top_k  # here, not at import: sim.feed imports the recommenders package

    b, m = d.shape
    # A tiny ramp (below 1e-7, under float32 resolution of a similarity) makes the many
    # equal zeros of a sparse-ish block distinct: selection is several times slower on ties.
    ramp = np.arange(m, dtype=np.float32) * np.float32(1e-7 / max(m, 1))
    d -= ramp
    d[np.arange(b), offset + np.arange(b)] = -np.inf
    top = top_k(d, k)
    cols = np.maximum(top, 0)
    val = np.take_along_axis(d, cols, axis=1)
    ok = (top >= 0) & (val > 0)
    val = val + ramp[cols]
    r = np.broadcast_to(np.arange(b)[:, None], top.shape)
    return r[ok], top[ok], val[ok]


def _add_sparse(d: np.ndarray, s: sp.csr_matrix) -> None:
    """d += s for a dense d and a canonical CSR s of the same shape (no repeated entries)."""
    d[np.repeat(np.arange(s.shape[0]), np.diff(s.indptr)), s.indices] += s.data


def nearest_neighbours(x: sp.csr_matrix, k: int, max_cells: int = 4_000_000) -> sp.csr_matrix:
    """The k most cosine-similar other users of each user, as a sparse (n x n) matrix.

    Row u holds ``sim(u, n)`` for u's k nearest neighbours n with positive similarity
    (fewer if fewer users share anything with u; ties are broken deterministically).
    Users without history have no neighbours and are no one's neighbour.

    Similarities come in row blocks, never as a users x users matrix: each block is the
    product ``Xn[block] @ Xn.T`` of the row-normalised matrix. A sparse product costs
    ``work = sum over videos of (number of users)^2`` multiply-adds, and videos seen by many
    users dominate it. Two regimes:

    * ``work > DENSE_WORK * n_active^2`` (the similarity matrix is dense anyway): blocks of
      ``max_cells / n_active`` rows are dense; the videos seen by more than
      ``HEAVY_FRACTION`` of the users (at most ``max_cells / n_active`` of them) are
      multiplied as a dense users x videos matrix with BLAS, the others as sparse, and
      each row's top k is found by block maxima.
    * otherwise blocks are sparse, cut so that their multiply-adds (an upper bound on
      their nonzeros) stay under ``max_cells``; the top k come from one sort of each
      block's nonzeros (or from dense copies of at most ``max_cells`` entries if a block is
      more than ``DENSE_FRACTION`` full).
    """
    n = x.shape[0]
    active = np.flatnonzero(np.diff(x.indptr))
    m = len(active)
    if m < 2:
        return sp.csr_matrix((n, n), dtype=np.float32)
    xa = normalize(x[active].astype(np.float32), norm="l2", axis=1)
    degree = np.bincount(xa.indices, minlength=xa.shape[1])
    kk = min(k, m - 1)
    height = max(1, max_cells // m)
    rows, cols, sims = [], [], []

    def keep(found, start):
        r, c, v = found
        rows.append(active[r + start])
        cols.append(active[c])
        sims.append(v)

    if np.square(degree, dtype=np.float64).sum() > DENSE_WORK * float(m) ** 2:
        heavy = np.flatnonzero(degree > HEAVY_FRACTION * m)
        heavy = np.sort(heavy[np.argsort(-degree[heavy], kind="stable")[:height]])
        is_heavy = np.zeros(xa.shape[1], dtype=bool)
        is_heavy[heavy] = True
        xh = np.ascontiguousarray(xa[:, heavy].toarray())
        xl = xa[:, np.flatnonzero(~is_heavy)].tocsr()
        xl_t = xl.T.tocsr()
        for start in range(0, m, height):  # blocks of users, each one vectorised
            b = min(height, m - start)
            d = xh[start : start + b] @ xh.T if len(heavy) else np.zeros((b, m), dtype=np.float32)
            _add_sparse(d, xl[start : start + b] @ xl_t)
            keep(_top_k_dense(d, start, kk), start)
    else:
        xa_t = xa.T.tocsr()
        work = np.add.reduceat(degree[xa.indices].astype(np.float64), xa.indptr[:-1])  # active rows: non-empty
        total = np.cumsum(work)
        cuts = [0]
        while cuts[-1] < m:
            base = total[cuts[-1] - 1] if cuts[-1] else 0.0
            nxt = int(np.searchsorted(total, base + max_cells, side="right"))
            cuts.append(min(m, max(nxt, cuts[-1] + 1)))
        for start, stop in zip(cuts[:-1], cuts[1:]):
            s = xa[start:stop] @ xa_t
            if s.nnz > DENSE_FRACTION * s.shape[0] * m:  # dense enough: select in dense sub-blocks
                for sub in range(start, stop, height):
                    keep(_top_k_dense(s[sub - start : sub - start + height].toarray(), sub, kk), sub)
            else:
                keep(_top_k_sparse(s, start, kk), start)
    data = np.concatenate(sims).astype(np.float32)
    return sp.csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


@register_recommender("user_knn")
class UserKNNRecommender(Recommender):
    """Users with similar histories: score videos by what a user's nearest neighbours liked.

    User-based collaborative filtering (Resnick et al. 1994, GroupLens; Herlocker et al.
    1999). Each user is a row of the users x videos matrix ``X`` of observed signals; the
    similarity of two users is the cosine of their rows, and each user keeps its ``k`` most
    similar other users (positive similarity only). The score of video v for user u is

        score(u, v) = sum_{n in kNN(u)} sim(u, n) * X[n, v]
                      + prior_weight * trending_v / max_c trending_c

    where the second term, the platform's public trending count normalised over the
    candidate pool, orders the feed of users with no neighbours yet (new users, or before
    the first refit) and breaks ties. ``X`` is updated every step (neighbours' new likes
    count at once); the neighbour lists are recomputed every ``refit_every`` steps, in row
    blocks of bounded size.

    Args:
        k: number of neighbours per user.
        signal: "likes" (X[u, v] = observed likes) or "weighted" (every impression,
            X[u, v] = like_weight * liked + watch_weight * log(watch ratio)
            + share_weight * shared + comment_weight * commented
            - not_interested_weight * not interested, summed over impressions).
        refit_every: steps between two recomputations of the neighbour lists (the first is
            at the first step with any signal).
        prior_weight: weight of the trending prior, in score units (a neighbour of
            similarity 1 who liked a video adds 1).
        like_weight: weight of a like (signal="weighted").
        watch_weight: weight of the log watch ratio, clipped to [0.05, 5] (signal="weighted").
        share_weight: weight of a share (signal="weighted").
        comment_weight: weight of a comment (signal="weighted").
        not_interested_weight: weight subtracted for "not interested" (signal="weighted").
    """

    max_block_cells = 4_000_000  # bound on one similarity block's multiply-adds and dense entries

    def __init__(
        self,
        k: Annotated[int, Field(gt=0)] = 50,
        signal: Literal["likes", "weighted"] = "likes",
        refit_every: Annotated[int, Field(gt=0)] = 5,
        prior_weight: NonNegative = 0.01,
        like_weight: NonNegative = 1.0,
        watch_weight: NonNegative = 0.25,
        share_weight: NonNegative = 2.0,
        comment_weight: NonNegative = 1.0,
        not_interested_weight: NonNegative = 2.0,
    ):
        self.k = k
        self.signal = signal
        self.refit_every = refit_every
        self.prior_weight = prior_weight
        self.like_weight = like_weight
        self.watch_weight = watch_weight
        self.share_weight = share_weight
        self.comment_weight = comment_weight
        self.not_interested_weight = not_interested_weight
        self._x = SignalMatrix()
        self._neighbours: sp.csr_matrix | None = None
        self._fit_step: int | None = None
        self._columns: tuple[int, np.ndarray, sp.csr_matrix] | None = None

    @property
    def neighbours(self) -> sp.csr_matrix | None:
        """The current (n_users x n_users) neighbour graph, ``sim(u, n)`` in row u."""
        return self._neighbours

    def observe(self, events, view):
        u, v, val = signal_values(
            events, self.signal, self.like_weight, self.watch_weight, self.share_weight,
            self.comment_weight, self.not_interested_weight,
        )
        self._x.add(u, v, val, view.n_users, view.n_videos)
        due = self._fit_step is None or events.step - self._fit_step >= self.refit_every
        if due and self._x.matrix.nnz:
            self._neighbours = nearest_neighbours(self._x.matrix, self.k, self.max_block_cells)
            self._fit_step = events.step

    def _parts(self, users: np.ndarray, candidates: np.ndarray, view) -> tuple[np.ndarray | None, np.ndarray]:
        prior = trending_prior(view, candidates, self.prior_weight)
        if self._neighbours is None:
            return None, prior
        x = self._x.grown(view.n_users, view.n_videos)
        n = x.shape[0]
        cache = self._columns
        if cache is None or cache[0] != self._x.version or not np.array_equal(cache[1], candidates):
            cache = (self._x.version, np.array(candidates, copy=True), x[:, candidates])
            self._columns = cache
        xc = cache[2]
        nb = resized(self._neighbours, n, n)
        part = (nb[users] @ xc).toarray()
        return part.astype(np.float32, copy=False), prior

    def score(self, users, candidates, view):
        part, prior = self._parts(users, candidates, view)
        if part is None:
            return np.broadcast_to(prior, (len(users), len(candidates)))
        part += prior
        return part

    def explain(self, user, candidates, view):
        part, prior = self._parts(np.array([user], dtype=np.int64), candidates, view)
        name = "neighbour likes" if self.signal == "likes" else "neighbour signals"
        row = np.zeros(len(candidates), dtype=np.float32) if part is None else part[0]
        return {name: row.astype(np.float64), "popularity prior": prior.astype(np.float64)}

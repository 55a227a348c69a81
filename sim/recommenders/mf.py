"""Matrix factorisation for implicit feedback: implicit's ALS, refit on a schedule, folded in between."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from pydantic import Field
from threadpoolctl import ThreadpoolController

from .base import Recommender, register_recommender
from .signals import NonNegative, SignalMatrix, signal_values, trending_prior

_THREADPOOLS = ThreadpoolController()


def _solve(recalculate, ids: np.ndarray, rows: sp.csr_matrix) -> np.ndarray:
    """implicit's fold-in solve; on a float32 Cholesky failure (an ill-conditioned system),
    retry with 10x and then 100x the regularization, as implicit's error advises."""
    model = recalculate.__self__
    base = model.regularization
    try:
        for scale in (1.0, 10.0, 100.0):
            model.regularization = base * scale
            try:
                return recalculate(ids, rows)
            except ValueError:
                if scale == 100.0:
                    raise
    finally:
        model.regularization = base
    raise AssertionError("unreachable")


def confidence(r: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """Hu et al.'s confidence ``c = 1 + alpha * |r|``, signed as implicit expects.

    implicit reads a positive entry as preference 1 with confidence c and a negative one as
    preference 0 with confidence |c| (a dislike); absent entries are preference 0 with
    confidence 1.
    """
    out = r.astype(np.float32, copy=True)
    out.eliminate_zeros()
    out.data = np.sign(out.data) * (1.0 + alpha * np.abs(out.data))
    return out


@register_recommender("mf")
class MatrixFactorizationRecommender(Recommender):
    """Matrix factorisation of implicit feedback (ALS): score = user factors . video factors.

    Weighted matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008), fitted
    with the ``implicit`` library's conjugate-gradient ALS (Takacs et al. 2011). From the
    users x videos signal matrix ``R`` (observed likes, or weighted signals), preferences
    ``p_uv = [R_uv > 0]`` and confidences ``c_uv = 1 + alpha * |R_uv|`` (1 where absent; a
    negative weighted signal is a confident 0), ALS minimises

        sum_{u,v} c_uv (p_uv - x_u . y_v)^2 + regularization * (|x|^2 + |y|^2)

    on the users and videos with any signal, every ``refit_every`` steps. Between refits,
    users and videos that had no factors at the last refit are folded in every step they
    get new signals: a least-squares solve of their own factor against the fixed other side
    (``recalculate_user`` / ``recalculate_item``), which is one exact ALS half-step for
    them. The score is

        score(u, v) = x_u . y_v + prior_weight * trending_v / max_c trending_c

    The second term, the public trending count normalised over the candidate pool, is the
    cold-start prior: the whole score for users with no signal yet (x_u = 0) and for videos
    nobody has interacted with (y_v = 0), a small tie-breaker elsewhere. BLAS runs on one
    thread during fits (implicit's own threads do the work).

    Args:
        factors: number of latent factors.
        regularization: L2 penalty on the factors.
        iterations: ALS sweeps per refit.
        alpha: confidence weight of an observed signal.
        signal: "likes" (R = observed likes) or "weighted" (every impression, R_uv =
            like_weight * liked + watch_weight * log(watch ratio) + share_weight * shared
            + comment_weight * commented - not_interested_weight * not interested, summed).
        refit_every: steps between two full refits (the first is at the first step with
            any signal).
        num_threads: threads of implicit's solver (0 = all cores); solves over fewer than
            ``min_parallel_nnz`` (50,000) entries run on one thread.
        prior_weight: weight of the trending cold-start prior, in units of x_u . y_v
            (a predicted preference, about 1 for a sure like).
        like_weight: weight of a like (signal="weighted").
        watch_weight: weight of the log watch ratio, clipped to [0.05, 5] (signal="weighted").
        share_weight: weight of a share (signal="weighted").
        comment_weight: weight of a comment (signal="weighted").
        not_interested_weight: weight subtracted for "not interested" (signal="weighted").
    """

    min_parallel_nnz = 50_000  # smaller solves run on one thread: threads cost more than they give

    def __init__(
        self,
        factors: Annotated[int, Field(gt=0)] = 64,
        regularization: NonNegative = 0.1,
        iterations: Annotated[int, Field(gt=0)] = 15,
        alpha: Annotated[float, Field(gt=0)] = 10.0,
        signal: Literal["likes", "weighted"] = "likes",
        refit_every: Annotated[int, Field(gt=0)] = 5,
        num_threads: Annotated[int, Field(ge=0)] = 2,
        prior_weight: NonNegative = 0.05,
        like_weight: NonNegative = 1.0,
        watch_weight: NonNegative = 0.25,
        share_weight: NonNegative = 2.0,
        comment_weight: NonNegative = 1.0,
        not_interested_weight: NonNegative = 2.0,
    ):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.signal = signal
        self.refit_every = refit_every
        self.num_threads = num_threads
        self.prior_weight = prior_weight
        self.like_weight = like_weight
        self.watch_weight = watch_weight
        self.share_weight = share_weight
        self.comment_weight = comment_weight
        self.not_interested_weight = not_interested_weight
        self._r = SignalMatrix()
        self._fit_step: int | None = None
        self._user_factors: np.ndarray | None = None  # (n_users, factors), 0 = no factor
        self._video_factors: np.ndarray | None = None  # (n_videos, factors), 0 = no factor
        self._fitted_users = np.zeros(0, dtype=bool)  # had factors from the last refit
        self._fitted_videos = np.zeros(0, dtype=bool)
        self._since_fit: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # entries since the refit

    # -- factors --------------------------------------------------------------------------
    @property
    def user_factors(self) -> np.ndarray | None:
        """(n_users, factors) user factors (rows of 0 for users without any)."""
        return self._user_factors

    @property
    def video_factors(self) -> np.ndarray | None:
        """(n_videos, factors) video factors (rows of 0 for videos without any)."""
        return self._video_factors

    def _threads(self, nnz: int) -> int:
        """implicit's threads for a solve over ``nnz`` entries: one below ``min_parallel_nnz``."""
        return self.num_threads if nnz >= self.min_parallel_nnz else 1

    def _als(self, nnz: int, seeded: bool = True) -> AlternatingLeastSquares:
        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=1.0,  # the confidence 1 + alpha * r is built here, as in Hu et al.
            iterations=self.iterations,
            num_threads=self._threads(nnz),
            random_state=int(self.rng.integers(2**31)) if seeded else None,
        )

    def refit(self) -> None:
        """Fit ALS on every user and video with a signal so far."""
        r = self._r.matrix
        n_users, n_videos = r.shape
        users = np.flatnonzero(np.diff(r.indptr))
        sub = r[users]
        videos = np.flatnonzero(np.bincount(sub.indices, minlength=n_videos))
        c = confidence(sub[:, videos], self.alpha).tocsr()
        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            model = self._als(c.nnz)
            model.fit(c, show_progress=False)
        self._user_factors = np.zeros((n_users, self.factors), dtype=np.float32)
        self._video_factors = np.zeros((n_videos, self.factors), dtype=np.float32)
        self._user_factors[users] = model.user_factors
        self._video_factors[videos] = model.item_factors
        self._fitted_users = np.zeros(n_users, dtype=bool)
        self._fitted_users[users] = True
        self._fitted_videos = np.zeros(n_videos, dtype=bool)
        self._fitted_videos[videos] = True
        self._since_fit = []

    def _grow(self, n_users: int, n_videos: int) -> None:
        def pad(a: np.ndarray, n: int) -> np.ndarray:
            if len(a) >= n:
                return a
            extra = np.zeros((n - len(a),) + a.shape[1:], dtype=a.dtype)
            return np.concatenate([a, extra])

        self._user_factors = pad(self._user_factors, n_users)
        self._video_factors = pad(self._video_factors, n_videos)
        self._fitted_users = pad(self._fitted_users, n_users)
        self._fitted_videos = pad(self._fitted_videos, n_videos)

    def fold_in(self, users: np.ndarray, videos: np.ndarray) -> None:
        """Solve factors for the users and videos, given in this step's entries, that were
        not in the last refit: users from their whole row against the video factors, then
        videos from their entries since the refit against the user factors."""
        r = self._r.matrix
        self._grow(*r.shape)
        new_users = np.unique(users[~self._fitted_users[users]])
        new_videos = np.unique(videos[~self._fitted_videos[videos]])
        if not len(new_users) and not len(new_videos):
            return
        rows = confidence(r[new_users], self.alpha)
        solver = self._als(rows.nnz + len(self._since_fit[-1][0]), seeded=False)  # no random init in a solve
        # A solver over the current factors (in place): YtY and XtX are computed on first use,
        # XtX after the users' update.
        solver.user_factors, solver.item_factors = self._user_factors, self._video_factors
        with _THREADPOOLS.limit(limits=1, user_api="blas"):
            if len(new_users):
                self._user_factors[new_users] = _solve(solver.recalculate_user, new_users, rows)
            if len(new_videos):
                u, v, val = (np.concatenate(parts) for parts in zip(*self._since_fit))
                row_of = np.full(r.shape[1], -1, dtype=np.int64)
                row_of[new_videos] = np.arange(len(new_videos))
                keep = row_of[v] >= 0
                cols = sp.csr_matrix((val[keep], (row_of[v[keep]], u[keep])), shape=(len(new_videos), r.shape[0]))
                self._video_factors[new_videos] = _solve(solver.recalculate_item, new_videos, confidence(cols, self.alpha))

    # -- the contract ---------------------------------------------------------------------
    def observe(self, events, view):
        u, v, val = signal_values(
            events, self.signal, self.like_weight, self.watch_weight, self.share_weight,
            self.comment_weight, self.not_interested_weight,
        )
        self._r.add(u, v, val, view.n_users, view.n_videos)
        due = self._fit_step is None or events.step - self._fit_step >= self.refit_every
        if due and self._r.matrix.nnz:
            self.refit()
            self._fit_step = events.step
        elif self._fit_step is not None:
            self._since_fit.append((u, v, val))
            self.fold_in(u, v)

    def _parts(self, users: np.ndarray, candidates: np.ndarray, view) -> tuple[np.ndarray | None, np.ndarray]:
        prior = trending_prior(view, candidates, self.prior_weight)
        if self._user_factors is None:
            return None, prior
        uf, vf = self._user_factors, self._video_factors
        xu = uf[np.minimum(users, len(uf) - 1)]
        xu[users >= len(uf)] = 0.0
        yv = vf[np.minimum(candidates, len(vf) - 1)]
        yv[candidates >= len(vf)] = 0.0
        return xu @ yv.T, prior

    def score(self, users, candidates, view):
        latent, prior = self._parts(users, candidates, view)
        if latent is None:
            return np.broadcast_to(prior, (len(users), len(candidates)))
        latent += prior
        return latent

    def explain(self, user, candidates, view):
        latent, prior = self._parts(np.array([user], dtype=np.int64), candidates, view)
        row = np.zeros(len(candidates), dtype=np.float32) if latent is None else latent[0]
        return {"latent match": row.astype(np.float64), "cold-start prior": prior.astype(np.float64)}

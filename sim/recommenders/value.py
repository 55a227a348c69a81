"""The multi-signal value model: predicted like, watch, share, comment and "not interested",
combined with set weights, as industrial short-video rankers do."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field
from sklearn.linear_model import LogisticRegression

from .base import Recommender, register_recommender

NonNegative = Annotated[float, Field(ge=0)]

#: Explanation part (and predictor) of each signal, in the order of the arrays below.
SIGNALS = ("like", "watch", "share", "comment", "not interested")
#: The watch target is min(watch ratio, WATCH_CAP) / WATCH_CAP, a fraction in [0, 1].
WATCH_CAP = 2.0
#: Rates assumed before anything is observed (watch: 0.72 / WATCH_CAP, KuaiRec's median).
START_RATES = np.array([0.08, 0.36, 0.003, 0.003, 0.01])
#: Features of each signal's logistic model: video rate, user rate, user x tag, user x creator.
FEATURES = ("video", "user", "user x tag", "user x creator")
#: Coefficients (intercept, then one per feature) used until a signal has been fit.
START_COEF = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
#: Rows kept for fitting (the most recent), and the most added per step.
FIT_ROWS = 50_000
#: A signal is fit only once the kept rows hold this much positive and negative mass.
MIN_CLASS_MASS = 20.0
#: Above this share of a block's entries, user x creator lifts are gathered from a dense
#: (users x pool creators) table rather than scattered pair by pair.
DENSE_SHARE = 0.125
#: User x creator entries whose decayed impression count falls below this are dropped.
PRUNE_BELOW = 0.05


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1.0 - 1e-4)
    return np.log(p) - np.log1p(-p)


def targets(events) -> np.ndarray:
    """(n_events, 5) float32 outcomes in [0, 1]: like, watch fraction, share, comment, not interested."""
    return np.stack(
        [
            events.liked,
            np.minimum(events.watch_ratio, WATCH_CAP) / WATCH_CAP,
            events.shared,
            events.commented,
            events.not_interested,
        ],
        axis=1,
    ).astype(np.float32)


@register_recommender("value")
class ValueModel(Recommender):
    """Multi-signal value model: weighted predicted like, watch, share, comment, not interested.

    ``score(u, v) = w_like p_like + w_watch E[watch ratio] + w_share p_share
    + w_comment p_comment - w_not_interested p_not_interested``: the multi-objective
    ranking of industrial feeds (Zhao et al., RecSys 2019, YouTube's multitask ranker:
    per-task predictions combined by hand-tuned weights; Covington et al. 2016 on ranking
    by watch time instead of clicks). With weight on likes alone it is a like optimiser.

    Each signal ``s`` has its own predictor, a logistic model on four log-odds features,
    all from the observed log (outcomes ``y`` in [0, 1]; for watch, ``y = min(watch
    ratio, 2) / 2`` and ``E[watch ratio] = 2 p_watch``)::

        logit p_s(u, v) = c0 + c1 logit(r_v) + c2 [logit(r_u) - logit(r_g)]
                          + c3 mean_{t in tags(v)} [logit(r_ut) - logit(r_u)]
                          + c4 [logit(r_uc(v)) - logit(r_u)]

    with Beta-smoothed rates, each shrunk toward the level above by ``m`` pseudo-events:
    global ``r_g``; creator ``r_c = (S_c + m r_g) / (N_c + m)``; video
    ``r_v = (S_v + m r_c) / (N_v + m)`` (a new video starts at its creator's rate);
    user ``r_u = (S_u + m r_g) / (N_u + m)``; user x tag and user x creator rates shrunk
    toward ``r_u`` (0 lift where the user saw none). ``S`` and ``N`` are (optionally
    decayed) sums of outcomes and impressions. The coefficients are refit every step by
    scikit-learn's LogisticRegression on the last 50,000 sampled impressions, their
    features taken before those impressions entered the rates (no leakage); until a
    signal has 20 positives and negatives, ``c = (0, 1, 1, 1, 1)``. A (2048 x 2000) block
    costs per signal one (B x T+2) @ (T+2 x C) product, one gather of user x creator
    lifts and one sigmoid; signals with zero weight are skipped.

    State (float32): 24 (T + 1) bytes per user (41 MB for 100,000 users and 16 topics), 24
    per video, 32 per (user, creator) pair with an impression (a sorted key table; pairs
    whose decayed count falls below 0.05 are dropped when ``half_life`` is set), and the
    50,000 fit rows (5 MB).

    Args:
        w_like: weight of the like probability.
        w_watch: weight of the expected watch ratio (capped at 2).
        w_share: weight of the share probability (shares are rare: about 1 in 300).
        w_comment: weight of the comment probability.
        w_not_interested: weight of the "not interested" probability (subtracted).
        prior_strength: ``m``, pseudo-events of each Beta prior (shrinkage of small counts).
        half_life: steps for an observation to lose half its weight; None keeps everything.
    """

    def __init__(
        self,
        w_like: NonNegative = 1.0,
        w_watch: NonNegative = 2.0,
        w_share: NonNegative = 20.0,
        w_comment: NonNegative = 10.0,
        w_not_interested: NonNegative = 10.0,
        prior_strength: Annotated[float, Field(gt=0)] = 5.0,
        half_life: Annotated[float, Field(gt=0)] | None = None,
    ):
        self.w_like = w_like
        self.w_watch = w_watch
        self.w_share = w_share
        self.w_comment = w_comment
        self.w_not_interested = w_not_interested
        self.prior_strength = prior_strength
        self.half_life = half_life
        self.g_n = 0.0
        self.g_s = np.zeros(5)
        self.v_n = np.zeros(0, np.float32)
        self.v_s = np.zeros((0, 5), np.float32)
        self.c_n = np.zeros(0)
        self.c_s = np.zeros((0, 5))
        self.u_n = np.zeros(0, np.float32)
        self.u_s = np.zeros((0, 5), np.float32)
        self.ut_n = np.zeros((0, 0), np.float32)
        self.ut_s = np.zeros((0, 0, 5), np.float32)
        self.uc_key = np.zeros(0, np.int64)  # user * n_creators + creator, sorted
        self.uc_val = np.zeros((0, 6), np.float32)  # impressions, then the 5 outcome sums
        self.coef = np.tile(START_COEF, (5, 1))
        self.fitted = np.zeros(5, dtype=bool)
        self.buf_x = np.zeros((0, 5, len(FEATURES)), np.float32)
        self.buf_y = np.zeros((0, 5), np.float32)

    # -- state ------------------------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """Signed weight of each signal's prediction in the score (watch in watch-ratio units)."""
        return np.array(
            [self.w_like, self.w_watch * WATCH_CAP, self.w_share, self.w_comment, -self.w_not_interested]
        )

    def _ensure(self, view) -> None:
        def grow(arr, n):
            if len(arr) >= n:
                return arr
            return np.concatenate([arr, np.zeros((n - len(arr),) + arr.shape[1:], arr.dtype)])

        n_videos = view.n_videos
        if len(self.v_n) < n_videos:
            n = max(n_videos, int(len(self.v_n) * 1.5))
            self.v_n, self.v_s = grow(self.v_n, n), grow(self.v_s, n)
        self.c_n, self.c_s = grow(self.c_n, view.n_creators), grow(self.c_s, view.n_creators)
        self.u_n, self.u_s = grow(self.u_n, view.n_users), grow(self.u_s, view.n_users)
        if self.ut_n.shape[1] != view.n_topics:
            self.ut_n = np.zeros((0, view.n_topics), np.float32)
            self.ut_s = np.zeros((0, view.n_topics, 5), np.float32)
        self.ut_n, self.ut_s = grow(self.ut_n, view.n_users), grow(self.ut_s, view.n_users)

    def _global_rate(self) -> np.ndarray:
        m = self.prior_strength
        return (self.g_s + m * START_RATES) / (self.g_n + m)

    def _user_rate(self, users: np.ndarray, rg: np.ndarray) -> np.ndarray:
        m = self.prior_strength
        return (self.u_s[users] + m * rg) / (self.u_n[users, None] + m)

    def _video_logit(self, videos: np.ndarray, view, rg: np.ndarray) -> np.ndarray:
        m = self.prior_strength
        rc = (self.c_s + m * rg) / (self.c_n[:, None] + m)
        prior = rc[view.creator[videos]]
        return logit((self.v_s[videos] + m * prior) / (self.v_n[videos, None] + m))

    def _tag_lift(self, users: np.ndarray, ru: np.ndarray) -> np.ndarray:
        """(len(users), T, 5) user x tag log-odds lift over the user's own rate."""
        m = self.prior_strength
        rut = (self.ut_s[users] + m * ru[:, None, :]) / (self.ut_n[users, :, None] + m)
        return logit(rut) - logit(ru)[:, None, :]

    @staticmethod
    def _norm_tags(view, videos: np.ndarray) -> np.ndarray:
        tags = view.tags[videos].astype(np.float32)
        return tags / np.maximum(tags.sum(axis=1, keepdims=True), 1.0)

    def _creator_lift(self, keys: np.ndarray, ru: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, lift (len(keys), 5)) of user x creator keys; ``ru`` the users' rates."""
        pos = np.searchsorted(self.uc_key, keys)
        pos_c = np.minimum(pos, max(len(self.uc_key) - 1, 0))
        found = (pos < len(self.uc_key)) & (self.uc_key[pos_c] == keys) if len(self.uc_key) else np.zeros(len(keys), bool)
        lift = np.zeros((len(keys), 5))
        if found.any():
            m = self.prior_strength
            val = self.uc_val[pos[found]]
            r = ru[found]
            lift[found] = logit((val[:, 1:] + m * r) / (val[:, :1] + m)) - logit(r)
        return found, lift

    def pair_features(self, users: np.ndarray, videos: np.ndarray, view) -> np.ndarray:
        """(n, 5, 4) features of (user, video) pairs for each signal's logistic model."""
        users = np.asarray(users, dtype=np.int64)
        videos = np.asarray(videos, dtype=np.int64)
        rg = self._global_rate()
        ru = self._user_rate(users, rg)
        out = np.empty((len(users), 5, len(FEATURES)), np.float32)
        out[:, :, 0] = self._video_logit(videos, view, rg)
        out[:, :, 1] = logit(ru) - logit(rg)
        out[:, :, 2] = np.einsum("nt,nts->ns", self._norm_tags(view, videos), self._tag_lift(users, ru))
        keys = users * view.n_creators + view.creator[videos]
        out[:, :, 3] = self._creator_lift(keys, ru)[1]
        return out

    # -- learning ---------------------------------------------------------------------
    def observe(self, events, view):
        self._ensure(view)
        if len(events) == 0:
            return
        y = targets(events)
        user = np.asarray(events.user, dtype=np.int64)
        video = np.asarray(events.video, dtype=np.int64)
        # 1. Fit rows: features as they were before these impressions.
        take = np.arange(len(user))
        if len(take) > FIT_ROWS // 2:
            take = np.sort(self.rng.choice(len(user), FIT_ROWS // 2, replace=False))
        self.buf_x = np.concatenate([self.buf_x, self.pair_features(user[take], video[take], view)])[-FIT_ROWS:]
        self.buf_y = np.concatenate([self.buf_y, y[take]])[-FIT_ROWS:]
        self._fit()
        # 2. Forget, then add the step's counts.
        if self.half_life is not None:
            g = 0.5 ** (1.0 / self.half_life)
            for arr in (self.v_n, self.v_s, self.c_n, self.c_s, self.u_n, self.u_s, self.ut_n, self.ut_s, self.uc_val):
                arr *= g
            self.g_n *= g
            self.g_s *= g
            keep = self.uc_val[:, 0] >= PRUNE_BELOW
            if not keep.all():
                self.uc_key, self.uc_val = self.uc_key[keep], self.uc_val[keep]
        ones = np.ones((len(user), 1), np.float32)
        ny = np.concatenate([ones, y], axis=1)  # impressions, then outcomes
        self.g_n += len(user)
        self.g_s += y.sum(axis=0, dtype=np.float64)
        n_videos, n_creators, n_users = len(self.v_n), len(self.c_n), len(self.u_n)
        creator = view.creator[video].astype(np.int64)
        for ids, size, n_arr, s_arr in (
            (video, n_videos, self.v_n, self.v_s),
            (creator, n_creators, self.c_n, self.c_s),
            (user, n_users, self.u_n, self.u_s),
        ):
            sums = np.stack([np.bincount(ids, weights=ny[:, j], minlength=size) for j in range(6)], axis=1)
            n_arr += sums[:, 0].astype(n_arr.dtype)
            s_arr += sums[:, 1:].astype(s_arr.dtype)
        # user x tag: one count per (impression, tag of its video)
        t = view.n_topics
        r, tag = np.nonzero(view.tags[video])
        flat = user[r] * t + tag
        self.ut_n += np.bincount(flat, minlength=n_users * t).reshape(n_users, t).astype(np.float32)
        for j in range(5):
            self.ut_s[:, :, j] += np.bincount(flat, weights=y[r, j], minlength=n_users * t).reshape(n_users, t)
        # user x creator: merge this step's sums into the sorted key table
        keys, inv = np.unique(user * view.n_creators + creator, return_inverse=True)
        add = np.stack([np.bincount(inv, weights=ny[:, j], minlength=len(keys)) for j in range(6)], axis=1)
        pos = np.searchsorted(self.uc_key, keys)
        pos_c = np.minimum(pos, max(len(self.uc_key) - 1, 0))
        found = (pos < len(self.uc_key)) & (self.uc_key[pos_c] == keys) if len(self.uc_key) else np.zeros(len(keys), bool)
        self.uc_val[pos[found]] += add[found].astype(np.float32)
        new = ~found
        self.uc_key = np.insert(self.uc_key, pos[new], keys[new])
        self.uc_val = np.insert(self.uc_val, pos[new], add[new].astype(np.float32), axis=0)

    def _fit(self) -> None:
        """Refit each signal's logistic coefficients on the kept rows."""
        x, y = self.buf_x, self.buf_y
        for s in range(5):
            pos, neg = y[:, s].sum(), (1.0 - y[:, s]).sum()
            if pos < MIN_CLASS_MASS or neg < MIN_CLASS_MASS:
                continue
            ys = y[:, s]
            varies = x[:, s].std(axis=0) > 1e-3
            if not varies.any():
                continue
            cols, fixed = np.flatnonzero(varies), np.flatnonzero(~varies)
            xs = x[:, s][:, cols]
            if np.all((ys == 0) | (ys == 1)):
                labels, weight = ys, None
            else:  # a fractional outcome: each row as a weighted positive and negative
                xs = np.concatenate([xs, xs])
                labels = np.concatenate([np.ones(len(ys)), np.zeros(len(ys))])
                weight = np.concatenate([ys, 1.0 - ys])
            model = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=50)
            model.fit(xs, labels, sample_weight=weight)
            # A feature constant in the kept rows keeps its start coefficient; its constant
            # contribution is taken out of the intercept, so the fit rows score as fitted.
            self.coef[s] = START_COEF
            self.coef[s, 0] = model.intercept_[0] - START_COEF[1 + fixed] @ x[0, s, fixed]
            self.coef[s, 1 + cols] = model.coef_[0]
            self.fitted[s] = True

    # -- scoring ----------------------------------------------------------------------
    def _parts(self, users, candidates, view, skip_zero: bool):
        """Yield (signal index, its signed weighted prediction, a (B, C) float32 block)."""
        self._ensure(view)
        users = np.asarray(users, dtype=np.int64)
        candidates = np.asarray(candidates, dtype=np.int64)
        b, c = len(users), len(candidates)
        rg = self._global_rate()
        ru = self._user_rate(users, rg)
        user_lift = logit(ru) - logit(rg)  # (B, 5)
        video_logit = self._video_logit(candidates, view, rg)  # (C, 5)
        tag_lift = self._tag_lift(users, ru)  # (B, T, 5)
        t = view.n_topics
        right = np.empty((t + 2, c), np.float32)
        right[:t] = self._norm_tags(view, candidates).T
        right[t] = 1.0
        left = np.empty((b, t + 2), np.float32)
        left[:, t + 1] = 1.0
        uc = self._creator_block(users, candidates, view, ru)
        weights = self.weights
        for s in range(5):
            if skip_zero and weights[s] == 0:
                continue
            # p = sigmoid(z) = 0.5 + 0.5 tanh(z / 2): the halving is folded into the factors.
            c0, c1, c2, c3, c4 = 0.5 * self.coef[s]
            left[:, :t] = c3 * tag_lift[:, :, s]
            left[:, t] = c0 + c2 * user_lift[:, s]
            right[t + 1] = c1 * video_logit[:, s]
            z = left @ right
            if uc is not None:
                kind, a, bb, lift = uc
                if kind == "pairs":  # few (user, candidate) pairs: scatter them
                    z[a, bb] += c4 * lift[:, s]
                else:  # many: a dense (users x pool creators) table, gathered by candidate
                    a[bb[0], bb[1]] = c4 * lift[:, s]
                    z += a[:, bb[2]]
            np.tanh(z, out=z)
            half = np.float32(0.5 * weights[s])
            z *= half
            z += half
            yield s, z

    def _creator_block(self, users, candidates, view, ru):
        """User x creator lifts of a block, laid out for adding to (B, C) logits.

        Returns None (no entry touches a candidate), ("pairs", rows, cols, lift) with one
        lift row per (user, candidate) pair, or ("dense", table, (rows, table cols,
        candidate -> table col), lift) when the pairs would fill much of the block.
        """
        b, ncr = len(users), view.n_creators
        pool_creators, col_of_cand = np.unique(view.creator[candidates], return_inverse=True)
        col_of = np.full(ncr, -1, np.int64)
        col_of[pool_creators] = np.arange(len(pool_creators))
        lo = np.searchsorted(self.uc_key, users * ncr)
        cnt = np.searchsorted(self.uc_key, (users + 1) * ncr) - lo
        rows = np.repeat(np.arange(b), cnt)
        idx = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(cnt.sum())
        cols = col_of[self.uc_key[idx] - users[rows] * ncr]
        keep = cols >= 0
        rows, cols, idx = rows[keep], cols[keep], idx[keep]
        if len(idx) == 0:
            return None
        m = self.prior_strength
        val = self.uc_val[idx].astype(np.float64)
        r = ru[rows]
        lift = (logit((val[:, 1:] + m * r) / (val[:, :1] + m)) - logit(r)).astype(np.float32)
        per_creator = np.bincount(col_of_cand, minlength=len(pool_creators))
        n_pairs = int(per_creator[cols].sum())
        if n_pairs > DENSE_SHARE * b * len(candidates):
            table = np.zeros((b, len(pool_creators)), np.float32)
            return "dense", table, (rows, cols, col_of_cand), lift
        # candidates grouped by creator: each entry expands to its creator's candidates
        by_creator = np.argsort(col_of_cand, kind="stable")
        first = np.cumsum(per_creator) - per_creator
        k = per_creator[cols]
        entry = np.repeat(np.arange(len(cols)), k)
        offset = np.arange(n_pairs) - np.repeat(np.cumsum(k) - k, k)
        cand = by_creator[first[cols[entry]] + offset]
        return "pairs", rows[entry], cand, lift[entry]

    def score(self, users, candidates, view):
        out = None
        for _, part in self._parts(users, candidates, view, skip_zero=True):
            if out is None:
                out = part
            else:
                out += part
        if out is None:  # every weight is zero
            return np.broadcast_to(np.zeros(len(candidates), np.float32), (len(users), len(candidates)))
        return out

    def explain(self, user, candidates, view):
        parts = {name: np.zeros(len(candidates)) for name in SIGNALS}
        for s, part in self._parts(np.array([user], dtype=np.int64), candidates, view, skip_zero=True):
            parts[SIGNALS[s]] = part[0].astype(np.float64)
        return parts

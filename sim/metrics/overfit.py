"""Overfitting to likes: how far engagement and true utility come apart
(LITERATURE.md sections 4.1-4.5; validation setup V6).

Utility is the simulator's hidden per-impression truth (the log's ``utility`` column, or a
users x candidates block from the utility model); likes and a recommender's scores are
what the platform sees and optimises.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ._undefined import undefined


def _standardised_trend(y: np.ndarray, t: np.ndarray) -> float:
    """Slope of z(y) on z(t), which is Pearson's r(y, t); 0 for a constant series."""
    ys = y.std()
    if ys == 0:
        return 0.0
    return float(np.mean((y - y.mean()) / ys * (t - t.mean()) / t.std()))


def like_utility_divergence(like_rate_series: np.ndarray, utility_series: np.ndarray) -> float:
    """Divergence of likes from true utility over time: the difference of their
    standardised trends, ``D = r(likes, t) - r(U, t)``.

    The standardised trend of a series is its OLS slope on time after both are z-scored,
    which is Pearson's correlation with time ``r(y, t)`` (in [-1, 1]; 0 for a constant
    series). So D is in [-2, 2]: about 0 when likes and utility move together, up to 2 when
    likes rise steadily while utility falls steadily: the engagement-utility gap of
    LITERATURE.md 4.5 (Kleinberg, Mullainathan, Raghavan 2022/2024: engagement rises while
    value falls; Gao, Schulman, Hilton ICML 2023: the proxy keeps rising, the true reward
    falls). The two series are per-step values of equal length, with t = 0, 1, ...; steps
    where either is NaN are dropped. Undefined (NaN) with fewer than 3 steps.

    >>> like_utility_divergence(np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.4, 0.3]))  # 1 - (-1)
    2.0
    >>> like_utility_divergence(np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0]))
    0.0
    """
    likes = np.asarray(like_rate_series, dtype=np.float64).ravel()
    util = np.asarray(utility_series, dtype=np.float64).ravel()
    if likes.shape != util.shape:
        raise ValueError(f"like_utility_divergence: series differ in length {likes.shape} vs {util.shape}")
    t = np.arange(len(likes), dtype=np.float64)
    keep = ~(np.isnan(likes) | np.isnan(util))
    if keep.sum() < 3:
        return undefined("like_utility_divergence", "fewer than 3 steps with both series")
    t, likes, util = t[keep], likes[keep], util[keep]
    return _standardised_trend(likes, t) - _standardised_trend(util, t)


def score_utility_kendall(scores: np.ndarray, utility: np.ndarray, eligible: np.ndarray | None = None) -> float:
    """How well a recommender's scores order the candidates by true utility: Kendall's
    tau-b per user between scores and utility over that user's candidates, averaged over
    users: ``tau = (1/|U|) sum_u tau_b(s_u., U_u.)``.

    ``tau_b = (P - Q) / sqrt((P + Q + T_s)(P + Q + T_U))`` with P, Q the concordant and
    discordant pairs and T the pairs tied in one variable only (Kendall 1945; scipy's
    ``kendalltau``, vectorised along rows). The rank-agreement gap metric of LITERATURE.md
    4.5 (V6 reports tau(E, U)). ``scores`` and ``utility`` are users x candidates; NaN
    entries, and those outside ``eligible`` when given, are left out. A user with fewer than
    two candidates, or whose scores or utilities are all equal, has no tau and is left out
    (with one warning); none left gives NaN.

    >>> s = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    >>> u = np.array([[30.0, 20.0, 10.0], [1.0, 3.0, 2.0]])
    >>> score_utility_kendall(s, u)  # row 0: +1; row 1: (2 - 1) / 3
    0.6667
    """
    from scipy.stats import kendalltau

    s = np.array(scores, dtype=np.float64, ndmin=2)
    u = np.array(utility, dtype=np.float64, ndmin=2)
    if s.shape != u.shape:
        raise ValueError(f"score_utility_kendall: shapes differ {s.shape} vs {u.shape}")
    if s.size == 0:
        return undefined("score_utility_kendall", "no candidates")
    bad = np.isnan(s) | np.isnan(u)
    if eligible is not None:
        bad |= ~np.asarray(eligible, dtype=bool).reshape(s.shape)
    s[bad] = np.nan
    u[bad] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        varies = (np.nanmax(s, axis=1) > np.nanmin(s, axis=1)) & (np.nanmax(u, axis=1) > np.nanmin(u, axis=1))
    rows = np.flatnonzero(varies & ((~bad).sum(axis=1) >= 2))
    if len(rows) == 0:
        return undefined("score_utility_kendall", "no user whose scores and utilities both vary")
    if len(rows) < s.shape[0]:
        undefined("score_utility_kendall", f"{s.shape[0] - len(rows)} user(s) without a tau left out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if bad[rows].any():
            tau = kendalltau(s[rows], u[rows], axis=1, nan_policy="omit").statistic
        else:
            tau = kendalltau(s[rows], u[rows], axis=1).statistic
    return float(np.nanmean(np.asarray(tau, dtype=np.float64)))


def like_bait_share(is_like_bait_per_impression: np.ndarray) -> float:
    """Share of impressions that go to like-bait: ``sum_i b_i / N`` over the N impressions.

    ``b_i`` is the video's like-bait flag (the world's ``like_bait``: 1 for a call to
    action, 0 else; fractional values count as weights). A ranker that overfits to likes
    serves more of it (LITERATURE.md 4.3-4.5: RecSim's clickbait "choc", Covington et al.
    RecSys 2016). Undefined (NaN) with no impressions.

    >>> like_bait_share(np.array([1.0, 0.0, 0.0, 1.0]))
    0.5
    """
    b = np.asarray(is_like_bait_per_impression, dtype=np.float64).ravel()
    if b.size == 0:
        return undefined("like_bait_share", "no impressions")
    return float(b.mean())


def like_prediction_auc(y_true: np.ndarray, y_score: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """ROC AUC of a like predictor: the probability that a random liked impression scores
    above a random unliked one (ties count half), ``AUC = P(s+ > s-) + P(s+ = s-)/2``
    (Hanley and McNeil, Radiology 1982; scikit-learn ``roc_auc_score``).

    Compute it on the impressions the model trained on and on held-out ones: a training AUC
    well above the held-out AUC is overfitting (DESIGN.md, "Overfitting to likes"); see
    :func:`like_prediction_auc_gap`. Undefined (NaN) when empty or when every label is the
    same.

    >>> like_prediction_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true).ravel()
    if y.size == 0:
        return undefined("like_prediction_auc", "no impressions")
    if len(np.unique(y)) < 2:
        return undefined("like_prediction_auc", "only one class among the labels")
    return float(roc_auc_score(y, np.asarray(y_score).ravel(), sample_weight=sample_weight))


def like_prediction_auc_gap(train_true, train_score, test_true, test_score) -> float:
    """Generalisation gap of a like predictor: ``AUC_train - AUC_held-out``
    (:func:`like_prediction_auc` on each). Near 0 is a model that generalises; large and
    positive, one that memorised its training likes. NaN when either AUC is.

    >>> like_prediction_auc_gap([0, 1], [0.2, 0.9], [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.25
    """
    return like_prediction_auc(train_true, train_score) - like_prediction_auc(test_true, test_score)


def best_of_n_pressure(n) -> np.ndarray:
    """Optimisation pressure of best-of-n selection as ``d = sqrt(KL_bon)`` with
    ``KL_bon = log n - (n - 1) / n`` (Stiennon et al. 2020; the x-axis of Gao, Schulman,
    Hilton, ICML 2023; LITERATURE.md 4.3, 4.5). 0 at n = 1.

    >>> best_of_n_pressure(np.array([1, 2]))  # sqrt(log 2 - 1/2)
    array([0.        , 0.43948513])
    """
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1):
        raise ValueError("best_of_n_pressure: n must be at least 1")
    return np.sqrt(np.maximum(np.log(n) - (n - 1) / n, 0.0))


class GoodhartCurve(NamedTuple):
    """What :func:`goodhart_curve` finds along a sweep of optimisation pressure."""

    peak_pressure: float  #: pressure with the highest observed true utility
    peak_utility: float  #: that utility
    utility_drop: float  #: utility at the peak minus utility at the highest pressure (>= 0)
    likes_rise_past_peak: bool  #: likes at the highest pressure exceed likes at the peak
    goodhart: bool  #: utility peaks before the end and falls while likes still rise
    alpha: float  #: fit ``U = c + alpha d - beta d^2`` (Gao et al.'s best-of-n form)
    beta: float
    fitted_peak: float  #: ``alpha / (2 beta)``; inf when the fit has no interior maximum


def goodhart_curve(pressure: np.ndarray, likes: np.ndarray, utility: np.ndarray) -> GoodhartCurve:
    """The Goodhart pattern along a sweep of ranking pressure on predicted likes: likes
    keep rising while true utility rises, peaks, then falls (Gao, Schulman, Hilton, ICML
    2023; LITERATURE.md 4.3, 4.5, V6).

    With the points sorted by pressure d (e.g. :func:`best_of_n_pressure` of best-of-n, or
    an inverse softmax temperature): ``d* = argmax_d U(d)``; ``drop = U(d*) - U(d_max)``;
    likes rise past the peak when ``likes(d_max) > likes(d*)``; the pattern holds when both
    (d* < d_max, drop > 0, likes still rising). The curve is also fitted with Gao et al.'s
    best-of-n form plus an intercept, ``U(d) = c + d (alpha - beta d)`` (least squares,
    ``numpy.polyfit``), whose peak is ``alpha / (2 beta)`` when beta > 0. Points with a NaN
    are dropped; no point left gives NaN fields, fewer than 3 distinct pressures NaN fit
    fields (each with a warning).

    >>> g = goodhart_curve(np.array([0, 1, 2, 3, 4]), np.array([1, 2, 3, 4, 5]),
    ...                    np.array([0, 3, 4, 3, 0]))  # U = 4d - d^2
    >>> g.peak_pressure, g.utility_drop, g.goodhart, round(g.fitted_peak, 6)
    (2.0, 4.0, True, 2.0)
    """
    d = np.asarray(pressure, dtype=np.float64).ravel()
    lk = np.asarray(likes, dtype=np.float64).ravel()
    u = np.asarray(utility, dtype=np.float64).ravel()
    if not (d.shape == lk.shape == u.shape):
        raise ValueError("goodhart_curve: pressure, likes and utility differ in length")
    keep = ~(np.isnan(d) | np.isnan(lk) | np.isnan(u))
    d, lk, u = d[keep], lk[keep], u[keep]
    nan = float("nan")
    if len(d) == 0:
        undefined("goodhart_curve", "no point with pressure, likes and utility")
        return GoodhartCurve(nan, nan, nan, False, False, nan, nan, nan)
    order = np.argsort(d, kind="stable")
    d, lk, u = d[order], lk[order], u[order]
    peak = int(np.argmax(u))
    drop = float(u[peak] - u[-1])
    rising = bool(lk[-1] > lk[peak])
    goodhart = bool(d[peak] < d[-1] and drop > 0 and rising)
    if len(np.unique(d)) < 3:
        undefined("goodhart_curve", "fewer than 3 distinct pressures to fit")
        alpha = beta = fitted = nan
    else:
        neg_beta, alpha, _ = np.polyfit(d, u, 2)
        beta = -float(neg_beta)
        alpha = float(alpha)
        fitted = alpha / (2 * beta) if beta > 0 else float("inf")
    return GoodhartCurve(float(d[peak]), float(u[peak]), drop, rising, goodhart, alpha, beta, fitted)

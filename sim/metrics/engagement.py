"""Engagement and welfare over a set of impressions."""

from __future__ import annotations

import numpy as np


def rate(flags: np.ndarray) -> float:
    """Share of impressions carrying a signal: ``sum(flags) / len(flags)``; NaN when empty.

    >>> rate(np.array([True, False, False, True]))
    0.5
    """
    flags = np.asarray(flags)
    return float(flags.mean()) if flags.size else float("nan")


def like_rate(liked: np.ndarray) -> float:
    """Likes per impression, ``L / N`` (the like/view ratio of LITERATURE.md section 6.4).

    >>> like_rate(np.array([True, False, False, False]))
    0.25
    """
    return rate(liked)


def mean_true_utility(utility: np.ndarray) -> float:
    """Mean true utility per impression, ``(1/N) sum_i U_i``, ignoring NaN (unviewed slots).

    The welfare measure of Chaney et al. (2018) and RecSim's long-term satisfaction.

    >>> mean_true_utility(np.array([1.0, np.nan, 2.0]))
    1.5
    """
    u = np.asarray(utility, dtype=np.float64)
    u = u[~np.isnan(u)]
    return float(u.mean()) if u.size else float("nan")


def session_length(viewed: np.ndarray) -> float:
    """Mean videos viewed per visiting user: mean over rows of ``sum_k viewed[u, k]``,
    counting only rows with at least one view.

    >>> session_length(np.array([[True, True, False], [True, False, False], [False, False, False]]))
    1.5
    """
    per_user = np.asarray(viewed).sum(axis=1)
    per_user = per_user[per_user > 0]
    return float(per_user.mean()) if per_user.size else float("nan")

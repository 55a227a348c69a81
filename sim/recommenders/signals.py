"""What the collaborative families share: the per-impression signal (:func:`signal_values`),
the users x videos matrix kept up to date step by step (:class:`SignalMatrix`) and the
trending prior used for cold start (:func:`trending_prior`)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from .base import Events

NonNegative = Annotated[float, Field(ge=0)]


def signal_values(
    events: Events,
    signal: str,
    like_weight: float = 1.0,
    watch_weight: float = 0.25,
    share_weight: float = 2.0,
    comment_weight: float = 1.0,
    not_interested_weight: float = 2.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, video, value) of one step's impressions, as a signal for a users x videos matrix.

    ``signal="likes"``: one entry of 1 per observed like. ``signal="weighted"``: every
    impression, valued ``like_weight * liked + watch_weight * log(watch_ratio)
    + share_weight * shared + comment_weight * commented - not_interested_weight *
    not_interested``; impressions worth exactly 0 are dropped. The watch ratio is clipped to
    [0.05, 5] and taken as a log, so that a full watch is neutral, replays count for and
    early swipes against (an uncentred watch term would make every impression a positive,
    and the model would learn exposure rather than taste).
    """
    user = np.asarray(events.user, dtype=np.int64)
    video = np.asarray(events.video, dtype=np.int64)
    if signal == "likes":
        keep = np.asarray(events.liked, dtype=bool)
        return user[keep], video[keep], np.ones(int(keep.sum()), dtype=np.float32)
    value = (
        like_weight * np.asarray(events.liked, dtype=np.float32)
        + watch_weight * np.log(np.clip(np.asarray(events.watch_ratio, dtype=np.float32), 0.05, 5.0))
        + share_weight * np.asarray(events.shared, dtype=np.float32)
        + comment_weight * np.asarray(events.commented, dtype=np.float32)
        - not_interested_weight * np.asarray(events.not_interested, dtype=np.float32)
    ).astype(np.float32)
    keep = value != 0
    return user[keep], video[keep], value[keep]


def resized(m: sp.csr_matrix, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """The CSR matrix ``m`` grown to at least (n_rows, n_cols) with empty rows and columns.

    Shares ``data`` and ``indices`` with ``m`` (no copy of the entries).
    """
    rows, cols = max(n_rows, m.shape[0]), max(n_cols, m.shape[1])
    if (rows, cols) == m.shape:
        return m
    indptr = m.indptr
    if rows > m.shape[0]:
        indptr = np.concatenate([indptr, np.full(rows - m.shape[0], indptr[-1], dtype=indptr.dtype)])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=(rows, cols), copy=False)


class SignalMatrix:
    """A users x videos CSR matrix of summed signals, updated step by step.

    Each :meth:`add` merges one step's entries into the matrix (a sparse sum, linear in its
    size, without rereading the log) and grows its shape as users and videos arrive.
    ``version`` counts the updates, for caches keyed on the matrix.
    """

    def __init__(self) -> None:
        self.matrix: sp.csr_matrix | None = None
        self.version = 0

    def add(self, users: np.ndarray, videos: np.ndarray, values: np.ndarray, n_users: int, n_videos: int) -> None:
        rows = max(n_users, int(users.max()) + 1 if len(users) else 0)
        cols = max(n_videos, int(videos.max()) + 1 if len(videos) else 0)
        base = self.grown(rows, cols)
        delta = sp.csr_matrix((values.astype(np.float32), (users, videos)), shape=base.shape)
        self.matrix = base + delta if base.nnz else delta
        self.matrix.sort_indices()
        self.version += 1

    def grown(self, n_users: int, n_videos: int) -> sp.csr_matrix:
        """The matrix with at least (n_users, n_videos) shape (empty before any add)."""
        if self.matrix is None:
            return sp.csr_matrix((n_users, n_videos), dtype=np.float32)
        return resized(self.matrix, n_users, n_videos)


def trending_prior(view, candidates: np.ndarray, weight: float) -> np.ndarray:
    """``weight * trending_v / max_c trending_c`` over the candidates (zeros if none trends)."""
    trend = np.asarray(view.trending[candidates], dtype=np.float64)
    top = float(trend.max()) if len(trend) else 0.0
    if top <= 0 or weight == 0:
        return np.zeros(len(candidates), dtype=np.float32)
    return (weight * trend / top).astype(np.float32)

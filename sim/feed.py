"""Feed assembly: candidate pool -> scores -> drop seen -> top-K -> inbox -> feeds.

Feed assembly belongs to the engine, not to each recommender: a recommender only scores
a block of users against the step's candidate pool. Scores are computed in blocks of
``chunk_users`` users so that the score matrix never holds all users at once.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .log import LogView
from .platform import PlatformView
from .recommenders.base import Recommender, check_scores
from .scenario import FeedConfig


def candidate_pool(
    view: PlatformView, cfg: FeedConfig, max_age: int, rng: np.random.Generator
) -> np.ndarray:
    """The step's candidate pool: fresh, trending and followed videos, then a random fill.

    Only videos uploaded within the last ``max_age`` steps are eligible. The pool takes the
    newest ``fresh_share`` of ``n_candidates``, the top ``trending_share`` by the public
    trending count, the newest video of each of the most-followed creators
    (``followed_share``), and fills the rest at random from eligible videos.

    Returns:
        sorted unique video ids (int64), at most ``n_candidates`` of them.
    """
    n = view.n_videos
    upload = view.upload_step
    first = int(np.searchsorted(upload, view.step - max_age + 1, side="left"))
    alive = np.arange(first, n, dtype=np.int64)
    size = cfg.n_candidates
    if len(alive) <= size:
        return alive
    chosen = np.zeros(n, dtype=bool)
    n_fresh = int(round(cfg.fresh_share * size))
    chosen[alive[len(alive) - n_fresh :]] = True  # videos are stored in upload order
    n_trend = int(round(cfg.trending_share * size))
    if n_trend:
        trend = view.trending[first:n]
        trend = np.where(chosen[first:n], -np.inf, trend)
        top = np.argpartition(-trend, min(n_trend, len(trend) - 1))[:n_trend]
        chosen[first + top] = True
    n_follow = int(round(cfg.followed_share * size))
    if n_follow and view.follows.nnz:
        followers = np.bincount(view.follows.indices, minlength=view.n_creators)
        creators = view.creator[first:n]
        # newest eligible video of each creator (the last one in upload order)
        last = np.full(view.n_creators, -1, dtype=np.int64)
        last[creators] = np.arange(first, n)
        has = (last >= 0) & (followers > 0)
        ranked = np.flatnonzero(has)[np.argsort(-followers[has], kind="stable")]
        picks = last[ranked]
        picks = picks[~chosen[picks]][:n_follow]
        chosen[picks] = True
    pool = np.flatnonzero(chosen)
    if len(pool) < size:
        rest = np.flatnonzero(~chosen[first:n]) + first
        pool = np.concatenate([pool, rng.choice(rest, size - len(pool), replace=False)])
    return np.sort(pool[:size]).astype(np.int64)


def seen_matrix(log: LogView, candidates: np.ndarray, n_users: int, since_step: int, n_videos: int) -> sp.csr_matrix:
    """users x candidates CSR with a 1 where the user was already shown the candidate.

    Only impressions at or after ``since_step`` can involve a candidate (the pool holds no
    older uploads), so only that part of the log is read.
    """
    rows = log.rows_since(since_step)
    col_of = np.full(n_videos, -1, dtype=np.int32)
    col_of[candidates] = np.arange(len(candidates), dtype=np.int32)
    cols = col_of[log.column("video", rows)]
    hit = cols >= 0
    users = log.column("user", rows)[hit]
    m = sp.csr_matrix(
        (np.ones(len(users), dtype=np.bool_), (users, cols[hit])), shape=(n_users, len(candidates))
    )
    return m


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k highest scores, best first; -1 where a row has
    fewer than k finite scores.

    Selection uses a block-max threshold: split the columns into ``b`` strided blocks,
    take each block's max, and the k-th largest block max is a lower bound on each row's
    k-th largest score. Only entries at or above it (a few times k) are then sorted. This
    is exact and about 3-4x faster than ``np.argpartition`` on (2048 x 2000) blocks.

    >>> top_k(np.array([[0.1, 0.9, 0.5], [3.0, 1.0, 2.0]]), 2).tolist()
    [[1, 2], [0, 2]]
    """
    scores = np.asarray(scores)
    n, c = scores.shape
    if k >= c:
        order = np.argsort(-scores, axis=1, kind="stable")
        out = np.full((n, k), -1, dtype=np.int64)
        out[:, :c] = order
        bad = ~np.isfinite(np.take_along_axis(scores, order, axis=1))
        out[:, :c][bad] = -1
        return out
    nb = min(c // k, 128) if c >= 4 * k else 1
    if nb >= 2:
        pad = (-c) % nb
        padded = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf) if pad else scores
        block_max = padded.reshape(n, -1, nb).max(axis=1)
        thr = np.partition(block_max, nb - k, axis=1)[:, nb - k]
        rows, cols = np.nonzero(scores >= thr[:, None])
    else:
        rows, cols = np.nonzero(np.ones_like(scores, dtype=bool))
    vals = scores[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    counts = np.bincount(rows, minlength=n)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = (rank < k) & np.isfinite(vals)
    out = np.full((n, k), -1, dtype=np.int64)
    out[rows[keep], rank[keep]] = cols[keep]
    return out


def rank_block(
    recommender: Recommender,
    users: np.ndarray,
    candidates: np.ndarray,
    view: PlatformView,
    seen: sp.csr_matrix,
    k: int,
) -> np.ndarray:
    """Score one block of users, drop what each has seen, keep the top k (video ids)."""
    raw = check_scores(recommender.name, recommender.score(users, candidates, view), len(users), len(candidates))
    block = np.array(raw, dtype=np.float64 if raw.dtype == np.float64 else np.float32)
    sub = seen[users]
    if sub.nnz:
        r = np.repeat(np.arange(len(users)), np.diff(sub.indptr))
        block[r, sub.indices] = -np.inf
    cols = top_k(block, k)
    return np.where(cols >= 0, candidates[np.maximum(cols, 0)], -1)


def assemble_feeds(
    groups: list[tuple[Recommender, PlatformView, np.ndarray]],
    candidates: np.ndarray,
    seen: sp.csr_matrix,
    cfg: FeedConfig,
    n_users: int,
) -> np.ndarray:
    """Feeds for every visiting user, group by group (main recommender, holdout).

    Args:
        groups: (recommender, the view it gets, its visiting users).

    Returns:
        (n_users, K) int64 video ids, -1 for empty slots and for users not visiting.
    """
    feeds = np.full((n_users, cfg.feed_size), -1, dtype=np.int64)
    for rec, view, users in groups:
        for start in range(0, len(users), cfg.chunk_users):
            block = users[start : start + cfg.chunk_users]
            feeds[block] = rank_block(rec, block, candidates, view, seen, cfg.feed_size)
    return feeds


def insert_inbox(feeds: np.ndarray, inbox_video: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Put each user's shared-with-you video in the first slot, shifting the feed down.

    A video already in the user's feed is moved to the front instead of repeated.

    Returns:
        the (n, K) feeds of ``users`` with inbox items in front, and a bool mask of them.
    """
    rows = feeds[users]
    item = inbox_video[users]
    has = item >= 0
    if not has.any():
        return rows, np.zeros(rows.shape, dtype=bool)
    k = rows.shape[1]
    dup = rows == item[:, None]
    keep = ~dup
    # Order: the inbox item, then the feed without it, truncated to K.
    rest = np.where(keep, rows, -1)
    order = np.argsort(~keep, axis=1, kind="stable")  # kept entries first, in feed order
    rest = np.take_along_axis(rest, order, axis=1)
    shifted = np.concatenate([item[:, None], rest[:, : k - 1]], axis=1)
    out = np.where(has[:, None], shifted, rows)
    from_inbox = np.zeros(rows.shape, dtype=bool)
    from_inbox[has, 0] = True
    # Empty slots (-1) stay at the end.
    return out, from_inbox

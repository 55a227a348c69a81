"""Re-rankers any recommender can wear, and the user controls they honour.

A re-ranker reorders each user's shortlist (the recommender's top ``rerank_depth * K``
unseen candidates, best first) into the feed. They apply in the order the scenario lists
them (``[[feed.rerankers]]``), each to the previous one's output; the feed is the first K.
Built in:

* ``mmr``: maximal marginal relevance (Carbonell & Goldstein 1998), diversity by tags;
* ``calibrated``: calibrated recommendations (Steck 2018), topic shares match history;
* ``explore``: a share of slots go to random or fresh unseen videos;
* ``creator_cap``: at most n videos per creator in a feed.

Re-rankers see only what the platform sees (the PlatformView, scores, the user-set
diversity dial). Everything is vectorised over the users of a block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from .recommenders.base import RecommenderError, construct

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


@dataclass
class RerankContext:
    """What a re-ranker may use for one block of users.

    Attributes:
        users: (B,) user ids.
        candidates: (C,) video ids of the pool; shortlists hold column indices into it.
        view: the PlatformView.
        k: the feed size.
        rng: this block's random stream.
        is_seen: ``is_seen(rows, cols)`` -> bool array: was pool column ``cols`` already shown
            to (or blocked for) the user of block row ``rows``.
        diversity_dial: (B,) the diversity each user asked for, in [0, 1]; NaN where unset.
    """

    users: np.ndarray
    candidates: np.ndarray
    view: Any
    k: int
    rng: np.random.Generator
    is_seen: Callable[[np.ndarray, np.ndarray], np.ndarray]
    diversity_dial: np.ndarray


@dataclass
class RerankStage:
    """The re-rankers of a run, and what they need from the engine for each block.

    Attributes:
        rerankers: applied in order.
        depth: the shortlist holds ``depth * K`` candidates when there are re-rankers.
        view: the PlatformView (re-rankers are never privileged).
        diversity_dial: (n_users,) dial values, NaN where unset.
        block_rng: ``block_rng(group, block)`` -> that block's Generator.
    """

    rerankers: list
    depth: int
    view: Any
    diversity_dial: np.ndarray
    block_rng: Callable[[int, int], np.random.Generator]

    def shortlist_size(self, k: int) -> int:
        return k * self.depth if self.rerankers else k

    def apply(self, users, candidates, cols, scores, seen_rows, seen_cols, k, rng) -> np.ndarray:
        n_cand = len(candidates)
        keys = np.unique(seen_rows.astype(np.int64) * n_cand + seen_cols)

        def is_seen(rows: np.ndarray, c: np.ndarray) -> np.ndarray:
            q = rows.astype(np.int64) * n_cand + c
            pos = np.minimum(np.searchsorted(keys, q), max(len(keys) - 1, 0))
            return (keys[pos] == q) if len(keys) else np.zeros(len(q), dtype=bool)

        ctx = RerankContext(users, candidates, self.view, k, rng, is_seen, self.diversity_dial[users])
        for r in self.rerankers:
            new = r.rerank(cols, scores, ctx)
            scores = carry_scores(cols, scores, new)
            cols = new
        return cols


def carry_scores(old: np.ndarray, scores: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Scores for a re-ranked list: an entry keeps its score; one brought in from outside
    the shortlist (exploration) gets the row's lowest score."""
    match = (new[:, :, None] == old[:, None, :]) & (new[:, :, None] >= 0)
    found = match.any(axis=2)
    floor = np.where(old >= 0, scores, np.inf).min(axis=1, keepdims=True)
    floor = np.where(np.isfinite(floor), floor, 0.0)
    carried = np.take_along_axis(scores, match.argmax(axis=2), axis=1)
    return np.where(found, carried, np.broadcast_to(floor, new.shape))


class Reranker:
    """Base class: ``rerank(cols, scores, ctx)`` -> the new shortlist (B, D'), -1 for empty."""

    name: ClassVar[str] = ""

    def observe(self, events, view) -> None:
        """Learn from this step's observed impressions. Default: nothing."""

    def rerank(self, cols: np.ndarray, scores: np.ndarray, ctx: RerankContext) -> np.ndarray:
        raise NotImplementedError


_RERANKERS: dict[str, type[Reranker]] = {}


def register_reranker(name: str):
    """Register a Reranker subclass under ``name`` (decorator)."""

    def deco(cls: type[Reranker]) -> type[Reranker]:
        cls.name = name
        _RERANKERS[name] = cls
        return cls

    return deco


def available_rerankers() -> dict[str, type[Reranker]]:
    return dict(sorted(_RERANKERS.items()))


def make_reranker(name: str, params: dict[str, Any] | None = None) -> Reranker:
    """Build a registered re-ranker; bad names or params raise one RecommenderError line."""
    if name not in _RERANKERS:
        raise RecommenderError(f"unknown re-ranker {name!r} (known: {', '.join(sorted(_RERANKERS))})")
    return construct(_RERANKERS[name], params, f"re-ranker {name!r}")


# -- helpers ----------------------------------------------------------------------------------
def _row_normalised(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Scores min-max scaled to [0, 1] within each row (over valid entries)."""
    s = np.where(valid, scores, np.nan).astype(np.float64)
    with np.errstate(invalid="ignore"):
        lo = np.nanmin(np.where(valid.any(axis=1, keepdims=True), s, 0.0), axis=1, keepdims=True)
        hi = np.nanmax(np.where(valid.any(axis=1, keepdims=True), s, 0.0), axis=1, keepdims=True)
    out = (s - lo) / np.where(hi > lo, hi - lo, 1.0)
    return np.where(valid, out, 0.0)


def _tag_vectors(ctx: RerankContext, cols: np.ndarray, unit: bool) -> np.ndarray:
    """(B, D, T) public tag vectors of the shortlisted videos (zero for empty slots)."""
    tags = ctx.view.tags[ctx.candidates[np.maximum(cols, 0)]].astype(np.float32)
    tags[cols < 0] = 0.0
    norm = np.linalg.norm(tags, axis=-1, keepdims=True) if unit else tags.sum(axis=-1, keepdims=True)
    return tags / np.maximum(norm, 1e-12)


def _lambda(param: float, ctx: RerankContext, use_dial: bool) -> np.ndarray:
    lam = np.full(len(ctx.users), param, dtype=np.float64)
    if use_dial:
        dial = ctx.diversity_dial
        lam = np.where(np.isnan(dial), lam, dial)
    return lam


def greedy_select(cols: np.ndarray, k: int, gain: Callable[[np.ndarray, int], np.ndarray], commit) -> np.ndarray:
    """Generic vectorised greedy list building: ``k`` rounds of argmax over ``gain``.

    ``gain(taken, j)`` returns the (B, D) objective of adding each shortlist entry at round
    j (-inf where not allowed); ``commit(rows, picks)`` updates the caller's state.
    """
    b, d = cols.shape
    out = np.full((b, k), -1, dtype=np.int64)
    taken = cols < 0
    rows = np.arange(b)
    for j in range(min(k, d)):
        obj = gain(taken, j)
        obj = np.where(taken, -np.inf, obj)
        pick = np.argmax(obj, axis=1)
        ok = np.isfinite(obj[rows, pick])
        out[ok, j] = cols[ok, pick[ok]]
        taken[rows[ok], pick[ok]] = True
        commit(rows[ok], pick[ok])
    return out


# -- built-ins --------------------------------------------------------------------------------
@register_reranker("mmr")
class MMR(Reranker):
    """Maximal marginal relevance: trade relevance against similarity to what is already in the feed.

    Greedily adds ``argmax_i (1 - lam) rel(i) - lam max_{j in feed} sim(i, j)``, with rel
    the recommender's score min-max scaled per user and sim the cosine of public topic tags
    (Carbonell & Goldstein, SIGIR 1998). A user's diversity dial, where set, replaces lam.

    Args:
        lam: weight of diversity, in [0, 1] (0: the recommender's order).
        use_dial: honour each user's diversity dial.
    """

    def __init__(self, lam: Fraction = 0.3, use_dial: bool = True):
        self.lam = lam
        self.use_dial = use_dial

    def rerank(self, cols, scores, ctx):
        valid = cols >= 0
        rel = _row_normalised(scores, valid)
        vec = _tag_vectors(ctx, cols, unit=True)
        lam = _lambda(self.lam, ctx, self.use_dial)[:, None]
        max_sim = np.zeros(cols.shape)

        def gain(taken, j):
            return (1 - lam) * rel - lam * max_sim

        def commit(rows, picks):
            sim = np.einsum("bdt,bt->bd", vec[rows], vec[rows, picks])
            max_sim[rows] = np.maximum(max_sim[rows], sim)

        return greedy_select(cols, ctx.k, gain, commit)


@register_reranker("calibrated")
class Calibrated(Reranker):
    """Calibrated recommendations: the feed's topic shares follow the user's history.

    Greedily maximises ``(1 - lam) sum_{i in I} rel(i) - lam KL(p || q~(I))`` where p is the
    user's topic distribution over what they watched (tags, weighted by watch ratio capped
    at 1, decayed with ``half_life``), q(I) the feed's mean tag distribution, and
    ``q~ = (1 - alpha) q + alpha p`` (Steck, RecSys 2018, alpha = 0.01). Users without history
    keep the recommender's order. A user's diversity dial, where set, replaces lam.

    Args:
        lam: weight of calibration, in [0, 1].
        alpha: mixing weight that keeps the KL finite (Steck: 0.01).
        half_life: steps for a watched video's weight in p to halve.
        use_dial: honour each user's diversity dial.
    """

    def __init__(
        self,
        lam: Fraction = 0.5,
        alpha: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01,
        half_life: Annotated[float, Field(gt=0.0)] = 10.0,
        use_dial: bool = False,
    ):
        self.lam = lam
        self.alpha = alpha
        self.half_life = half_life
        self.use_dial = use_dial
        self.history = np.zeros((0, 0), dtype=np.float32)

    def observe(self, events, view):
        if self.history.shape != (view.n_users, view.n_topics):
            self.history = np.zeros((view.n_users, view.n_topics), dtype=np.float32)
        self.history *= np.float32(0.5 ** (1.0 / self.half_life))
        tags = view.tags[events.video].astype(np.float32)
        tags /= np.maximum(tags.sum(axis=1, keepdims=True), 1.0)
        weight = np.minimum(events.watch_ratio, 1.0).astype(np.float32)[:, None]
        np.add.at(self.history, events.user, tags * weight)

    def target(self, users: np.ndarray, n_topics: int) -> np.ndarray:
        """p(g | u): each user's topic distribution (zeros for users without history)."""
        if self.history.shape[0] == 0:
            return np.zeros((len(users), n_topics))
        h = self.history[users].astype(np.float64)
        return h / np.maximum(h.sum(axis=1, keepdims=True), 1e-12)

    def rerank(self, cols, scores, ctx):
        valid = cols >= 0
        rel = _row_normalised(scores, valid)
        p = self.target(ctx.users, ctx.view.n_topics)
        lam = _lambda(self.lam, ctx, self.use_dial)
        lam = np.where(p.sum(axis=1) > 0, lam, 0.0)[:, None]
        dist = _tag_vectors(ctx, cols, unit=False).astype(np.float64)  # (B, D, T), rows sum to 1
        q_sum = np.zeros(p.shape)
        rel_sum = np.zeros(len(cols))
        alpha = self.alpha
        log_p = np.log(np.where(p > 0, p, 1.0))

        def gain(taken, j):
            q = (q_sum[:, None, :] + dist) / (j + 1)
            q = (1 - alpha) * q + alpha * p[:, None, :]
            has = p[:, None, :] > 0  # KL(p || q~) sums over topics the user has history in
            kl = np.sum(np.where(has, p[:, None, :] * (log_p[:, None, :] - np.log(np.where(has, q, 1.0))), 0.0), axis=-1)
            return (1 - lam) * (rel_sum[:, None] + rel) - lam * kl

        def commit(rows, picks):
            q_sum[rows] += dist[rows, picks]
            rel_sum[rows] += rel[rows, picks]

        return greedy_select(cols, ctx.k, gain, commit)


@register_reranker("creator_cap")
class CreatorCap(Reranker):
    """At most n videos of one creator in a feed (the rest move out of the feed).

    Args:
        max_per_creator: videos of one creator a feed may hold.
    """

    def __init__(self, max_per_creator: Annotated[int, Field(ge=1)] = 2):
        self.max_per_creator = max_per_creator

    def rerank(self, cols, scores, ctx):
        valid = cols >= 0
        creator = np.where(valid, ctx.view.creator[ctx.candidates[np.maximum(cols, 0)]], -1 - np.arange(cols.shape[1]))
        same_before = np.tril(np.ones((cols.shape[1], cols.shape[1]), dtype=bool), -1)  # [j, i]: i before j
        earlier = ((creator[:, :, None] == creator[:, None, :]) & same_before[None]).sum(axis=2)
        keep = valid & (earlier < self.max_per_creator)
        order = np.argsort(~keep, axis=1, kind="stable")  # kept entries first, in order
        out = np.take_along_axis(np.where(keep, cols, -1), order, axis=1)
        return out


@register_reranker("explore")
class Explore(Reranker):
    """Give a share of feed slots to videos the recommender did not pick: random or fresh.

    Each of a user's K slots explores with probability ``share``; an exploring slot takes a
    uniformly drawn unseen video from the pool (``source="random"``) or from the pool's
    videos uploaded in the last ``fresh_steps`` steps (``source="fresh"``), at a random
    position. The other slots keep the shortlist's order.

    Args:
        share: probability that a slot explores, in [0, 1].
        source: "random" (the whole pool) or "fresh" (the newest uploads in the pool).
        fresh_steps: what counts as fresh, in steps since upload.
    """

    def __init__(
        self,
        share: Fraction = 0.1,
        source: Literal["random", "fresh"] = "random",
        fresh_steps: Annotated[int, Field(ge=1)] = 1,
    ):
        self.share = share
        self.source = source
        self.fresh_steps = fresh_steps

    def rerank(self, cols, scores, ctx):
        b, k = len(cols), ctx.k
        pool = np.arange(len(ctx.candidates))
        if self.source == "fresh":
            upload = ctx.view.upload_step[ctx.candidates]
            pool = pool[upload > ctx.view.step - self.fresh_steps]
        head = cols[:, :k]
        if len(pool) == 0 or self.share == 0:
            return head
        explore = ctx.rng.random((b, k)) < self.share
        tries = 3
        picks = pool[ctx.rng.integers(0, len(pool), (b, k * tries))]
        rows = np.repeat(np.arange(b), k * tries).reshape(b, -1)
        bad = ctx.is_seen(rows.ravel(), picks.ravel()).reshape(b, -1)
        bad |= (picks[:, :, None] == cols[:, None, :]).any(axis=2)  # already in the shortlist
        # no video twice among the picks of one row: keep the first occurrence
        order = np.argsort(picks, axis=1, kind="stable")
        sorted_picks = np.take_along_axis(picks, order, axis=1)
        dup_sorted = np.zeros_like(sorted_picks, dtype=bool)
        dup_sorted[:, 1:] = sorted_picks[:, 1:] == sorted_picks[:, :-1]
        dup = np.empty_like(dup_sorted)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        ok = ~bad & ~dup
        # the first usable picks of each row fill its exploring slots, in slot order
        pick_rank = np.cumsum(ok, axis=1) - 1
        slot_rank = np.cumsum(explore, axis=1) - 1
        fill = np.full((b, k), -1, dtype=np.int64)
        r, c = np.nonzero(ok & (pick_rank < k))
        by_rank = np.full((b, k), -1, dtype=np.int64)
        by_rank[r, pick_rank[r, c]] = picks[r, c]
        rr, ss = np.nonzero(explore)
        fill[rr, ss] = by_rank[rr, slot_rank[rr, ss]]
        explore &= fill >= 0
        # the shortlist keeps its order in the non-exploring slots
        kept_rank = np.cumsum(~explore, axis=1) - 1
        out = np.full((b, k), -1, dtype=np.int64)
        r2, s2 = np.nonzero(~explore)
        take = kept_rank[r2, s2]
        inside = take < cols.shape[1]
        out[r2[inside], s2[inside]] = cols[r2[inside], take[inside]]
        out[explore] = fill[explore]
        return out

"""Popularity / trending: decayed counts of observed signals, the same for everyone."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .base import Recommender, register_recommender


@register_recommender("popularity")
class PopularityRecommender(Recommender):
    """Rank by a decayed count of what the platform observed for each video.

    ``score_v(t) = sum_s d^(t - s) * signal_v(s)`` with ``d = 0.5^(1 / half_life)``.
    Ties go to the newer video. This is the "trending" signal of short-video feeds and the
    popularity recommender of Chaney et al. (2018) and Mansoury et al. (2020).

    Args:
        half_life: steps for a count to lose half its weight.
        signal: "likes" (observed likes), "views" (impressions) or "engagement"
            (views + 4 likes + 8 shares + 4 comments, minus 8 not-interested).
    """

    def __init__(
        self,
        half_life: Annotated[float, Field(gt=0)] = 3.0,
        signal: Literal["likes", "views", "engagement"] = "likes",
    ):
        self.half_life = half_life
        self.signal = signal
        self.counts = np.zeros(0, dtype=np.float64)

    def observe(self, events, view):
        n = view.n_videos
        if len(self.counts) < n:
            self.counts = np.concatenate([self.counts, np.zeros(n - len(self.counts))])
        self.counts *= 0.5 ** (1.0 / self.half_life)
        if self.signal == "likes":
            w = events.liked.astype(np.float64)
        elif self.signal == "views":
            w = np.ones(len(events))
        else:
            w = (
                1.0 + 4.0 * events.liked + 8.0 * events.shared + 4.0 * events.commented
                - 8.0 * events.not_interested
            )
        self.counts += np.bincount(events.video, weights=w, minlength=n)[:n]

    def score(self, users, candidates, view):
        counts = np.zeros(len(candidates))
        known = candidates < len(self.counts)
        counts[known] = self.counts[candidates[known]]
        tie = view.upload_step[candidates] / (view.step + 1.0) * 1e-6
        return np.broadcast_to(counts + tie, (len(users), len(candidates)))

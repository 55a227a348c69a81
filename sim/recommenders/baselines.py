"""Non-personalised baselines: random and chronological (the organic feed)."""

from __future__ import annotations

import numpy as np

from .base import Recommender, register_recommender


@register_recommender("random")
class RandomRecommender(Recommender):
    """Uniformly random order of the candidate pool: the floor of every comparison."""

    def __init__(self):
        pass

    def score(self, users, candidates, view):
        return self.rng.random((len(users), len(candidates)), dtype=np.float32)


@register_recommender("chronological")
class ChronologicalRecommender(Recommender):
    """Newest videos from creators the user follows first, then newest overall.

    The organic baseline of Huszar et al. (2022): a reverse-chronological feed of followed
    accounts. Ties in upload step are broken by video id (later uploads first).

    Args:
        followed_first: put followed creators' videos ahead of all others.
    """

    def __init__(self, followed_first: bool = True):
        self.followed_first = followed_first

    def score(self, users, candidates, view):
        # Recency as a rank in [0, 1): newer upload step first, then later video id.
        order = np.lexsort((candidates, view.upload_step[candidates]))
        recency = np.empty(len(candidates))
        recency[order] = np.arange(len(candidates)) / max(len(candidates), 1)
        if not self.followed_first or view.follows.nnz == 0:
            return np.broadcast_to(recency, (len(users), len(candidates)))
        followed = view.follows[users][:, view.creator[candidates]].toarray()
        return recency[None, :] + (followed > 0)

"""A feedsim recommender shipped as its own package: videos from creators you liked."""

from typing import Annotated

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from sim import Recommender


class CreatorLoyalty(Recommender):
    """Videos from the creators a user liked most, recent likes counting more.

    score(u, v) = L[u, creator(v)] + prior * trending(v) / max trending, where L counts each
    user's likes per creator, halved every ``half_life`` steps.

    Args:
        half_life: steps for a like to lose half its weight.
        prior: weight of the trending prior that orders creators nobody liked yet.
    """

    def __init__(self, half_life: Annotated[float, Field(gt=0)] = 5.0, prior: Annotated[float, Field(ge=0)] = 0.1):
        self.half_life = half_life
        self.prior = prior
        self.loyalty = None  # sparse users x creators

    def observe(self, events, view):
        if self.loyalty is None:
            self.loyalty = sp.csr_matrix((view.n_users, view.n_creators))
        u, v = events.user[events.liked], events.video[events.liked]
        likes = sp.csr_matrix((np.ones(len(u)), (u, view.creator[v])), shape=self.loyalty.shape)
        self.loyalty = self.loyalty * 0.5 ** (1 / self.half_life) + likes

    def parts(self, users, candidates, view):
        trending = view.trending[candidates]
        prior = np.broadcast_to(self.prior * trending / max(trending.max(), 1e-12), (len(users), len(candidates)))
        if self.loyalty is None:
            return {"creator loyalty": np.zeros(prior.shape), "trending prior": prior}
        return {"creator loyalty": self.loyalty[users][:, view.creator[candidates]].toarray(), "trending prior": prior}

    def score(self, users, candidates, view):
        return sum(self.parts(users, candidates, view).values())

    def explain(self, user, candidates, view):
        return {name: part[0] for name, part in self.parts(np.array([user]), candidates, view).items()}

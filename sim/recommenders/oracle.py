"""The oracle: ranks by true utility. The one privileged recommender."""

from __future__ import annotations

from .base import Recommender, register_recommender


@register_recommender("oracle")
class OracleRecommender(Recommender):
    """Scores each candidate by the user's true utility, as only the simulator knows it.

    The "ideal" recommender of Chaney et al. (2018): an upper bound for welfare and the
    reference for homogenisation and regret. It is handed an OracleView (the platform view
    plus ``true_utility``); no other recommender is.
    """

    privileged = True

    def __init__(self):
        pass

    def score(self, users, candidates, view):
        return view.true_utility(users[:, None], candidates[None, :])

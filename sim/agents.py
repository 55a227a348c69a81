"""Mesa agents as thin views onto the model's arrays, for inspection and the UI.

They hold an index and nothing else; every property reads the arrays the step updates.
The step never iterates over agents.
"""

from __future__ import annotations

import mesa
import numpy as np


class UserAgent(mesa.Agent):
    """One user, seen through the world's arrays.

    Args:
        model: the FeedModel.
        index: the user id (row in every user array).
    """

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def taste(self) -> np.ndarray:
        """Current topic taste (latent)."""
        return self.model.world.users.taste[self.index]

    @property
    def initial_taste(self) -> np.ndarray:
        return self.model.world.users.taste0[self.index]

    @property
    def segment(self) -> int:
        return int(self.model.world.users.segment[self.index])

    @property
    def trait(self) -> bool:
        """The hidden trait (ground truth; the platform never sees it)."""
        return bool(self.model.world.users.trait[self.index])

    @property
    def satisfaction(self) -> float:
        return float(self.model.world.users.satisfaction[self.index])

    @property
    def churned(self) -> bool:
        return bool(self.model.world.users.churned[self.index])

    @property
    def in_holdout(self) -> bool:
        return bool(self.model.world.users.holdout[self.index])

    @property
    def friends(self) -> np.ndarray:
        return self.model.friends.friends(self.index)

    @property
    def followed_creators(self) -> np.ndarray:
        m = self.model.follows.matrix
        return m.indices[m.indptr[self.index] : m.indptr[self.index + 1]]

    def history(self, last_steps: int | None = None):
        """This user's impressions as a DataFrame (newest last)."""
        log = self.model.log
        since = 0 if last_steps is None else max(0, self.model.steps - last_steps)
        rows = log.view().rows_since(since)
        mine = log.observed.column("user", rows.start, rows.stop) == self.index
        frame = log.to_frame().iloc[rows][mine] if mine.any() else log.to_frame().iloc[0:0]
        return frame.reset_index(drop=True)

    def liked_videos(self) -> np.ndarray:
        log = self.model.log
        mine = (log.observed.column("user") == self.index) & log.hidden.column("liked_true")
        return log.observed.column("video")[mine]


class CreatorAgent(mesa.Agent):
    """One creator, seen through the world's arrays."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def niche(self) -> np.ndarray:
        return self.model.world.creators.niche[self.index]

    @property
    def quality(self) -> float:
        return float(self.model.world.creators.quality[self.index])

    @property
    def videos(self) -> np.ndarray:
        return np.flatnonzero(self.model.world.videos.catalog.column("creator") == self.index)

    @property
    def followers(self) -> int:
        return int(self.model.follows.count_per_target[self.index])

    @property
    def views(self) -> int:
        v = self.videos
        return int(self.model.counters.views[v].sum())

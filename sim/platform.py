"""The platform boundary: what a real platform could observe, and nothing more.

A recommender gets a :class:`PlatformView`. It holds the public catalog (creator, upload
step, pace, length, sound, topic tags), the observed interaction log, public counters,
the follow and friend graphs, and the clock. It holds no reference to the world, so
latent tastes, true utility, true quality and hidden traits are unreachable through it.

Only a recommender whose class declares ``privileged = True`` (the oracle) is handed an
:class:`OracleView`, which adds ``true_utility``.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .log import LogView
from .social import UserRelation, FriendGraph
from .table import ColumnTable


class PublicCounters:
    """Per-video counts a platform shows publicly: views and likes, total and decayed."""

    __slots__ = ("views", "likes", "trending", "_decay")

    def __init__(self, half_life: float, capacity: int = 1024):
        self.views = np.zeros(capacity, dtype=np.int64)
        self.likes = np.zeros(capacity, dtype=np.int64)
        self.trending = np.zeros(capacity, dtype=np.float64)
        self._decay = 0.5 ** (1.0 / half_life)

    def grow(self, n_videos: int) -> None:
        if n_videos <= len(self.views):
            return
        cap = max(n_videos, int(len(self.views) * 1.5) + 1)
        for name in ("views", "likes", "trending"):
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def update(self, n_videos: int, videos: np.ndarray, liked: np.ndarray) -> None:
        """Add one step's impressions; trending is a decayed count of views plus likes."""
        self.grow(n_videos)
        v = np.bincount(videos, minlength=n_videos)
        lk = np.bincount(videos, weights=liked, minlength=n_videos)
        self.views[:n_videos] += v
        self.likes[:n_videos] += lk.astype(np.int64)
        self.trending[:n_videos] *= self._decay
        self.trending[:n_videos] += v + 4.0 * lk


class UserControls:
    """What users told the platform: a diversity dial, and what they marked not interested.

    The platform must honour both: a "not interested" hides, from then on, the video's
    creator (scope "creator") or its tagged topics (scope "topic") from that user's feeds;
    with scope "video" only the video itself, which is never shown twice anyway.
    """

    __slots__ = ("scope", "diversity_dial", "blocked_creators", "blocked_topics")

    def __init__(self, n_users: int, n_creators: int, n_topics: int, scope: str, diversity_dial: np.ndarray):
        self.scope = scope
        self.diversity_dial = diversity_dial
        self.blocked_creators = UserRelation(n_users, n_creators)
        self.blocked_topics = np.zeros((n_users, n_topics), dtype=bool)

    def record(self, users: np.ndarray, videos: np.ndarray, not_interested: np.ndarray, view: "PlatformView") -> None:
        u, v = users[not_interested], videos[not_interested]
        if len(u) == 0:
            return
        if self.scope == "creator":
            self.blocked_creators.add(u, view.creator[v])
        elif self.scope == "topic":
            r, t = np.nonzero(view.tags[v])
            self.blocked_topics[u[r], t] = True

    def hides(self, videos: np.ndarray, view: "PlatformView") -> np.ndarray:
        """Per user: is ``videos[u]`` (-1 for none) hidden from user u by their "not interested"?"""
        out = np.zeros(len(videos), dtype=bool)
        u = np.flatnonzero(videos >= 0)
        if len(u) == 0:
            return out
        v = videos[u]
        if self.scope == "creator" and self.blocked_creators.matrix.nnz:
            out[u] = np.asarray(self.blocked_creators.matrix[u, view.creator[v]]).ravel() > 0
        elif self.scope == "topic":
            out[u] = (self.blocked_topics[u] & view.tags[v]).any(axis=1)
        return out

    def blocked_pairs(self, candidates: np.ndarray, view: "PlatformView") -> tuple[np.ndarray, np.ndarray]:
        """(user, pool column) pairs hidden by the users' "not interested"."""
        if self.scope == "creator" and self.blocked_creators.matrix.nnz:
            sub = self.blocked_creators.matrix[:, view.creator[candidates]].tocoo()
            return sub.row.astype(np.int64), sub.col.astype(np.int32)
        if self.scope == "topic" and self.blocked_topics.any():
            who = np.flatnonzero(self.blocked_topics.any(axis=1))
            hit = (self.blocked_topics[who].astype(np.float32) @ view.tags[candidates].T.astype(np.float32)) > 0
            r, c = np.nonzero(hit)
            return who[r].astype(np.int64), c.astype(np.int32)
        return np.zeros(0, np.int64), np.zeros(0, np.int32)


class PlatformView:
    """Everything a recommender may read. Arrays are read-only views.

    Attributes:
        step: the current step.
        n_users: number of user accounts.
        n_videos: number of videos uploaded so far.
        log: the observed interaction log (:class:`sim.log.LogView`).
    """

    __slots__ = (
        "_catalog", "log", "_counters", "_follows", "_friends", "controls", "step", "n_users", "n_creators", "n_topics",
    )

    def __init__(
        self,
        catalog: ColumnTable,
        log: LogView,
        counters: PublicCounters,
        follows: UserRelation,
        friends: FriendGraph,
        n_users: int,
        n_creators: int,
        n_topics: int,
        controls: UserControls | None = None,
    ):
        self._catalog = catalog
        self.controls = controls
        self.log = log
        self._counters = counters
        self._follows = follows
        self._friends = friends
        self.step = 0
        self.n_users = n_users
        self.n_creators = n_creators
        self.n_topics = n_topics

    # Public video features -------------------------------------------------------------
    @property
    def n_videos(self) -> int:
        return len(self._catalog)

    @property
    def creator(self) -> np.ndarray:
        """Creator id of each video."""
        return self._catalog.column("creator")

    @property
    def upload_step(self) -> np.ndarray:
        """Step each video was uploaded at."""
        return self._catalog.column("upload_step")

    @property
    def pace(self) -> np.ndarray:
        """Editing pace of each video, in [0, 1]."""
        return self._catalog.column("pace")

    @property
    def length_s(self) -> np.ndarray:
        """Length of each video in seconds."""
        return self._catalog.column("length_s")

    @property
    def sound(self) -> np.ndarray:
        """Sound id of each video."""
        return self._catalog.column("sound")

    @property
    def tags(self) -> np.ndarray:
        """Public topic tags, bool (n_videos, n_topics): noisy, a few per video."""
        return self._catalog.column("tags")

    # Public counters ------------------------------------------------------------------
    def _counter(self, name: str) -> np.ndarray:
        arr = getattr(self._counters, name)[: self.n_videos]
        out = arr.view()
        out.flags.writeable = False
        return out

    @property
    def views(self) -> np.ndarray:
        """Total impressions of each video so far."""
        return self._counter("views")

    @property
    def likes(self) -> np.ndarray:
        """Total (observed) likes of each video so far."""
        return self._counter("likes")

    @property
    def trending(self) -> np.ndarray:
        """Decayed views plus likes: the platform's trending signal."""
        return self._counter("trending")

    # Graphs ---------------------------------------------------------------------------
    @property
    def follows(self) -> sp.csr_matrix:
        """users x creators follow matrix (1 = follows)."""
        return self._follows.matrix

    @property
    def friends(self) -> sp.csr_matrix:
        """Symmetric users x users friendship adjacency."""
        return self._friends.adjacency

    def friend_graph(self) -> nx.Graph:
        return self._friends.to_networkx()

    @property
    def diversity_dial(self) -> np.ndarray:
        """Each user's diversity dial in [0, 1]; NaN where the user did not set it."""
        out = self.controls.diversity_dial.view()
        out.flags.writeable = False
        return out


class OracleView(PlatformView):
    """A PlatformView plus the world's true utility: for privileged recommenders only."""

    __slots__ = ("true_utility",)

    def __init__(self, base: PlatformView, true_utility: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        super().__init__(
            base._catalog, base.log, base._counters, base._follows, base._friends,
            base.n_users, base.n_creators, base.n_topics, base.controls,
        )
        self.true_utility = true_utility


def randomized_response(bits: np.ndarray, epsilon: float | None, rng: np.random.Generator) -> np.ndarray:
    """Warner's randomized response with epsilon-local differential privacy.

    Each bit is reported truthfully with probability ``e^eps / (1 + e^eps)`` and flipped
    otherwise (Warner 1965; the epsilon-LDP form as in Erlingsson et al. 2014).
    ``epsilon=None`` reports every bit as it is.

    >>> import numpy as np
    >>> randomized_response(np.array([True, False]), None, np.random.default_rng(0)).tolist()
    [True, False]
    """
    bits = np.asarray(bits, dtype=bool)
    if epsilon is None:
        return bits.copy()
    keep = 1.0 / (1.0 + np.exp(-epsilon))
    flip = rng.random(bits.shape) >= keep
    return bits ^ flip

"""The social layer: a friend graph, follows that grow from likes, and shares.

The friend graph is a stochastic block model over audience segments. networkx's
``stochastic_block_model`` draws it exactly but took 43 s at 100,000 users here, so the
edges are drawn block pair by block pair with numpy (a binomial count of edges, then
uniform endpoints, duplicates and self-loops dropped; for sparse graphs this is the
same model up to those rare collisions). ``FriendGraph.to_networkx()`` hands the graph
to networkx for analysis.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp


def stochastic_block_edges(
    segment: np.ndarray, mean_degree: float, homophily: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Undirected SBM edges over the given block labels.

    Within-block and between-block probabilities are set so that a node expects
    ``mean_degree`` friends, a share ``homophily`` of them in its own block:
    ``p_in = mean_degree * homophily / (n_b - 1)`` and
    ``p_out = mean_degree * (1 - homophily) / (n - n_b)`` (for equal blocks).

    Returns:
        (src, dst) int64 arrays with src < dst, each edge once.
    """
    n = len(segment)
    if n < 2 or mean_degree <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    blocks = np.unique(segment)
    members = [np.flatnonzero(segment == b) for b in blocks]
    sizes = np.array([len(m) for m in members], dtype=np.float64)
    src, dst = [], []
    for i, a in enumerate(members):
        for j in range(i, len(members)):
            b = members[j]
            if i == j:
                pairs = sizes[i] * (sizes[i] - 1) / 2
                p = mean_degree * homophily / max(sizes[i] - 1, 1)
            else:
                pairs = sizes[i] * sizes[j]
                p = mean_degree * (1 - homophily) / max(n - sizes[i], 1)
            if pairs <= 0 or p <= 0:
                continue
            m = rng.binomial(int(pairs), min(p, 1.0))
            s = a[rng.integers(0, len(a), m)]
            d = b[rng.integers(0, len(b), m)]
            src.append(s)
            dst.append(d)
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s, d = np.concatenate(src), np.concatenate(dst)
    lo, hi = np.minimum(s, d), np.maximum(s, d)
    keep = lo != hi
    key = np.unique(lo[keep].astype(np.int64) * n + hi[keep])
    return key // n, key % n


class FriendGraph:
    """Undirected friendships as a symmetric CSR adjacency matrix (users x users)."""

    def __init__(self, n_users: int, src: np.ndarray, dst: np.ndarray):
        data = np.ones(2 * len(src), dtype=np.float32)
        rows = np.concatenate([src, dst])
        cols = np.concatenate([dst, src])
        self.adjacency = sp.csr_matrix((data, (rows, cols)), shape=(n_users, n_users))
        self.adjacency.sum_duplicates()

    @classmethod
    def sample(cls, segment: np.ndarray, mean_degree: float, homophily: float, rng: np.random.Generator) -> "FriendGraph":
        src, dst = stochastic_block_edges(segment, mean_degree, homophily, rng)
        return cls(len(segment), src, dst)

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.adjacency.indptr)

    def friends(self, user: int) -> np.ndarray:
        a = self.adjacency
        return a.indices[a.indptr[user] : a.indptr[user + 1]]

    def to_networkx(self) -> nx.Graph:
        """The friend graph as a networkx Graph (nodes are user ids)."""
        g = nx.from_scipy_sparse_array(self.adjacency)
        g.add_nodes_from(range(self.adjacency.shape[0]))
        return g


class UserRelation:
    """A sparse users x targets 0/1 matrix that only grows: who follows which creator, who
    blocked which creator."""

    def __init__(self, n_users: int, n_targets: int):
        self.matrix = sp.csr_matrix((n_users, n_targets), dtype=np.float32)

    def add(self, users: np.ndarray, targets: np.ndarray) -> int:
        """Add pairs; returns how many were new."""
        if len(users) == 0:
            return 0
        before = self.matrix.nnz
        new = sp.csr_matrix(
            (np.ones(len(users), dtype=np.float32), (users, targets)), shape=self.matrix.shape
        )
        merged = self.matrix + new
        merged.data[:] = 1.0
        self.matrix = merged
        return self.matrix.nnz - before

    @property
    def count_per_target(self) -> np.ndarray:
        return np.bincount(self.matrix.indices, minlength=self.matrix.shape[1])

    def to_networkx(self) -> nx.DiGraph:
        """The relation as a bipartite DiGraph: ("u", i) -> ("c", j)."""
        coo = self.matrix.tocoo()
        g = nx.DiGraph()
        g.add_edges_from((("u", int(u)), ("c", int(c))) for u, c in zip(coo.row, coo.col))
        return g


def route_shares(
    sharers: np.ndarray, videos: np.ndarray, friends: FriendGraph, fanout: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Send each share to ``fanout`` random friends of the sharer (all, if fewer).

    Returns:
        (recipients, videos, parents): one row per delivered share; ``parents`` is the sharer.
    """
    if len(sharers) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    adj = friends.adjacency
    deg = np.diff(adj.indptr)[sharers]
    total = int(deg.sum())
    if total == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    share_idx = np.repeat(np.arange(len(sharers)), deg)
    starts = np.repeat(adj.indptr[sharers], deg)
    offsets = np.arange(total) - np.repeat(np.cumsum(deg) - deg, deg)
    recipients = adj.indices[starts + offsets]
    # Each share goes to ``fanout`` of the sharer's friends drawn without replacement
    # (all of them when the sharer has fewer): rank friends by a random key per share.
    order = np.lexsort((rng.random(total), share_idx))
    rank = np.empty(total, dtype=np.int64)
    rank[order] = offsets  # share_idx is sorted already, so offsets count within each share
    keep = rank < fanout
    share_idx = share_idx[keep]
    return recipients[keep].astype(np.int64), videos[share_idx].astype(np.int64), sharers[share_idx].astype(np.int64)

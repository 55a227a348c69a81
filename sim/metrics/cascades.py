"""Share cascades: size, depth and structural virality of each video's share trees.

The log's ``share_parent`` column says who shared a video to the viewer (-1 when the
feed showed it on its own). Per video, the edges ``share_parent -> user`` form a forest;
each tree is a cascade whose root reached the video without a share and passed it on.
Goel, Anderson, Hofman, Watts, "The structural virality of online diffusion",
Management Science 62(1), 2016. LITERATURE.md sections 2.2 and 9 (V9).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ._undefined import undefined
from .amplification import _ids


# -- one tree (networkx) -----------------------------------------------------------------


def cascade_size(tree: nx.Graph) -> int:
    """Number of users in a cascade: ``n = |V(T)|`` (Goel et al. 2016).

    >>> cascade_size(nx.star_graph(3))
    4
    """
    return tree.number_of_nodes()


def _root(tree: nx.Graph, root) -> object:
    if root is not None:
        return root
    if tree.is_directed():
        roots = [v for v, d in tree.in_degree() if d == 0]
        if len(roots) == 1:
            return roots[0]
    return None


def cascade_depth(tree: nx.Graph, root=None) -> float:
    """Longest share chain: ``depth = max_v d(root, v)`` (0 for a lone root).

    Args:
        tree: the cascade; a ``DiGraph`` with edges parent -> child (its root is found as
            the one node without a parent), or any graph with ``root`` given.
        root: the cascade's root; needed for an undirected tree.

    Returns:
        The depth; NaN with an ``UndefinedMetricWarning`` for an empty tree, an undirected
        one without ``root``, a directed one without a single root, or a tree that does not
        reach every node from its root.

    >>> cascade_depth(nx.DiGraph([(0, 1), (1, 2), (0, 3)]))
    2
    """
    if tree.number_of_nodes() == 0:
        return undefined("cascade_depth", "empty tree")
    r = _root(tree, root)
    if r is None:
        return undefined("cascade_depth", "no single root (give root= for an undirected tree)")
    dist = nx.single_source_shortest_path_length(tree, r)
    if len(dist) < tree.number_of_nodes():
        return undefined("cascade_depth", "the root does not reach every node")
    return max(dist.values())


def structural_virality(tree: nx.Graph) -> float:
    """Structural virality: the mean distance between two distinct users of a cascade.

    ``nu(T) = 1/(n(n-1)) sum_i sum_{j != i} d_ij = 2 W(T) / (n (n - 1))``

    over ordered pairs, with ``W`` the Wiener index (networkx's ``wiener_index``, which
    counts each unordered pair once, hence the 2) on the undirected tree. A star of ``n``
    nodes (pure broadcast) gives ``2 (n - 1) / n``, about 2; a chain gives ``(n + 1) / 3``.
    Goel, Anderson, Hofman, Watts, Management Science 62(1), 2016; LITERATURE.md 2.2.

    Cost: networkx's all-pairs BFS, O(n^2): a 2,000-node chain takes about 2 s, so a
    10,000-node one about a minute. :func:`cascades_from_log` gives the same value in O(n).

    Args:
        tree: the cascade (directed or not; edge direction is ignored).

    Returns:
        ``nu``; NaN with an ``UndefinedMetricWarning`` for fewer than 2 nodes or a
        disconnected graph.

    >>> structural_virality(nx.star_graph(3))  # 4 nodes: 2 * (3 * 1 + 3 * 2) / (4 * 3)
    1.5
    >>> structural_virality(nx.path_graph(5))  # (5 + 1) / 3
    2.0
    """
    n = tree.number_of_nodes()
    if n < 2:
        return undefined("structural_virality", "fewer than 2 nodes")
    undirected = tree.to_undirected(as_view=True) if tree.is_directed() else tree
    if not nx.is_connected(undirected):
        return undefined("structural_virality", "the cascade is not connected")
    return 2.0 * nx.wiener_index(undirected) / (n * (n - 1))


# -- the log -----------------------------------------------------------------------------


def _share_forest(video, user, share_parent, shared=None, metric: str = "cascades_from_log"):
    """Nodes of every video's share forest, with each node's parent and cascade.

    Returns ``(node_video, node_user, parent, root, depth)`` over the nodes (``parent``,
    ``root`` index the node arrays; -1 for no parent), dropping (with one warning) nodes
    whose parent chain loops and never reaches a root.
    """
    v = _ids(video, "video")
    u = _ids(user, "user")
    p = np.asarray(share_parent).astype(np.int64).reshape(-1)
    if not (len(v) == len(u) == len(p)):
        raise ValueError("video, user and share_parent differ in length")
    sh = None if shared is None else np.asarray(shared, dtype=bool).reshape(-1)
    if sh is not None and len(sh) != len(v):
        raise ValueError("shared differs in length from video")
    p = np.where(p == u, -1, p)  # a share to oneself is no edge
    width = int(max(u.max(initial=-1), p.max(initial=-1))) + 1
    # Each (video, user)'s first row decides its parent: the log is in time order.
    key, first = np.unique(v * width + u, return_index=True)
    parent_user = p[first]
    # Parents whose own view is not in the rows are roots too.
    outside = np.setdiff1d(np.unique(v[p >= 0] * width + p[p >= 0]), key, assume_unique=True)
    keys = np.concatenate([key, outside])
    parent_user = np.concatenate([parent_user, np.full(len(outside), -1)])
    order = np.argsort(keys, kind="stable")
    keys, parent_user = keys[order], parent_user[order]
    node_video, node_user = np.divmod(keys, width) if width else (keys, keys)
    has_parent = parent_user >= 0
    parent = np.full(len(keys), -1, dtype=np.int64)
    parent[has_parent] = np.searchsorted(keys, node_video[has_parent] * width + parent_user[has_parent])
    # Keep nodes in a tree with an edge, and (with ``shared``) roots that shared.
    n = len(keys)
    keep = has_parent.copy()
    keep[parent[has_parent]] = True
    if sh is not None:
        shared_key = np.unique(v[sh] * width + u[sh])
        sharer = np.zeros(n, bool)
        sharer[np.searchsorted(keys, shared_key)] = True
        keep |= sharer & ~has_parent
    # Pointer jumping: the root and depth of every node in O(n log depth).
    jump = np.where(has_parent, parent, np.arange(n))
    depth = has_parent.astype(np.int64)
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2))))) + 1):
        nxt = jump[jump]
        if np.array_equal(nxt, jump):
            break
        depth = depth + depth[jump]
        jump = nxt
    looped = parent[jump] >= 0  # still has a parent: the chain never ends
    if looped.any():
        undefined(metric, f"{int(looped.sum())} views sit on share loops and are left out")
        keep &= ~looped
    idx = np.flatnonzero(keep)
    remap = np.full(n, -1, dtype=np.int64)
    remap[idx] = np.arange(len(idx))
    par = parent[idx]
    par = np.where(par >= 0, remap[np.maximum(par, 0)], -1)
    return node_video[idx], node_user[idx], par, remap[jump[idx]], depth[idx]


def cascade_trees(video, user, share_parent, shared=None) -> list[tuple[int, int, nx.DiGraph]]:
    """Every cascade of the log as a networkx tree.

    Per video, a user's parent is the ``share_parent`` of their first row for that video
    (rows in log order, i.e. time order); the edges ``parent -> user`` form a forest. A
    cascade is one tree of it; its root is a viewer who got the video without a share
    (or a sharer whose own view is not in the rows) and shared it. Several roots of one
    video make several cascades. Without ``shared``, a cascade needs an edge (size >= 2);
    with it, a parentless viewer who shared but reached no one is a cascade of size 1.
    Nodes are user ids; each tree carries ``graph["video"]`` and ``graph["root"]``.

    Args:
        video, user, share_parent: log columns (``share_parent`` -1 for no share).
        shared: optional log column, True where the viewer shared the video.

    Returns:
        ``[(video, root_user, tree), ...]`` sorted by video, then root user.

    >>> [(v, r, sorted(t.edges)) for v, r, t in cascade_trees([5, 5, 5], [1, 2, 3], [-1, 1, 2])]
    [(5, 1, [(1, 2), (2, 3)])]
    """
    node_video, node_user, parent, root, _ = _share_forest(video, user, share_parent, shared, "cascade_trees")
    trees: dict[int, nx.DiGraph] = {}
    for r in np.unique(root):
        g = nx.DiGraph(video=int(node_video[r]), root=int(node_user[r]))
        g.add_node(int(node_user[r]))
        trees[int(r)] = g
    child = np.flatnonzero(parent >= 0)
    for c in child:
        trees[int(root[c])].add_edge(int(node_user[parent[c]]), int(node_user[c]))
    return [(g.graph["video"], g.graph["root"], g) for _, g in sorted(trees.items())]


def cascades_from_log(video, user, share_parent, shared=None) -> dict[str, np.ndarray]:
    """Size, depth and structural virality of every cascade in the log, vectorised.

    The cascades of :func:`cascade_trees` (same parent rule, same roots), measured:

    * size ``n`` = users in the tree; depth = ``max_v d(root, v)``;
    * structural virality ``nu = 2 W / (n (n - 1))`` (Goel et al., Management Science
      2016), with the Wiener index of a tree computed exactly from subtree sizes,
      ``W = sum_{v != root} s_v (n - s_v)`` (each edge lies on the path of the
      ``s_v (n - s_v)`` pairs it separates). It equals networkx's ``wiener_index``
      (:func:`structural_virality`, checked in the tests) at O(n) instead of O(n^2).

    Args:
        video, user, share_parent: log columns, in log (time) order.
        shared: optional log column; with it, parentless sharers who reached no one count
            as cascades of size 1 (Goel et al. count them: most cascades are that small).

    Returns:
        ``{"video", "root", "size", "depth", "virality"}``: one entry per cascade,
        sorted by video then root user. ``virality`` is NaN for a cascade of size 1 (no
        pair of users), with one ``UndefinedMetricWarning`` saying how many.

    >>> out = cascades_from_log([5, 5, 5, 5, 7], [1, 2, 3, 4, 1], [-1, 1, 1, 1, -1])
    >>> out["size"].tolist(), out["depth"].tolist(), out["virality"].tolist()  # star of 4 nodes
    ([4], [1], [1.5])
    """
    node_video, node_user, parent, root, depth = _share_forest(video, user, share_parent, shared)
    n_nodes = len(node_video)
    roots, cid = np.unique(root, return_inverse=True)
    cid = cid.reshape(-1)
    n_casc = len(roots)
    size = np.bincount(cid, minlength=n_casc).astype(np.int64)
    max_depth = np.zeros(n_casc, dtype=np.int64)
    np.maximum.at(max_depth, cid, depth)
    # Subtree sizes, deepest level first.
    sub = np.ones(n_nodes, dtype=np.int64)
    by_depth = np.argsort(-depth, kind="stable")
    levels = np.split(by_depth, np.flatnonzero(np.diff(depth[by_depth])) + 1) if n_nodes else []
    for level in levels:
        level = level[parent[level] >= 0]
        np.add.at(sub, parent[level], sub[level])
    child = parent >= 0
    separated = sub[child] * (size[cid[child]] - sub[child])  # pairs whose path uses v's edge
    wiener = np.bincount(cid[child], weights=separated.astype(np.float64), minlength=n_casc)
    virality = np.full(n_casc, np.nan)
    pairs = size >= 2
    virality[pairs] = 2.0 * wiener[pairs] / (size[pairs] * (size[pairs] - 1.0))
    if not pairs.all():
        undefined("cascades_from_log", f"{int((~pairs).sum())} of {n_casc} cascades have one user: virality NaN")
    return {
        "video": node_video[roots].astype(np.int64),
        "root": node_user[roots].astype(np.int64),
        "size": size,
        "depth": max_depth,
        "virality": virality,
    }

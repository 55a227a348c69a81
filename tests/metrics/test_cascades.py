"""Cascades (Goel et al. 2016): size, depth, structural virality, from trees and from the log."""

from __future__ import annotations

import math
import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.metrics import UndefinedMetricWarning
from sim.metrics.cascades import (
    cascade_depth,
    cascade_size,
    cascade_trees,
    cascades_from_log,
    structural_virality,
)


def _star_log(n):
    """One video; user 0 saw it in the feed and shared it to users 1 .. n - 1."""
    return np.zeros(n, int), np.arange(n), np.r_[-1, np.zeros(n - 1, int)]


def _chain_log(n):
    """One video passed along 0 -> 1 -> ... -> n - 1."""
    return np.zeros(n, int), np.arange(n), np.r_[-1, np.arange(n - 1)]


# -- one tree ----------------------------------------------------------------------------


def test_structural_virality_star_is_about_two():
    # Star of n: n - 1 pairs (hub, leaf) at 1, (n-1)(n-2)/2 leaf pairs at 2:
    # W = (n-1) + (n-1)(n-2) = (n-1)^2, nu = 2 (n-1)^2 / (n (n-1)) = 2 (n-1) / n.
    n = 100
    assert structural_virality(nx.star_graph(n - 1)) == pytest.approx(2 * (n - 1) / n)  # 1.98
    assert structural_virality(nx.star_graph(n - 1)) == pytest.approx(2.0, abs=0.03)
    assert cascades_from_log(*_star_log(n))["virality"][0] == pytest.approx(1.98)


def test_structural_virality_chain_is_n_plus_one_over_three():
    # Chain of n: W = sum_{d=1}^{n-1} (n - d) d = n (n^2 - 1) / 6, nu = (n + 1) / 3.
    for n in (2, 3, 10, 100):
        assert structural_virality(nx.path_graph(n)) == pytest.approx((n + 1) / 3)
        assert cascades_from_log(*_chain_log(n))["virality"][0] == pytest.approx((n + 1) / 3)


def test_structural_virality_small_tree_by_hand():
    # 0 -> 1, 0 -> 2, 1 -> 3. Distances: 01 1, 02 1, 03 2, 12 2, 13 1, 23 3: W = 10,
    # nu = 2 * 10 / (4 * 3) = 5 / 3. Direction does not matter.
    tree = nx.DiGraph([(0, 1), (0, 2), (1, 3)])
    assert structural_virality(tree) == pytest.approx(5 / 3)
    assert structural_virality(tree.to_undirected()) == pytest.approx(5 / 3)
    assert cascade_size(tree) == 4
    assert cascade_depth(tree) == 2
    assert cascade_depth(tree.to_undirected(), root=0) == 2
    assert cascade_depth(tree.to_undirected(), root=3) == 3  # seen from a leaf


def test_one_tree_degenerate_cases():
    single = nx.DiGraph()
    single.add_node(0)
    with pytest.warns(UndefinedMetricWarning, match="fewer than 2"):
        assert math.isnan(structural_virality(single))
    with pytest.warns(UndefinedMetricWarning, match="fewer than 2"):
        assert math.isnan(structural_virality(nx.Graph()))
    with pytest.warns(UndefinedMetricWarning, match="not connected"):
        assert math.isnan(structural_virality(nx.DiGraph([(0, 1), (2, 3)])))
    with pytest.warns(UndefinedMetricWarning, match="empty"):
        assert math.isnan(cascade_depth(nx.DiGraph()))
    with pytest.warns(UndefinedMetricWarning, match="root"):
        assert math.isnan(cascade_depth(nx.path_graph(3)))  # undirected, no root given
    with pytest.warns(UndefinedMetricWarning, match="root"):
        assert math.isnan(cascade_depth(nx.DiGraph([(0, 1), (2, 1)])))  # two roots
    with pytest.warns(UndefinedMetricWarning, match="reach"):
        assert math.isnan(cascade_depth(nx.Graph([(0, 1), (2, 3)]), root=0))
    lone = nx.DiGraph()
    lone.add_node(7)
    assert cascade_size(lone) == 1 and cascade_depth(lone) == 0
    assert cascade_size(nx.Graph()) == 0


# -- from the log ------------------------------------------------------------------------


def test_cascades_from_log_by_hand():
    # Video 5: user 1 saw it in the feed and shared to 2 and 3; 3 shared to 4. User 9 also
    # found it in the feed and shared to 8: a second cascade of video 5.
    # Video 6: user 2 shared to 1. User 7 saw video 6 alone (no cascade).
    video = [5, 5, 5, 5, 5, 5, 6, 6, 6]
    user = [1, 9, 2, 3, 4, 8, 2, 1, 7]
    parent = [-1, -1, 1, 1, 3, 9, -1, 2, -1]
    out = cascades_from_log(video, user, parent)
    assert out["video"].tolist() == [5, 5, 6]
    assert out["root"].tolist() == [1, 9, 2]
    assert out["size"].tolist() == [4, 2, 2]
    assert out["depth"].tolist() == [2, 1, 1]
    # Tree 1-2, 1-3, 3-4 has W = 10 (the small tree above): 5 / 3; pairs: nu = 1.
    np.testing.assert_allclose(out["virality"], [5 / 3, 1.0, 1.0])
    trees = cascade_trees(video, user, parent)
    assert [(v, r) for v, r, _ in trees] == [(5, 1), (5, 9), (6, 2)]
    assert sorted(trees[0][2].edges) == [(1, 2), (1, 3), (3, 4)]
    assert trees[0][2].graph == {"video": 5, "root": 1}


def test_first_row_decides_the_parent_and_missing_parents_are_roots():
    # User 2 first saw video 0 in the feed (row 0), later by a share from 1: it is a root
    # of its own, and the late share is no edge. User 4 got it from 3, whose own view is
    # not in the rows: 3 is the root. A self-share is no edge.
    video = [0, 0, 0, 0, 0, 0]
    user = [2, 1, 2, 5, 4, 6]
    parent = [-1, -1, 1, 2, 3, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the self-share is no loop either
        out = cascades_from_log(video, user, parent)
    assert out["root"].tolist() == [2, 3]
    assert out["size"].tolist() == [2, 2]  # {2, 5} and {3, 4}; user 1 reached no one
    trees = cascade_trees(video, user, parent)
    assert [sorted(t.edges) for _, _, t in trees] == [[(2, 5)], [(3, 4)]]


def test_shared_adds_lone_sharers_as_cascades_of_one():
    # User 1 shared video 0 to 2; user 3 shared video 0 but nobody watched it through
    # them; user 4 did not share. With `shared`, user 3 is a cascade of size 1.
    video, user, parent = [0, 0, 0, 0], [1, 2, 3, 4], [-1, 1, -1, -1]
    shared = [True, False, True, False]
    assert cascades_from_log(video, user, parent)["size"].tolist() == [2]
    with pytest.warns(UndefinedMetricWarning, match="1 of 2 cascades have one user"):
        out = cascades_from_log(video, user, parent, shared)
    assert out["root"].tolist() == [1, 3]
    assert out["size"].tolist() == [2, 1]
    assert out["depth"].tolist() == [1, 0]
    assert out["virality"][0] == 1.0 and math.isnan(out["virality"][1])
    assert [cascade_size(t) for _, _, t in cascade_trees(video, user, parent, shared)] == [2, 1]


def test_empty_log_and_no_shares_give_no_cascades():
    for args in (([], [], []), ([0, 1], [3, 4], [-1, -1])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning: "no cascades" is an answer
            out = cascades_from_log(*args)
        assert set(out) == {"video", "root", "size", "depth", "virality"}
        assert all(len(a) == 0 for a in out.values())
        assert cascade_trees(*args) == []


def test_share_loops_are_left_out_with_a_warning():
    # Impossible in a time-ordered log, but: 1 got video 0 from 2 and 2 from 1. User 4
    # hangs off the loop; 5 -> 6 is a proper cascade.
    video, user, parent = [0, 0, 0, 0, 0], [1, 2, 4, 5, 6], [2, 1, 2, -1, 5]
    with pytest.warns(UndefinedMetricWarning, match="3 views sit on share loops"):
        out = cascades_from_log(video, user, parent)
    assert out["root"].tolist() == [5] and out["size"].tolist() == [2]


def test_large_star_and_chain_are_fast_and_exact():
    # The vectorised Wiener index at n = 10,000 (networkx's all-pairs BFS would take ~1 min).
    n = 10_000
    chain = cascades_from_log(*_chain_log(n))
    assert chain["depth"][0] == n - 1 and chain["virality"][0] == pytest.approx((n + 1) / 3)
    star = cascades_from_log(*_star_log(n))
    assert star["depth"][0] == 1 and star["virality"][0] == pytest.approx(2 * (n - 1) / n)


@st.composite
def share_forests(draw):
    """Rows (video, user, parent) of random share forests over 2 videos, in time order."""
    n = draw(st.integers(0, 25))
    rows = []
    for _ in range(n):
        video = draw(st.integers(0, 1))
        seen = [u for v, u, _ in rows if v == video]
        user = draw(st.integers(0, 40).filter(lambda x: x not in seen))
        parent = draw(st.sampled_from([-1] + seen)) if seen else -1
        rows.append((video, user, parent))
    return rows


@settings(max_examples=60, deadline=None)
@given(share_forests(), st.randoms(use_true_random=False))
def test_log_metrics_match_networkx_on_every_tree(rows, rnd):
    video = np.array([r[0] for r in rows], dtype=int)
    user = np.array([r[1] for r in rows], dtype=int)
    parent = np.array([r[2] for r in rows], dtype=int)
    # The trees, built independently: components with an edge of each video's graph.
    expected = []
    for v in (0, 1):
        g = nx.DiGraph([(p, u) for vv, u, p in rows if vv == v and p >= 0])
        for comp in nx.weakly_connected_components(g):
            t = g.subgraph(comp)
            root = next(x for x in t if t.in_degree(x) == 0)
            expected.append((v, root, t.number_of_nodes(), cascade_depth(t), structural_virality(t)))
    expected.sort()
    # Rows of distinct (video, user) pairs: their order does not matter.
    perm = np.array(rnd.sample(range(len(rows)), len(rows)), dtype=int)
    out = cascades_from_log(video[perm], user[perm], parent[perm])
    got = list(zip(out["video"], out["root"], out["size"], out["depth"], out["virality"]))
    assert [g[:4] for g in got] == [e[:4] for e in expected]
    np.testing.assert_allclose([g[4] for g in got], [e[4] for e in expected])
    assert out["size"].sum() == sum(e[2] for e in expected)
    trees = cascade_trees(video, user, parent)
    assert [(v, r, cascade_size(t)) for v, r, t in trees] == [e[:3] for e in expected]


def test_cascades_of_a_simulated_log_match_networkx():
    from sim.testing import toy_model

    model = toy_model(seed=1, social={"mean_friends": 6}, behaviour={"share_intercept": -1.0})
    for _ in range(6):
        model.step()
    log = model.log.observed
    cols = [log.column(k) for k in ("video", "user", "share_parent", "shared")]
    assert (cols[2] >= 0).any()  # shares travelled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)  # size-1 cascades
        out = cascades_from_log(*cols)
        trees = cascade_trees(*cols)
        nu = [structural_virality(t) for _, _, t in trees]
    assert len(trees) == len(out["size"]) and (out["size"] >= 1).all()
    assert [cascade_size(t) for _, _, t in trees] == out["size"].tolist()
    assert [cascade_depth(t) for _, _, t in trees] == out["depth"].tolist()
    np.testing.assert_allclose(nu, out["virality"])
    # Every edge is a logged view through a share.
    n_edges = sum(t.number_of_edges() for _, _, t in trees)
    assert n_edges == len(np.unique(cols[0][cols[2] >= 0].astype(np.int64) * 10**6 + cols[1][cols[2] >= 0]))

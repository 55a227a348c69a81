"""Echo-chamber metrics: hand-computed cases, degenerate inputs, properties."""

from __future__ import annotations

import math
from itertools import combinations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.metrics import UndefinedMetricWarning
from sim.metrics.echo import (
    calibration_kl,
    co_like_modularity,
    consumption_matrix,
    effective_clusters,
    homogenization,
    intra_list_diversity,
    jaccard_homogenization,
    mean_interaction_distance,
    nearest_neighbour_pairs,
    polarization,
    random_user_pairs,
    relative_homogenization,
    taste_drift,
    topic_entropy,
)

# Consumed sets: D0 = {0, 1, 2}, D1 = {1, 2, 3}, D2 = {4}, D3 = {}
D = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]))


def brute_jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


# -- consumption and pairs ----------------------------------------------------------------------
def test_consumption_matrix_counts_repeat_views_once():
    m = consumption_matrix(np.array([0, 0, 0, 1]), np.array([1, 1, 2, 0]), 3, 3)
    assert m.toarray().tolist() == [[0, 1, 1], [1, 0, 0], [0, 0, 0]]


def test_random_pairs_all_when_small_and_distinct_when_sampled():
    assert random_user_pairs(4, 800).tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    p = random_user_pairs(50, 800, seed=3)
    assert p.shape == (800, 2)
    assert np.all(p[:, 0] != p[:, 1]) and p.min() >= 0 and p.max() < 50
    assert np.array_equal(p, random_user_pairs(50, 800, seed=3))  # seeded
    assert random_user_pairs(1).shape == (0, 2)


def test_nearest_neighbour_by_jaccard_by_hand():
    # J(0,1) = |{1,2}| / |{0,1,2,3}| = 1/2; J(0,2) = J(1,2) = 0; user 3 is empty: J = 0 to all
    pairs = nearest_neighbour_pairs(D[:3])
    assert pairs.tolist()[:2] == [[0, 1], [1, 0]]
    assert pairs[2, 1] in (0, 1)  # a tie at 0, broken at random


def test_nearest_neighbour_by_cosine_matches_brute_force():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))
    cos = (x @ x.T) / np.outer(np.linalg.norm(x, axis=1), np.linalg.norm(x, axis=1))
    np.fill_diagonal(cos, -np.inf)
    assert np.array_equal(nearest_neighbour_pairs(x, "cosine")[:, 1], cos.argmax(axis=1))


def test_nearest_neighbour_ties_are_random_but_seeded():
    x = sp.csr_matrix(np.eye(6))  # every pair has Jaccard 0: all ties
    a = nearest_neighbour_pairs(x, seed=1)[:, 1]
    assert np.array_equal(a, nearest_neighbour_pairs(x, seed=1)[:, 1])
    assert np.all(a != np.arange(6))
    picks = {tuple(nearest_neighbour_pairs(x, seed=s)[:, 1]) for s in range(5)}
    assert len(picks) > 1


# -- homogenisation ---------------------------------------------------------------------------
def test_jaccard_homogenization_by_hand():
    # (0,1): 2/4; (0,2): 0/4; (1,3): 0/3 (D3 empty, D1 not) -> (0.5 + 0 + 0) / 3
    assert jaccard_homogenization(D, np.array([[0, 1], [0, 2], [1, 3]])) == pytest.approx(0.5 / 3)
    # (3,3) has two empty sets: left out, leaving (0,1) alone
    assert jaccard_homogenization(D, np.array([[0, 1], [3, 3]])) == pytest.approx(0.5)


def test_jaccard_homogenization_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="no user pairs"):
        assert math.isnan(jaccard_homogenization(D, np.zeros((0, 2), int)))
    with pytest.warns(UndefinedMetricWarning, match="empty"):
        assert math.isnan(jaccard_homogenization(D, np.array([[3, 3]])))


def test_homogenization_random_and_nearest_by_hand():
    # active users 0, 1, 2 (user 3 consumed nothing and is left out)
    # random = all 3 pairs: (1/2 + 0 + 0) / 3; nearest: 0->1, 1->0, 2->0 or 1: (1/2 + 1/2 + 0) / 3
    assert homogenization(D, "random") == pytest.approx(1 / 6)
    assert homogenization(D, "nearest") == pytest.approx(1 / 3)


def test_homogenization_nearest_in_a_representation():
    # cosines among the active users 0, 1, 2: cos(0,2) = 1/sqrt(1.81) = 0.74, cos(1,2) = 0.67,
    # cos(0,1) = 0 -> pairs 0->2, 1->2, 2->0, whose Jaccards are all 0 (by Jaccard it is 1/3)
    rep = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.9], [0.0, 0.0]])
    assert homogenization(D, "nearest", representation=rep) == pytest.approx(0.0)


def test_homogenization_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="fewer than two users"):
        assert math.isnan(homogenization(sp.csr_matrix((3, 4)), "random"))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(homogenization(D[2:], "nearest"))  # one active user
    with pytest.raises(ValueError):
        homogenization(D, "bogus")


def test_homogenization_is_one_for_identical_users_and_zero_for_disjoint():
    same = sp.csr_matrix(np.ones((5, 3)))
    assert homogenization(same, "random") == 1.0 and homogenization(same, "nearest") == 1.0
    assert homogenization(sp.csr_matrix(np.eye(5)), "random") == 0.0


@settings(max_examples=40, deadline=None)
@given(arrays(np.int8, (6, 5), elements=st.integers(0, 1)))
def test_jaccard_homogenization_matches_brute_force(m):
    sets = [set(np.flatnonzero(r)) for r in m]
    pairs = [(u, v) for u, v in combinations(range(6), 2) if sets[u] | sets[v]]
    if not pairs:
        return
    expected = np.mean([brute_jaccard(sets[u], sets[v]) for u, v in pairs])
    assert jaccard_homogenization(sp.csr_matrix(m), np.array(pairs)) == pytest.approx(expected)
    if (m.sum(axis=1) > 0).sum() >= 2:
        nearest = homogenization(sp.csr_matrix(m), "nearest")
        assert homogenization(sp.csr_matrix(m), "random") - 1e-12 <= nearest <= 1.0  # the closest >= any


def test_relative_homogenization_difference_and_ratio():
    assert relative_homogenization(0.3, 0.2) == pytest.approx(0.1)
    assert relative_homogenization(0.3, 0.2, "ratio") == pytest.approx(0.5)
    out = relative_homogenization(np.array([0.2, 0.4]), np.array([0.2, 0.1]))
    assert out == pytest.approx([0.0, 0.3])
    with pytest.warns(UndefinedMetricWarning, match="ratio"):
        r = relative_homogenization(np.array([0.2, 0.4]), np.array([0.0, 0.2]), "ratio")
    assert math.isnan(r[0]) and r[1] == pytest.approx(1.0)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(relative_homogenization(0.1, 0.0, "ratio"))
    assert relative_homogenization(0.1, 0.0) == pytest.approx(0.1)  # difference is defined


def test_mean_interaction_distance_by_hand():
    b = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0], [4.0, 0.0]])
    # mean item of D0 = (0,0),(2,0),(0,2) -> (2/3, 2/3); of D1 = (2,0),(0,2),(2,2) -> (4/3, 4/3)
    # distance sqrt(2) * 2/3; pair (1,3) has an empty side and is left out
    got = mean_interaction_distance(D, b, np.array([[0, 1], [1, 3]]))
    assert got == pytest.approx(math.sqrt(2) * 2 / 3)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(mean_interaction_distance(D, b, np.array([[3, 3]])))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(mean_interaction_distance(D, b, np.zeros((0, 2), int)))


# -- within-user narrowing ----------------------------------------------------------------------
def test_topic_entropy_by_hand():
    # user 0: p = (1/2, 1/4, 1/4): H = 1/2 log 2 + 2 * 1/4 log 4 = 1.5 log 2
    # user 1: one topic: 0
    h = topic_entropy(np.array([[2.0, 1.0, 1.0], [0.0, 5.0, 0.0]]))
    assert h == pytest.approx([1.5 * math.log(2), 0.0])
    hn = topic_entropy(np.array([[2.0, 1.0, 1.0]]), normalized=True)
    assert hn == pytest.approx([1.5 * math.log(2) / math.log(3)])
    assert topic_entropy(np.array([3, 3])) == pytest.approx(math.log(2))  # 1-D: one user, a float


def test_topic_entropy_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="1 user"):
        h = topic_entropy(np.array([[1.0, 1.0], [0.0, 0.0]]))
    assert h[0] == pytest.approx(math.log(2)) and math.isnan(h[1])
    with pytest.warns(UndefinedMetricWarning, match="two topics"):
        assert np.isnan(topic_entropy(np.array([[4.0]]), normalized=True)).all()
    assert topic_entropy(np.array([[4.0]])) == pytest.approx([0.0])  # one topic: H = 0
    with pytest.warns(UndefinedMetricWarning):
        assert topic_entropy(np.zeros((2, 0))).shape == (2,)
    assert topic_entropy(np.zeros((0, 3))).shape == (0,)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (4, 5), elements=st.floats(0.01, 10)))
def test_topic_entropy_bounds(c):
    h = topic_entropy(c, normalized=True)
    assert np.all(h >= -1e-12) and np.all(h <= 1 + 1e-12)
    assert topic_entropy(np.ones((1, 5)), normalized=True) == pytest.approx([1.0])


def test_intra_list_diversity_by_hand():
    # list 0: vectors e1, e2, e1+e2: cos = 0, 1/sqrt2, 1/sqrt2 -> mean of 1, 1 - 1/sqrt2 twice
    # list 1: slot 2 masked: e1 and e1 -> 0
    v = np.array(
        [
            [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
            [[1.0, 0.0], [3.0, 0.0], [0.0, 1.0]],
        ]
    )
    mask = np.array([[True, True, True], [True, True, False]])
    got = intra_list_diversity(v, mask)
    assert got == pytest.approx([(1 + 2 * (1 - 1 / math.sqrt(2))) / 3, 0.0])
    assert intra_list_diversity(v[0]) == pytest.approx(got[0])  # one list: a float


def test_intra_list_diversity_degenerate():
    v = np.array([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])  # list 0: one non-zero item
    with pytest.warns(UndefinedMetricWarning, match="fewer than two"):
        got = intra_list_diversity(v)
    assert math.isnan(got[0]) and got[1] == pytest.approx(1.0)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(intra_list_diversity(np.zeros((0, 2))))


def test_calibration_kl_by_hand():
    # p = (1/2, 1/2), q = (1, 0): q~ = (0.995, 0.005)
    # KL = 1/2 log(0.5/0.995) + 1/2 log(0.5/0.005)
    expected = 0.5 * math.log(0.5 / 0.995) + 0.5 * math.log(0.5 / 0.005)
    assert calibration_kl(np.array([1, 1]), np.array([4, 0])) == pytest.approx(expected)  # counts fine
    got = calibration_kl(np.array([[1.0, 1.0], [3.0, 1.0]]), np.array([[1.0, 0.0], [3.0, 1.0]]))
    assert got == pytest.approx([expected, 0.0])
    # alpha = 1 mixes q away entirely: q~ = p, KL = 0
    assert calibration_kl(np.array([1.0, 0.0]), np.array([0.0, 1.0]), alpha=1.0) == 0.0


def test_calibration_kl_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="empty"):
        got = calibration_kl(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 0.0]]))
    assert np.isnan(got).all()
    with pytest.raises(ValueError):
        calibration_kl(np.ones(2), np.ones(2), alpha=0.0)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, 4, elements=st.floats(0, 5)).filter(lambda a: a.sum() > 0.1),
    arrays(np.float64, 4, elements=st.floats(0, 5)).filter(lambda a: a.sum() > 0.1),
)
def test_calibration_kl_nonnegative_and_bounded(p, q):
    kl = calibration_kl(p, q)
    assert 0.0 <= kl <= math.log(1 / 0.01) + 1e-9  # q~ >= alpha p bounds the ratio by 1/alpha
    assert calibration_kl(p, p) == pytest.approx(0.0, abs=1e-12)


# -- tastes -------------------------------------------------------------------------------------
def test_taste_drift_by_hand():
    t0 = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    t1 = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
    assert taste_drift(t1, t0) == pytest.approx([math.sqrt(2), 0.0])
    assert taste_drift(t1, t0, ord=1) == pytest.approx([2.0, 0.0])
    assert taste_drift(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)
    with pytest.raises(ValueError):
        taste_drift(t1, t0[:1])


def test_polarization_by_hand_exact_and_sampled():
    # opinions 0, 0, 1, 1: distances 0, 1, 1, 1, 1, 0 -> 4/6
    assert polarization(np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(2 / 3)
    # 2-D: (0,0), (3,4): one pair at 5
    assert polarization(np.array([[0.0, 0.0], [3.0, 4.0]])) == pytest.approx(5.0)
    rng = np.random.default_rng(1)
    x = rng.random((400, 3))
    exact = polarization(x)
    sampled = polarization(x, max_pairs=20_000, seed=2)
    assert sampled == pytest.approx(exact, rel=0.02)


def test_polarization_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="fewer than two"):
        assert math.isnan(polarization(np.array([[0.5, 0.5]])))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(polarization(np.zeros((0, 2))))
    assert polarization(np.full((5, 2), 0.3)) == 0.0  # consensus


def test_effective_clusters_threshold_by_hand():
    # 1-D: {0, 0.005, 0.01} chain into one group (gaps <= 0.01), {0.5} alone, {0.9, 0.905}
    # sizes 3, 1, 2: C = 36 / (9 + 1 + 4)
    x = np.array([0.0, 0.005, 0.01, 0.5, 0.9, 0.905])
    assert effective_clusters(x) == pytest.approx(36 / 14)
    # 2-D, same chaining rule via single linkage: two tight pairs far apart -> 2
    y = np.array([[0.0, 0.0], [0.0, 0.005], [1.0, 1.0], [1.005, 1.0]])
    assert effective_clusters(y) == pytest.approx(2.0)
    assert effective_clusters(y, tol=2.0) == pytest.approx(1.0)
    assert effective_clusters(np.array([0.3])) == 1.0  # one user: one cluster


def test_effective_clusters_kmeans_and_subsample():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    x = np.concatenate([c + 0.1 * rng.normal(size=(n, 2)) for c, n in zip(centres, (50, 30, 20))])
    # k-means with k = 3 recovers the groups: C = 100^2 / (50^2 + 30^2 + 20^2) = 10000 / 3800
    assert effective_clusters(x, "kmeans", n_clusters=3) == pytest.approx(10000 / 3800)
    assert effective_clusters(x, "threshold", tol=1.0) == pytest.approx(10000 / 3800)
    # above max_users a subsample is clustered: the shares of large clusters are kept
    assert effective_clusters(x, tol=1.0, max_users=60) == pytest.approx(10000 / 3800, rel=0.35)
    assert effective_clusters(np.zeros((4, 2)), "kmeans") == 1.0  # all identical


def test_effective_clusters_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="no users"):
        assert math.isnan(effective_clusters(np.zeros((0, 3))))
    with pytest.raises(ValueError):
        effective_clusters(np.zeros(3), "bogus")


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(0, 1)))
def test_effective_clusters_between_one_and_n(x):
    c = effective_clusters(x)
    assert 1.0 - 1e-9 <= c <= len(x) + 1e-9


def _networkx_co_like_modularity(likes: np.ndarray, segments: np.ndarray) -> float:
    a = likes @ likes.T
    np.fill_diagonal(a, 0)
    g = nx.from_numpy_array(a)
    parts = [set(np.flatnonzero(segments == s)) for s in np.unique(segments)]
    return nx.community.modularity(g, parts, weight="weight")


def test_co_like_modularity_by_hand():
    # users 0,1 both like video 0; users 2,3 both like video 1: two disjoint edges of weight 1
    # m = 2; each segment: e_c/2m = 2/4, (d_c/2m)^2 = (2/4)^2 -> Q = 2 * (1/2 - 1/4) = 1/2
    likes = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]]))
    assert co_like_modularity(likes, np.array([7, 7, 3, 3])) == pytest.approx(0.5)
    # the crossed partition puts no edge inside: Q = 0 - 2 * 1/4 = -1/2
    assert co_like_modularity(likes, np.array([0, 1, 0, 1])) == pytest.approx(-0.5)
    assert co_like_modularity(likes, np.zeros(4)) == pytest.approx(0.0)  # one segment: Q = 0


def test_co_like_modularity_matches_networkx():
    rng = np.random.default_rng(5)
    segments = rng.integers(0, 3, 40)
    p = np.where(segments[:, None] == (np.arange(30) % 3)[None, :], 0.4, 0.05)
    likes = (rng.random((40, 30)) < p).astype(float)
    ours = co_like_modularity(sp.csr_matrix(likes), segments)
    assert ours == pytest.approx(_networkx_co_like_modularity(likes, segments))
    assert ours > 0.1  # segment-aligned likes give a modular graph


def test_co_like_modularity_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="no two users"):
        assert math.isnan(co_like_modularity(sp.csr_matrix(np.eye(3)), np.array([0, 1, 2])))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(co_like_modularity(sp.csr_matrix((0, 5)), np.zeros(0)))
    with pytest.raises(ValueError):
        co_like_modularity(sp.csr_matrix(np.eye(3)), np.zeros(2))

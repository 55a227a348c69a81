"""Privacy metrics: the Kosinski et al. (2013) attack on likes, and randomized response."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.metrics import UndefinedMetricWarning
from sim.metrics.privacy import (
    TraitAUC,
    auc_by_likes_per_user,
    auc_by_likes_subsampled,
    auc_vs_epsilon,
    randomize_likes,
    trait_auc,
)


def planted(n_users=300, n_videos=120, block=15, p_block=0.5, p_background=0.06, seed=0):
    """Users with the trait (the first half) also like videos 0..block-1 with ``p_block``."""
    rng = np.random.default_rng(seed)
    trait = np.arange(n_users) < n_users // 2
    likes = rng.random((n_users, n_videos)) < p_background
    likes[: n_users // 2, :block] |= rng.random((n_users // 2, block)) < p_block
    return sp.csr_matrix(likes), trait


def separable(n_per_class=10):
    """Trait users like exactly videos 0-2, the others exactly videos 3-5."""
    likes = np.zeros((2 * n_per_class, 6), dtype=bool)
    likes[:n_per_class, :3] = True
    likes[n_per_class:, 3:] = True
    trait = np.arange(2 * n_per_class) < n_per_class
    return likes, trait


# -- trait_auc ------------------------------------------------------------------------------


def test_separable_trait_gives_auc_one():
    # Every trait user has the same row (videos 0-2), every other user the other row: the
    # first SVD directions split them, so every trait user is scored above every other user,
    # and AUC = P(s_i > s_j) = 1 exactly. All 6 videos have 10 likers, all 20 users 3 likes.
    likes, trait = separable()
    r = trait_auc(likes, trait, min_likers=2, n_components=2, folds=5)
    assert r.auc == 1.0
    assert (r.n_users, r.n_videos, r.n_components, r.reason) == (20, 6, 2, "")
    assert float(r) == 1.0


def test_planted_block_gives_auc_near_one():
    likes, trait = planted()
    r = trait_auc(likes, trait, min_likers=5, n_components=20)
    assert r.auc > 0.95
    assert r.n_users == 300 and r.n_videos == 120


def test_random_trait_gives_auc_near_half():
    likes, _ = planted(n_users=1000, n_videos=200, p_block=0.0, p_background=0.05)
    trait = np.random.default_rng(7).random(1000) < 0.5
    r = trait_auc(likes, trait, min_likers=5, n_components=20)
    assert abs(r.auc - 0.5) < 0.08


def test_anti_trait_is_as_predictable():
    # The AUC measures what can be inferred: the complement of a trait is inferred as well.
    likes, trait = planted()
    assert trait_auc(likes, ~trait, min_likers=5, n_components=20).auc > 0.95


def test_filters_by_hand():
    # Likers per video: v0 = 6, v1 = 4, v2 = 2, v3 = 1. With min_likers = 3 the kept videos
    # are v0 and v1. Likes per user on them: u0..u3 = 2, u4 = 1, u5 = 1 -> with min_likes = 2,
    # users u0..u3 are kept: 4 users, 2 videos.
    likes = np.array(
        [
            [1, 1, 1, 0],
            [1, 1, 0, 0],
            [1, 1, 1, 1],
            [1, 1, 0, 0],
            [1, 0, 0, 0],
            [1, 0, 0, 0],
        ]
    )
    trait = np.array([True, True, False, False, True, False])
    r = trait_auc(likes, trait, min_likers=3, min_likes=2, folds=2)
    assert (r.n_users, r.n_videos) == (4, 2)
    # The four kept users have identical rows [1, 1]: their scores tie, and a tie counts
    # half, so AUC = 0.5 exactly. n_components is capped at min(4, 2) - 1 = 1.
    assert r.auc == 0.5
    assert r.n_components == 1


def test_n_components_capped_below_the_matrix_size():
    likes, trait = planted(n_users=40, n_videos=12, block=5, p_background=0.5)
    r = trait_auc(likes, trait, min_likers=1, min_likes=1, n_components=100, folds=3)
    assert r.n_videos == 12 and r.n_components == 11


def test_single_kept_video_uses_the_raw_column():
    # One video survives; every kept user liked it: a constant feature, all scores tie,
    # AUC = 0.5; no SVD (n_components = 0).
    likes = np.zeros((6, 3), dtype=bool)
    likes[:, 0] = True
    likes[0, 1] = True
    trait = np.array([1, 1, 1, 0, 0, 0], bool)
    r = trait_auc(likes, trait, min_likers=3, min_likes=1, folds=3)
    assert (r.auc, r.n_users, r.n_videos, r.n_components) == (0.5, 6, 1, 0)


def test_seeded_and_deterministic():
    likes, trait = planted(n_users=200)
    a = trait_auc(likes, trait, min_likers=5, n_components=10, seed=3)
    b = trait_auc(likes, trait, min_likers=5, n_components=10, seed=3)
    assert a == b


def test_accepts_counts_and_duplicates_as_likes():
    # A like counted twice (a video liked on two impressions) is still one like.
    likes, trait = separable()
    doubled = sp.csr_matrix(likes.astype(np.float32) * 2)
    assert trait_auc(doubled, trait, min_likers=2, n_components=2, folds=5) == trait_auc(
        likes, trait, min_likers=2, n_components=2, folds=5
    )


@pytest.mark.parametrize(
    ("likes", "trait", "reason"),
    [
        (np.ones((10, 5)), np.ones(10, bool), "one class"),
        (np.ones((10, 5)), np.arange(10) == 0, "fewer than 2"),
        (np.eye(10), np.arange(10) < 5, "no video"),
        (np.zeros((0, 5)), np.zeros(0, bool), "no video"),
        (np.zeros((10, 0)), np.arange(10) < 5, "no video"),
    ],
)
def test_degenerate_inputs_are_undefined(likes, trait, reason):
    with pytest.warns(UndefinedMetricWarning, match="trait_auc"):
        r = trait_auc(likes, trait, min_likers=2)
    assert isinstance(r, TraitAUC)
    assert math.isnan(r.auc) and reason in r.reason


def test_no_user_with_enough_likes_is_undefined():
    likes = np.zeros((10, 4), dtype=bool)
    likes[:, 0] = True  # video 0 is kept (10 likers), but each user has one like, not 2
    with pytest.warns(UndefinedMetricWarning, match="no user"):
        r = trait_auc(likes, np.arange(10) < 5, min_likers=5)
    assert math.isnan(r.auc) and (r.n_users, r.n_videos) == (0, 1)


def test_trait_length_must_match():
    with pytest.raises(ValueError, match="trait"):
        trait_auc(np.ones((4, 3)), np.ones(5, bool))


# -- by likes per user ---------------------------------------------------------------------


def light_and_heavy(seed=0):
    """Heavy likers (20 likes) reveal the trait through their block; light ones (2) do not."""
    rng = np.random.default_rng(seed)
    n, v = 400, 60
    trait = rng.random(n) < 0.5
    heavy = np.arange(n) < n // 2
    likes = np.zeros((n, v), dtype=bool)
    for u in range(n):
        if heavy[u]:
            block = np.arange(0, 30) if trait[u] else np.arange(30, 60)
            likes[u, rng.choice(block, 20, replace=False)] = True
        else:
            likes[u, rng.choice(v, 2, replace=False)] = True
    return sp.csr_matrix(likes), trait


def test_auc_by_likes_per_user_bins():
    likes, trait = light_and_heavy()
    with pytest.warns(UndefinedMetricWarning, match=r"\[3, 20\)"):
        r = auc_by_likes_per_user(likes, trait, [2, 3, 20, 21], min_likers=5, n_components=10)
    # 200 light users with exactly 2 likes, none with 3-19, 200 heavy users with exactly 20.
    assert r.n_users.tolist() == [200, 0, 200]
    assert r.auc[2] > 0.95
    assert abs(r.auc[0] - 0.5) < 0.15
    assert math.isnan(r.auc[1])  # the empty bin


def test_auc_by_likes_per_user_empty_bin_warns():
    likes, trait = light_and_heavy()
    with pytest.warns(UndefinedMetricWarning, match="auc_by_likes_per_user"):
        auc_by_likes_per_user(likes, trait, [3, 20], min_likers=5, n_components=10)


def test_auc_by_likes_per_user_undefined_pipeline():
    with pytest.warns(UndefinedMetricWarning):
        r = auc_by_likes_per_user(np.ones((6, 4)), np.ones(6, bool), [0, 5, 10])
    assert r.n_users.tolist() == [0, 0] and np.isnan(r.auc).all()


def test_auc_rises_with_subsampled_likes():
    # Every user has 30 likes, a third of them on their class's block of videos: one like
    # says little, 30 say a lot (the paper's diminishing-returns curve).
    rng = np.random.default_rng(1)
    n, v = 600, 150
    trait = rng.random(n) < 0.5
    likes = np.zeros((n, v), dtype=bool)
    for u in range(n):
        block = np.arange(0, 20) if trait[u] else np.arange(20, 40)
        likes[u, rng.choice(block, 10, replace=False)] = True
        likes[u, rng.choice(np.arange(40, v), 20, replace=False)] = True
    auc = auc_by_likes_subsampled(sp.csr_matrix(likes), trait, [1, 5, 30], min_likers=5, n_components=20)
    assert list(auc) == [1, 5, 30]
    assert auc[1] < auc[5] < auc[30]
    assert auc[30] > 0.95 and auc[1] < 0.75


def test_subsampled_undefined_when_nobody_has_enough_likes():
    likes, trait = light_and_heavy()
    with pytest.warns(UndefinedMetricWarning, match="auc_by_likes_subsampled"):
        auc = auc_by_likes_subsampled(likes, trait, [1, 50], min_likers=5, n_components=10)
    assert all(math.isnan(a) for a in auc.values())
    assert auc_by_likes_subsampled(likes, trait, []) == {}


# -- randomized response -------------------------------------------------------------------


def test_randomize_likes_without_noise_is_identity():
    likes, _ = planted(n_users=50)
    assert (randomize_likes(likes, None, np.random.default_rng(0)) != likes).nnz == 0
    assert (randomize_likes(likes, math.inf, np.random.default_rng(0)) != likes).nnz == 0


def test_randomize_likes_flip_rate_by_hand():
    # epsilon = ln 3: keep with p = 3 / (1 + 3) = 3/4, so a quarter of all 200,000 zero
    # cells become likes (sd of the share: sqrt(0.25 * 0.75 / 200000) ~ 0.001).
    zeros = sp.csr_matrix((400, 500), dtype=np.float32)
    noisy = randomize_likes(zeros, math.log(3), np.random.default_rng(0))
    assert noisy.nnz / 200_000 == pytest.approx(0.25, abs=0.005)
    ones = np.ones((400, 500))
    assert randomize_likes(ones, math.log(3), np.random.default_rng(0)).nnz / 200_000 == pytest.approx(0.75, abs=0.005)


def test_randomize_likes_with_exposure_reports_only_seen_pairs():
    # 2 users x 4 videos; seen: u0 saw v0, v1; u1 saw v2. Liked: u0 v0. With epsilon = 0
    # every reported bit is a coin flip, but unseen pairs (u0 v2, v3; u1 v0, v1, v3) stay 0.
    likes = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))
    seen = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0]]))
    union = np.zeros((2, 4))
    for seed in range(50):
        union += randomize_likes(likes, 0.0, np.random.default_rng(seed), exposure=seen).toarray()
    assert (union[seen.toarray() == 0] == 0).all()
    assert (union[seen.toarray() == 1] > 0).all()  # each seen bit came up 1 at least once in 50
    big = randomize_likes(likes, 50.0, np.random.default_rng(0), exposure=seen)
    assert (big != likes).nnz == 0  # epsilon = 50: nothing flips


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.floats(0.0, 5.0))
def test_randomize_likes_stays_within_seen_pairs(seed, epsilon):
    rng = np.random.default_rng(seed)
    likes = sp.csr_matrix(rng.random((7, 9)) < 0.2)
    seen = sp.csr_matrix(rng.random((7, 9)) < 0.4)
    noisy = randomize_likes(likes, epsilon, np.random.default_rng(seed), exposure=seen).toarray() > 0
    assert not (noisy & ~(seen.toarray() | likes.toarray())).any()


def test_auc_vs_epsilon_falls_to_half():
    likes, trait = planted(n_users=400, n_videos=100)
    res = auc_vs_epsilon(likes, trait, (0.01, 2.0, None), min_likers=5, n_components=20)
    assert list(res) == [0.01, 2.0, None]
    assert res[None].auc > 0.95
    assert res[0.01].auc < res[2.0].auc < res[None].auc
    assert abs(res[0.01].auc - 0.5) < 0.1
    # Under full-matrix randomized response every video is liked by about half the users.
    assert res[0.01].n_videos == 100


def test_auc_vs_epsilon_with_exposure_and_seeds():
    likes, trait = planted(n_users=300, n_videos=80)
    seen = sp.csr_matrix(np.random.default_rng(5).random(likes.shape) < 0.3).maximum(likes)
    a = auc_vs_epsilon(likes, trait, (0.5,), exposure=seen, seed=4, min_likers=5, n_components=10)
    b = auc_vs_epsilon(likes, trait, (0.5,), exposure=seen, seed=4, min_likers=5, n_components=10)
    assert a == b
    assert 0.5 < a[0.5].auc < 0.95


def test_auc_vs_epsilon_takes_perturbed_matrices_as_given():
    likes, trait = planted(n_users=200)
    noisy = randomize_likes(likes, 0.0, np.random.default_rng(0))
    res = auc_vs_epsilon({None: likes, 0.0: noisy}, trait, min_likers=5, n_components=10)
    assert res[None] == trait_auc(likes, trait, min_likers=5, n_components=10)
    assert res[0.0] == trait_auc(noisy, trait, min_likers=5, n_components=10)


def test_unknown_pipeline_argument_is_an_error():
    likes, trait = planted(n_users=50)
    with pytest.raises(TypeError, match="unknown"):
        auc_vs_epsilon(likes, trait, (1.0,), n_component=3)

"""Commercial segments: recovery from likes (SVD + k-means, ARI/NMI) and targeting lift."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sim.metrics import UndefinedMetricWarning
from sim.metrics.segments import (
    SegmentRecovery,
    cluster_topic_share,
    recover_segments,
    segment_recovery,
    targeting_lift,
)


def planted_segments(n_segments=3, per_segment=50, videos_per_segment=20, p_in=0.4, p_out=0.02, n_silent=5, seed=0):
    """Users of segment s like the videos of block s with p_in, others with p_out.

    The last ``n_silent`` users like nothing. Video tags: block s is tagged topic s.
    """
    rng = np.random.default_rng(seed)
    n = n_segments * per_segment + n_silent
    segment = np.concatenate([np.repeat(np.arange(n_segments), per_segment), rng.integers(0, n_segments, n_silent)])
    video_block = np.repeat(np.arange(n_segments), videos_per_segment)
    p = np.where(segment[:, None] == video_block[None, :], p_in, p_out)
    likes = rng.random(p.shape) < p
    likes[n - n_silent :] = False
    tags = np.zeros((len(video_block), n_segments), dtype=bool)
    tags[np.arange(len(video_block)), video_block] = True
    return sp.csr_matrix(likes), segment, tags


# -- recover_segments ----------------------------------------------------------------------


def test_recover_planted_segments():
    likes, segment, _ = planted_segments()
    pred = recover_segments(likes, 3, n_components=10, seed=0)
    assert (pred[-5:] == -1).all()  # silent users are unassigned
    assert set(pred[:-5].tolist()) == {0, 1, 2}
    r = segment_recovery(segment, pred)
    assert r.ari > 0.9 and r.nmi > 0.9 and r.n_users == 150


def test_recover_segments_is_seeded():
    likes, _, _ = planted_segments(p_in=0.15, p_out=0.05)
    a = recover_segments(likes, 3, n_components=10, seed=2)
    b = recover_segments(likes, 3, n_components=10, seed=2)
    assert (a == b).all()


def test_recover_two_blocks_by_hand():
    # Users 0-1 like videos 0-1, users 2-3 like videos 2-3, user 4 nothing: two clusters
    # {0, 1} and {2, 3}, whichever ids k-means gives them; user 4 gets -1.
    likes = np.zeros((5, 4), dtype=bool)
    likes[:2, :2] = True
    likes[2:4, 2:] = True
    pred = recover_segments(likes, 2, n_components=3)
    assert pred[0] == pred[1] != pred[2] == pred[3]
    assert pred[4] == -1


def test_recover_segments_with_one_video_uses_the_raw_column():
    # One liked video: k = min(5, 3 - 1, 1 - 1) = 0, so the column itself is the embedding.
    likes = np.array([[1], [1], [1], [0]])
    with pytest.warns(ConvergenceWarning):  # k-means finds fewer distinct points than clusters
        pred = recover_segments(likes, 2, n_components=5)
    assert pred[3] == -1 and set(pred[:3].tolist()) <= {0, 1}


@pytest.mark.parametrize("likes", [np.zeros((4, 3)), np.zeros((0, 3)), np.eye(3)[:1]])
def test_recover_segments_too_few_users_with_likes(likes):
    with pytest.warns(UndefinedMetricWarning, match="recover_segments"):
        pred = recover_segments(likes, 2)
    assert pred.shape == (likes.shape[0],) and (pred == -1).all()


# -- segment_recovery ----------------------------------------------------------------------


def test_perfect_recovery_is_one_up_to_relabelling():
    r = segment_recovery(np.array([0, 0, 1, 1, 2, 2]), np.array([2, 2, 0, 0, 1, 1]))
    assert r == SegmentRecovery(1.0, 1.0, 6)


def test_segment_recovery_by_hand():
    # true [0,0,1,1], predicted [0,0,0,1]: n_00 = 2, n_10 = 1, n_11 = 1.
    # ARI: sum C(n_ij,2) = 1; sum C(a_i,2) = 1 + 1 = 2; sum C(b_j,2) = C(3,2) = 3; C(4,2) = 6;
    # E = 2 * 3 / 6 = 1; max = (2 + 3) / 2 = 2.5; ARI = (1 - 1) / (2.5 - 1) = 0.
    # NMI: H(Y) = ln 2; H(Yhat) = -(3/4 ln 3/4 + 1/4 ln 1/4);
    # I = 1/2 ln((1/2)/(1/2*3/4)) + 1/4 ln((1/4)/(1/2*3/4)) + 1/4 ln((1/4)/(1/2*1/4)).
    h_y = math.log(2)
    h_p = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    mi = 0.5 * math.log(4 / 3) + 0.25 * math.log(2 / 3) + 0.25 * math.log(2)
    r = segment_recovery(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]))
    assert r.ari == pytest.approx(0.0, abs=1e-12)
    assert r.nmi == pytest.approx(2 * mi / (h_y + h_p))
    assert r.n_users == 4


def test_unassigned_users_are_excluded():
    # Dropping the -1 users leaves a perfect match of 4 users.
    r = segment_recovery(np.array([0, 1, 0, 1, 0, 1]), np.array([3, 4, 3, 4, -1, -1]))
    assert r == SegmentRecovery(1.0, 1.0, 4)


def test_one_predicted_cluster_scores_zero():
    # I(Y; Yhat) = 0 with one cluster, so NMI = 0; the ARI's index equals its expectation: 0.
    r = segment_recovery(np.array([0, 0, 1, 1, 2]), np.zeros(5, int))
    assert r.ari == pytest.approx(0.0) and r.nmi == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("true", "pred", "reason"),
    [
        (np.array([0, 1, 2]), np.array([-1, -1, -1]), "0 users"),
        (np.array([0, 1]), np.array([0, -1]), "1 users"),
        (np.array([], int), np.array([], int), "0 users"),
        (np.array([2, 2, 2, 1]), np.array([0, 1, 0, -1]), "one true segment"),
    ],
)
def test_segment_recovery_degenerate(true, pred, reason):
    with pytest.warns(UndefinedMetricWarning, match=reason):
        r = segment_recovery(true, pred)
    assert math.isnan(r.ari) and math.isnan(r.nmi)


def test_segment_recovery_length_mismatch():
    with pytest.raises(ValueError):
        segment_recovery(np.zeros(3, int), np.zeros(4, int))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=2, max_size=40), st.permutations(range(5)))
def test_relabelling_clusters_changes_nothing(labels, perm):
    true = np.array(labels)
    if len(set(labels)) < 2:
        return
    pred = np.array(perm)[true]
    r = segment_recovery(true, pred)
    assert r.ari == pytest.approx(1.0) and r.nmi == pytest.approx(1.0)


# -- targeting -----------------------------------------------------------------------------

# Six users, two videos (v0 tagged topic 0, v1 tagged topic 1).
LIKES = np.array([[1, 0], [1, 1], [1, 0], [0, 1], [0, 1], [0, 0]])
TAGS = np.array([[True, False], [False, True]])
PRED = np.array([0, 1, 1, 1, 2, -1])
AFFINITY = np.array([0.9, 0.5, 0.6, 0.1, 0.0, 0.3])  # mean 2.4 / 6 = 0.4


def test_cluster_topic_share_by_hand():
    # Per-user share of likes on topic 0: u0 1, u1 1/2, u2 1, u3 0, u4 0 (u5 is unassigned).
    # Cluster 0 = {u0}: 1; cluster 1 = {u1, u2, u3}: (1/2 + 1 + 0) / 3 = 1/2; cluster 2 = {u4}: 0.
    assert cluster_topic_share(LIKES, TAGS, 0, PRED).tolist() == [1.0, 0.5, 0.0]
    # Topics 0 or 1 together cover every like.
    assert cluster_topic_share(LIKES, TAGS, [0, 1], PRED).tolist() == [1.0, 1.0, 1.0]


def test_cluster_topic_share_shape_check():
    with pytest.raises(ValueError, match="video_tags"):
        cluster_topic_share(LIKES, TAGS[:1], 0, PRED)


def test_targeting_lift_by_hand():
    # Ranking by share: cluster 0 (1.0), cluster 1 (0.5), cluster 2 (0).
    # B = 1: cluster 0 alone, mean 0.9 -> lift = 0.9 / 0.4 - 1 = 1.25.
    assert targeting_lift(AFFINITY, PRED, LIKES, TAGS, 0, budget=1) == pytest.approx(1.25)
    # B = 3: u0 (0.9) + 2 users drawn from cluster 1, expected 2 * (0.5 + 0.6 + 0.1) / 3 = 0.8:
    # mean (0.9 + 0.8) / 3 = 17/30 -> lift = (17/30) / 0.4 - 1 = 5/12.
    assert targeting_lift(AFFINITY, PRED, LIKES, TAGS, 0, budget=3) == pytest.approx(5 / 12)
    # B = 10 is capped at the 5 clustered users: mean 2.1 / 5 = 0.42 -> lift = 0.05.
    assert targeting_lift(AFFINITY, PRED, LIKES, TAGS, 0, budget=10) == pytest.approx(0.05)


def test_targeting_the_wrong_topic_loses():
    # Campaign on topic 1: shares c0 = 0, c1 = (1/2 + 0 + 1) / 3 = 1/2, c2 = 1, so cluster 2
    # ranks first. B = 1: u4, affinity 0 -> lift = 0 / 0.4 - 1 = -1.
    assert targeting_lift(AFFINITY, PRED, LIKES, TAGS, 1, budget=1) == pytest.approx(-1.0)


def test_targeting_recovered_segments_lifts_affinity():
    likes, segment, tags = planted_segments(per_segment=100)
    pred = recover_segments(likes, 3, n_components=10)
    affinity = np.where(segment == 1, 1.0, 0.1)  # the campaign is for segment 1's topic
    affinity[-5:] = 0.1
    # Perfect targeting reaches only segment 1 users: 1.0 / mean(affinity) - 1.
    best = 1.0 / affinity.mean() - 1
    lift = targeting_lift(affinity, pred, likes, tags, 1, budget=80)
    assert lift == pytest.approx(best, rel=0.05)
    assert lift > 1.0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 4))
def test_reaching_everyone_is_random_reach(seed, n_clusters):
    # B >= the number of users, everyone clustered: targeting reaches all users, lift 0.
    rng = np.random.default_rng(seed)
    n = 12
    likes = rng.random((n, 5)) < 0.5
    likes[:, 0] = True  # everyone has a like
    tags = rng.random((5, 3)) < 0.5
    tags[0, 0] = True
    pred = rng.integers(0, n_clusters, n)
    affinity = rng.random(n) + 0.01
    assert targeting_lift(affinity, pred, likes, tags, 0, budget=n) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("affinity", "pred", "topic", "budget", "reason"),
    [
        (AFFINITY, PRED, 0, 0, "budget"),
        (AFFINITY, np.full(6, -1), 0, 3, "no user has a predicted segment"),
        (np.zeros(6), PRED, 0, 3, "not positive"),
        (AFFINITY, np.array([-1, -1, -1, 0, 0, -1]), 0, 3, "no clustered user liked"),
    ],
)
def test_targeting_lift_degenerate(affinity, pred, topic, budget, reason):
    with pytest.warns(UndefinedMetricWarning, match=reason):
        assert math.isnan(targeting_lift(affinity, pred, LIKES, TAGS, topic, budget=budget))


def test_targeting_lift_length_mismatch():
    with pytest.raises(ValueError):
        targeting_lift(AFFINITY[:4], PRED, LIKES, TAGS, 0, budget=2)

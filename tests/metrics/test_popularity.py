"""Popularity bias: item popularity, long tail, ARP, APLT, GAP, popularity lift, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.metrics import UndefinedMetricWarning
from sim.metrics.popularity import (
    aplt,
    average_recommendation_popularity,
    catalogue_coverage,
    group_average_popularity,
    item_popularity,
    long_tail_mask,
    popularity_lift,
)


def test_item_popularity_by_hand():
    # Item 2: users {0, 1} of 4 -> 0.5 (user 0's repeat counts once); item 0: {1} -> 0.25.
    phi = item_popularity([0, 0, 1, 1, 1], [2, 2, 2, 0, 0], n_items=4, n_users=4)
    assert phi.tolist() == [0.25, 0.0, 0.5, 0.0]
    assert item_popularity([], [], n_items=2, n_users=3).tolist() == [0.0, 0.0]


def test_item_popularity_without_users_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="item_popularity"):
        assert np.isnan(item_popularity([], [], n_items=2, n_users=0)).all()


def test_long_tail_mask_by_hand():
    # Total 20; sorted 10 (item 1), 5 (item 3), 4, 1, 0. Head share 0.75 -> 15: 10 + 5 = 15
    # reaches it, so the head is {1, 3}.
    assert long_tail_mask(np.array([1, 10, 0, 5, 4]), 0.75).tolist() == [True, False, True, False, True]
    # Head share 0.8 -> 16: needs 10 + 5 + 4 = 19, head {1, 3, 4}.
    assert long_tail_mask(np.array([1, 10, 0, 5, 4])).tolist() == [True, False, True, False, False]
    # Ties broken by id: [2, 2, 2, 2] at 0.5 -> head {0, 1}.
    assert long_tail_mask(np.array([2, 2, 2, 2]), 0.5).tolist() == [False, False, True, True]
    # Whole head (share 1): every item with interactions; unseen ones stay in the tail.
    assert long_tail_mask(np.array([3, 0, 1]), 1.0).tolist() == [False, True, False]


def test_long_tail_mask_degenerate():
    # No interactions: the empty head already holds "80% of nothing": all long tail.
    assert long_tail_mask(np.zeros(3)).tolist() == [True, True, True]
    assert long_tail_mask(np.zeros(0)).tolist() == []
    # Fractions give the same split as counts.
    counts = np.array([1, 10, 0, 5, 4])
    assert long_tail_mask(counts / 37).tolist() == long_tail_mask(counts).tolist()


def test_arp_by_hand():
    phi = np.array([0.5, 0.1, 0.0, 0.3])
    # User 0: items 0, 1 -> (0.5 + 0.1) / 2 = 0.3. User 3: items 2, 3, 3 -> 0.6 / 3 = 0.2.
    # Users without a list do not count: ARP = (0.3 + 0.2) / 2 = 0.25.
    assert average_recommendation_popularity([0, 3, 0, 3, 3], [0, 2, 1, 3, 3], phi) == pytest.approx(0.25)


def test_arp_of_nothing_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="average_recommendation_popularity"):
        assert math.isnan(average_recommendation_popularity([], [], np.array([0.5])))


def test_aplt_by_hand():
    tail = np.array([False, False, True, True])
    # User 0: 2 of 4 items in the tail; user 1: 1 of 1 -> (0.5 + 1) / 2.
    assert aplt([0, 0, 0, 0, 1], [0, 1, 2, 3, 3], tail) == pytest.approx(0.75)
    assert aplt([5], [0], tail) == 0.0


def test_aplt_of_nothing_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="aplt"):
        assert math.isnan(aplt([], [], np.array([True])))


def test_group_average_popularity_by_hand():
    phi = np.array([0.6, 0.2, 0.1])
    groups = np.array([0, 0, 1, 2])  # user 3 (group 2) has no list
    # Group 0: user 0 -> 0.6, user 1 -> (0.2 + 0.1) / 2 = 0.15: GAP = 0.375.
    # Group 1: user 2 -> 0.2.
    with pytest.warns(UndefinedMetricWarning, match="1 of 3 groups"):
        gap = group_average_popularity([0, 1, 1, 2], [0, 1, 2, 1], phi, groups)
    np.testing.assert_allclose(gap[:2], [0.375, 0.2])
    assert math.isnan(gap[2])
    # One group of everyone: the mean of the per-user means, ARP.
    assert group_average_popularity([0, 1, 1, 2], [0, 1, 2, 1], phi) == pytest.approx((0.6 + 0.15 + 0.2) / 3)


def test_popularity_lift_by_hand():
    phi = np.array([0.8, 0.2, 0.1])
    groups = np.array([0, 0, 1])
    # Profiles: user 0 {0, 1} -> 0.5; user 1 {1} -> 0.2; user 2 {2} -> 0.1.
    #   GAP_p = [(0.5 + 0.2) / 2, 0.1] = [0.35, 0.1].
    # Recommendations: user 0 {0} -> 0.8; user 1 {0, 2} -> 0.45; user 2 {2} -> 0.1.
    #   GAP_r = [(0.8 + 0.45) / 2, 0.1] = [0.625, 0.1].
    # PL = [(0.625 - 0.35) / 0.35, 0] = [0.7857..., 0].
    pl = popularity_lift([0, 0, 1, 2], [0, 1, 1, 2], [0, 1, 1, 2], [0, 0, 2, 2], phi, groups)
    np.testing.assert_allclose(pl, [0.275 / 0.35, 0.0], atol=1e-12)
    # One group: GAP_p = 0.5, GAP_r = 0.8 -> 0.6.
    assert popularity_lift([0, 0], [0, 1], [0, 0], [0, 0], np.array([0.8, 0.2])) == pytest.approx(0.6)


def test_popularity_lift_degenerate():
    phi = np.array([0.0, 0.5])
    groups = np.array([0, 1, 2])
    # Group 0: profile of popularity 0 (GAP_p = 0); group 1 has no recommendations;
    # group 2: GAP_p = GAP_r = 0.5 -> 0.
    with pytest.warns(UndefinedMetricWarning, match="2 of 3 groups"):
        pl = popularity_lift([0, 1, 2], [0, 1, 1], [0, 2], [1, 1], phi, groups)
    assert math.isnan(pl[0]) and math.isnan(pl[1]) and pl[2] == 0.0
    with pytest.warns(UndefinedMetricWarning, match="popularity_lift"):
        assert math.isnan(popularity_lift([], [], [], [], phi))


@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), min_size=1, max_size=30),
    st.lists(st.floats(0.01, 1.0), min_size=7, max_size=7),
)
def test_recommending_the_profile_gives_no_lift_and_arp_is_a_mean(pairs, phi):
    users = np.array([u for u, _ in pairs])
    items = np.array([i for _, i in pairs])
    phi = np.array(phi)
    assert popularity_lift(users, items, users, items, phi) == pytest.approx(0.0, abs=1e-12)
    arp = average_recommendation_popularity(users, items, phi)
    assert phi[items].min() - 1e-12 <= arp <= phi[items].max() + 1e-12


def test_catalogue_coverage_by_hand():
    # Items {1, 3} of 5 -> 0.4; of the available {1, 2} only 1 was shown -> 0.5.
    assert catalogue_coverage([3, 1, 1, 3], n_items=5) == pytest.approx(0.4)
    assert catalogue_coverage([3, 1, 1, 3], 5, available=np.array([0, 1, 1, 0, 0], bool)) == pytest.approx(0.5)
    assert catalogue_coverage([], n_items=5) == 0.0  # nothing recommended: 0 / 5


def test_catalogue_coverage_without_catalogue_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="catalogue_coverage"):
        assert math.isnan(catalogue_coverage([], n_items=0))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(catalogue_coverage([1], 3, available=np.zeros(3, bool)))
    with pytest.raises(ValueError, match="items"):
        catalogue_coverage([5], n_items=3)

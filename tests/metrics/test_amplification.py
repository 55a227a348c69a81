"""Amplification ratio (Huszar et al. 2022), group reach and trend curves, by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.metrics import UndefinedMetricWarning
from sim.metrics.amplification import (
    amplification_by_group,
    amplification_ratio,
    group_reach,
    peak_height,
    share_before_peak,
    time_to_peak,
    trend_curves,
)

# -- amplification_ratio ------------------------------------------------------------------


def test_amplification_ratio_by_hand():
    # Huszar's 4:1 design: 401 / (4 * 100 + 1) - 1 = 0 (same reach per capita).
    assert amplification_ratio(400, 100, 4, 1) == 0.0
    # N_T / N_C = 100 / 50 = 2: (9 + 1) / (2 * 1 + 1) - 1 = 10 / 3 - 1 = 7 / 3.
    assert amplification_ratio(9, 1, 100, 50) == pytest.approx(7 / 3)
    # Never seen by the control: (3 + 1) / (0 + 1) - 1 = 3.
    assert amplification_ratio(3, 0, 8, 2) == pytest.approx(3.0)
    # Never seen by the treatment: (0 + 1) / (4 * 2 + 1) - 1 = -8 / 9.
    assert amplification_ratio(0, 2, 8, 2) == pytest.approx(-8 / 9)


def test_amplification_ratio_is_vectorised_and_keeps_scalars_scalar():
    a = amplification_ratio(np.array([801, 0, 3]), np.array([100, 0, 0]), 4000, 1000)
    # 802 / 401 - 1 = 1; 1 / 1 - 1 = 0; 4 / 1 - 1 = 3.
    np.testing.assert_allclose(a, [1.0, 0.0, 3.0])
    assert isinstance(amplification_ratio(1, 1, 2, 2), float)
    assert amplification_ratio(np.array([], int), np.array([], int), 4, 1).shape == (0,)
    # A scalar control reach broadcasts against per-group treatment reaches.
    np.testing.assert_allclose(amplification_ratio(np.array([0, 1]), 0, 1, 1), [0.0, 1.0])


@pytest.mark.parametrize("n_t, n_c", [(0, 5), (5, 0), (0, 0)])
def test_amplification_ratio_without_a_group_is_undefined(n_t, n_c):
    with pytest.warns(UndefinedMetricWarning, match="amplification_ratio"):
        assert math.isnan(amplification_ratio(3, 1, n_t, n_c))
    with pytest.warns(UndefinedMetricWarning):
        out = amplification_ratio(np.array([1, 2]), np.array([0, 0]), n_t, n_c)
    assert out.shape == (2,) and np.isnan(out).all()


@given(
    k=st.integers(0, 50),
    n_t=st.integers(1, 1000),
    n_c=st.integers(1, 1000),
    extra=st.integers(1, 100),
)
def test_equal_reach_per_capita_gives_zero_and_more_reach_gives_more(k, n_t, n_c, extra):
    # R_T = k N_T, R_C = k N_C: (k N_T + 1) / ((N_T / N_C) k N_C + 1) - 1 = 0.
    assert amplification_ratio(k * n_t, k * n_c, n_t, n_c) == pytest.approx(0.0, abs=1e-12)
    a = amplification_ratio(k * n_t, k * n_c, n_t, n_c)
    assert amplification_ratio(k * n_t + extra, k * n_c, n_t, n_c) > a
    assert amplification_ratio(k * n_t, k * n_c + extra, n_t, n_c) < a
    assert amplification_ratio(0, k * n_c + extra, n_t, n_c) > -1.0


# -- group_reach, amplification_by_group ----------------------------------------------


def test_group_reach_counts_distinct_users_over_the_group():
    # Users 0, 1 treatment, 2, 3 control. Group 0 = impressions (0, 0), (0, 0), (2, 0):
    # treatment {0}, control {2}. Group 1: (0, 1), (1, 1), (3, 1): treatment {0, 1},
    # control {3}. Group 2: never shown.
    is_t = np.array([True, True, False, False])
    users = np.array([0, 0, 2, 0, 1, 3])
    groups = np.array([0, 0, 0, 1, 1, 1])
    rt, rc = group_reach(users, groups, is_t, 3)
    assert rt.tolist() == [1, 2, 0]
    assert rc.tolist() == [1, 1, 0]


def test_group_reach_unions_the_videos_of_a_group():
    # Videos 0, 1, 2 by creators 0, 0, 1; user 0 (treatment) saw videos 0 and 1, user 1
    # (control) video 1: creator 0 reaches user 0 once, not twice.
    video = np.array([0, 1, 1])
    creator_of = np.array([0, 0, 1])
    rt, rc = group_reach([0, 0, 1], creator_of[video], np.array([True, False]), 2)
    assert rt.tolist() == [1, 0] and rc.tolist() == [1, 0]


def test_group_reach_empty_and_bad_ids():
    rt, rc = group_reach(np.array([], int), np.array([], int), np.array([True, False]), 3)
    assert rt.tolist() == [0, 0, 0] and rc.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="groups"):
        group_reach([0], [3], np.array([True]), 3)
    with pytest.raises(ValueError, match="users"):
        group_reach([2], [0], np.array([True, False]), 1)
    with pytest.raises(ValueError, match="length"):
        group_reach([0, 1], [0], np.array([True, False]), 1)


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 4)), max_size=60),
    is_t=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_group_reach_matches_sets(data, is_t):
    users = np.array([u for u, _ in data], dtype=int)
    groups = np.array([g for _, g in data], dtype=int)
    rt, rc = group_reach(users, groups, np.array(is_t), 5)
    for g in range(5):
        seen = {u for u, gg in data if gg == g}
        assert rt[g] == sum(is_t[u] for u in seen)
        assert rc[g] == sum(not is_t[u] for u in seen)


def test_amplification_by_group_by_hand():
    # 4 treatment users (0..3), 1 control (4): N_T / N_C = 4.
    # Group 0 reached treatment {0, 1, 2}, control {}: a = 4 / 1 - 1 = 3.
    # Group 1 reached treatment {3}, control {4}: a = 2 / 5 - 1 = -0.6.
    out = amplification_by_group([0, 1, 2, 3, 4, 0], [0, 0, 0, 1, 1, 0], np.array([1, 1, 1, 1, 0], bool), 2)
    assert out["reach_treatment"].tolist() == [3, 1]
    assert out["reach_control"].tolist() == [0, 1]
    np.testing.assert_allclose(out["amplification"], [3.0, -0.6])


def test_amplification_by_group_with_given_group_sizes():
    # Group sizes given by the caller (say 6 treatment and 3 control users were active):
    # N_T / N_C = 2. Group 0: (3 + 1) / (2 * 0 + 1) - 1 = 3; group 1: (1 + 1) / (2 * 1 + 1) - 1.
    out = amplification_by_group(
        [0, 1, 2, 3, 4], [0, 0, 0, 1, 1], np.array([1, 1, 1, 1, 0], bool), 2, n_treatment=6, n_control=3
    )
    np.testing.assert_allclose(out["amplification"], [3.0, -1 / 3])


def test_amplification_by_group_without_holdout_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="control"):
        out = amplification_by_group([0, 1], [0, 1], np.array([True, True]), 2)
    assert out["reach_treatment"].tolist() == [1, 1]
    assert np.isnan(out["amplification"]).all()


# -- trend curves ------------------------------------------------------------------------


def test_trend_curves_by_hand():
    # Sound 1 at steps 0, 0, 1, 2, 2; sound 0 once at step 2; sound 2 never.
    c = trend_curves([0, 0, 1, 2, 2, 2], [1, 1, 1, 0, 1, 1], n_groups=3, n_steps=4)
    assert c.tolist() == [[0, 0, 1, 0], [2, 1, 2, 0], [0, 0, 0, 0]]
    assert trend_curves([], [], 2, 3).tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="steps"):
        trend_curves([3], [0], 1, 3)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=40))
def test_trend_curves_count_every_impression(data):
    steps = np.array([t for t, _ in data], dtype=int)
    groups = np.array([g for _, g in data], dtype=int)
    c = trend_curves(steps, groups, 4, 6)
    assert c.sum() == len(data)
    assert c.sum(axis=1).tolist() == np.bincount(groups, minlength=4).tolist()


def test_peak_height_by_hand():
    curves = np.array([[0, 3, 5, 1], [0, 0, 0, 0], [2, 2, 0, 0]])
    assert peak_height(curves).tolist() == [5.0, 0.0, 2.0]  # an unseen trend peaks at 0
    assert peak_height(np.array([1, 4, 2])) == 4.0


def test_peak_height_without_steps_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="peak_height"):
        out = peak_height(np.zeros((2, 0)))
    assert out.shape == (2,) and np.isnan(out).all()


def test_time_to_peak_by_hand():
    curves = np.array([[0, 1, 4, 2], [3, 1, 0, 0], [0, 2, 5, 5]])
    # Row 0: onset 1, peak 2 -> 1. Row 1: onset 0 = peak -> 0. Row 2: onset 1, first of
    # the tied maxima at 2 -> 1.
    assert time_to_peak(curves).tolist() == [1.0, 0.0, 1.0]
    # With the release step given: row 0 released at 0 -> 2 steps.
    assert time_to_peak(curves, onset=np.array([0, 0, 0])).tolist() == [2.0, 0.0, 2.0]
    assert time_to_peak(np.array([0, 0, 7, 1])) == 0.0


def test_time_to_peak_of_unseen_trend_is_undefined():
    with pytest.warns(UndefinedMetricWarning, match="1 of 2 curves"):
        out = time_to_peak(np.array([[0, 0, 0], [0, 2, 1]]))
    assert math.isnan(out[0]) and out[1] == 0.0
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(time_to_peak(np.zeros(0)))


def test_share_before_peak_by_hand():
    rec = np.array([[2, 6, 2, 0], [0, 0, 4, 4], [5, 0, 0, 0]])
    org = np.array([[0, 1, 3, 1], [1, 2, 1, 0], [7, 1, 0, 0]])
    # Row 0: organic peak t* = 2; recommended views before: 2 + 6 of 10 -> 0.8.
    # Row 1: t* = 1; before: 0 of 8 -> 0. Row 2: t* = 0: nothing is before -> 0.
    np.testing.assert_allclose(share_before_peak(rec, org), [0.8, 0.0, 0.0])
    assert share_before_peak(np.array([1, 1, 2]), np.array([0, 0, 1])) == pytest.approx(0.5)


def test_share_before_peak_degenerate():
    rec = np.array([[0, 0, 0], [1, 2, 3], [1, 1, 1]])
    org = np.array([[1, 2, 0], [0, 0, 0], [0, 3, 0]])
    # Row 0: no recommended views; row 1: no organic peak; row 2: 1 / 3.
    with pytest.warns(UndefinedMetricWarning, match="2 of 3 groups"):
        out = share_before_peak(rec, org)
    assert np.isnan(out[:2]).all() and out[2] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="shape"):
        share_before_peak(np.zeros((2, 3)), np.zeros((2, 4)))


@given(
    rec=st.lists(st.integers(0, 9), min_size=5, max_size=5),
    org=st.lists(st.integers(0, 9), min_size=5, max_size=5),
    scale=st.floats(0.1, 50.0),
)
def test_share_before_peak_ignores_the_organic_scale(rec, org, scale):
    rec, org = np.array(rec), np.array(org)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        raw = share_before_peak(rec, org)
        scaled = share_before_peak(rec, org * scale)  # the holdout's curve times N_T / N_C
    assert (math.isnan(raw) and math.isnan(scaled)) or raw == pytest.approx(scaled)
    if not math.isnan(raw):
        assert 0.0 <= raw <= 1.0


def test_smooth_curves_averages_three_steps_and_repeats_the_ends():
    from sim.metrics import smooth_curves

    out = smooth_curves(np.array([[3.0, 0.0, 0.0, 6.0], [0.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(out, [[2.0, 1.0, 2.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(smooth_curves(np.array([3.0, 0.0, 0.0, 6.0])), [2.0, 1.0, 2.0, 4.0])

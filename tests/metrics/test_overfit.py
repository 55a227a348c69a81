"""Overfitting-to-likes metrics: hand-computed cases, degenerate inputs, properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import kendalltau

from sim.metrics import UndefinedMetricWarning
from sim.metrics.overfit import (
    best_of_n_pressure,
    goodhart_curve,
    like_bait_share,
    like_prediction_auc,
    like_prediction_auc_gap,
    like_utility_divergence,
    score_utility_kendall,
)


# -- like vs utility over time --------------------------------------------------------------------
def test_like_utility_divergence_by_hand():
    # t = 0..3. likes 1, 2, 3, 4: r = 1. utility 1, 0, 0, 1 is symmetric in t: r = 0. D = 1
    assert like_utility_divergence(np.array([1, 2, 3, 4]), np.array([1, 0, 0, 1])) == pytest.approx(1.0)
    # likes rise, utility falls linearly: 1 - (-1) = 2 (the Goodhart signature)
    assert like_utility_divergence([0.1, 0.2, 0.3, 0.4], [4.0, 3.0, 2.0, 1.0]) == pytest.approx(2.0)
    # likes flat (trend 0), utility rising: 0 - 1
    assert like_utility_divergence([0.2, 0.2, 0.2], [1.0, 2.0, 3.0]) == pytest.approx(-1.0)
    # y = 0, 0, 3 on t = 0, 1, 2: r = cov / (sd_y sd_t) = 1 / (sqrt 2 * sqrt(2/3)) = sqrt(3)/2
    got = like_utility_divergence([0.0, 0.0, 3.0], [1.0, 1.0, 1.0])
    assert got == pytest.approx(math.sqrt(3) / 2)


def test_like_utility_divergence_drops_nan_steps():
    # step 1 dropped: t = 0, 2, 3 with likes 1, 3, 4 (r = 1 up to float) and utility 3, 1, 0 (r = -1)
    got = like_utility_divergence([1.0, np.nan, 3.0, 4.0], [3.0, 9.0, 1.0, 0.0])
    assert got == pytest.approx(np.corrcoef([0, 2, 3], [1, 3, 4])[0, 1] - np.corrcoef([0, 2, 3], [3, 1, 0])[0, 1])


def test_like_utility_divergence_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="fewer than 3"):
        assert math.isnan(like_utility_divergence([0.1, 0.2], [1.0, 0.5]))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(like_utility_divergence([], []))
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(like_utility_divergence([1, np.nan, 2, np.nan], [1, 2, np.nan, 3]))
    assert like_utility_divergence([1, 1, 1], [2, 2, 2]) == 0.0  # both flat: no divergence
    with pytest.raises(ValueError):
        like_utility_divergence([1, 2, 3], [1, 2])


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, 6, elements=st.floats(-5, 5)), arrays(np.float64, 6, elements=st.floats(-5, 5)))
def test_like_utility_divergence_bounded_and_antisymmetric(a, b):
    d = like_utility_divergence(a, b)
    assert -2 - 1e-9 <= d <= 2 + 1e-9
    assert like_utility_divergence(b, a) == pytest.approx(-d, abs=1e-9)
    assert like_utility_divergence(a, a) == 0.0


# -- rank agreement ---------------------------------------------------------------------------------
def test_score_utility_kendall_by_hand():
    # row 0 orders exactly as utility: +1; row 1 reverses it: -1; row 2: pairs (0,1) C, (0,2) C,
    # (1,2) D: (2 - 1) / 3
    s = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    u = np.array([[10.0, 20.0, 30.0], [3.0, 2.0, 1.0], [1.0, 3.0, 2.0]])
    assert score_utility_kendall(s, u) == pytest.approx((1 - 1 + 1 / 3) / 3)


def test_score_utility_kendall_ties_are_tau_b():
    # s = (1, 1, 2), u = (1, 2, 3): P = 2, Q = 0, ties in s only: 1 pair
    # tau_b = 2 / sqrt((2 + 0 + 1)(2 + 0 + 0)) = 2 / sqrt(6)
    assert score_utility_kendall(np.array([[1.0, 1.0, 2.0]]), np.array([[1.0, 2.0, 3.0]])) == pytest.approx(
        2 / math.sqrt(6)
    )


def test_score_utility_kendall_ineligible_and_nan_left_out():
    s = np.array([[1.0, 2.0, 3.0, 9.0], [1.0, 2.0, np.nan, 3.0]])
    u = np.array([[1.0, 2.0, 3.0, -5.0], [1.0, 2.0, 0.0, 3.0]])
    eligible = np.array([[True, True, True, False], [True, True, True, True]])
    # row 0 without column 3: +1; row 1 without the NaN: +1
    assert score_utility_kendall(s, u, eligible) == pytest.approx(1.0)


def test_score_utility_kendall_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="1 user"):
        # row 1's scores are constant: no tau; row 0 gives +1
        assert score_utility_kendall(np.array([[1.0, 2.0], [5.0, 5.0]]), np.array([[1.0, 2.0], [1.0, 2.0]])) == 1.0
    with pytest.warns(UndefinedMetricWarning, match="no user"):
        assert math.isnan(score_utility_kendall(np.array([[1.0, 2.0]]), np.array([[3.0, 3.0]])))
    with pytest.warns(UndefinedMetricWarning, match="no user"):
        assert math.isnan(score_utility_kendall(np.array([[1.0]]), np.array([[2.0]])))
    with pytest.warns(UndefinedMetricWarning, match="no candidates"):
        assert math.isnan(score_utility_kendall(np.zeros((0, 4)), np.zeros((0, 4))))
    with pytest.raises(ValueError):
        score_utility_kendall(np.zeros((2, 3)), np.zeros((3, 2)))


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (3, 7), elements=st.floats(-10, 10)), arrays(np.float64, (3, 7), elements=st.floats(-10, 10)))
def test_score_utility_kendall_matches_scipy_per_row(s, u):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = score_utility_kendall(s, u)
        taus = [kendalltau(a, b).statistic for a, b in zip(s, u)]
    taus = [t for t in taus if not math.isnan(t)]
    if taus:
        assert got == pytest.approx(np.mean(taus))
        # rescaling the scores (order-preserving, exactly in floating point) changes nothing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert score_utility_kendall(3.0 * s, u) == pytest.approx(got)
    else:
        assert math.isnan(got)


# -- like-bait, AUC ---------------------------------------------------------------------------------
def test_like_bait_share_by_hand():
    assert like_bait_share(np.array([True, False, False, False])) == 0.25
    assert like_bait_share(np.array([1.0, 1.0, 0.0], np.float32)) == pytest.approx(2 / 3)
    with pytest.warns(UndefinedMetricWarning, match="no impressions"):
        assert math.isnan(like_bait_share(np.array([])))


def test_like_prediction_auc_by_hand():
    # positives 0.35, 0.8; negatives 0.1, 0.4: pairs (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) = 3/4
    assert like_prediction_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    # a tie counts half: (0.5 = 0.5) -> 1/2
    assert like_prediction_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    assert like_prediction_auc(np.array([False, True]), np.array([0.9, 0.1])) == 0.0


def test_like_prediction_auc_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="one class"):
        assert math.isnan(like_prediction_auc(np.array([1, 1, 1]), np.array([0.2, 0.3, 0.4])))
    with pytest.warns(UndefinedMetricWarning, match="no impressions"):
        assert math.isnan(like_prediction_auc(np.array([]), np.array([])))


def test_like_prediction_auc_gap_by_hand():
    # train AUC 1.0, held-out 0.75
    assert like_prediction_auc_gap([0, 1], [0.1, 0.9], [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.25)
    with pytest.warns(UndefinedMetricWarning):
        assert math.isnan(like_prediction_auc_gap([1, 1], [0.1, 0.9], [0, 1], [0.1, 0.9]))


# -- the Goodhart curve ---------------------------------------------------------------------------------
def test_best_of_n_pressure_by_hand():
    # KL_bon(n) = log n - (n - 1)/n: 0 at n = 1; log 4 - 3/4 at n = 4
    got = best_of_n_pressure(np.array([1, 4]))
    assert got == pytest.approx([0.0, math.sqrt(math.log(4) - 0.75)])
    assert np.all(np.diff(best_of_n_pressure(np.arange(1, 300))) > 0)  # more n, more pressure
    with pytest.raises(ValueError):
        best_of_n_pressure(0)


def test_goodhart_curve_by_hand():
    # U = 4d - d^2 on d = 0..4 (peak at 2, back to 0 at 4); likes rise throughout
    d = np.array([4.0, 0.0, 2.0, 1.0, 3.0])  # unsorted on purpose
    g = goodhart_curve(d, d + 1, 4 * d - d**2)
    assert g.peak_pressure == 2.0 and g.peak_utility == 4.0
    assert g.utility_drop == 4.0 and g.likes_rise_past_peak and g.goodhart
    assert g.alpha == pytest.approx(4.0) and g.beta == pytest.approx(1.0) and g.fitted_peak == pytest.approx(2.0)


def test_goodhart_curve_without_the_pattern():
    d = np.array([0.0, 1.0, 2.0, 3.0])
    # utility rising all along: peak at the end, no drop, no Goodhart; convex fit has no peak
    g = goodhart_curve(d, d, d**2)
    assert g.peak_pressure == 3.0 and g.utility_drop == 0.0 and not g.goodhart
    assert not g.likes_rise_past_peak  # the peak is the last point
    assert g.fitted_peak == math.inf
    # utility peaks, but likes fall with it: not the Goodhart pattern
    g = goodhart_curve(d, np.array([1.0, 2.0, 1.0, 0.5]), np.array([0.0, 2.0, 1.0, 0.0]))
    assert g.peak_pressure == 1.0 and g.utility_drop == 2.0
    assert not g.likes_rise_past_peak and not g.goodhart


def test_goodhart_curve_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="no point"):
        g = goodhart_curve(np.array([]), np.array([]), np.array([]))
    assert math.isnan(g.peak_pressure) and not g.goodhart
    with pytest.warns(UndefinedMetricWarning, match="fewer than 3"):
        g = goodhart_curve(np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([2.0, 1.0]))
    assert g.peak_pressure == 0.0 and g.goodhart and math.isnan(g.fitted_peak)
    with pytest.warns(UndefinedMetricWarning, match="fewer than 3"):  # NaN points are dropped
        g = goodhart_curve(np.array([0.0, 1.0, np.nan]), np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 9.0]))
    assert g.peak_utility == 2.0
    with pytest.raises(ValueError):
        goodhart_curve(np.zeros(3), np.zeros(2), np.zeros(3))


def test_goodhart_curve_on_a_simulated_best_of_n_sweep():
    # best-of-n by a proxy (predicted like) that rewards bait which costs true utility:
    # like score = quality + 1.5 bait, utility = quality - 0.6 bait^2: more n selects more bait
    rng = np.random.default_rng(0)
    ns = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    quality = rng.normal(size=(4000, 128))
    bait = rng.normal(size=(4000, 128))
    proxy = quality + 1.5 * bait
    utility = quality - 0.6 * bait**2
    likes, util = [], []
    for n in ns:
        pick = proxy[:, :n].argmax(axis=1)
        rows = np.arange(len(pick))
        likes.append(proxy[rows, pick].mean())
        util.append(utility[rows, pick].mean())
    g = goodhart_curve(best_of_n_pressure(ns), np.array(likes), np.array(util))
    assert np.all(np.diff(likes) > 0)
    assert g.goodhart and 0 < g.peak_pressure < best_of_n_pressure(128)
    assert g.beta > 0 and 0 < g.fitted_peak < best_of_n_pressure(128)

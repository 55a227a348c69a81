"""Welfare metrics: regret against the oracle and random feeds on the same candidates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.metrics import UndefinedMetricWarning
from sim.metrics.welfare import counterfactual_feed_utility, mean_true_utility, normalised_regret


def test_normalised_regret_by_hand():
    # (U_oracle - U_rec) / (U_oracle - U_random) = (2 - 1.5) / (2 - 0) = 0.25
    assert normalised_regret(1.5, 2.0, 0.0) == pytest.approx(0.25)
    assert normalised_regret(2.0, 2.0, 0.0) == 0.0  # the oracle itself
    assert normalised_regret(0.0, 2.0, 0.0) == 1.0  # random itself
    assert normalised_regret(-1.0, 2.0, 0.0) == pytest.approx(1.5)  # worse than random
    series = normalised_regret(np.array([1.0, 0.5]), np.array([2.0, 1.0]), np.array([0.0, 0.5]))
    assert series == pytest.approx([0.5, 1.0])


def test_normalised_regret_undefined_when_oracle_equals_random():
    with pytest.warns(UndefinedMetricWarning, match="equals random"):
        assert math.isnan(normalised_regret(0.3, 0.5, 0.5))
    with pytest.warns(UndefinedMetricWarning):
        out = normalised_regret(np.array([0.3, 0.3]), np.array([0.5, 1.0]), np.array([0.5, 0.0]))
    assert math.isnan(out[0]) and out[1] == pytest.approx(0.7)
    with pytest.warns(UndefinedMetricWarning):  # equal up to rounding counts as equal
        assert math.isnan(normalised_regret(0.1, 0.1 + 0.2, 0.3))


def test_mean_true_utility_is_reexported():
    assert mean_true_utility(np.array([1.0, np.nan, 3.0])) == pytest.approx(2.0)


def test_counterfactual_feed_utility_by_hand():
    u = np.array([[3.0, 1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 5.0]])
    # k = 2: oracle takes {3, 2} and {5, 1}: (3 + 2 + 5 + 1) / 4 = 2.75
    # random: row means 1.5 and 2.0, each for 2 slots: (3 + 4) / 4 = 1.75
    assert counterfactual_feed_utility(u, 2) == pytest.approx((2.75, 1.75))
    # k per user: user 0 gets 1 slot (3), user 1 gets 3 (5, 1, 1): oracle 10/4; random (1.5 + 3*2)/4
    assert counterfactual_feed_utility(u, np.array([1, 3])) == pytest.approx((2.5, 7.5 / 4))


def test_counterfactual_feed_utility_respects_eligibility_and_nan():
    u = np.array([[3.0, 1.0, np.nan, 0.0], [1.0, 1.0, 1.0, 5.0]])
    eligible = np.array([[False, True, True, True], [True, True, True, True]])
    # user 0 may pick from {1, 0} (3 is not eligible, the NaN is not a candidate): k_u = 2
    # oracle (1 + 0 + 5 + 1) / 4; random (2 * 0.5 + 2 * 2) / 4
    assert counterfactual_feed_utility(u, 2, eligible) == pytest.approx((7 / 4, 5 / 4))
    # k larger than the pool: every eligible candidate, so oracle = random
    assert counterfactual_feed_utility(u[:1], 10, eligible[:1]) == pytest.approx((0.5, 0.5))


def test_counterfactual_feed_utility_degenerate():
    with pytest.warns(UndefinedMetricWarning, match="no user"):
        assert all(math.isnan(x) for x in counterfactual_feed_utility(np.zeros((0, 5)), 3))
    with pytest.warns(UndefinedMetricWarning):
        assert all(math.isnan(x) for x in counterfactual_feed_utility(np.ones((2, 3)), 0))
    with pytest.warns(UndefinedMetricWarning):
        assert all(math.isnan(x) for x in counterfactual_feed_utility(np.full((2, 3), np.nan), 2))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (5, 8), elements=st.floats(-3, 3)), st.integers(1, 8))
def test_oracle_beats_any_feed_and_random_is_the_average_feed(u, k):
    oracle, rand = counterfactual_feed_utility(u, k)
    assert oracle >= rand - 1e-12
    # a recommender's feed (here: the first k columns) is no better than the oracle's
    rec = u[:, :k].mean()
    assert rec <= oracle + 1e-12
    # averaging over every feed of k: the mean of all columns equals random's expectation
    assert rand == pytest.approx(u.mean())

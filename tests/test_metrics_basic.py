"""Hand-computed cases for the engagement and exposure metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import metrics


def test_gini_by_hand():
    # sorted x = [1, 2, 3]: sum (2i - n - 1) x_i = (-2)(1) + 0(2) + 2(3) = 4; n * sum = 18
    assert metrics.gini(np.array([3, 1, 2])) == pytest.approx(4 / 18)
    assert metrics.gini(np.array([5, 5])) == 0.0
    assert metrics.gini(np.array([0, 0, 0, 0, 10])) == pytest.approx(0.8)
    assert metrics.gini(np.array([])) == 0.0


def test_exposure_gini_counts_unseen_items():
    assert metrics.exposure_gini(np.array([0, 0, 1, 1]), 2) == 0.0
    assert metrics.exposure_gini(np.array([0, 0, 1, 1]), 4) == pytest.approx(0.5)


def test_top_share_by_hand():
    assert metrics.top_share(np.array([6, 3, 1, 0, 0, 0, 0, 0, 0, 0]), 0.2) == pytest.approx(0.9)
    assert metrics.top_share(np.array([1, 1, 1, 1]), 0.01) == pytest.approx(0.25)
    assert math.isnan(metrics.top_share(np.zeros(3), 0.2))


def test_rates_and_session_length_by_hand():
    assert metrics.like_rate(np.array([1, 0, 0, 0, 1], bool)) == pytest.approx(0.4)
    assert math.isnan(metrics.rate(np.array([], bool)))
    assert metrics.mean_true_utility(np.array([[1.0, np.nan], [-2.0, 4.0]])) == pytest.approx(1.0)
    viewed = np.array([[1, 1, 1], [1, 0, 0], [0, 0, 0]], bool)
    assert metrics.session_length(viewed) == pytest.approx(2.0)

"""Validation: Kosinski, Stillwell & Graepel (PNAS 2013), likes reveal a private trait.

Runs ``sim.replications.kosinski`` at its small size (2,000 users, 30 steps, three runs) and
checks the published claims: the trait is predicted from likes well above chance, accuracy
rises with likes per user with diminishing returns, and randomized response on the like bits
pushes the attacker's AUC toward 0.5 while the like-trained feed's utility falls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.replications import kosinski

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return kosinski.run(size="small", out=tmp_path_factory.mktemp("kosinski"), seed=0)


def claim(result, start: str) -> bool:
    (key,) = [k for k in result.claims if k.startswith(start)]
    return result.claims[key]


def frontier(result):
    return result.table[result.table.part == "frontier"].set_index("epsilon")


def curve(result):
    return result.table[result.table.part == "likes_per_user"].set_index("likes_per_user").trait_auc


def test_scenario_file_is_the_base_setup():
    assert sim.Scenario.load(ROOT / "scenarios" / "kosinski.toml") == sim.Scenario.from_dict(kosinski.BASE)


def test_trait_predicted_well_above_chance(result):
    assert claim(result, "Likes predict the private trait")
    clean = frontier(result).loc[np.inf]
    assert clean.trait_auc > 0.65
    assert clean.auc_lo > 0.6  # the interval is far from 0.5
    assert clean.kept_users > 1000  # the paper's filters keep most users


def test_accuracy_rises_with_likes_per_user(result):
    assert claim(result, "Prediction accuracy rises")
    auc = curve(result)
    assert auc.index.max() >= 20
    assert auc.iloc[-1] - auc.iloc[0] > 0.1
    assert auc.iloc[-1] > auc.iloc[len(auc) // 2] > auc.iloc[0]


def test_diminishing_returns(result):
    assert claim(result, "... with diminishing returns")
    auc = curve(result)
    n = auc.index.to_numpy(dtype=float)
    mid = len(n) // 2
    per_like_low = (auc.iloc[mid] - auc.iloc[0]) / (n[mid] - n[0])
    per_like_high = (auc.iloc[-1] - auc.iloc[mid]) / (n[-1] - n[mid])
    assert per_like_high < 0.5 * per_like_low


def test_randomized_response_pushes_auc_toward_half(result):
    assert claim(result, "Randomized response pushes")
    f = frontier(result).sort_index(ascending=False)  # inf, then smaller epsilons
    assert f.trait_auc.is_monotonic_decreasing
    clean, noisiest = f.iloc[0], f.iloc[-1]
    assert noisiest.name <= 0.1
    assert abs(noisiest.trait_auc - 0.5) < 0.06
    assert clean.trait_auc - noisiest.trait_auc > 0.12
    # the platform saw about half of all views as likes: the bits really were randomized
    assert 0.4 < noisiest.like_rate_observed < 0.6
    assert noisiest.like_rate_true < 0.15


def test_utility_falls_with_epsilon(result):
    assert claim(result, "... and recommendation utility falls")
    f = frontier(result).sort_index(ascending=False)
    assert f.mean_utility.is_monotonic_decreasing
    assert f.mean_utility.iloc[0] - f.mean_utility.iloc[-1] > 0.2


def test_figure_written(result):
    assert result.figure is not None and result.figure.stat().st_size > 10_000
    assert result.notes

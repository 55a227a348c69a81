"""Metrics wired into runs: per step, periodic, chosen by family, and never changing a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim import measure

from .conftest import small

ALL = ["welfare", "overfit", "echo", "amplification", "privacy", "segments"]


def test_every_family_lands_in_metrics_and_summary():
    result = sim.run(small(steps=6, metrics_every=3, metrics={"families": ALL}), write=False)
    step_keys, periodic_keys = measure.keys(result.scenario.metrics.families)
    for key in step_keys + periodic_keys:
        assert key in result.metrics, key
        assert key in result.summary, key
    m = result.metrics
    assert m["regret"].notna().all() and m["kendall_tau"].notna().all()
    assert m["homogenization_random"].notna().sum() == 2  # steps 3 and 6
    assert 0.5 <= result.summary["trait_auc"] <= 1.0 or np.isnan(result.summary["trait_auc"] or np.nan)
    assert 0 <= result.summary["like_bait_share"] <= 1


def test_oracle_has_no_regret_and_random_about_one():
    fams = {"families": ["welfare", "overfit"]}
    oracle = sim.run(small(steps=4, recommender={"name": "oracle"}, holdout={"fraction": 0.0}, feed={"inbox": False}, metrics=fams), write=False)
    rand = sim.run(small(steps=4, recommender={"name": "random"}, holdout={"fraction": 0.0}, feed={"inbox": False}, metrics=fams), write=False)
    assert np.allclose(oracle.metrics["regret"], 0.0, atol=1e-6)
    assert abs(rand.metrics["regret"].mean() - 1.0) < 0.15
    assert oracle.metrics["kendall_tau"].min() > 0.99


@pytest.mark.parametrize("recommender", ["random", "mf"])
def test_families_can_be_switched_off_and_measuring_changes_nothing(recommender):
    full = sim.run(small(steps=5, recommender={"name": recommender}, metrics={"families": ALL}), write=False)
    bare = sim.run(small(steps=5, recommender={"name": recommender}, metrics={"families": []}), write=False)
    assert "regret" not in bare.metrics and "trait_auc" not in bare.summary
    shared = [c for c in bare.metrics.columns]
    pd.testing.assert_frame_equal(full.metrics[shared], bare.metrics[shared])
    np.testing.assert_array_equal(full.model.log.observed.column("video"), bare.model.log.observed.column("video"))


def test_like_auc_scores_the_same_impressions_before_and_after_learning():
    result = sim.run(small(steps=5, recommender={"name": "mf"}, metrics={"families": ["overfit"]}), write=False)
    m = result.metrics
    for key in ("like_auc_heldout", "like_auc_train"):
        assert m[key].between(0, 1).all(), key
    np.testing.assert_allclose(m["like_auc_gap"], m["like_auc_train"] - m["like_auc_heldout"])
    # matrix factorisation fits the likes it has seen far better than the ones it has not
    assert m["like_auc_gap"].iloc[1:].mean() > 0.05
    users, videos, liked = result.model.measures.heldout  # the last step's sample, in the log
    log = result.model.log
    last = log.observed.column("step") == result.model.t
    logged = set(zip(log.observed.column("user")[last], log.observed.column("video")[last]))
    assert set(zip(users, videos)) <= logged
    truth = dict(zip(zip(log.observed.column("user")[last], log.observed.column("video")[last]), log.hidden.column("liked_true")[last]))
    assert [truth[p] for p in zip(users, videos)] == list(liked)


def test_calibration_history_is_the_topic_mass_of_everything_watched():
    from sim.metrics import consumption_matrix

    result = sim.run(small(steps=4, metrics={"families": ["echo"]}), write=False)
    model = result.model
    log = model.log
    consumed = consumption_matrix(log.observed.column("user"), log.observed.column("video"), model.world.users.n, model.world.videos.n)
    expected = consumed @ model.world.videos.latent.column("topics")
    np.testing.assert_allclose(model.measures.topic_history, expected, rtol=1e-5, atol=1e-4)
    assert np.isnan(result.metrics["calibration_kl"].iloc[0])  # no history before the first step
    assert (result.metrics["calibration_kl"].iloc[1:] > 0).all()


def test_served_lists_of_a_trending_feed_are_more_popular_than_random_ones():
    fams = {"families": ["amplification"]}
    popular = sim.run(small(steps=5, metrics=fams), write=False).metrics
    rand = sim.run(small(steps=5, recommender={"name": "random"}, metrics=fams), write=False).metrics
    assert (popular["arp_feed"].iloc[1:] > 2 * rand["arp_feed"].iloc[1:]).all()
    # (APLT need not fall: the trending feed ranks by decayed likes, which favours fresh hits
    # whose cumulative views still put them in the long tail)
    assert popular["aplt_feed"].between(0, 1).all() and rand["aplt_feed"].between(0, 1).all()


def test_trend_timing_on_hand_made_curves():
    # two sounds; 2 treated and 1 holdout user. Sound 0: the treatment serves it at steps 0-1,
    # the holdout at steps 2-3 (organic peak at 2, after smoothing); sound 1 too few views.
    step = np.array([0] * 10 + [1] * 10 + [2] * 10 + [3] * 10 + [0])
    sound = np.array([0] * 40 + [1])
    treated = np.array([True] * 20 + [False] * 20 + [True])
    out = measure._trend_metrics(step, sound, treated, n_steps=4, n_sounds=2, n_t=2, n_c=1)
    assert out["trend_share_before_peak"] == 1.0  # every treated view came before the organic peak
    assert out["trend_share_before_peak_organic"] == 0.5  # smoothed [0, 3.3, 6.7, 10]/... peaks at 3
    assert out["trend_lead_steps"] == 3  # treatment peaks at 0, organic at 3
    assert out["trend_time_to_peak"] == 0


def test_unknown_family_is_one_line():
    import pytest

    with pytest.raises(sim.ScenarioError, match="metrics.families"):
        sim.Scenario.from_dict({"metrics": {"families": ["vibes"]}})


def test_a_placebo_holdout_shows_no_amplification():
    """Chronological in both arms (an A/A test): creators are neither amplified nor not."""
    placebo = sim.run(
        small(steps=8, recommender={"name": "chronological"}, holdout={"fraction": 0.3},
              metrics={"families": ["amplification"]}),
        write=False,
    )
    ranked = sim.run(
        small(steps=8, holdout={"fraction": 0.3}, metrics={"families": ["amplification"]}), write=False
    )
    assert abs(placebo.summary["amplification_creator_median"]) < 0.15
    # a ranker concentrates reach: a few creators gain a lot (Huszar et al.'s wide spread)
    assert ranked.summary["amplification_creator_mean"] > placebo.summary["amplification_creator_mean"] + 0.2


def test_summary_holds_the_like_utility_divergence_of_the_run():
    from sim.metrics import like_utility_divergence

    result = sim.run(small(steps=6, metrics={"families": ["overfit"]}), write=False)
    expected = like_utility_divergence(result.metrics["like_rate"].to_numpy(), result.metrics["mean_utility"].to_numpy())
    assert result.summary["like_utility_divergence"] == expected
    bare = sim.run(small(steps=3), write=False)
    assert "like_utility_divergence" not in bare.summary

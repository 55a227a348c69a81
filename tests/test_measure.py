"""Metrics wired into runs: per step, periodic, chosen by family, and never changing a run."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def test_families_can_be_switched_off_and_measuring_changes_nothing():
    full = sim.run(small(steps=5, recommender={"name": "random"}, metrics={"families": ALL}), write=False)
    bare = sim.run(small(steps=5, recommender={"name": "random"}, metrics={"families": []}), write=False)
    assert "regret" not in bare.metrics and "trait_auc" not in bare.summary
    shared = [c for c in bare.metrics.columns]
    pd.testing.assert_frame_equal(full.metrics[shared], bare.metrics[shared])
    np.testing.assert_array_equal(full.model.log.observed.column("video"), bare.model.log.observed.column("video"))


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

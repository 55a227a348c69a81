"""Validation: Huszar et al. (PNAS 2022), algorithmic amplification against a chronological holdout.

Runs ``sim.replications.huszar`` at its small size (2,000 users, 40 steps, 3 seeds; the
like-trained ranker ``mf`` and an A/A placebo, chronological in both arms) and checks the
published claims: most content groups are amplified (a > 0), amplification differs between
groups, and individual creators range from below 0% to above 100%. The placebo must show no
amplification, so the claims are not an artefact of the ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.replications import huszar

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return huszar.run(size="small", out=tmp_path_factory.mktemp("huszar"), seed=0)


def claim(result, start: str) -> bool:
    (key,) = [k for k in result.claims if k.startswith(start)]
    return result.claims[key]


def row(result, name: str):
    return result.table.set_index("recommender").loc[name]


def test_scenario_file_is_the_base_setup():
    scenario = sim.Scenario.load(ROOT / "scenarios" / "huszar.toml")
    assert scenario == sim.Scenario.from_dict(huszar.BASE)
    assert scenario.holdout.fraction == pytest.approx(0.2)  # treatment = 4 x control


def test_placebo_shows_no_amplification(result):
    aa = row(result, "chronological")
    assert abs(aa.creator_median) < 0.1
    assert abs(aa.topic_median) < 0.05 and abs(aa.sound_median) < 0.05
    assert abs(aa.like_bait_a) < 0.1 and abs(aa.calm_a) < 0.1
    assert aa.segment_spread < 0.15
    assert aa.creator_share_above_100 < 0.1


def test_ranker_amplifies_most_groups(result):
    assert claim(result, "The personalised ranking amplifies most content groups")
    mf, aa = row(result, "mf"), row(result, "chronological")
    assert mf.topic_share_positive > 0.6 and mf.sound_share_positive > 0.55
    assert mf.topic_median > aa.topic_median + 0.1
    assert mf.sound_median > aa.sound_median + 0.1


def test_amplification_unequal_across_groups(result):
    assert claim(result, "Amplification is unequal across groups")
    mf, aa = row(result, "mf"), row(result, "chronological")
    assert mf.segment_spread > 0.3
    assert mf.segment_spread > 3 * aa.segment_spread


def test_individual_creators_vary_widely(result):
    assert claim(result, "Amplification varies widely across individual accounts")
    mf, aa = row(result, "mf"), row(result, "chronological")
    assert mf.creator_share_negative >= 0.1 and mf.creator_share_above_100 >= 0.1
    assert mf.creator_q05 < -0.5 and mf.creator_q95 > 2.0  # from below -50% to above +200%
    assert mf.creator_q75 - mf.creator_q25 > 3 * (aa.creator_q75 - aa.creator_q25)


def test_every_seed_gives_the_group_result(result):
    runs = result.extra["runs"].set_index("seed")
    mf, aa = runs[runs.recommender == "mf"], runs[runs.recommender == "chronological"]
    assert len(mf) == 3
    # on each world, the ranked feed's median topic and sound beat the placebo's by 10 points
    assert (mf.topic_median - aa.topic_median > 0.1).all()
    assert (mf.sound_median - aa.sound_median > 0.1).all()


def test_figure_written(result):
    assert result.figure is not None and result.figure.stat().st_size > 10_000
    assert np.isfinite(result.extra["creator_amplification"]["mf"]).all()

"""The content-based recommender: contract, hand-made rankings, params, a short run."""

from __future__ import annotations

import numpy as np
import pytest

import sim
import sim.recommenders.content  # noqa: F401  (registers "content")
from sim.recommenders.content import onehot_columns, soft_bins
from sim.testing import check_recommender, record_events, toy_model

SCENARIO = {"steps": 8, "world": {"n_users": 400, "n_creators": 60}, "feed": {"n_candidates": 300}}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sound_weight": 0.0, "creator_weight": 0.0, "watch_weight": 0.0},
        {"pace_bins": 2, "length_bin_octaves": 2.0, "half_life": 0.5, "prior_weight": 0.0},
    ],
)
def test_conforms(params):
    check_recommender("content", params)


def make(params=None):
    rec = sim.make_recommender("content", params or {})
    rec.rng = np.random.default_rng(0)
    return rec


@pytest.fixture(scope="module")
def world():
    """A toy world with enough videos and topics that one topic is tagged on a minority."""
    model = toy_model(world={"n_topics": 8, "n_creators": 40})
    tags = np.asarray(model.view.tags)
    counts = tags.sum(axis=0)
    ok = np.flatnonzero((counts >= 8) & (counts < model.view.n_videos / 2))
    assert len(ok), "the toy world has no minority topic with 8 videos"
    k = int(ok[np.argmax(counts[ok])])
    return model, tags, k


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Share of (positive, negative) pairs ranked the right way round."""
    return float((scores[positive][:, None] > scores[~positive][None, :]).mean())


def test_user_who_liked_topic_k_is_served_topic_k_first(world):
    model, tags, k = world
    view = model.view
    tagged = np.flatnonzero(tags[:, k])
    liked = tagged[::2]  # likes half of the topic-k videos, and nothing else
    candidates = np.setdiff1d(np.arange(view.n_videos), liked)
    rec = make()
    rec.observe(record_events(model, np.zeros(len(liked), int), liked, liked=np.ones(len(liked), bool)), view)
    row = rec.score(np.array([0]), candidates, view)[0]
    is_k = tags[candidates, k]
    top = candidates[np.argsort(-row, kind="stable")[:5]]
    assert tags[top, k].all()
    assert auc(row, is_k) > 0.85
    parts = rec.explain(0, candidates, view)
    assert set(parts) == {
        "topic match", "pace match", "length match", "sound match", "creator affinity", "cold-start prior"
    }
    np.testing.assert_allclose(sum(parts.values()), row, rtol=1e-5, atol=1e-6)
    assert parts["topic match"][is_k].min() > 0  # every topic-k video matches a little
    assert parts["topic match"][is_k].mean() > 2 * parts["topic match"][~is_k].mean()


def test_not_interested_pushes_the_topic_down(world):
    model, tags, k = world
    view = model.view
    tagged = np.flatnonzero(tags[:, k])
    rejected = tagged[::2]
    candidates = np.setdiff1d(np.arange(view.n_videos), rejected)
    rec = make()
    rec.observe(
        record_events(model, np.full(len(rejected), 1), rejected, not_interested=np.ones(len(rejected), bool)), view
    )
    topic = rec.explain(1, candidates, view)["topic match"]
    assert auc(topic, tags[candidates, k]) < 0.15
    assert topic[tags[candidates, k]].max() < 0


def test_long_watches_count_and_short_ones_count_against(world):
    model, tags, k = world
    view = model.view
    tagged = np.flatnonzero(tags[:, k])[:6]
    other = np.flatnonzero(~tags[:, k])[:6]
    videos = np.concatenate([tagged, other])
    ratio = np.concatenate([np.full(6, 2.0), np.full(6, 0.2)])  # no likes: only watch time
    rec = make()
    rec.observe(record_events(model, np.full(12, 2), videos, watch_ratio=ratio), view)
    candidates = np.setdiff1d(np.arange(view.n_videos), videos)
    topic = rec.explain(2, candidates, view)["topic match"]
    assert auc(topic, tags[candidates, k]) > 0.85


def test_cold_start_users_get_the_like_trend_order(world):
    model, tags, k = world
    view = model.view
    # Ten users like video 3 three times in all and video 7 once: a brand-new user sees
    # them first, in that order (the prior), even though they have no profile.
    rec = make({"half_life": 100.0})
    rec.observe(record_events(model, [10, 11, 12, 13], [3, 3, 3, 7], liked=[True] * 4), view)
    candidates = np.arange(view.n_videos)
    row = rec.score(np.array([view.n_users - 1]), candidates, view)[0]
    assert list(np.argsort(-row, kind="stable")[:2]) == [3, 7]
    parts = rec.explain(view.n_users - 1, candidates, view)
    assert np.allclose(parts["cold-start prior"], row)
    assert parts["cold-start prior"][3] == pytest.approx(rec.prior_weight, rel=1e-6)


def test_profiles_decay_with_the_half_life(world):
    model, tags, k = world
    view = model.view
    rec = make({"half_life": 2.0})
    rec.observe(record_events(model, [4], [0], liked=[True]), view)
    before = rec._dense[4].copy()
    creator_before = rec._creator[4].toarray()
    sound_before = rec._sound[4].copy()
    rec.observe(record_events(model, [5], [1], liked=[True]), view)
    rec.observe(record_events(model, [5], [1], liked=[True]), view)
    np.testing.assert_allclose(rec._dense[4], before * 0.5, rtol=1e-5)
    np.testing.assert_allclose(rec._creator[4].toarray(), creator_before * 0.5, rtol=1e-5)
    np.testing.assert_allclose(rec._sound[4, : len(sound_before)], sound_before * 0.5, rtol=1e-5)


def test_new_sounds_users_and_videos_score_without_error(world):
    model, tags, k = world
    view = model.view
    rec = make()
    rec.observe(record_events(model, [0, 1], [0, 1], liked=[True, True]), view)
    users = np.array([0, 1, view.n_users - 1], dtype=np.int64)
    out = rec.score(users, np.arange(view.n_videos, dtype=np.int64), view)
    assert out.shape == (3, view.n_videos) and np.isfinite(out).all()
    # A creator id past the profile width reads as no match.
    onehot = onehot_columns(np.array([0, 5, 2]), 3).toarray()
    assert onehot.tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]


def test_soft_bins_match_neighbours_more_than_far_values():
    centres = np.linspace(0, 1, 8)
    x = soft_bins(np.array([0.1, 0.2, 0.9]), centres, centres[1] - centres[0])
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-6)
    assert x[0] @ x[1] > 0.8 > 0.1 > x[0] @ x[2]


@pytest.mark.parametrize(
    "param, value",
    [("half_life", 0.0), ("like_weight", -1.0), ("pace_bins", 1), ("length_bin_octaves", 0.0), ("topic_weight", "x")],
)
def test_bad_params_name_the_recommender_and_the_param(param, value):
    with pytest.raises(sim.RecommenderError) as err:
        sim.make_recommender("content", {param: value})
    assert "'content'" in str(err.value) and repr(param) in str(err.value)


def test_listed_with_a_summary_and_params():
    cls = sim.recommenders.available_recommenders()["content"]
    assert cls.__doc__.splitlines()[0].startswith("Content-based filtering")
    names = [n for n, _, _ in sim.recommenders.param_specs(cls)]
    assert {"half_life", "topic_weight", "creator_weight", "prior_weight"} <= set(names)
    for n in names:
        assert f"{n}:" in cls.__doc__


def test_a_short_run_beats_random():
    def utility(name):
        scenario = sim.Scenario.model_validate({**SCENARIO, "recommender": {"name": name}})
        return sim.run(scenario, write=False).summary["mean_utility"]

    assert utility("content") > utility("random") + 0.2

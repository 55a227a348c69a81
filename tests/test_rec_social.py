"""The social-filtering recommender: contract, hand-made rankings, params, a short run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sim
import sim.recommenders.social  # noqa: F401  (registers "social")
from sim.testing import check_recommender, record_events, toy_model

SCENARIO = {"steps": 8, "world": {"n_users": 400, "n_creators": 60}, "feed": {"n_candidates": 300}}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"tie_strength": "none", "comment_weight": 1.0},
        {"max_age": 1, "half_life": 0.5, "prior_weight": 0.0, "share_weight": 0.0},
    ],
)
def test_conforms(params):
    check_recommender("social", params)


def make(params=None):
    rec = sim.make_recommender("social", params or {})
    rec.rng = np.random.default_rng(0)
    return rec


def shared_by(events, parents):
    """The same events, as if each had reached the user through a share by ``parents``."""
    return dataclasses.replace(events, share_parent=np.asarray(parents, dtype=np.int32))


@pytest.fixture()
def setting():
    """A toy world and a user u with two friends f1, f2 and a stranger (not a friend)."""
    model = toy_model()
    adj = model.view.friends
    deg = np.diff(adj.indptr)
    u = int(np.flatnonzero(deg >= 2)[0])
    friends = adj.indices[adj.indptr[u] : adj.indptr[u + 1]]
    f1, f2 = int(friends[0]), int(friends[1])
    stranger = int(np.setdiff1d(np.arange(model.view.n_users), np.r_[friends, u])[0])
    return model, u, f1, f2, stranger


def test_friends_likes_first_and_the_friend_who_shared_counts_more(setting):
    model, u, f1, f2, stranger = setting
    view = model.view
    rec = make()
    # Step 0: f1 shared video 0 with u, who watched it. Then f1, f2 and a stranger each
    # like one video.
    rec.observe(shared_by(record_events(model, [u], [0]), [f1]), view)
    rec.observe(record_events(model, [f1, f2, stranger], [1, 2, 3], liked=[True] * 3), view)
    candidates = np.arange(1, view.n_videos, dtype=np.int64)
    row = rec.score(np.array([u]), candidates, view)[0]
    order = candidates[np.argsort(-row, kind="stable")]
    assert list(order[:3]) == [1, 2, 3]  # f1's like, f2's like, then the stranger's (prior only)
    parts = rec.explain(u, candidates, view)
    assert set(parts) == {"friends' likes", "friends' shares", "trending prior"}
    np.testing.assert_allclose(sum(parts.values()), row, rtol=1e-5, atol=1e-6)
    likes = parts["friends' likes"]  # videos 1, 2, 3: liked by f1, f2, the stranger
    assert likes[0] == pytest.approx(1 + 0.5 ** (1 / rec.tie_half_life), rel=1e-5)  # tie 1 + decayed share
    assert likes[1] == pytest.approx(1.0) and likes[2] == 0
    assert np.all(parts["trending prior"][:3] > 0) and np.all(parts["trending prior"][3:] == 0)


def test_without_tie_strength_every_friend_counts_the_same(setting):
    model, u, f1, f2, stranger = setting
    view = model.view
    rec = make({"tie_strength": "none"})
    rec.observe(shared_by(record_events(model, [u], [0]), [f1]), view)
    rec.observe(record_events(model, [f1, f2], [1, 2], liked=[True, True]), view)
    row = rec.score(np.array([u]), np.array([1, 2, 3], dtype=np.int64), view)[0]
    assert row[0] == pytest.approx(row[1]) and row[1] > row[2]


def test_shares_weigh_more_than_likes_and_signals_decay(setting):
    model, u, f1, f2, stranger = setting
    view = model.view
    rec = make({"share_weight": 3.0, "half_life": 1.0, "tie_strength": "none", "prior_weight": 0.0})
    rec.observe(record_events(model, [f1, f2], [1, 2], liked=[True, False], shared=[False, True]), view)
    parts = rec.explain(u, np.array([1, 2], dtype=np.int64), view)
    assert parts["friends' likes"].tolist() == [1.0, 0.0]
    assert parts["friends' shares"].tolist() == [0.0, 3.0]
    rec.observe(record_events(model, [stranger], [5], liked=[True]), view)  # one step later
    row = rec.score(np.array([u]), np.array([1, 2], dtype=np.int64), view)[0]
    np.testing.assert_allclose(row, [0.5, 1.5], rtol=1e-5)


def test_friends_who_did_nothing_leave_the_trending_prior(setting):
    model, u, f1, f2, stranger = setting
    view = model.view
    rec = make()
    rec.observe(record_events(model, [stranger, stranger, stranger], [4, 5, 5], liked=[True] * 3), view)
    candidates = np.arange(view.n_videos, dtype=np.int64)
    lonely = np.array([u], dtype=np.int64)
    row = rec.score(lonely, candidates, view)[0]
    assert list(np.argsort(-row, kind="stable")[:2]) == [5, 4]
    assert row.max() == pytest.approx(rec.prior_weight)


def test_old_videos_are_dropped_so_memory_stays_bounded(setting):
    model, u, f1, f2, stranger = setting
    view = model.view
    rec = make({"max_age": 2, "half_life": 100.0})
    old = int(np.flatnonzero(view.upload_step == view.upload_step.min())[0])
    new = int(np.flatnonzero(view.upload_step == view.upload_step.max())[0])
    rec.observe(record_events(model, [f1, f1], [old, new], liked=[True, True], step=0), view)
    assert rec.signals["like"].nnz == 1  # the old video was already past max_age at step 0
    rec.observe(record_events(model, [f2], [new], step=5), view)  # no like; time moves on
    assert rec.signals["like"].nnz == 0


@pytest.mark.parametrize(
    "param, value",
    [("half_life", 0.0), ("share_weight", -1.0), ("tie_strength", "strong"), ("max_age", 0), ("tie_half_life", -2.0)],
)
def test_bad_params_name_the_recommender_and_the_param(param, value):
    with pytest.raises(sim.RecommenderError) as err:
        sim.make_recommender("social", {param: value})
    assert "'social'" in str(err.value) and repr(param) in str(err.value)


def test_listed_with_a_summary_and_params():
    cls = sim.recommenders.available_recommenders()["social"]
    assert cls.__doc__.splitlines()[0].startswith("Social filtering")
    for n, _, _ in sim.recommenders.param_specs(cls):
        assert f"{n}:" in cls.__doc__


def test_a_short_run_beats_random():
    def utility(name):
        scenario = sim.Scenario.model_validate({**SCENARIO, "recommender": {"name": name}})
        return sim.run(scenario, write=False).summary["mean_utility"]

    assert utility("social") > utility("random") + 0.1

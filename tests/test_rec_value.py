"""The multi-signal value model: per-signal predictors combined with set weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sim
import sim.recommenders.value as value_module  # registers "value"
from sim.recommenders.value import SIGNALS
from sim.testing import check_recommender, record_events, toy_model

ONLY = {name: 0.0 for name in ("w_like", "w_watch", "w_share", "w_comment", "w_not_interested")}


def build(seed: int = 0, **params) -> sim.Recommender:
    rec = sim.make_recommender("value", params)
    rec.rng = np.random.default_rng(seed)
    return rec


def only(**weights) -> dict:
    return {**ONLY, **weights}


def loop_utility(name: str, **params) -> float:
    scenario = sim.Scenario(
        steps=8,
        world={"n_users": 400, "n_creators": 60, "make_agents": False},
        feed={"n_candidates": 300},
        recommender={"name": name, "params": params},
    )
    return sim.run(scenario, write=False).summary["mean_utility"]


@pytest.fixture(scope="module")
def random_utility() -> float:
    return loop_utility("random")


# -- the contract ------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{}, {"half_life": 2.0, "prior_strength": 1.0}, only(w_like=1.0), ONLY])
def test_value_conforms(params):
    check_recommender("value", params)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"w_like": -1.0}, "w_like"),
        ({"w_watch": -0.5}, "w_watch"),
        ({"w_share": -1.0}, "w_share"),
        ({"w_comment": -1.0}, "w_comment"),
        ({"w_not_interested": -1.0}, "w_not_interested"),
        ({"prior_strength": 0.0}, "prior_strength"),
        ({"half_life": -2.0}, "half_life"),
        ({"w_like": "a lot"}, "w_like"),
    ],
)
def test_bad_params_name_the_recommender_and_the_param(params, field):
    with pytest.raises(sim.RecommenderError) as err:
        sim.make_recommender("value", params)
    assert "'value'" in str(err.value) and f"'{field}'" in str(err.value)


# -- hand-made worlds with known rankings --------------------------------------------------
def test_each_signal_ranks_the_video_that_earned_it_first():
    model = toy_model(seed=1)
    view = model.view
    viewers = np.arange(20)
    n = len(viewers)
    # video 0: liked by all; 1: watched twice over; 2: shared; 3: commented; 4: "not interested"
    events = record_events(
        model,
        np.tile(viewers, 5),
        np.repeat([0, 1, 2, 3, 4], n),
        liked=np.repeat([1, 0, 0, 0, 0], n),
        watch_ratio=np.repeat([0.5, 2.0, 0.5, 0.5, 0.5], n),
        shared=np.repeat([0, 0, 1, 0, 0], n),
        commented=np.repeat([0, 0, 0, 1, 0], n),
        not_interested=np.repeat([0, 0, 0, 0, 1], n),
    )
    cands = np.arange(5, dtype=np.int64)
    newcomer = np.array([59], dtype=np.int64)
    for s, weight in enumerate(["w_like", "w_watch", "w_share", "w_comment"]):
        rec = build(**only(**{weight: 1.0}))
        rec.observe(events, view)
        assert np.argmax(rec.score(newcomer, cands, view)[0]) == s, weight
    rec = build(**only(w_not_interested=1.0))
    rec.observe(events, view)
    assert np.argmin(rec.score(newcomer, cands, view)[0]) == 4
    # the default mix: every part present, adding up to the score
    rec = build()
    rec.observe(events, view)
    parts = rec.explain(59, cands, view)
    assert list(parts) == list(SIGNALS)
    assert np.allclose(sum(parts.values()), rec.score(newcomer, cands, view)[0], atol=1e-6)
    assert (parts["not interested"] < 0).all() and (parts["like"] > 0).all()
    assert np.argmin(parts["not interested"]) == 4 and np.argmax(parts["like"]) == 0


def test_user_topic_and_creator_affinities_personalise():
    model = toy_model(seed=1)
    view = model.view
    vids = np.arange(view.n_videos)
    topic0 = view.tags[: view.n_videos, 0]
    # user 0 likes everything tagged with topic 0 and nothing else; user 1 the reverse
    events = record_events(
        model,
        np.concatenate([np.zeros(len(vids), int), np.ones(len(vids), int)]),
        np.concatenate([vids, vids]),
        liked=np.concatenate([topic0, ~topic0]),
    )
    rec = build(**only(w_like=1.0))
    rec.observe(events, view)
    scores = rec.score(np.array([0, 1]), vids, view)
    assert scores[0][topic0].min() > scores[0][~topic0].max()
    assert scores[1][~topic0].mean() > scores[1][topic0].mean()
    # user 2 liked every video but the last of creator a and none but the last of creator b:
    # the held-out video of a gains on b's more for user 2 than for a newcomer
    counts = np.bincount(view.creator[vids])
    a, b = np.flatnonzero(counts >= 3)[:2]
    va, vb = vids[view.creator[vids] == a], vids[view.creator[vids] == b]
    rec = build(**only(w_like=1.0))
    seen = np.concatenate([va[:-1], vb[:-1]])
    liked = np.concatenate([np.ones(len(va) - 1), np.zeros(len(vb) - 1)])
    rec.observe(record_events(model, np.full(len(seen), 2), seen, liked=liked), view)
    held = np.array([va[-1], vb[-1]], dtype=np.int64)
    s = rec.score(np.array([2, 59]), held, view)
    assert s[0, 0] - s[0, 1] > s[1, 0] - s[1, 1] + 0.05
    parts = rec.explain(2, held, view)
    assert np.allclose(parts["like"], s[0], atol=1e-6) and not parts["watch"].any()


def test_pair_scatter_and_dense_gather_agree(monkeypatch):
    result = sim.run(
        sim.Scenario(steps=6, world={"n_users": 300, "n_creators": 20, "make_agents": False},
                     feed={"n_candidates": 200}, recommender={"name": "value"}),
        write=False,
    )
    rec, view = result.model.recommender, result.model.view
    users = np.arange(300, dtype=np.int64)
    cands = np.arange(view.n_videos - 200, view.n_videos, dtype=np.int64)
    monkeypatch.setattr(value_module, "DENSE_SHARE", 0.0)
    dense = rec.score(users, cands, view).copy()
    monkeypatch.setattr(value_module, "DENSE_SHARE", 2.0)
    pairs = rec.score(users, cands, view)
    assert np.allclose(dense, pairs, atol=1e-6)
    assert rec.fitted.all()  # every signal's coefficients were fit in the loop


def test_fit_learns_from_features_taken_before_the_outcome():
    model = toy_model(seed=1, world={"n_users": 400})
    view = model.view
    vids = np.arange(view.n_videos)
    good = vids % 2 == 0  # even videos are liked by half their viewers, odd ones by none
    rng = np.random.default_rng(0)
    rec = build(**only(w_like=1.0))
    for step in range(4):
        users = rng.integers(0, 400, 3000)
        videos = rng.choice(vids, 3000)
        liked = good[videos] & (rng.random(3000) < 0.5)
        rec.observe(record_events(model, users, videos, liked=liked, step=step), view)
    assert rec.fitted[0] and rec.coef[0, 1] > 0.5  # the video rate predicts likes
    p = rec.score(np.array([399]), vids, view)[0]
    assert p[good].min() > p[~good].max()
    assert abs(p[good].mean() - 0.5) < 0.1 and p[~good].mean() < 0.05


# -- in the loop -------------------------------------------------------------------------
@pytest.mark.parametrize("params", [{}, only(w_like=1.0), {"half_life": 5.0}])
def test_beats_random_in_the_loop(params, random_utility):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coefficient fits run clean
        assert loop_utility("value", **params) > random_utility + 0.2


def bait_share(**weights) -> float:
    """Share of impressions (after two warm-up steps) that went to like-bait videos."""
    scenario = sim.Scenario(
        seed=0,
        steps=8,
        world={"n_users": 400, "n_creators": 60, "make_agents": False, "like_bait_creators": 0.4},
        behaviour={"like_bait_effect": 2.5},
        feed={"n_candidates": 300},
        holdout={"fraction": 0.0},
        recommender={"name": "value", "params": weights},
    )
    model = sim.run(scenario, write=False).model
    served = model.log.observed.column("video")[model.log.step_starts[2]:]
    return float(model.world.videos.latent.column("like_bait")[served].mean())


def test_like_only_weights_serve_more_like_bait_than_watch_and_share_weights():
    like_only = bait_share(**only(w_like=1.0))
    watch_share = bait_share(**only(w_watch=1.0, w_share=20.0))
    unranked = bait_share(**ONLY)  # every weight 0: no preference, the pool's own share
    assert like_only > 0.6 and like_only > 2 * watch_share
    assert like_only > unranked + 0.3

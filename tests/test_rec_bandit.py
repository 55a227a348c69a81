"""The contextual bandit (Thompson sampling, LinUCB) and the epsilon-greedy wrapper."""

from __future__ import annotations

import numpy as np
import pytest

import sim
import sim.recommenders.bandit  # noqa: F401  (registers "bandit" and "epsilon_greedy")
from sim.recommenders.bandit import dense_features, feature_dim
from sim.testing import check_recommender, record_events, toy_model


def build(name: str, seed: int = 0, **params) -> sim.Recommender:
    rec = sim.make_recommender(name, params)
    rec.rng = np.random.default_rng(seed)
    return rec


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
@pytest.mark.parametrize(
    "params",
    [{}, {"method": "ucb"}, {"reward": "weighted", "half_life": 2.0, "pooled_prior": False, "v": 0.0}],
)
def test_bandit_conforms(params):
    check_recommender("bandit", params)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"epsilon": 0.5, "base": "bandit", "base_params": {"method": "ucb"}},
        {"epsilon": 1.0},
        {"epsilon": 0.0, "base": "chronological"},
    ],
)
def test_epsilon_greedy_conforms(params):
    check_recommender("epsilon_greedy", params)


@pytest.mark.parametrize(
    "name, params, field",
    [
        ("bandit", {"v": -0.1}, "v"),
        ("bandit", {"alpha": -1.0}, "alpha"),
        ("bandit", {"method": "greedy"}, "method"),
        ("bandit", {"reward": "views"}, "reward"),
        ("bandit", {"prior_precision": 0.0}, "prior_precision"),
        ("bandit", {"half_life": 0.0}, "half_life"),
        ("epsilon_greedy", {"epsilon": 1.5}, "epsilon"),
        ("epsilon_greedy", {"epsilon": -0.1}, "epsilon"),
        ("epsilon_greedy", {"base": "no_such_recommender"}, "base"),
        ("epsilon_greedy", {"base": "oracle"}, "base"),
        ("epsilon_greedy", {"base": "bandit", "base_params": {"v": -1.0}}, "base_params"),
    ],
)
def test_bad_params_name_the_recommender_and_the_param(name, params, field):
    with pytest.raises(sim.RecommenderError) as err:
        sim.make_recommender(name, params)
    assert f"'{name}'" in str(err.value) and f"'{field}'" in str(err.value)


# -- features and state ------------------------------------------------------------------
def test_features_and_memory():
    model = toy_model()
    view = model.view
    x = dense_features(view, np.arange(view.n_videos))
    assert x.shape == (view.n_videos, feature_dim(4)) == (view.n_videos, 13)
    assert np.array_equal(x[:, :4], view.tags[: view.n_videos])
    assert (x[:, 4:8].sum(axis=1) == 1).all() and (x[:, 8:12].sum(axis=1) == 1).all() and (x[:, 12] == 1).all()
    rec = build("bandit")
    rec.observe(record_events(model, [0, 0, 5], [1, 2, 3], liked=[True, False, True]), view)
    # packed upper triangles: d (d + 1) / 2 floats per user, for every user id
    assert rec.A.shape == (view.n_users, 13 * 14 // 2) and rec.A.dtype == np.float32
    full = np.zeros((13, 13))
    full[np.triu_indices(13)] = rec.A[0]
    expect = x[1][:, None] * x[1][None, :] + x[2][:, None] * x[2][None, :]
    assert np.allclose(np.triu(expect), full)
    assert np.allclose(rec.b[0], x[1]) and np.allclose(rec.b[5], x[3]) and not rec.b[1].any()


# -- hand-made worlds with known rankings --------------------------------------------------
def tagged(view, topic: int) -> np.ndarray:
    return view.tags[: view.n_videos, topic]


def test_learns_a_users_topic_and_cold_starts_at_the_pooled_model():
    model = toy_model(seed=1)  # 51 videos, 13 of them tagged with topic 0
    view = model.view
    vids = np.arange(view.n_videos)
    hot = vids[tagged(view, 0)]
    cold = vids[~tagged(view, 0)]
    users = np.repeat([0, 1, 2], len(hot) + len(cold))
    videos = np.tile(np.concatenate([hot, cold]), 3)
    liked = np.tile(np.concatenate([np.ones(len(hot)), np.zeros(len(cold))]), 3)
    events = record_events(model, users, videos, liked=liked)
    for pooled in (True, False):
        rec = build("bandit", v=0.0, pooled_prior=pooled)
        rec.observe(events, view)
        scores = rec.score(np.array([0, 59]), vids, view)
        top = np.argsort(-scores[0])[:5]
        assert tagged(view, 0)[top].all()
        assert scores[0][tagged(view, 0)].mean() > scores[0][~tagged(view, 0)].mean() + 0.3
        if pooled:  # a user never seen starts at the population's model
            assert scores[1][tagged(view, 0)].mean() > scores[1][~tagged(view, 0)].mean() + 0.2
        else:  # ... or at zero
            assert np.allclose(scores[1], 0.0)
        parts = rec.explain(0, vids, view)
        assert set(parts) == {"expected reward", "exploration"}
        assert np.allclose(parts["exploration"], 0.0)  # v = 0: no exploration


def test_ucb_bonus_is_larger_for_features_the_user_has_not_seen():
    model = toy_model(seed=1)
    view = model.view
    vids = np.arange(view.n_videos)
    seen = vids[tagged(view, 2) & tagged(view, 3)]
    assert 2 <= len(seen) < len(vids)
    rec = build("bandit", method="ucb", alpha=1.0)
    rec.observe(record_events(model, np.zeros(len(seen) * 5, int), np.tile(seen, 5)), view)
    parts = rec.explain(0, vids, view)
    assert set(parts) == {"expected reward", "exploration"}
    familiar = tagged(view, 2) & tagged(view, 3)
    assert parts["exploration"][~familiar].min() > parts["exploration"][familiar].max()
    # the exact bonus: alpha * sqrt(x^T A^-1 x)
    x = dense_features(view, vids)
    xs = dense_features(view, np.tile(seen, 5))
    a_inv = np.linalg.inv(2.0 * np.eye(13) + xs.T @ xs)
    assert np.allclose(parts["exploration"], np.sqrt(np.einsum("ci,ij,cj->c", x, a_inv, x)), rtol=1e-4)


def test_forgetting_follows_a_changed_taste():
    model = toy_model(seed=1)
    view = model.view
    vids = np.arange(view.n_videos)
    only0 = vids[tagged(view, 0) & ~tagged(view, 2)][:6]
    only1 = vids[tagged(view, 2) & ~tagged(view, 0)][:3]
    old = record_events(model, np.zeros(len(only0) * 3, int), np.tile(only0, 3), liked=np.ones(len(only0) * 3), step=0)
    new = record_events(model, np.zeros(len(only1) * 3, int), np.tile(only1, 3), liked=np.ones(len(only1) * 3), step=20)
    model.view.step = 21
    gap = {}
    for half_life in (None, 1.0):
        rec = build("bandit", v=0.0, pooled_prior=False, half_life=half_life)
        rec.observe(old, view)
        rec.observe(new, view)
        s = rec.score(np.array([0]), vids, view)[0]
        gap[half_life] = s[tagged(view, 0) & ~tagged(view, 2)].mean() - s[tagged(view, 2) & ~tagged(view, 0)].mean()
    assert gap[None] > 0 > gap[1.0]


def planted_regret(rec: sim.Recommender, rounds: int = 25) -> float:
    """Cumulative regret of serving each user the top video, against planted like rates."""
    model = toy_model(seed=1)
    view = model.view
    vids = np.arange(view.n_videos)
    users = np.arange(view.n_users)
    favourite = users % view.n_topics
    p = 0.05 + 0.6 * view.tags[: view.n_videos][:, favourite].T  # (users, videos)
    best = p.max(axis=1)
    coin = np.random.default_rng(7)
    regret = 0.0
    for t in range(rounds):
        model.view.step = t
        chosen = vids[np.argmax(rec.score(users, vids, view), axis=1)]
        got = p[users, chosen]
        regret += float((best - got).sum())
        rec.observe(record_events(model, users, chosen, liked=coin.random(len(users)) < got, step=t), view)
    return regret


@pytest.mark.parametrize("params", [{}, {"method": "ucb"}, {"reward": "weighted", "v": 0.2}])
def test_regret_on_planted_rewards_falls_well_below_random(params):
    bandit = planted_regret(build("bandit", **params))
    random = planted_regret(build("random"))
    assert bandit < 0.5 * random


# -- epsilon-greedy ----------------------------------------------------------------------
def test_epsilon_zero_is_the_base_and_one_is_random():
    model = toy_model()
    view = model.view
    users = np.arange(view.n_users, dtype=np.int64)
    vids = np.arange(view.n_videos, dtype=np.int64)
    events = record_events(model, [0, 1, 2, 3], [4, 4, 5, 6], liked=[True, True, False, True])
    for base, params in (("popularity", {}), ("bandit", {"v": 0.3})):
        wrapped, alone = build("epsilon_greedy", 3, base=base, base_params=params, epsilon=0.0), build(base, 3, **params)
        wrapped.observe(events, view)  # forwarded to the base
        alone.observe(events, view)
        assert np.array_equal(wrapped.score(users, vids, view), alone.score(users, vids, view))
    wrapped, alone = build("epsilon_greedy", 5, epsilon=1.0), build("random", 5)
    assert np.array_equal(wrapped.score(users, vids, view), alone.score(users, vids, view))
    assert set(wrapped.explain(0, vids, view)) == {"exploration"}


def test_intermediate_epsilon_explores_that_share_of_rows():
    model = toy_model(world={"n_users": 4000})
    view = model.view
    users = np.arange(4000, dtype=np.int64)
    vids = np.arange(view.n_videos, dtype=np.int64)
    rec, pop = build("epsilon_greedy", 1, base="popularity", epsilon=0.3), build("popularity")
    events = record_events(model, [0, 1, 2], [4, 4, 5], liked=[True, True, True])
    rec.observe(events, view)
    pop.observe(events, view)
    base = pop.score(users[:1], vids, view)[0]
    scores = rec.score(users, vids, view)
    exploring = ~np.all(scores == base, axis=1)
    assert abs(exploring.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 4000)
    assert ((scores[exploring] >= 0) & (scores[exploring] < 1)).all()
    # explain: the base's parts for exploiting users, "exploration" for exploring ones
    kinds = {tuple(sorted(rec.explain(u, vids, view))) for u in range(60)}
    assert kinds == {("score",), ("exploration",)}


def test_epsilon_greedy_refuses_a_privileged_base():
    with pytest.raises(sim.RecommenderError, match="privileged"):
        sim.make_recommender("epsilon_greedy", {"base": "oracle"})


# -- in the loop -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, params",
    [
        ("bandit", {}),
        ("bandit", {"method": "ucb"}),
        ("bandit", {"reward": "weighted"}),
        ("epsilon_greedy", {"base": "popularity", "epsilon": 0.1}),
    ],
)
def test_beats_random_in_the_loop(name, params, random_utility):
    assert loop_utility(name, **params) > random_utility + 0.1

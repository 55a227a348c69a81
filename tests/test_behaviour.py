"""Behaviour: utility, responses, sessions, drift, satiation, retention."""

from __future__ import annotations

import numpy as np

from sim.behaviour import Responses, UtilityModel, drift_and_satiate, respond, sigmoid, update_retention
from sim.model import FeedModel

from .conftest import small


def warm_model(**over):
    model = FeedModel(small(**over))
    model.step()
    return model


def test_utility_outer_block_equals_pairwise():
    model = warm_model()
    users = np.arange(7)
    videos = np.arange(model.world.videos.n)[-11:]
    block = model.utility(users[:, None], videos[None, :])
    pairs = model.utility(np.repeat(users, 11)[:, None], np.tile(videos, 7)[:, None]).reshape(7, 11)
    np.testing.assert_allclose(block, pairs, rtol=1e-5, atol=1e-5)
    feed_rows = model.utility(users[:, None], np.tile(videos, (7, 1)))  # one row of impressions per user
    np.testing.assert_allclose(block, feed_rows, rtol=1e-5, atol=1e-5)


def test_utility_rises_with_topic_match_and_quality():
    model = warm_model(behaviour={"utility_noise": 0.0})
    w = model.world
    user = 0
    topics = w.videos.latent.column("topics")
    match = topics @ w.users.taste[user]
    u = model.utility(np.array([[user]]), np.arange(w.videos.n)[None, :])[0]
    assert np.corrcoef(match, u)[0, 1] > 0.3
    q = w.videos.latent.column("quality")
    assert np.corrcoef(q, u)[0, 1] > 0.1


def test_responses_are_consistent():
    model = warm_model(behaviour={"share_intercept": -3.0})
    users = np.arange(300)
    feeds = np.tile(np.arange(model.world.videos.n)[-10:], (300, 1))
    feeds[:5, 7:] = -1  # short feeds
    r = respond(model.utility, users, feeds, model.config.behaviour, np.random.default_rng(0))
    v = r.viewed
    assert v[:, 0].all()  # every visitor sees the first slot
    assert (np.diff(v.astype(int), axis=1) <= 0).all()  # views are a prefix: no gaps
    assert not v[:5, 7:].any()
    for signal in (r.liked, r.shared, r.commented):
        assert not (signal & ~v).any() and not (signal & r.skipped).any()
    assert np.isnan(r.utility[~v]).all() and not np.isnan(r.utility[v]).any()
    assert (r.session_length == v.sum(axis=1)).all()


def test_like_probability_follows_the_logistic_model():
    model = warm_model(behaviour={"like_propensity_sd": 0.0, "like_bait_effect": 0.0, "skip_seconds": 0.0})
    users = np.arange(400)
    feeds = np.tile(np.arange(model.world.videos.n)[-10:], (400, 1))
    r = respond(model.utility, users, feeds, model.config.behaviour, np.random.default_rng(1))
    cfg = model.config.behaviour
    expected = sigmoid(cfg.like_intercept + cfg.like_utility * r.utility[r.viewed]).mean()
    assert abs(r.liked[r.viewed].mean() - expected) < 0.02


def test_like_bait_raises_likes_not_utility():
    base = warm_model(behaviour={"utility_noise": 0.0})
    lat = base.world.videos.latent
    users = np.arange(400)
    feeds = np.tile(np.arange(base.world.videos.n)[-10:], (400, 1))
    cfg = base.config.behaviour
    lat.writable("like_bait")[:] = 0.0
    r0 = respond(base.utility, users, feeds, cfg, np.random.default_rng(2))
    lat.writable("like_bait")[:] = 1.0
    r1 = respond(base.utility, users, feeds, cfg, np.random.default_rng(2))
    assert r1.liked.mean() > 1.5 * r0.liked.mean()
    np.testing.assert_array_equal(r0.utility, r1.utility)


def test_sessions_end_earlier_when_the_feed_disappoints():
    model = warm_model()
    users = np.arange(400)
    cfg = model.config.behaviour
    all_videos = np.arange(model.world.videos.n)
    u = model.utility(users[:, None], all_videos[None, :])
    best = np.argsort(-u, axis=1)[:, :10]
    worst = np.argsort(u, axis=1)[:, :10]
    good = respond(model.utility, users, all_videos[best], cfg, np.random.default_rng(3))
    bad = respond(model.utility, users, all_videos[worst], cfg, np.random.default_rng(3))
    assert good.session_length.mean() > bad.session_length.mean() + 1
    assert np.median(good.watch_ratio[good.viewed]) > np.median(bad.watch_ratio[bad.viewed])


def test_drift_moves_taste_toward_watched_topics_and_satiation_builds():
    model = warm_model(behaviour={"plasticity_mean": 0.2})
    w = model.world
    users = np.arange(50)
    topics = w.videos.latent.column("topics")
    target = int(np.argmax(topics[:, 0]))  # the video most about topic 0
    feeds = np.full((50, 10), target)
    viewed = np.ones((50, 10), bool)
    resp = Responses(viewed, np.zeros((50, 10), np.float32), np.ones((50, 10), np.float32), *(np.zeros((50, 10), bool),) * 5)
    before = w.users.taste[users].copy()
    drift_and_satiate(w, users, feeds, resp, model.config.behaviour)
    after = w.users.taste[users]
    dist_before = np.abs(before - topics[target]).sum(axis=1)
    dist_after = np.abs(after - topics[target]).sum(axis=1)
    moved = w.users.plasticity[users] > 0
    assert (dist_after[moved] < dist_before[moved]).all()
    np.testing.assert_allclose(after.sum(axis=1), 1.0, rtol=1e-5)
    assert (w.users.satiation[users] @ topics[target] > 0).all()


def test_low_satisfaction_churns_more():
    model = warm_model()
    w = model.world
    users = np.arange(400)
    cfg = model.config.behaviour
    viewed = np.ones((400, 10), bool)
    zeros = np.zeros((400, 10), bool)
    happy = Responses(viewed, np.full((400, 10), 2.0, np.float32), np.ones((400, 10), np.float32), *(zeros,) * 5)
    sad = Responses(viewed, np.full((400, 10), -3.0, np.float32), np.ones((400, 10), np.float32), *(zeros,) * 5)
    w.users.satisfaction[:] = 0
    churn_happy = sum(update_retention(w, users, happy, cfg, np.random.default_rng(i)) for i in range(5))
    w.users.churned[:] = False
    w.users.satisfaction[:] = 0
    churn_sad = sum(update_retention(w, users, sad, cfg, np.random.default_rng(i)) for i in range(5))
    assert churn_sad > churn_happy + 5

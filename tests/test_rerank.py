"""Re-rankers and user controls: hand-made lists, then in the loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.rerank import RerankContext, make_reranker
from sim.testing import toy_model

from .conftest import small


def context(model, candidates, users=None, dial=None, seen=()):
    users = np.arange(1) if users is None else users
    seen_keys = {(r, c) for r, c in seen}

    def is_seen(rows, cols):
        return np.array([(int(r), int(c)) in seen_keys for r, c in zip(rows, cols)], dtype=bool)

    dial = np.full(len(users), np.nan) if dial is None else np.asarray(dial, dtype=float)
    return RerankContext(users, candidates, model.view, 4, np.random.default_rng(0), is_seen, dial)


def stocked_model():
    """A toy world with a few hundred videos uploaded."""
    model = toy_model(world={"n_topics": 8, "n_segments": 4, "segment_concentration": 1.0})
    for s in range(8):
        model.world.upload(s, np.random.default_rng(s))
    return model


def test_mmr_with_zero_lambda_keeps_the_order_and_with_high_lambda_diversifies():
    model = stocked_model()
    tags = model.view.tags
    t0 = int(tags.sum(axis=0).argmax())
    first_topic = np.flatnonzero(tags[:, t0])[:6]
    other = np.flatnonzero(~tags[:, t0])[:2]
    candidates = np.concatenate([first_topic, other])
    cols = np.arange(8)[None, :]
    scores = np.linspace(1.0, 0.3, 8)[None, :]  # topic-0 videos score highest
    same = make_reranker("mmr", {"lam": 0.0}).rerank(cols, scores, context(model, candidates))
    assert same.tolist() == [[0, 1, 2, 3]]
    diverse = make_reranker("mmr", {"lam": 0.9}).rerank(cols, scores, context(model, candidates))
    assert diverse[0, 0] == 0  # the most relevant still leads
    assert set(diverse[0]) & {6, 7}  # a video outside the common topic moves up into the feed


def test_mmr_honours_the_users_diversity_dial():
    model = stocked_model()
    tags = model.view.tags
    t0 = int(tags.sum(axis=0).argmax())
    candidates = np.concatenate([np.flatnonzero(tags[:, t0])[:6], np.flatnonzero(~tags[:, t0])[:2]])
    cols = np.tile(np.arange(8), (2, 1))
    scores = np.tile(np.linspace(1.0, 0.3, 8), (2, 1))
    out = make_reranker("mmr", {"lam": 0.0}).rerank(cols, scores, context(model, candidates, np.arange(2), [np.nan, 0.9]))
    assert out[0].tolist() == [0, 1, 2, 3]  # no dial: the re-ranker's lam (0)
    assert set(out[1]) & {6, 7}  # the dial (0.9) diversifies this user's feed


def test_calibrated_matches_the_users_topic_history():
    model = stocked_model()
    tags = model.view.tags
    t0, t1 = np.argsort(-tags.sum(axis=0))[:2]
    a = np.flatnonzero(tags[:, t0] & ~tags[:, t1])[:6]
    b = np.flatnonzero(tags[:, t1] & ~tags[:, t0])[:2]
    assert len(a) == 6 and len(b) == 2
    rr = make_reranker("calibrated", {"lam": 0.9})
    # history: half topic 0, half topic 1
    events = sim.testing.record_events(model, [0] * 4, np.concatenate([a[:2], b[:2]]))
    rr.observe(events, model.view)
    candidates = np.concatenate([a, b])
    cols = np.arange(8)[None, :]
    scores = np.linspace(1.0, 0.5, 8)[None, :]
    out = rr.rerank(cols, scores, context(model, candidates))
    assert set(out[0]) & {6, 7}  # topic-1 videos enter although they score lowest
    plain = make_reranker("calibrated", {"lam": 0.0}).rerank(cols, scores, context(model, candidates))
    assert plain.tolist() == [[0, 1, 2, 3]]


def test_creator_cap_keeps_at_most_n_per_creator():
    model = stocked_model()
    creator = model.view.creator
    c0 = np.flatnonzero(creator == creator[0])[:4]
    others = np.flatnonzero(creator != creator[0])[:4]
    candidates = np.concatenate([c0, others])
    cols = np.arange(8)[None, :]
    out = make_reranker("creator_cap", {"max_per_creator": 2}).rerank(cols, np.zeros((1, 8)), context(model, candidates))
    assert out[0, :4].tolist() == [0, 1, 4, 5]
    assert (out[0] >= 0).sum() == 6


def test_explore_fills_slots_with_unseen_videos_outside_the_shortlist():
    model = toy_model()
    candidates = np.arange(40)
    cols = np.arange(8)[None, :]
    scores = np.zeros((1, 8))
    seen = [(0, c) for c in range(8, 20)]
    out = make_reranker("explore", {"share": 1.0}).rerank(cols, scores, context(model, candidates, seen=seen))
    assert (out[0] >= 20).all() and len(set(out[0])) == 4
    none = make_reranker("explore", {"share": 0.0}).rerank(cols, scores, context(model, candidates))
    assert none.tolist() == [[0, 1, 2, 3]]


def test_bad_reranker_config_is_one_line():
    with pytest.raises(sim.RecommenderError, match="re-ranker 'mmr': param 'lam'"):
        make_reranker("mmr", {"lam": 1.5})
    with pytest.raises(sim.RecommenderError, match="unknown re-ranker 'shuffle'"):
        sim.run(small(steps=1, feed={"rerankers": [{"name": "shuffle"}]}), write=False)


def feeds_of(model):
    log = model.log.to_frame()
    return log[log.share_parent < 0]


def test_in_the_loop_mmr_diversifies_and_creator_cap_caps():
    base = sim.run(small(steps=6), write=False).model
    mmr = sim.run(small(steps=6, feed={"rerankers": [{"name": "mmr", "params": {"lam": 0.7}}]}), write=False).model
    capped = sim.run(small(steps=6, feed={"rerankers": [{"name": "creator_cap", "params": {"max_per_creator": 1}}]}), write=False).model

    def distinct_topics(model):
        f = feeds_of(model)
        dominant = model.view.tags[f.video].argmax(axis=1)
        return pd.Series(dominant, index=f.index).groupby([f.step, f.user]).nunique().mean()

    assert distinct_topics(mmr) > distinct_topics(base) + 0.3
    f = feeds_of(capped)
    per_creator = pd.Series(capped.view.creator[f.video], index=f.index).groupby([f.step, f.user]).value_counts()
    assert per_creator.max() == 1
    f0 = feeds_of(base)
    assert pd.Series(base.view.creator[f0.video], index=f0.index).groupby([f0.step, f0.user]).value_counts().max() > 1


def test_not_interested_hides_the_creator_from_then_on():
    model = sim.FeedModel(small(steps=12, behaviour={"not_interested_intercept": -2.0}))
    for _ in range(12):
        model.step()
    log = model.log.to_frame()
    log["creator"] = model.view.creator[log.video]
    ni = log[log.not_interested].groupby(["user", "creator"]).step.min().rename("ni_step")
    after = log.join(ni, on=["user", "creator"], how="inner")
    assert len(ni) > 20
    assert (after.step <= after.ni_step).all()  # nothing from that creator after the step it was hidden


def test_not_interested_topic_scope_hides_tagged_topics():
    model = sim.FeedModel(small(steps=10, behaviour={"not_interested_intercept": -2.0}, controls={"not_interested_scope": "topic"}))
    for _ in range(10):
        model.step()
    log = model.log.to_frame()
    blocked = model.controls.blocked_topics
    assert blocked.any()
    last = log[log.step == 9]
    # what was shown at the last step avoided topics blocked before it
    blocked_before = np.zeros_like(blocked)
    early = log[(log.step < 9) & log.not_interested]
    r, t = np.nonzero(model.view.tags[early.video.to_numpy()])
    blocked_before[early.user.to_numpy()[r], t] = True
    hits_before = (blocked_before[last.user.to_numpy()] & model.view.tags[last.video.to_numpy()]).any(axis=1)
    assert not hits_before.any()


def test_explanations_are_kept_for_sampled_users_and_change_nothing():
    quiet = sim.run(small(steps=4, recommender={"name": "random"}, feed={"explain_users": 0}), write=False)
    loud = sim.run(small(steps=4, recommender={"name": "random"}, feed={"explain_users": 6}), write=False)
    pd.testing.assert_frame_equal(quiet.metrics, loud.metrics)
    frame = loud.model.explanations_frame()
    assert set(frame.step) == {0, 1, 2, 3}
    assert frame.groupby("step").user.nunique().max() == 6
    pop = sim.run(small(steps=3, feed={"explain_users": 4, "inbox": False}), write=False).model
    f = pop.explanations_frame()
    totals = f.groupby(["step", "user", "slot"]).value.sum().reset_index()
    # without re-rankers a feed is in score order: explained totals fall with the slot
    for _, g in totals.groupby(["step", "user"]):
        assert (np.diff(g.sort_values("slot").value.to_numpy()) <= 1e-9).all()


def test_explanations_score_the_feed_against_the_whole_pool():
    """Chronological scores recency as a rank over the pool: explained against the pool, the
    first step's feed holds its top ranks (C-1)/C, (C-2)/C, ... exactly."""
    scenario = small(
        steps=1, recommender={"name": "chronological", "params": {"followed_first": False}},
        holdout={"fraction": 0.0}, feed={"explain_users": 3, "inbox": False},
    )
    model = sim.run(scenario, write=False).model
    frame = model.explanations_frame()
    c = model.world.videos.n  # after one step the pool is every video uploaded (fewer than n_candidates)
    assert c < scenario.feed.n_candidates
    for _, g in frame.groupby("user"):
        values = g.sort_values("slot").value.to_numpy()
        np.testing.assert_allclose(values, (c - 1 - np.arange(len(values))) / c)

"""mf: matrix factorisation of implicit feedback (implicit's ALS), refits and fold-in."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sim
import sim.recommenders.mf  # noqa: F401  (registers "mf")
from sim.testing import check_recommender, record_events, toy_model


def build(**params) -> sim.Recommender:
    rec = sim.make_recommender("mf", params)
    rec.rng = np.random.default_rng(0)
    return rec


# -- the contract ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [{}, {"signal": "weighted", "refit_every": 1, "factors": 8}, {"refit_every": 2, "num_threads": 1, "alpha": 40.0}],
)
def test_conforms(params):
    check_recommender("mf", params)


@pytest.mark.parametrize(
    "params, param",
    [({"factors": 0}, "factors"), ({"alpha": 0.0}, "alpha"), ({"signal": "views"}, "signal"),
     ({"refit_every": 0}, "refit_every"), ({"regularization": -1.0}, "regularization"),
     ({"num_threads": -1}, "num_threads"), ({"iterations": 0}, "iterations")],
)
def test_bad_params_name_the_recommender_and_the_param(params, param):
    with pytest.raises(sim.RecommenderError) as err:
        sim.make_recommender("mf", params)
    assert "'mf'" in str(err.value) and repr(param) in str(err.value)


# -- a planted low-rank structure --------------------------------------------------------------
GROUP_A, GROUP_B = np.arange(0, 20), np.arange(20, 40)
VIDEOS_A, VIDEOS_B = np.arange(0, 12), np.arange(12, 24)


def planted(rec: sim.Recommender):
    """Two groups of users who like two disjoint sets of videos; each user likes 7 of their
    group's 12 videos, the other 5 are held out."""
    model = toy_model(world={"upload_rate": 4.0, "upload_rate_sigma": 0.0})
    rng = np.random.default_rng(5)
    users, videos, held = [], [], {}
    for group, vids in ((GROUP_A, VIDEOS_A), (GROUP_B, VIDEOS_B)):
        for u in group:
            order = rng.permutation(vids)
            users += [u] * 7
            videos += list(order[:7])
            held[u] = order[7:]
    events = record_events(model, users, videos, liked=np.ones(len(users), bool), step=0)
    rec.observe(events, model.view)
    return model, held


def test_recovers_a_planted_low_rank_structure():
    rec = build(factors=2)  # the planted rank
    model, held = planted(rec)
    cands = np.arange(24, dtype=np.int64)
    users = np.arange(40, dtype=np.int64)
    scores = rec.score(users, cands, model.view)
    for u in users:
        own, other = (VIDEOS_A, VIDEOS_B) if u < 20 else (VIDEOS_B, VIDEOS_A)
        assert scores[u, held[u]].min() > scores[u, other].max(), u
    parts = rec.explain(3, cands, model.view)
    assert set(parts) == {"latent match", "cold-start prior"}
    np.testing.assert_allclose(parts["latent match"] + parts["cold-start prior"], scores[3], rtol=1e-5, atol=1e-6)


def test_new_users_and_new_videos_are_folded_in_between_refits():
    rec = build(factors=2, refit_every=5)
    model, _ = planted(rec)
    users_before = rec.user_factors.copy()
    # step 1: a new user (50) likes three of A's videos; a new video (30) is liked by five of A's users
    users = [50, 50, 50] + list(GROUP_A[:5])
    videos = [0, 1, 2] + [30] * 5
    rec.observe(record_events(model, users, videos, liked=np.ones(8, bool), step=1), model.view)
    np.testing.assert_array_equal(rec.user_factors[:40], users_before[:40])  # no refit: fitted users stay
    cands = np.concatenate([VIDEOS_A[3:], VIDEOS_B, [30]]).astype(np.int64)
    row = rec.score(np.array([50]), cands, model.view)[0]
    assert row[: len(VIDEOS_A) - 3].min() > row[len(VIDEOS_A) - 3 : -1].max()  # the new user's group
    new_video = rec.score(np.concatenate([GROUP_A[10:], GROUP_B]), np.array([30]), model.view)[:, 0]
    assert new_video[:10].min() > new_video[10:].max()  # the new video's audience
    assert np.abs(rec.score(np.array([55]), cands, model.view)).max() == 0  # no history, no trend: 0


def test_cold_start_prior_orders_new_users_by_trending():
    model = toy_model()
    rec = build(prior_weight=0.2)
    model.counters.update(model.view.n_videos, np.array([3, 3, 8]), np.array([True, True, False]))
    rec.observe(record_events(model, [0, 1], [1, 1], liked=[True, True]), model.view)
    cands = np.array([3, 5, 8], dtype=np.int64)
    parts = rec.explain(9, cands, model.view)  # user 9: no history
    assert parts["latent match"].tolist() == [0.0, 0.0, 0.0]
    assert parts["cold-start prior"][0] == pytest.approx(0.2) and parts["cold-start prior"][0] > parts[
        "cold-start prior"][2] > parts["cold-start prior"][1] == 0


def test_weighted_signal_counts_not_interested_as_a_confident_zero():
    rec = build(signal="weighted", factors=4)
    model = toy_model(world={"upload_rate": 4.0, "upload_rate_sigma": 0.0})
    users = [u for u in range(30) for _ in range(3)]
    videos = [v for _ in range(30) for v in (0, 1, 2)]
    liked = [True, True, False] * 30
    ni = [False, False, True] * 30
    rec.observe(record_events(model, users, videos, liked=liked, not_interested=ni), model.view)
    row = rec.score(np.array([0]), np.array([0, 1, 2], dtype=np.int64), model.view)[0]
    assert min(row[0], row[1]) > 0.5 > 0 > row[2]


def test_refit_limits_blas_threads_without_warning():
    rec = build(refit_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        planted(rec)
        rec.refit()
    assert rec.user_factors.shape[1] == rec.factors == 64


# -- in the loop -------------------------------------------------------------------------------
def test_beats_random_in_the_loop():
    def utility(name: str) -> float:
        scenario = sim.Scenario(
            steps=8, world={"n_users": 400, "n_creators": 60}, feed={"n_candidates": 300}, recommender={"name": name}
        )
        return sim.run(scenario, write=False).summary["mean_utility"]

    assert utility("mf") > utility("random") + 0.02


def test_fold_in_retries_an_ill_conditioned_solve_with_more_regularization():
    """At 100,000 users a cold-start feed made every user like the same few videos; the
    float32 Cholesky of the next fold-in then failed (implicit: "posv failed ... Try
    increasing the regularization parameter"). The solve retries with 10x and 100x."""
    from sim.recommenders.mf import _solve

    class Solver:
        regularization = 0.1
        seen = []

        def recalculate_item(self, ids, rows):
            self.seen.append(self.regularization)
            if self.regularization < 1.0:
                raise ValueError("cython_lapack.posv failed (err=53) on row 0.")
            return np.ones((len(ids), 2))

    solver = Solver()
    out = _solve(solver.recalculate_item, np.arange(3), None)
    assert out.shape == (3, 2)
    assert solver.seen == pytest.approx([0.1, 1.0])
    assert solver.regularization == 0.1  # restored

    class Hopeless(Solver):
        seen = []

        def recalculate_item(self, ids, rows):
            self.seen.append(self.regularization)
            raise ValueError("posv failed")

    hopeless = Hopeless()
    with pytest.raises(ValueError):
        _solve(hopeless.recalculate_item, np.arange(3), None)
    assert hopeless.seen == pytest.approx([0.1, 1.0, 10.0]) and hopeless.regularization == 0.1

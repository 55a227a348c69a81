"""user_knn: users with similar histories (user-based collaborative filtering)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import sim
import sim.recommenders.user_knn as user_knn
from sim.testing import check_recommender, record_events, toy_model


def build(**params) -> sim.Recommender:
    rec = sim.make_recommender("user_knn", params)
    rec.rng = np.random.default_rng(0)
    return rec


# -- the contract ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [{}, {"signal": "weighted", "k": 3, "refit_every": 1}, {"prior_weight": 0.0, "refit_every": 2}],
)
def test_conforms(params):
    check_recommender("user_knn", params)


@pytest.mark.parametrize(
    "params, param",
    [({"k": 0}, "k"), ({"signal": "views"}, "signal"), ({"refit_every": 0}, "refit_every"),
     ({"prior_weight": -1.0}, "prior_weight"), ({"not_interested_weight": -0.5}, "not_interested_weight")],
)
def test_bad_params_name_the_recommender_and_the_param(params, param):
    with pytest.raises(sim.RecommenderError) as err:
        sim.make_recommender("user_knn", params)
    assert "user_knn" in str(err.value) and repr(param) in str(err.value)


# -- hand-made worlds -----------------------------------------------------------------------
def test_user_is_served_what_their_nearest_neighbour_liked():
    model = toy_model()
    rec = build(k=1)
    # user 0 likes 1, 2, 3; user 1 likes the same and 4 (the nearest neighbour);
    # users 2-6 like 5 and 6 (popular, but no one close to user 0 likes them).
    users = [0, 0, 0, 1, 1, 1, 1] + [u for u in range(2, 7) for _ in range(2)]
    videos = [1, 2, 3, 1, 2, 3, 4] + [5, 6] * 5
    rec.observe(record_events(model, users, videos, liked=[True] * len(users)), model.view)

    assert rec.neighbours[0].indices.tolist() == [1]
    cands = np.array([4, 5, 6, 7], dtype=np.int64)
    row = rec.score(np.array([0]), cands, model.view)[0]
    assert row.argmax() == 0 and row[0] > 0
    np.testing.assert_allclose(row[0], 3 / np.sqrt(3 * 4), rtol=1e-5)  # cosine of the two like rows
    assert np.all(row[1:] == 0)  # trending is 0 in the toy world: no prior either

    parts = rec.explain(0, cands, model.view)
    assert set(parts) == {"neighbour likes", "popularity prior"}
    np.testing.assert_allclose(parts["neighbour likes"] + parts["popularity prior"], row, rtol=1e-6)


def test_new_likes_count_at_once_and_neighbours_refit_on_schedule():
    model = toy_model()
    rec = build(k=2, refit_every=3)
    rec.observe(record_events(model, [0, 0, 1, 1, 2], [1, 2, 1, 2, 9], liked=[True] * 5, step=0), model.view)
    graph = rec.neighbours
    cands = np.array([7, 9], dtype=np.int64)
    assert rec.score(np.array([0]), cands, model.view)[0].tolist() == [0.0, 0.0]
    # step 1: user 1 (a neighbour) likes 7, user 3 (not yet anyone's neighbour) likes 1
    rec.observe(record_events(model, [1, 3], [7, 1], liked=[True, True], step=1), model.view)
    assert rec.neighbours is graph  # no refit before step 3
    row = rec.score(np.array([0]), cands, model.view)[0]
    assert row[0] > 0 and row[1] == 0  # the neighbour's new like counts at once
    assert rec.neighbours[3].nnz == 0  # user 3 waits for the refit
    rec.observe(record_events(model, [4], [13], liked=[True], step=3), model.view)
    assert rec.neighbours is not graph and rec.neighbours[3].nnz > 0


def test_weighted_signals_count_not_interested_against():
    model = toy_model()
    rec = build(signal="weighted", k=1)
    # users 0 and 1 share likes; user 1 also liked 4 and marked 9 "not interested"
    users, videos = [0, 0, 1, 1, 1, 1], [1, 2, 1, 2, 4, 9]
    liked = [True, True, True, True, True, False]
    ni = [False] * 5 + [True]
    rec.observe(record_events(model, users, videos, liked=liked, not_interested=ni), model.view)
    row = rec.score(np.array([0]), np.array([4, 7, 9], dtype=np.int64), model.view)[0]
    assert row[0] > row[1] == 0 > row[2]
    assert "neighbour signals" in rec.explain(0, np.array([4, 9]), model.view)


def test_users_without_neighbours_get_the_trending_order():
    model = toy_model()
    rec = build(prior_weight=0.5)
    model.counters.update(model.view.n_videos, np.array([3, 3, 3, 8]), np.array([True, False, True, False]))
    cands = np.array([3, 5, 8], dtype=np.int64)
    before = rec.score(np.array([0, 1]), cands, model.view)  # before any observation
    rec.observe(record_events(model, [0, 1], [1, 1], liked=[True, True]), model.view)
    after = rec.score(np.array([7]), cands, model.view)  # user 7 has no history
    for row in (before[0], before[1], after[0]):
        assert row[0] > row[2] > row[1] == 0
    assert row[0] == pytest.approx(0.5)  # the most trending candidate gets the whole weight


# -- neighbours: exact against brute force, whatever the block path ------------------------------
@pytest.mark.parametrize(
    "dense_work, dense_fraction, heavy_fraction, max_cells",
    [
        (1e9, 2.0, 0.1, 500),  # sparse blocks, sparse selection
        (1e9, 0.0, 0.1, 500),  # sparse blocks, dense selection
        (1e9, 0.25, 0.1, 10**9),  # one block
        (0.0, 0.25, 0.1, 2000),  # dense blocks: heavy videos through BLAS, the rest sparse
        (0.0, 0.25, 0.0, 2000),  # dense blocks, as many heavy videos as the cap allows
        (0.0, 0.25, 2.0, 2000),  # dense blocks, no heavy video
    ],
)
def test_nearest_neighbours_match_brute_force(monkeypatch, dense_work, dense_fraction, heavy_fraction, max_cells):
    monkeypatch.setattr(user_knn, "DENSE_WORK", dense_work)
    monkeypatch.setattr(user_knn, "DENSE_FRACTION", dense_fraction)
    monkeypatch.setattr(user_knn, "HEAVY_FRACTION", heavy_fraction)
    rng = np.random.RandomState(3)
    x = sp.random(120, 40, density=0.08, format="csr", dtype=np.float32, random_state=rng)
    popular = sp.random(120, 2, density=0.3, format="csr", dtype=np.float32, random_state=rng)  # two heavy videos
    x = (x + sp.hstack([popular, sp.csr_matrix((120, 38), dtype=np.float32)])).tocsr()
    x.data[:] = np.round(x.data * 4) + 1
    k = 5
    got = user_knn.nearest_neighbours(x, k, max_cells=max_cells)
    dense = x.toarray()
    norms = np.linalg.norm(dense, axis=1)
    cos = dense @ dense.T / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(cos, 0.0)
    for u in range(x.shape[0]):
        want = np.sort(cos[u][cos[u] > 1e-9])[::-1][:k]
        have = np.sort(got[u].data)[::-1]
        np.testing.assert_allclose(have, want, rtol=1e-5)
        np.testing.assert_allclose(got[u].data, cos[u, got[u].indices], rtol=1e-5)  # the right users


def test_signal_matrix_grows_and_sums():
    m = user_knn.SignalMatrix()
    m.add(np.array([0, 0]), np.array([1, 1]), np.array([1.0, 2.0], np.float32), 3, 4)
    m.add(np.array([2]), np.array([6]), np.array([1.0], np.float32), 3, 7)
    assert m.matrix.shape == (3, 7) and m.version == 2
    assert m.matrix[0, 1] == 3.0 and m.matrix[2, 6] == 1.0 and m.matrix.nnz == 2


# -- in the loop -------------------------------------------------------------------------------
def test_beats_random_in_the_loop():
    def utility(name: str) -> float:
        scenario = sim.Scenario(
            steps=8, world={"n_users": 400, "n_creators": 60}, feed={"n_candidates": 300}, recommender={"name": name}
        )
        return sim.run(scenario, write=False).summary["mean_utility"]

    assert utility("user_knn") > utility("random") + 0.02

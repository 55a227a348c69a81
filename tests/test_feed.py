"""Feed assembly: top-K selection, seen filtering, candidate pool, inbox."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.feed import candidate_pool, insert_inbox, top_k
from sim.model import FeedModel

from .conftest import small


def reference_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The values of each row's top k, best first, -inf padded (what any exact top-K returns)."""
    vals = -np.sort(-scores, axis=1)[:, :k]
    if vals.shape[1] < k:
        vals = np.pad(vals, ((0, 0), (0, k - vals.shape[1])), constant_values=-np.inf)
    return vals


def values_of(scores: np.ndarray, cols: np.ndarray) -> np.ndarray:
    padded = np.pad(scores, ((0, 0), (0, 1)), constant_values=-np.inf)
    return np.take_along_axis(padded, np.where(cols < 0, scores.shape[1], cols), axis=1)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.integers(1, 700).flatmap(
            lambda c: st.tuples(
                arrays(np.float32, (n, c), elements=st.sampled_from([-np.inf, 0.0, 0.5, 1.0, 2.0]) | st.floats(-5, 5, width=32)),
                st.integers(1, 20),
            )
        )
    )
)
def test_top_k_is_exact_on_any_block(case):
    scores, k = case
    cols = top_k(scores, k)
    assert cols.shape == (scores.shape[0], k)
    np.testing.assert_array_equal(values_of(scores, cols), reference_top_k(scores, k))
    for row in cols:  # no column twice, -1 only at the end
        valid = row[row >= 0]
        assert len(set(valid.tolist())) == len(valid)
        assert (row[len(valid):] == -1).all()


def test_top_k_large_block_matches_argsort():
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((300, 2000)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    cols = top_k(scores, 10)
    np.testing.assert_array_equal(cols, np.argsort(-scores, axis=1, kind="stable")[:, :10])


def test_candidate_pool_is_fresh_trending_and_followed():
    scenario = small(steps=8, feed={"n_candidates": 200, "fresh_share": 0.4, "trending_share": 0.4, "followed_share": 0.1})
    model = FeedModel(scenario)
    for _ in range(8):
        model.step()
    view = model.view
    view.step = 8
    model.world.upload(8, model.streams.at("uploads", 8))
    pool = candidate_pool(view, scenario.feed, scenario.world.video_max_age, np.random.default_rng(0))
    assert len(pool) == 200 and len(np.unique(pool)) == 200
    newest = np.arange(view.n_videos)[-80:]
    assert np.isin(newest, pool).all()  # the fresh share is the newest uploads
    first_alive = np.searchsorted(view.upload_step, 8 - scenario.world.video_max_age + 1)
    alive = np.arange(first_alive, view.n_videos)
    older = alive[~np.isin(alive, newest)]
    top_trending = older[np.argsort(-view.trending[older], kind="stable")[:40]]
    assert np.isin(top_trending, pool).mean() > 0.9
    assert (view.upload_step[pool] > 8 - scenario.world.video_max_age).all()


def test_inbox_item_goes_first_without_repeats():
    feeds = np.array([[10, 11, 12, 13], [20, 21, 22, 23], [30, 31, -1, -1]])
    inbox = np.array([12, -1, 99])
    rows, from_inbox = insert_inbox(feeds, inbox, np.array([0, 1, 2]))
    assert rows.tolist() == [[12, 10, 11, 13], [20, 21, 22, 23], [99, 30, 31, -1]]
    assert from_inbox[:, 0].tolist() == [True, False, True] and not from_inbox[:, 1:].any()


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.integers(1, 300).flatmap(
            lambda c: st.tuples(
                st.just(n),
                arrays(np.float32, (c,), elements=st.sampled_from([0.0, 1.0, 2.0]) | st.floats(-3, 3, width=32)),
                arrays(np.bool_, (n, c)),
                st.integers(1, 15),
            )
        )
    )
)
def test_shared_ranking_fast_path_equals_masked_top_k(case):
    from sim.feed import mask_and_select, select_shared_ranking

    n, row, seen, k = case
    rows, cols = np.nonzero(seen)
    fast = select_shared_ranking(row.copy(), n, rows, cols, k)
    masked = np.broadcast_to(row, (n, len(row))).copy()
    slow = mask_and_select(masked.copy(), rows, cols, k)
    masked[rows, cols] = -np.inf
    # Both are exact: the same values in the same order (columns may differ among ties).
    np.testing.assert_array_equal(values_of(masked, fast), values_of(masked, slow))
    np.testing.assert_array_equal(fast < 0, slow < 0)
    for r in fast:  # unseen columns only, none twice
        valid = r[r >= 0]
        assert len(set(valid.tolist())) == len(valid)

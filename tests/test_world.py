"""World generation: tastes, creators, videos, traits, the friend graph."""

from __future__ import annotations

import numpy as np

from sim.rng import Streams, pair_noise
from sim.social import FriendGraph, route_shares, stochastic_block_edges
from sim.world import World

from .conftest import small


def make_world(**over):
    scenario = small(**over)
    return World(scenario, Streams.from_seed(scenario.seed).world), scenario


def test_tastes_are_on_the_simplex_and_cluster_by_segment():
    world, _ = make_world(world={"n_users": 2000})
    u = world.users
    np.testing.assert_allclose(u.taste.sum(axis=1), 1.0, rtol=1e-5)
    assert (u.taste >= 0).all()
    # A user's taste is nearer its own segment's centroid than the other centroids, mostly.
    d = np.linalg.norm(u.taste[:, None, :] - world.centroids[None], axis=2)
    assert (d.argmin(axis=1) == u.segment).mean() > 0.8


def test_segment_shares_set_the_size_of_each_segment_for_users_and_creators():
    shares = [0.05, 0.35, 0.6]
    world, _ = make_world(world={"n_users": 8000, "n_creators": 2000, "n_segments": 3, "segment_shares": shares})
    np.testing.assert_allclose(np.bincount(world.users.segment, minlength=3) / 8000, shares, atol=0.015)
    np.testing.assert_allclose(np.bincount(world.creators.home_segment, minlength=3) / 2000, shares, atol=0.03)
    uniform, _ = make_world(world={"n_users": 8000, "n_segments": 3})
    np.testing.assert_allclose(np.bincount(uniform.users.segment, minlength=3) / 8000, 1 / 3, atol=0.02)


def test_segment_shares_must_match_the_segments_and_sum_to_one():
    import pytest

    import sim

    with pytest.raises(sim.ScenarioError, match="world: segment_shares has 2 values for 8 segments"):
        sim.Scenario.from_dict({"world": {"segment_shares": [0.5, 0.5]}})
    with pytest.raises(sim.ScenarioError, match="segment_shares must sum to 1"):
        sim.Scenario.from_dict({"world": {"n_segments": 2, "segment_shares": [0.5, 0.6]}})
    with pytest.raises(sim.ScenarioError, match="segment_shares"):
        sim.Scenario.from_dict({"world": {"n_segments": 2, "segment_shares": [-0.5, 1.5]}})


def test_trait_prevalence_and_correlation_with_segment():
    world, scenario = make_world(world={"n_users": 4000, "trait_prevalence": 0.3})
    u = world.users
    assert abs(u.trait.mean() - 0.3) < 0.04
    by_segment = np.array([u.trait[u.segment == s].mean() for s in range(scenario.world.n_segments)])
    assert by_segment.max() - by_segment.min() > 0.15


def test_uploads_follow_creators_and_kuairec_lengths():
    world, _ = make_world(world={"n_creators": 200})
    rng = np.random.default_rng(0)
    for s in range(5):
        world.upload(s, rng)
    cat, lat = world.videos.catalog, world.videos.latent
    n = world.videos.n
    assert abs(n / 5 - 200 * 1.0) < 40  # upload_rate 1 per creator per step, on average
    assert 8.5 < np.median(cat.column("length_s")) < 11
    q1, q3 = np.percentile(cat.column("length_s"), [25, 75])
    assert 6.5 < q1 < 8.5 and 11 < q3 < 13.5  # KuaiRec: 7.4 s and 12.2 s
    np.testing.assert_allclose(lat.column("topics").sum(axis=1), 1.0, rtol=1e-5)
    assert (cat.column("tags").sum(axis=1) == 2).all()
    # Public tags mostly name the video's dominant topic.
    dominant = lat.column("topics").argmax(axis=1)
    assert cat.column("tags")[np.arange(n), dominant].mean() > 0.8
    # Videos resemble their creator's niche.
    niche = world.creators.niche[cat.column("creator")]
    own = (niche * lat.column("topics")).sum(axis=1).mean()
    other = (niche[::-1] * lat.column("topics")).sum(axis=1).mean()
    assert own > other


def test_creators_adopt_the_trending_sound():
    world, _ = make_world(world={"trend_adoption": 0.5})
    rng = np.random.default_rng(1)
    adopted = world.follow_trends(trending_sound=7, trending_topic=3, rng=rng)
    assert 0 < adopted < world.creators.n
    assert (world.creators.current_sound == 7).sum() >= adopted


def test_stochastic_block_model_degree_and_homophily():
    rng = np.random.default_rng(0)
    segment = rng.integers(0, 8, 5000)
    src, dst = stochastic_block_edges(segment, mean_degree=10, homophily=0.8, rng=rng)
    assert (src < dst).all() and len(np.unique(src * 5000 + dst)) == len(src)
    mean_degree = 2 * len(src) / 5000
    assert 9 < mean_degree < 11
    within = (segment[src] == segment[dst]).mean()
    assert 0.76 < within < 0.84
    src0, dst0 = stochastic_block_edges(segment, mean_degree=10, homophily=1 / 8, rng=rng)
    assert (segment[src0] == segment[dst0]).mean() < 0.2
    g = FriendGraph(5000, src, dst).to_networkx()
    assert g.number_of_nodes() == 5000 and g.number_of_edges() == len(src)


def test_shares_reach_at_most_fanout_friends():
    graph = FriendGraph(5, np.array([0, 0, 0, 1]), np.array([1, 2, 3, 4]))
    rng = np.random.default_rng(0)
    rec, vid, par = route_shares(np.array([0, 4]), np.array([100, 200]), graph, fanout=2, rng=rng)
    assert set(rec[par == 0]) <= {1, 2, 3} and (par == 0).sum() == 2  # fanout of 3 friends
    assert len(set(rec[par == 0])) == 2
    assert rec[par == 4].tolist() == [1] and vid[par == 4].tolist() == [200]


def test_pair_noise_is_a_fixed_standard_normal_per_pair():
    users = np.arange(200_000) % 997
    videos = np.arange(200_000) // 997
    z = pair_noise(5, users, videos)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01 and np.abs(z).max() <= 3.0
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01  # neighbouring pairs are unrelated
    np.testing.assert_array_equal(z, pair_noise(5, users, videos))
    assert not np.array_equal(z, pair_noise(6, users, videos))
    block = pair_noise(5, np.arange(4)[:, None], np.arange(3)[None, :])
    assert block[2, 1] == pair_noise(5, np.array([2]), np.array([1]))[0]

"""Validation: Sirbu, Pedreschi, Giannotti, Kertesz (PLoS ONE 2019), bounded confidence with
algorithmic bias.

The model's pieces are tested by hand (partner weights and draws, the pairwise update, the
settled test, the batched run); then ``sim.replications.sirbu`` runs at its small size (N = 100,
gamma in {0, 1}, eps in {0.1, 0.2, 0.3, 0.4}, 10 replicas, a cap of 600 interactions per agent)
and the published claims are checked on its numbers. Claims feedsim does not reproduce at these
settings are strict xfails with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.replications import REPLICATIONS, sirbu


# -- the model's pieces ------------------------------------------------------------------------
def test_partner_weights_by_hand():
    x = np.array([[0.2, 0.4, 0.6, 0.2], [0.2, 0.4, 0.6, 0.2]])
    w = sirbu.partner_weights(x, np.array([0, 2]), 1.0)
    # row 0: distances 0.2, 0.4 and 0 (floored at 1e-5); row 1: 0.4, 0.2, 0.4
    np.testing.assert_allclose(w[0], [0.0, 5.0, 2.5, 1e5])
    np.testing.assert_allclose(w[1], [2.5, 5.0, 0.0, 2.5])
    np.testing.assert_allclose(sirbu.partner_weights(x, np.array([0, 2]), 2.0)[1], [6.25, 25.0, 0.0, 6.25])
    np.testing.assert_allclose(sirbu.partner_weights(x, np.array([0, 2]), 1.5)[1], [0.4**-1.5, 0.2**-1.5, 0, 0.4**-1.5])
    np.testing.assert_allclose(sirbu.partner_weights(x, np.array([0, 2]), 0.5)[1], [0.4**-0.5, 0.2**-0.5, 0, 0.4**-0.5])
    # gamma = 0 is Deffuant: everyone but the focal agent equally likely
    np.testing.assert_allclose(sirbu.partner_weights(x, np.array([1, 3]), 0.0), [[1, 0, 1, 1], [1, 1, 1, 0]])


@pytest.mark.parametrize("gamma", [0.0, 1.0, 1.5])
def test_partners_are_drawn_in_proportion_to_the_weights(gamma):
    rng = np.random.default_rng(3)
    opinions = np.tile([0.1, 0.15, 0.3, 0.5, 0.9], (200_000, 1))
    focal = np.full(len(opinions), 1)
    partner = sirbu.draw_partners(opinions, focal, gamma, rng.random(len(opinions)))
    assert not (partner == focal).any()
    w = sirbu.partner_weights(opinions[:1], focal[:1], gamma)[0]
    share = np.bincount(partner, minlength=5) / len(partner)
    np.testing.assert_allclose(share, w / w.sum(), atol=0.004)


def test_partner_draw_edges():
    x = np.array([[0.0, 0.5, 0.75], [0.0, 0.5, 0.75], [0.3, 0.2, 0.1]])
    # u just below 1 picks the last agent with weight; never the focal agent, even when it is last
    below_one = np.nextafter(1.0, 0.0)
    assert sirbu.draw_partners(x, np.array([0, 2, 2]), 1.0, np.full(3, below_one)).tolist() == [2, 1, 1]
    assert sirbu.draw_partners(x, np.array([0, 2, 2]), 1.0, np.zeros(3)).tolist() == [1, 0, 0]
    assert sirbu.draw_partners(x, np.array([0, 2, 0]), 0.0, np.array([0.0, below_one, 0.6])).tolist() == [1, 1, 2]


def test_interaction_averages_within_epsilon_and_keeps_the_mean():
    rng = np.random.default_rng(0)
    x = rng.random((500, 20))
    before = x.copy()
    focal = rng.integers(0, 20, 500)
    partner = (focal + rng.integers(1, 20, 500)) % 20
    eps = rng.uniform(0.05, 0.5, 500)
    moved = sirbu.interact(x, focal, partner, eps)
    rows = np.arange(500)
    gap = np.abs(before[rows, focal] - before[rows, partner])
    np.testing.assert_array_equal(moved, gap < eps)
    mean = (before[rows, focal] + before[rows, partner]) / 2
    np.testing.assert_allclose(x[rows, focal][moved], mean[moved])
    np.testing.assert_allclose(x[rows, partner][moved], mean[moved])
    np.testing.assert_array_equal(x[~moved], before[~moved])
    untouched = np.ones_like(x, bool)
    untouched[rows, focal] = untouched[rows, partner] = False
    np.testing.assert_array_equal(x[untouched], before[untouched])
    np.testing.assert_allclose(x.sum(axis=1), before.sum(axis=1), rtol=0, atol=1e-12)
    # the bound is strict: agents exactly eps apart do not interact
    y = np.array([[0.25, 0.5]])
    assert not sirbu.interact(y, np.array([0]), np.array([1]), 0.25)[0]


def brute_force_settled(x: np.ndarray, eps: float, tol: float) -> bool:
    d = np.abs(x[:, None] - x[None, :])
    return not ((d > tol) & (d < eps)).any()


def test_settled_matches_the_pairwise_definition():
    rng = np.random.default_rng(1)
    states, eps = [], []
    for _ in range(400):
        centres = rng.random(rng.integers(1, 6))
        # clusters of spread up to 2e-3 around a few centres: some settled, some not
        x = rng.choice(centres, 30) + rng.uniform(0, rng.choice([5e-4, 2e-3]), 30)
        states.append(x)
        eps.append(rng.choice([0.05, 0.2, 0.4]))
    states, eps = np.array(states), np.array(eps)
    got = sirbu.settled(states, eps, tol=1e-3)
    want = np.array([brute_force_settled(x, e, 1e-3) for x, e in zip(states, eps)])
    np.testing.assert_array_equal(got, want)
    assert 40 <= want.sum() <= 360  # both kinds were tested
    # a chain of small gaps wider than tol is not settled
    assert not sirbu.settled(np.array([[0.1, 0.1008, 0.1016, 0.9]]), 0.3)[0]
    with pytest.raises(ValueError, match="epsilon must exceed"):
        sirbu.settled(states[:1], 0.0015)


def test_deffuant_benchmark():
    assert [sirbu.deffuant_clusters(e) for e in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5)] == [10, 5, 3, 2, 2, 1, 1]


def test_simulate_settles_stays_in_the_unit_interval_and_keeps_the_mean():
    initial = np.random.default_rng(0).random((12, 100))
    eps = np.repeat([0.15, 0.3, 0.5], 4)
    runs = sirbu.simulate(initial, 0.0, eps, np.random.default_rng(5), max_time=2000)
    assert runs.settled.all() and (runs.time < 2000).all()
    assert sirbu.settled(runs.opinions, eps).all()
    assert runs.opinions.min() >= initial.min() and runs.opinions.max() <= initial.max()
    np.testing.assert_allclose(runs.opinions.mean(axis=1), initial.mean(axis=1), atol=1e-12)
    clusters = [sirbu.M.effective_clusters(o, tol=sirbu.CLUSTER_TOL) for o in runs.opinions]
    assert max(clusters[8:]) == pytest.approx(1.0)  # eps = 0.5: consensus
    assert min(clusters[:4]) > 2.0  # eps = 0.15: about 3 clusters


def test_simulate_stops_at_the_cap_and_is_reproducible():
    initial = np.random.default_rng(0).random((4, 100))
    a = sirbu.simulate(initial, 1.5, 0.3, np.random.default_rng(2), max_time=20)
    b = sirbu.simulate(initial, 1.5, 0.3, np.random.default_rng(2), max_time=20)
    np.testing.assert_array_equal(a.opinions, b.opinions)
    assert not a.settled.any() and (a.time == 20).all()  # locked pairs: far from settled after 20
    assert (a.opinions >= 0).all() and (a.opinions <= 1).all()
    np.testing.assert_allclose(a.opinions.mean(axis=1), initial.mean(axis=1), atol=1e-12)


def test_each_block_of_rows_follows_its_own_stream():
    """A condition's runs do not depend on what runs beside it."""
    initial = np.random.default_rng(0).random((3, 100))
    both = sirbu.simulate(np.vstack([initial, initial]), 1.0, np.repeat([0.1, 0.3], 3),
                          [np.random.default_rng(7), np.random.default_rng(8)], max_time=50)
    alone = sirbu.simulate(initial, 1.0, 0.3, np.random.default_rng(8), max_time=50)
    np.testing.assert_array_equal(both.opinions[3:], alone.opinions)
    np.testing.assert_array_equal(both.time[3:], alone.time)
    with pytest.raises(ValueError, match="equal blocks"):
        sirbu.simulate(initial, 1.0, 0.3, [np.random.default_rng(1), np.random.default_rng(2)], max_time=1)


def test_conditions_give_the_same_runs_however_they_are_batched():
    """What lets the full size split the epsilons over worker processes."""
    initial = np.random.default_rng(0).random((3, 100))
    together = sirbu.run_gamma(1.0, [0.1, 0.3], initial, seed=4, max_time=40)
    apart = [sirbu.run_gamma(1.0, [e], initial, seed=4, max_time=40) for e in (0.1, 0.3)]
    cols = ["epsilon", "replica", "clusters", "distance", "time", "settled"]
    for eps, alone in zip((0.1, 0.3), apart):
        np.testing.assert_array_equal(together[together.epsilon == eps][cols].to_numpy(), alone[cols].to_numpy())
    assert not together[cols].equals(sirbu.run_gamma(1.0, [0.1, 0.3], initial, seed=5, max_time=40)[cols])


# -- the replication ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return sirbu.run(size="small", out=tmp_path_factory.mktemp("sirbu"), seed=0)


def claim(result, start: str) -> bool:
    (key,) = [k for k in result.claims if k.startswith(start)]
    return result.claims[key]


def row(result, gamma: float, eps: float):
    return result.table.set_index(["gamma", "epsilon"]).loc[(gamma, eps)]


def test_registered_for_the_cli():
    assert REPLICATIONS["sirbu"][0] == "sim.replications.sirbu"


def test_table_and_runs(result):
    cfg = sirbu.SIZES["small"]
    assert len(result.table) == len(cfg["gammas"]) * len(cfg["epsilons"])
    assert (result.table.replicas == cfg["replicas"]).all()
    runs = result.extra["runs"]
    assert (runs.mean_shift < 1e-12).all()  # every run kept its mean opinion
    assert runs.clusters.between(1, sirbu.N_AGENTS).all() and runs.distance.between(0, 1).all()
    # gamma = 0 is compared with itself
    none = result.table[result.table.gamma == 0]
    assert (none.clusters_gain == 0).all() and (none.time_ratio == 1).all()


def test_unbiased_model_is_deffuant(result):
    assert claim(result, "gamma = 0 reproduces the Deffuant model")
    for eps in (0.1, 0.2):
        r = row(result, 0.0, eps)
        assert r.settled == 1.0
        assert abs(r.clusters - sirbu.deffuant_clusters(eps)) <= 0.25 * sirbu.deffuant_clusters(eps)
    assert row(result, 0.0, 0.4).clusters < 1.1


@pytest.mark.xfail(
    strict=True,
    reason="with N = 100, eps = 0.3 is in the transition to consensus: some populations split in two "
    "(mean C about 1.3-1.6 over replicas); consensus (C near 1) holds from eps = 0.4",
)
def test_unbiased_consensus_from_eps_03(result):
    assert claim(result, "gamma = 0 reaches consensus for eps >= 0.3")


def test_bias_fragments_opinions(result):
    assert claim(result, "Algorithmic bias fragments opinions")
    for eps in (0.1, 0.2, 0.3):
        assert row(result, 1.0, eps).clusters_gain_lo > 0


@pytest.mark.xfail(
    strict=True,
    reason="at gamma = 1 and N = 100 the populations that reach consensus without bias (eps = 0.4) reach it "
    "with bias too, only later (C about 1.05); the extra fragmentation is at eps <= 0.3. Only the "
    "strong bias gamma = 1.5 (full size) stays fragmented there, in a state still merging at the cap",
)
def test_fragmentation_where_unbiased_model_reaches_consensus(result):
    assert claim(result, "Fragmentation emerges also where the unbiased model reaches consensus")


def test_bias_raises_polarisation(result):
    assert claim(result, "Algorithmic bias raises polarisation")
    assert row(result, 1.0, 0.3).distance > row(result, 0.0, 0.3).distance


def test_bias_slows_convergence(result):
    assert claim(result, "Convergence slows down dramatically")
    assert (result.table[result.table.gamma == 1.0].time_ratio >= 5).all()
    assert (result.table[result.table.gamma == 0.0].settled == 1.0).all()


def test_figure_written(result):
    assert result.figure is not None and result.figure.stat().st_size > 10_000

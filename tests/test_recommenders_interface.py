"""The recommender interface: registry, plugins, params, score checks."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import numpy as np
import pytest

import sim
from sim.recommenders import base

from .conftest import small


@sim.register_recommender("test_least_viewed")
class LeastViewed(sim.Recommender):
    """A tiny recommender written in a test: the least viewed candidates first."""

    def __init__(self, boost: float = 1.0):
        self.boost = boost
        self.observed_steps = []

    def observe(self, events, view):
        self.observed_steps.append(events.step)

    def score(self, users, candidates, view):
        views = view.views[candidates].astype(np.float64)
        return np.broadcast_to(-self.boost * views, (len(users), len(candidates)))


def test_a_recommender_written_here_registers_and_runs():
    assert "test_least_viewed" in sim.recommenders.available_recommenders()
    result = sim.run(small(steps=5, recommender={"name": "test_least_viewed", "params": {"boost": 2.0}}), write=False)
    model = result.model
    assert isinstance(model.recommender, LeastViewed)
    assert model.recommender.boost == 2.0
    assert model.recommender.observed_steps == [0, 1, 2, 3, 4]
    # Least-viewed spreads exposure: more distinct videos than popularity on the same world.
    pop = sim.run(small(steps=5), write=False)
    distinct = lambda r: len(np.unique(r.model.log.observed.column("video")))  # noqa: E731
    assert distinct(result) > distinct(pop)


def test_entry_point_plugins_are_discovered(monkeypatch):
    ep = EntryPoint(name="plugin_least_viewed", value=f"{__name__}:LeastViewed", group=base.ENTRY_POINT_GROUP)
    monkeypatch.setattr(base, "entry_points", lambda group: [ep] if group == base.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(base, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setitem(base._REGISTRY, "__sentinel__", LeastViewed)
    base._REGISTRY.pop("plugin_least_viewed", None)
    assert "plugin_least_viewed" in sim.recommenders.available_recommenders()
    rec = sim.make_recommender("plugin_least_viewed", {"boost": 3})
    assert rec.boost == 3.0
    base._REGISTRY.pop("plugin_least_viewed", None)


def test_a_broken_plugin_warns_and_leaves_the_others_working(monkeypatch):
    ep = EntryPoint(name="broken", value="no_such_module_xyz:Thing", group=base.ENTRY_POINT_GROUP)
    monkeypatch.setattr(base, "entry_points", lambda group: [ep])
    monkeypatch.setattr(base, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setattr(base, "_BROKEN_PLUGINS", {})
    with pytest.warns(RuntimeWarning, match="plugin 'broken'"):
        registry = sim.recommenders.available_recommenders()
    assert "popularity" in registry and "broken" not in registry
    assert sim.make_recommender("popularity").name == "popularity"
    with pytest.raises(sim.RecommenderError, match="plugin 'broken'.*failed to load"):
        sim.make_recommender("broken")


def test_params_are_validated_by_name_type_and_range():
    assert sim.make_recommender("popularity", {"half_life": 5}).half_life == 5.0
    with pytest.raises(sim.RecommenderError, match="unknown param 'halflife'"):
        sim.make_recommender("popularity", {"halflife": 5})
    with pytest.raises(sim.RecommenderError, match="'popularity': param 'half_life'"):
        sim.make_recommender("popularity", {"half_life": -1})
    with pytest.raises(sim.RecommenderError, match="param 'signal'"):
        sim.make_recommender("popularity", {"signal": "shares"})
    with pytest.raises(sim.RecommenderError, match="param 'half_life'"):
        sim.make_recommender("popularity", {"half_life": float("nan")})
    with pytest.raises(sim.RecommenderError, match="unknown recommender 'nope'"):
        sim.make_recommender("nope")


def test_get_params_and_listing():
    rec = sim.make_recommender("popularity", {"signal": "views"})
    assert rec.get_params() == {"half_life": 3.0, "signal": "views"}
    specs = {n: (t, d) for n, t, d in base.param_specs(type(rec))}
    assert specs["half_life"] == ("float > 0", 3.0)
    assert "'engagement'" in specs["signal"][0]


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda u, c: np.zeros((len(u), len(c) + 1)), "shape"),
        (lambda u, c: np.full((len(u), len(c)), np.nan), "NaN"),
        (lambda u, c: np.full((len(u), len(c)), np.inf), "infinite"),
        (lambda u, c: np.full((len(u), len(c)), "x"), "dtype"),
    ],
)
def test_bad_scores_are_named_errors(bad, message):
    class Bad(sim.Recommender):
        name = "bad_scores"

        def score(self, users, candidates, view):
            return bad(users, candidates)

    with pytest.raises(sim.RecommenderError, match=f"'bad_scores'.*{message}"):
        sim.run(small(steps=2), recommender=Bad(), write=False)


def test_popularity_counts_decay_and_rank():
    rec = sim.make_recommender("popularity", {"half_life": 1.0})
    model = sim.FeedModel(small(steps=1), recommender=rec)
    model.step()
    counts = rec.counts.copy()
    liked = model.log.observed.column("liked")
    np.testing.assert_allclose(
        counts, np.bincount(model.log.observed.column("video")[liked], minlength=len(counts))
    )
    model.step()
    assert rec.counts[: len(counts)].sum() >= counts.sum() * 0.5 - 1e-9

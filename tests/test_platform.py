"""The platform boundary: recommenders reach only what a real platform could observe."""

from __future__ import annotations

import gc
import types

import numpy as np
import pytest

import sim
from sim.model import FeedModel
from sim.platform import OracleView, PlatformView, randomized_response

from .conftest import small


def reachable(root, limit: int = 200_000):
    """Every object reachable from ``root`` through references, not entering modules,
    classes or functions (those lead to global state, not to what the view holds)."""
    seen, stack, out = set(), [root], []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)):
            continue
        stack.extend(gc.get_referents(obj))
        if isinstance(obj, np.ndarray) and obj.base is not None:
            stack.append(obj.base)
    return out


def private_state(model: FeedModel) -> dict[str, object]:
    u, lat = model.world.users, model.world.videos.latent
    arrays = {
        "taste": u.taste, "taste0": u.taste0, "trait": u.trait, "satisfaction": u.satisfaction,
        "satiation": u.satiation, "segment": u.segment, "like_bias": u.like_bias,
        "topics": lat._cols["topics"], "quality": lat._cols["quality"], "like_bait": lat._cols["like_bait"],
        "liked_true": model.log.hidden._cols["liked_true"], "utility": model.log.hidden._cols["utility"],
    }
    objects = {"model": model, "world": model.world, "users": u, "utility_model": model.utility, "latent": lat}
    return arrays | objects


def test_no_latent_state_is_reachable_from_the_view():
    model = FeedModel(small(steps=4))
    for _ in range(4):
        model.step()
    forbidden = private_state(model)
    ids = {id(v): k for k, v in forbidden.items()}
    found = reachable(model.view)
    assert len(found) > 20  # the walk did reach the public state
    for obj in found:
        assert id(obj) not in ids, f"{ids[id(obj)]} reachable from PlatformView"
        if isinstance(obj, np.ndarray) and obj.size:
            for name, arr in forbidden.items():
                if isinstance(arr, np.ndarray):
                    assert not np.shares_memory(obj, arr), f"{name} memory reachable from PlatformView"


def test_view_exposes_no_latent_attribute_and_is_read_only():
    model = FeedModel(small(steps=2))
    model.step()
    view = model.view
    for name in ("taste", "trait", "true_utility", "quality", "topics", "utility", "world", "model"):
        assert not hasattr(view, name)
    with pytest.raises(AttributeError):
        view.world = model.world  # __slots__: no new attributes
    with pytest.raises(ValueError):
        view.creator[0] = 3
    with pytest.raises(ValueError):
        view.log.liked[0] = True
    assert not hasattr(view.log, "liked_true") and not hasattr(view.log, "utility")


class Recording(sim.Recommender):
    def __init__(self):
        self.views = []

    def observe(self, events, view):
        self.views.append(type(view))

    def score(self, users, candidates, view):
        self.views.append(type(view))
        return np.zeros((len(users), len(candidates)))


class PrivilegedRecording(Recording):
    privileged = True


def test_only_privileged_recommenders_get_the_oracle_view():
    plain, priv = Recording(), PrivilegedRecording()
    for rec in (plain, priv):
        model = FeedModel(small(steps=2), recommender=rec)
        model.step()
        model.step()
    assert set(plain.views) == {PlatformView}
    assert OracleView in set(priv.views)
    assert sim.make_recommender("oracle").privileged
    assert not any(
        cls.privileged for name, cls in sim.recommenders.available_recommenders().items() if name != "oracle"
    )


def test_oracle_scores_equal_true_utility():
    model = FeedModel(small(steps=2, recommender={"name": "oracle"}))
    model.step()
    users = np.arange(5)
    cands = np.arange(model.world.videos.n)[-20:]
    scores = model.recommender.score(users, cands, model.oracle_view)
    pairs = model.utility(np.repeat(users, len(cands))[:, None], np.tile(cands, len(users))[:, None])
    np.testing.assert_allclose(scores.ravel(), pairs.ravel(), rtol=1e-5, atol=1e-5)


def test_randomized_response_flip_rate_and_identity():
    rng = np.random.default_rng(0)
    bits = rng.random(200_000) < 0.3
    assert np.array_equal(randomized_response(bits, None, rng), bits)
    for eps in (0.1, 1.0, 3.0):
        out = randomized_response(bits, eps, rng)
        assert abs(np.mean(out != bits) - 1 / (1 + np.exp(eps))) < 0.005


def test_the_oracle_view_keeps_time_with_the_platform_view():
    rec = PrivilegedRecording()
    model = FeedModel(small(steps=3), recommender=rec)
    for _ in range(3):
        model.step()
    assert model.oracle_view.step == model.view.step == 2

"""sim.testing.check_recommender: every built-in passes; broken recommenders fail by name."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.recommenders import available_recommenders
from sim.testing import ConformanceError, check_recommender, record_events, toy_model


@pytest.mark.parametrize("name", sorted(available_recommenders()))
def test_every_registered_recommender_conforms(name):
    if name.startswith("test_"):
        pytest.skip("defined by another test module")
    check_recommender(name)


class WrongShape(sim.Recommender):
    def score(self, users, candidates, view):
        return np.zeros((len(users), len(candidates) - 1))


class Unseeded(sim.Recommender):
    def score(self, users, candidates, view):
        return np.random.default_rng().random((len(users), len(candidates)))


class PeeksAtUtility(sim.Recommender):
    def score(self, users, candidates, view):
        return view.true_utility(users[:, None], candidates[None, :])


class BadExplanation(sim.Recommender):
    def score(self, users, candidates, view):
        return np.broadcast_to(view.upload_step[candidates].astype(float), (len(users), len(candidates)))

    def explain(self, user, candidates, view):
        return {"recency": np.zeros(len(candidates))}


class ForgetsNewVideos(sim.Recommender):
    def observe(self, events, view):
        self.n = view.n_videos

    def score(self, users, candidates, view):
        table = np.zeros(getattr(self, "n", view.n_videos))
        return np.broadcast_to(table[candidates], (len(users), len(candidates)))


@pytest.mark.parametrize(
    "cls, check",
    [
        (WrongShape, "score before any observation"),
        (Unseeded, "same seed, same scores"),
        (PeeksAtUtility, "privileged = True"),
        (BadExplanation, "explain"),
        (ForgetsNewVideos, "new videos"),
    ],
)
def test_broken_recommenders_fail_the_named_check(cls, check):
    with pytest.raises(ConformanceError) as err:
        check_recommender(cls)
    assert check in str(err.value)


def test_record_events_feeds_the_log_and_observe():
    model = toy_model()
    rec = sim.make_recommender("popularity", {"half_life": 1.0})
    rec.rng = np.random.default_rng(0)
    events = record_events(model, [0, 1, 2], [5, 5, 7], liked=[True, True, False])
    rec.observe(events, model.view)
    assert len(model.view.log) == 3 and model.view.log.liked.sum() == 2
    scores = rec.score(np.array([9]), np.array([5, 7]), model.view)
    assert scores[0, 0] > scores[0, 1]

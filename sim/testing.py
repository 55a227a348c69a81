"""Tools for testing recommenders: toy worlds, hand-made events, and the conformance check.

``check_recommender`` is to a feedsim recommender what scikit-learn's ``check_estimator``
is to an estimator: the contract every recommender must meet, checked in a few seconds::

    from sim.testing import check_recommender
    check_recommender(MyRecommender)            # or an instance, or a registered name
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import FeedModel
from .recommenders.base import Events, Recommender, make_recommender
from .scenario import Scenario


def toy_model(seed: int = 0, recommender: Recommender | None = None, **sections: Any) -> FeedModel:
    """A small FeedModel (60 users, 12 creators, 4 topics) for hand-made tests.

    ``sections`` override scenario tables, e.g. ``world={"n_users": 10}``.
    """
    data: dict[str, Any] = {
        "seed": seed,
        "steps": 10,
        "world": {"n_users": 60, "n_creators": 12, "n_topics": 4, "n_segments": 2, "n_sounds": 6, "make_agents": False},
        "social": {"mean_friends": 4},
        "feed": {"n_candidates": 60, "feed_size": 5},
        "holdout": {"fraction": 0.0},
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return FeedModel(Scenario.model_validate(data), recommender=recommender)


def record_events(
    model: FeedModel,
    users,
    videos,
    *,
    liked=None,
    watch_ratio=None,
    shared=None,
    commented=None,
    not_interested=None,
    share_parent=None,
    step: int | None = None,
) -> Events:
    """Write hand-made impressions into the model's log (as the platform records them) and
    return them as the Events a recommender's ``observe`` receives.

    Unset signals default to False (watch ratio to 1.0, share parent to -1). The public counters and follows are
    not touched; the log, the like matrix and ``view.log`` see the new rows.
    """
    users = np.asarray(users, dtype=np.int32)
    videos = np.asarray(videos, dtype=np.int32)
    n = len(users)

    def flag(x):
        return np.zeros(n, dtype=bool) if x is None else np.asarray(x, dtype=bool)

    step = model.view.step if step is None else step
    observed = {
        "user": users,
        "video": videos,
        "step": np.full(n, step, dtype=np.int32),
        "position": np.zeros(n, dtype=np.uint8),
        "watch_ratio": np.ones(n, np.float32) if watch_ratio is None else np.asarray(watch_ratio, np.float32),
        "liked": flag(liked),
        "shared": flag(shared),
        "commented": flag(commented),
        "not_interested": flag(not_interested),
        "share_parent": np.full(n, -1, dtype=np.int32) if share_parent is None else np.asarray(share_parent, np.int32),
    }
    start = len(model.log)
    model.log.append(step, observed, {"liked_true": observed["liked"], "utility": np.zeros(n, np.float32)})
    cols = {k: model.log.observed.column(k, start) for k in observed if k != "step"}
    return Events(step=step, **cols)


class ConformanceError(AssertionError):
    """A recommender broke the contract; the message names it and the check."""


def _build(rec: type[Recommender] | Recommender | str, params: dict[str, Any], seed: int) -> Recommender:
    if isinstance(rec, str):
        out = make_recommender(rec, params)
    elif isinstance(rec, Recommender):
        import copy

        out = copy.deepcopy(rec)
    else:
        out = rec(**params)
    out.rng = np.random.default_rng(seed)
    return out


def check_recommender(
    rec: type[Recommender] | Recommender | str, params: dict[str, Any] | None = None, steps: int = 4
) -> None:
    """Check the contract every recommender must meet; raise ConformanceError if it fails.

    Checks: scores have shape (len(users), len(candidates)), a real dtype and finite values;
    it scores before any observation; it scores users it has never seen and videos
    uploaded after its last observation; the same seed gives the same scores; ``explain``
    parts add up to the score; and it runs on a plain PlatformView (no true utility)
    unless it declares ``privileged = True``.
    """
    params = dict(params or {})
    probe = _build(rec, params, 0)
    name = probe.name or type(probe).__name__

    def fail(check: str, detail: str) -> None:
        raise ConformanceError(f"recommender {name!r} fails '{check}': {detail}")

    def scores_of(r: Recommender, model: FeedModel, users: np.ndarray, cands: np.ndarray, check: str) -> np.ndarray:
        view = model.oracle_view if r.privileged else model.view
        try:
            out = np.asarray(r.score(users, cands, view))
        except AttributeError as exc:
            fail(check, f"{exc} (a recommender that needs more than the PlatformView must declare privileged = True)")
        except Exception as exc:  # noqa: BLE001 - any failure to score is a broken contract
            fail(check, f"score raised {type(exc).__name__}: {exc}")
        if out.shape != (len(users), len(cands)):
            fail(check, f"scores of shape {out.shape}, expected {(len(users), len(cands))}")
        if not np.issubdtype(out.dtype, np.number) or np.issubdtype(out.dtype, np.complexfloating):
            fail(check, f"scores of dtype {out.dtype}")
        if not np.isfinite(out).all():
            fail(check, "NaN or infinite scores")
        return out

    def fresh_pair() -> tuple[Recommender, FeedModel]:
        r = _build(rec, params, 0)
        return r, toy_model(seed=3, recommender=r)

    def run(model: FeedModel) -> None:
        check = "observe and score in the loop, with new videos every step"
        try:
            for _ in range(steps):
                model.step()
        except ConformanceError:
            raise
        except Exception as exc:  # noqa: BLE001
            fail(check, f"{type(exc).__name__}: {exc}")

    # 1. Before any observation.
    r, model = fresh_pair()
    model.view.step = 0
    model.world.upload(0, model.streams.at("uploads", 0))
    users = np.arange(model.world.users.n, dtype=np.int64)
    cands = np.arange(model.world.videos.n, dtype=np.int64)
    scores_of(r, model, users, cands, "score before any observation")
    # 2. In the loop, then with unseen users and new videos.
    r, model = fresh_pair()
    run(model)
    watched = np.unique(model.log.observed.column("user"))
    never = np.setdiff1d(np.arange(model.world.users.n), watched)
    model.view.step = steps
    new = model.world.upload(steps, model.streams.at("uploads", steps))
    cands = np.concatenate([np.arange(max(0, model.world.videos.n - 40), model.world.videos.n)]).astype(np.int64)
    test_users = np.concatenate([never[:5], watched[:10]]).astype(np.int64)
    first = scores_of(r, model, test_users, cands, "score unseen users and new videos")
    if len(new) == 0:
        fail("score unseen users and new videos", "the toy world uploaded no new video (internal)")
    # 3. Same seed, same scores.
    r2, model2 = fresh_pair()
    run(model2)
    model2.view.step = steps
    model2.world.upload(steps, model2.streams.at("uploads", steps))
    second = scores_of(r2, model2, test_users, cands, "same seed, same scores")
    if not np.array_equal(first, second):
        fail("same seed, same scores", "two runs with one seed gave different scores")
    # 4. Explanations add up (from the same random state, for recommenders that draw).
    view = model.oracle_view if r.privileged else model.view
    state = r.rng.bit_generator.state
    parts = r.explain(int(test_users[-1]), cands, view)
    r.rng.bit_generator.state = state
    if not isinstance(parts, dict) or not parts:
        fail("explain", "explain must return a non-empty dict of named parts")
    total = np.sum([np.asarray(p, dtype=np.float64) for p in parts.values()], axis=0)
    row = scores_of(r, model, test_users[-1:], cands, "explain")[0]
    if total.shape != row.shape or not np.allclose(total, row, rtol=1e-4, atol=1e-5):
        fail("explain", f"parts {sorted(parts)} do not add up to the score")

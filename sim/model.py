"""FeedModel: one mesa Model whose step runs the phases of a short-video platform."""

from __future__ import annotations

import mesa
import numpy as np

from . import measure, metrics
from .behaviour import UtilityModel, drift_and_satiate, respond, update_retention, visitors
from .feed import assemble_feeds, candidate_columns, candidate_pool, insert_inbox, seen_pairs
from .log import InteractionLog
from .platform import OracleView, PlatformView, PublicCounters, UserControls, randomized_response
from .recommenders.base import Events, Recommender, make_recommender
from .rerank import RerankStage, make_reranker
from .rng import Streams
from .scenario import Scenario
from .social import UserRelation, FriendGraph, route_shares
from .world import World

#: Model-level reporters collected every step (cheap: one step's impressions).
STEP_METRICS = (
    "like_rate",
    "watch_ratio",
    "skip_rate",
    "share_rate",
    "comment_rate",
    "not_interested_rate",
    "mean_utility",
    "mean_utility_holdout",
    "session_length",
    "active_users",
    "churned_users",
    "impressions",
    "n_videos",
    "follows",
    "taste_change",
)
#: Reporters computed every ``metrics_every`` steps and at the end (NaN in between).
PERIODIC_METRICS = ("exposure_gini", "creator_gini", "top1_share", "top20_share")

WARMUP_STEPS = 3


class FeedModel(mesa.Model):
    """A short-video feed: users, creators, a recommender and the loop between them.

    Args:
        scenario: the validated scenario (defaults when None).
        recommender: an already built recommender to use instead of ``scenario.recommender``.

    Attributes:
        world: users, creators and videos (latent state; see :mod:`sim.world`).
        log: every impression (:class:`sim.log.InteractionLog`).
        view: the platform's view, what recommenders see.
        datacollector: mesa DataCollector with one model-level reporter per metric.
    """

    def __init__(self, scenario: Scenario | None = None, recommender: Recommender | None = None):
        scenario = scenario or Scenario()
        super().__init__(rng=scenario.seed)
        self.config = scenario
        self.streams = Streams.from_seed(scenario.seed)
        cfg = scenario
        self.world = World(cfg, self.streams.world)
        users = self.world.users
        users.holdout[:] = self.streams.holdout.random(users.n) < cfg.holdout.fraction
        self.friends = FriendGraph.sample(
            users.segment, cfg.social.mean_friends, cfg.social.homophily, self.streams.social
        )
        self.follows = UserRelation(users.n, self.world.creators.n)
        expected_rows = users.n * min(cfg.feed.feed_size, cfg.behaviour.session_median * 1.5) * cfg.steps
        self.log = InteractionLog(capacity=int(min(expected_rows, 1 << 26)) + 1024)  # grows past that
        self.counters = PublicCounters(cfg.feed.trending_half_life)
        dial_rng = self.streams.at("controls", 0)
        sets_dial = dial_rng.random(users.n) < cfg.controls.diversity_dial_share
        m = min(max(cfg.controls.diversity_dial_mean, 1e-3), 1 - 1e-3)
        dial = np.where(sets_dial, dial_rng.beta(4 * m, 4 * (1 - m), users.n), np.nan).astype(np.float32)
        self.controls = UserControls(
            users.n, self.world.creators.n, self.world.n_topics, cfg.controls.not_interested_scope, dial
        )
        self.view = PlatformView(
            self.world.videos.catalog, self.log.view(), self.counters, self.follows, self.friends,
            users.n, self.world.creators.n, self.world.n_topics, self.controls,
        )
        self.utility = UtilityModel(self.world, cfg.behaviour, cfg.seed)
        self.oracle_view = OracleView(self.view, self.utility)
        self.recommender = recommender or make_recommender(cfg.recommender.name, cfg.recommender.params)
        self.recommender.rng = self.streams.recommender
        self.holdout_recommender = make_recommender(cfg.holdout.recommender.name, cfg.holdout.recommender.params)
        self.holdout_recommender.rng = self.streams.holdout
        self.rerankers = [make_reranker(r.name, r.params) for r in cfg.feed.rerankers]
        self.explanations: list[dict] = []
        self.inbox_video = np.full(users.n, -1, dtype=np.int64)
        self.inbox_parent = np.full(users.n, -1, dtype=np.int64)
        self.step_keys = STEP_METRICS + measure.keys(cfg.metrics.families)[0]
        self.periodic_keys = PERIODIC_METRICS + measure.keys(cfg.metrics.families)[1]
        self.latest: dict[str, float] = {k: float("nan") for k in self.step_keys + self.periodic_keys}
        self.measures = measure.MeasureState(users.n, self.world.n_topics, cfg.metrics.families)
        for s in range(-WARMUP_STEPS, 0):
            self.world.upload(s, self.streams.at("uploads", s))
        self.counters.grow(self.world.videos.n)
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.latest[k]) for k in self.step_keys + self.periodic_keys}
        )
        if cfg.world.make_agents:
            from .agents import CreatorAgent, UserAgent

            UserAgent.create_agents(self, users.n, list(range(users.n)))
            CreatorAgent.create_agents(self, self.world.creators.n, list(range(self.world.creators.n)))

    # -- the step ---------------------------------------------------------------------
    @property
    def t(self) -> int:
        """Index of the step being run (0-based); mesa counts completed steps in ``steps``."""
        return self.steps - 1

    def step(self) -> None:
        """One step: the phases of DESIGN.md, in order."""
        self.view.step = self.oracle_view.step = self.t
        self.upload_videos()                                       # 1 creators upload
        candidates = self.build_candidate_pool()                    # 2 candidate pool
        users, feeds, parents = self.serve_feeds(candidates)        # 3 score and assemble
        resp = respond(self.utility, users, feeds, self.config.behaviour, self.streams.at("behaviour", self.t))  # 4
        measured = measure.step_metrics(self, users, feeds, resp, self._pool)  # before anything learns or drifts
        self.travel_shares(users, feeds, resp)                      # 5 shares travel
        events = self.record(users, feeds, resp, parents)           # 6 append to the log
        self.observe(events)                                        # 7 recommenders observe
        measured |= measure.after_learning(self, events)           #   what they learned, measured
        change = self.evolve(users, feeds, resp)                    # 8 drift, satiation, retention
        self.collect(users, resp, change, measured)                 # 9 metrics

    # -- phases -----------------------------------------------------------------------
    def upload_videos(self) -> np.ndarray:
        new = self.world.upload(self.t, self.streams.at("uploads", self.t))
        self.counters.grow(self.world.videos.n)
        return new

    def build_candidate_pool(self) -> np.ndarray:
        return candidate_pool(
            self.view, self.config.feed, self.config.world.video_max_age, self.streams.at("feed", self.t)
        )

    def serve_feeds(self, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Who visits, the feed each visitor gets (inbox items first), and who shared
        each slot's video with the user (-1 for recommended slots)."""
        users = visitors(self.world, self.config.behaviour, self.streams.at("visits", self.t))
        holdout = self.world.users.holdout[users]
        groups = [
            (self.recommender, self._view_for(self.recommender), users[~holdout]),
            (self.holdout_recommender, self._view_for(self.holdout_recommender), users[holdout]),
        ]
        since = self.t - self.config.world.video_max_age + 1
        inbox = self.inbox_video.copy() if self.config.feed.inbox else np.full(self.world.users.n, -1)
        upload = self.world.videos.catalog.column("upload_step")
        inbox[(inbox >= 0) & (upload[np.maximum(inbox, 0)] < since)] = -1  # too old to show
        inbox_videos = np.unique(inbox[users][inbox[users] >= 0])
        n_videos = self.world.videos.n
        seen_users, seen_videos = seen_pairs(self.view.log, np.union1d(candidates, inbox_videos), since, n_videos)
        if len(inbox_videos):  # a shared video the user has already watched is not shown again
            mine = inbox[seen_users] == seen_videos
            inbox[seen_users[mine]] = -1
        inbox[self.controls.hides(inbox, self.view)] = -1  # nor one the user said "not interested" to
        seen_u, seen_c = candidate_columns(seen_users, seen_videos, candidates, n_videos)
        blocked_u, blocked_c = self.controls.blocked_pairs(candidates, self.view)  # "not interested" honoured
        seen = (np.concatenate([seen_u, blocked_u]), np.concatenate([seen_c, blocked_c]))
        self._pool = (candidates, *seen)  # for the step's metrics
        t = self.t
        stage = RerankStage(
            self.rerankers, self.config.feed.rerank_depth, self.view, self.controls.diversity_dial,
            lambda group, block: self.streams.at("rerank", t, group, block),
        )
        feeds = assemble_feeds(groups, candidates, seen, self.config.feed, self.world.users.n, stage)
        self.explain_sample(groups, feeds, candidates)
        rows, from_inbox = insert_inbox(feeds, inbox, users)
        parents = np.where(from_inbox, self.inbox_parent[users][:, None], -1)
        return users, rows, parents

    def explain_sample(self, groups, feeds: np.ndarray, candidates: np.ndarray) -> None:
        """Keep "why this was shown" for ``feed.explain_users`` sampled visitors: each feed
        video's score as the recommender's named parts, explained against the whole
        candidate pool (as it was scored). The recommender's random state is restored
        afterwards, so explaining never changes a run; a recommender that draws at random
        explains with a fresh draw."""
        n = self.config.feed.explain_users
        visiting = np.concatenate([g[2] for g in groups])
        if n == 0 or len(visiting) == 0:
            return
        pick = self.streams.at("explain", self.t).choice(visiting, size=min(n, len(visiting)), replace=False)
        holdout = self.world.users.holdout
        for user in np.sort(pick):
            rec = self.holdout_recommender if holdout[user] else self.recommender
            videos = feeds[user][feeds[user] >= 0]
            if len(videos) == 0:
                continue
            state = rec.rng.bit_generator.state
            parts = rec.explain(int(user), candidates, self._view_for(rec))
            rec.rng.bit_generator.state = state
            cols = np.searchsorted(candidates, videos)  # the pool is sorted; feed videos are in it
            for name, values in parts.items():
                shown = np.asarray(values, dtype=float)[cols]
                for position, (video, value) in enumerate(zip(videos, shown)):
                    self.explanations.append(
                        {"step": self.t, "user": int(user), "video": int(video), "slot": position,
                         "recommender": rec.name, "part": name, "value": float(value)}
                    )

    def explanations_frame(self):
        """The kept explanations as a DataFrame (step, user, video, slot, recommender, part, value).

        ``slot`` is the video's place in the recommended list, before any inbox item."""
        import pandas as pd

        cols = ["step", "user", "video", "slot", "recommender", "part", "value"]
        return pd.DataFrame(self.explanations, columns=cols)

    def observe(self, events: Events) -> None:
        """The recommenders, re-rankers and user controls learn from this step's events."""
        self.recommender.observe(events, self.view)
        self.holdout_recommender.observe(events, self.view)
        for r in self.rerankers:
            r.observe(events, self.view)
        self.controls.record(events.user, events.video, events.not_interested, self.view)

    def _view_for(self, rec: Recommender) -> PlatformView:
        return self.oracle_view if rec.privileged else self.view

    def travel_shares(self, users: np.ndarray, feeds: np.ndarray, resp) -> None:
        """Shares land in friends' inboxes for the next step (one item per inbox)."""
        self.inbox_video[:] = -1
        self.inbox_parent[:] = -1
        r, c = np.nonzero(resp.shared)
        recipients, videos, parents = route_shares(
            users[r], feeds[r, c], self.friends, self.config.social.share_fanout, self.streams.at("shares", self.t)
        )
        # Several shares to one user: the last routed wins (a deterministic order).
        self.inbox_video[recipients] = videos
        self.inbox_parent[recipients] = parents

    def record(self, users: np.ndarray, feeds: np.ndarray, resp, parents: np.ndarray) -> Events:
        """Append the step's impressions to the log; return what the platform observed."""
        r, c = np.nonzero(resp.viewed)
        t = self.t
        liked_true = resp.liked[r, c]
        liked_seen = randomized_response(liked_true, self.config.privacy.epsilon, self.streams.at("privacy", t))
        observed = {
            "user": users[r].astype(np.int32),
            "video": feeds[r, c].astype(np.int32),
            "step": np.full(len(r), t, dtype=np.int32),
            "position": c.astype(np.uint8),
            "watch_ratio": resp.watch_ratio[r, c],
            "liked": liked_seen,
            "shared": resp.shared[r, c],
            "commented": resp.commented[r, c],
            "not_interested": resp.not_interested[r, c],
            "share_parent": parents[r, c].astype(np.int32),
        }
        start = len(self.log)
        self.log.append(t, observed, {"liked_true": liked_true, "utility": resp.utility[r, c]})
        self.counters.update(self.world.videos.n, observed["video"], liked_seen)
        liked_users = observed["user"][liked_true]
        follow = self.streams.at("follows", t).random(len(liked_users)) < self.config.social.follow_prob
        creators = self.world.videos.catalog.column("creator")[observed["video"][liked_true][follow]]
        self.follows.add(liked_users[follow], creators)
        cols = {k: self.log.observed.column(k, start) for k in observed if k != "step"}
        return Events(step=t, **cols)

    def evolve(self, users: np.ndarray, feeds: np.ndarray, resp) -> float:
        """Tastes drift, satiation moves, satisfaction and churn update, creators chase trends."""
        beh = self.config.behaviour
        change = drift_and_satiate(self.world, users, feeds, resp, beh)
        self.utility.refresh()  # true utility follows the drifted tastes from the next step on
        update_retention(self.world, users, resp, beh, self.streams.at("churn", self.t))
        self._chase_trends()
        return change

    def _chase_trends(self) -> None:
        """Creators see which sound and tagged topic earned the most likes lately (public)."""
        n = self.world.videos.n
        first = self.world.videos.first_alive(self.t, self.config.world.video_max_age)
        trend = self.counters.trending[first:n]
        if len(trend) == 0 or trend.max() <= 0:
            return
        cat = self.world.videos.catalog
        sound_mass = np.bincount(cat.column("sound", first), weights=trend, minlength=self.config.world.n_sounds)
        topic_mass = trend @ cat.column("tags", first)
        self.world.follow_trends(int(sound_mass.argmax()), int(topic_mass.argmax()), self.streams.at("trends", self.t))

    def collect(self, users: np.ndarray, resp, change: float, measured: dict[str, float]) -> None:
        """Cheap metrics every step; costly ones every ``metrics_every`` steps."""
        v = resp.viewed
        latest = self.latest
        latest["like_rate"] = metrics.like_rate(resp.liked[v])
        latest["watch_ratio"] = float(np.median(resp.watch_ratio[v])) if v.any() else float("nan")
        latest["skip_rate"] = metrics.rate(resp.skipped[v])
        latest["share_rate"] = metrics.rate(resp.shared[v])
        latest["comment_rate"] = metrics.rate(resp.commented[v])
        latest["not_interested_rate"] = metrics.rate(resp.not_interested[v])
        latest["mean_utility"] = metrics.mean_true_utility(resp.utility[~self.world.users.holdout[users]])
        latest["mean_utility_holdout"] = metrics.mean_true_utility(resp.utility[self.world.users.holdout[users]])
        latest["session_length"] = metrics.session_length(v)
        latest["active_users"] = int((v.sum(axis=1) > 0).sum())
        latest["churned_users"] = int(self.world.users.churned.sum())
        latest["impressions"] = int(v.sum())
        latest["n_videos"] = self.world.videos.n
        latest["follows"] = int(self.follows.matrix.nnz)
        latest["taste_change"] = change
        latest.update(measured)
        if (self.t + 1) % self.config.metrics_every == 0 or self.t + 1 == self.config.steps:
            self.update_periodic_metrics()
        else:
            for k in self.periodic_keys:
                latest[k] = float("nan")
        self.datacollector.collect(self)

    def update_periodic_metrics(self) -> dict[str, float]:
        """Exposure concentration over all videos and creators so far, and the costly
        families of :mod:`sim.measure`."""
        n = self.world.videos.n
        views = self.counters.views[:n]
        creator_views = np.bincount(
            self.world.videos.catalog.column("creator"), weights=views, minlength=self.world.creators.n
        )
        out = {
            "exposure_gini": metrics.gini(views),
            "creator_gini": metrics.gini(creator_views),
            "top1_share": metrics.top_share(views, 0.01),
            "top20_share": metrics.top_share(views, 0.20),
        }
        out.update(measure.periodic_metrics(self))
        self.latest.update(out)
        self._periodic_at = (self.steps, len(self.log))
        return out

    def final_periodic_metrics(self) -> dict[str, float]:
        """The costly metrics for the state the run ended in (computed once per state)."""
        if getattr(self, "_periodic_at", None) == (self.steps, len(self.log)):
            return {k: self.latest[k] for k in self.periodic_keys}
        return self.update_periodic_metrics()

"""The page's panels: what each shows, as data functions, matplotlib figures and Solara
components.

Each panel has a data function (pure, array work on the model's state), a figure function
(a ``matplotlib.figure.Figure``, no pyplot, so figures can be drawn off the main thread) and
a component that re-renders only when its model has stepped. The cascade view lays out one
sampled share tree of at most :data:`MAX_CASCADE_NODES` users, never the friend graph.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import markdown
import networkx as nx
import numpy as np
import pandas as pd
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from .. import metrics as M
from ..model import FeedModel
from .state import HEADLINE, Run, format_metric

MAX_CASCADE_NODES = 300
TOP_VIDEOS = 8
TOP_CURVES = 5
FEED_ROWS = 12
DPI = 72
SEGMENT_COLOURS = "tab10"


# -- building blocks --------------------------------------------------------------------------
def _figure(width: float, height: float) -> Figure:
    """A figure without a layout engine (constrained layout triples the drawing time)."""
    return Figure(figsize=(width, height), dpi=DPI)


def _markdown_table(frame: pd.DataFrame, floats: str = "{:.3g}") -> str:
    """A DataFrame as a Markdown table (no extra dependency)."""
    if frame.empty:
        return "_none yet_"
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = [floats.format(v) if isinstance(v, float) else str(v) for v in values]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


PROSE_CSS = """
.fs-prose table { border-collapse: collapse; margin: 4px 0 10px 0; font-size: 0.9em; }
.fs-prose th, .fs-prose td { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: right; }
.fs-prose h2, .fs-prose h3 { margin: 4px 0; }
"""


def Prose(text: str, testid: str = "prose"):
    """Markdown rendered to HTML on the server (no client-side Markdown scripts to fetch,
    so the page works offline with only Solara's own assets)."""
    html = markdown.markdown(text, extensions=["tables"])
    return solara.HTML(tag="div", unsafe_innerHTML=html, attributes={"class": "fs-prose", "data-testid": testid})


def Figure_(fig: Figure, key: tuple):
    """A matplotlib figure as a PNG image, redrawn only when ``key`` changes."""
    return solara.FigureMatplotlib(fig, dependencies=list(key), format="png")


# -- metrics over time ----------------------------------------------------------------------
def metrics_frame(run: Run) -> pd.DataFrame:
    """The headline series of a run, one row per completed step."""
    cols = ["step"] + [k for k, _, _ in HEADLINE]
    return pd.DataFrame(run.history, columns=cols)


class MetricsChart:
    """Engagement, utility, exposure Gini, diversity and the like-utility gap over time.

    The figure and its axes are made once per model (or A/B pair); each redraw only moves
    the lines' data, which costs a fraction of building the axes again.
    """

    def __init__(self, runs: list[Run]):
        self.fig = _figure(9.0, 3.6)
        self.fig.subplots_adjust(left=0.06, right=0.98, top=0.92, bottom=0.09, hspace=0.5, wspace=0.28)
        self.axes = self.fig.subplots(2, 3).ravel()
        self.lines = []
        for run in runs:
            label = f"{run.label}: {run.recommender}" if run.label else run.recommender
            self.lines.append([ax.plot([], [], label=label, lw=1.5)[0] for ax in self.axes[:len(HEADLINE)]])
        for ax, (_, title, _) in zip(self.axes, HEADLINE):
            ax.set_title(title, fontsize=10)
            ax.tick_params(labelsize=8)
            ax.locator_params(nbins=5)
        legend_ax = self.axes[-1]
        legend_ax.axis("off")
        legend_ax.legend(*self.axes[0].get_legend_handles_labels(), loc="center", fontsize=9, frameon=False)
        legend_ax.text(0.5, 0.02, "gap: trend of likes minus trend of utility", ha="center", fontsize=8,
                       transform=legend_ax.transAxes, color="0.4")

    def update(self, runs: list[Run]) -> Figure:
        for run, lines in zip(runs, self.lines):
            frame = metrics_frame(run)
            for line, (key, _, _) in zip(lines, HEADLINE):
                line.set_data(frame["step"].to_numpy(float), frame[key].to_numpy(float))
        for ax in self.axes[:len(HEADLINE)]:
            ax.relim()
            ax.autoscale_view()
        return self.fig


def metrics_figure(runs: list[Run], chart: MetricsChart | None = None) -> Figure:
    """The metrics-over-time figure of one run or an A/B pair (reusing ``chart`` if given)."""
    return (chart or MetricsChart(runs)).update(runs)


@solara.component
def HeadlineMetrics(run: Run, step: int):
    """The headline metrics of a run's last step as labelled numbers (with CSS classes
    ``fs-metric-<key>`` so tests and screen readers can find them)."""
    latest = run.latest()
    with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
        solara.Text(f"step {run.steps_done}", classes=["fs-step"],
                    style={"font-weight": "bold", "padding": "4px 8px"})
        for key, label, _ in HEADLINE:
            with solara.Column(gap="0px", style={"padding": "2px 8px", "border-left": "3px solid #1976d2"}):
                solara.Text(label, style={"font-size": "0.8em", "color": "#555"})
                solara.Text(format_metric(key, latest[key]), classes=[f"fs-metric-{key}"],
                            style={"font-weight": "bold"})


@solara.component
def MetricsPanel(runs: list[Run], step: int):
    """Metrics over time for one run, or both runs of an A/B pair on shared axes."""
    chart = solara.use_memo(lambda: MetricsChart(runs), [tuple(id(r.model) for r in runs)])
    fig = metrics_figure(runs, chart)
    Figure_(fig, (id(chart), step))


# -- taste map ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TasteMap:
    """2-D coordinates of every user's current taste on the first two principal axes of the
    tastes users started with (fixed axes, so clusters forming show as movement)."""

    xy: np.ndarray
    segment: np.ndarray
    explained: tuple[float, float]


def taste_axes(taste0: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """(mean, 2 principal axes, share of variance each explains) of the starting tastes."""
    mean = taste0.mean(axis=0)
    _, s, vt = np.linalg.svd(taste0 - mean, full_matrices=False)
    var = s**2 / max((s**2).sum(), 1e-12)
    return mean, vt[:2], (float(var[0]), float(var[1]) if len(var) > 1 else 0.0)


def taste_map(run: Run) -> TasteMap:
    users = run.model.world.users
    if "taste_axes" not in run.cache:
        run.cache["taste_axes"] = taste_axes(users.taste0.astype(np.float64))
    mean, axes, explained = run.cache["taste_axes"]
    return TasteMap((users.taste - mean) @ axes.T, users.segment, explained)


class TasteChart:
    """The taste map's figure, made once per model; a redraw moves the points."""

    def __init__(self, tm: TasteMap):
        self.fig = _figure(5.2, 4.2)
        self.fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.12)
        self.ax = self.fig.subplots()
        self.points = self.ax.scatter(tm.xy[:, 0], tm.xy[:, 1], c=tm.segment, cmap=SEGMENT_COLOURS, vmin=0, vmax=9,
                                      s=5, alpha=0.7, linewidths=0)
        self.ax.set_xlabel(f"taste axis 1 ({tm.explained[0]:.0%} of start variance)", fontsize=9)
        self.ax.set_ylabel(f"taste axis 2 ({tm.explained[1]:.0%})", fontsize=9)
        self.ax.tick_params(labelsize=8)

    def update(self, tm: TasteMap, step: int) -> Figure:
        self.points.set_offsets(tm.xy)
        lo, hi = tm.xy.min(axis=0), tm.xy.max(axis=0)
        pad = 0.05 * np.maximum(hi - lo, 1e-6)
        self.ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        self.ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        self.ax.set_title(f"user tastes at step {step}, coloured by segment", fontsize=10)
        return self.fig


def taste_map_figure(tm: TasteMap, step: int, chart: TasteChart | None = None) -> Figure:
    """The taste map figure (reusing ``chart`` if given)."""
    return (chart or TasteChart(tm)).update(tm, step)


@solara.component
def TasteMapPanel(run: Run, step: int):
    """The taste map: clusters forming (or not) as tastes drift toward what feeds show."""
    chart = solara.use_memo(lambda: TasteChart(taste_map(run)), [id(run.model)])
    fig = taste_map_figure(taste_map(run), run.steps_done, chart)
    Prose("Each dot is a user; the axes are fixed at the start, so drift shows as movement.")
    Figure_(fig, (id(chart), step))


# -- trending board -------------------------------------------------------------------------
@dataclass(frozen=True)
class Trending:
    """The top videos by the public trending count, and per-step views of the top videos
    and sounds (rows: steps 0..t-1)."""

    table: pd.DataFrame
    video_curves: dict[int, np.ndarray]
    sound_curves: dict[int, np.ndarray]


def trending(model: FeedModel, k: int = TOP_VIDEOS, curves: int = TOP_CURVES) -> Trending:
    n = model.world.videos.n
    steps = max(model.steps, 1)
    cat = model.world.videos.catalog
    trend = model.counters.trending[:n]
    top = np.argsort(-trend, kind="stable")[:k]
    top = top[trend[top] > 0]
    table = pd.DataFrame({
        "video": top,
        "creator": cat.column("creator")[top],
        "sound": cat.column("sound")[top],
        "uploaded at step": cat.column("upload_step")[top],
        "views": model.counters.views[top],
        "likes": model.counters.likes[top],
        "trending score": np.round(trend[top], 1),
    })
    video = model.log.observed.column("video")
    step = model.log.observed.column("step")
    pick = top[:curves]
    slot = np.full(n, -1)
    slot[pick] = np.arange(len(pick))
    s = slot[video]
    rows = s >= 0
    by_video = np.bincount(step[rows] * len(pick) + s[rows], minlength=steps * len(pick)).reshape(steps, -1) if len(pick) else np.zeros((steps, 0))
    n_sounds = model.config.world.n_sounds
    sound = cat.column("sound")[video]
    by_sound = np.bincount(step * n_sounds + sound, minlength=steps * n_sounds).reshape(steps, n_sounds)
    recent = by_sound[-3:].sum(axis=0)
    top_sounds = np.argsort(-recent, kind="stable")[:curves]
    top_sounds = top_sounds[recent[top_sounds] > 0]
    return Trending(
        table,
        {int(v): by_video[:, i] for i, v in enumerate(pick)},
        {int(x): by_sound[:, x] for x in top_sounds},
    )


def trending_figure(tr: Trending) -> Figure:
    fig = _figure(9.0, 3.0)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.9, bottom=0.15, wspace=0.2)
    left, right = fig.subplots(1, 2)
    for video, curve in tr.video_curves.items():
        left.plot(np.arange(len(curve)), curve, label=f"video {video}")
    for sound, curve in tr.sound_curves.items():
        right.plot(np.arange(len(curve)), curve, label=f"sound {sound}")
    for ax, title in ((left, "views per step: top videos"), (right, "views per step: top sounds (last 3 steps)")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.tick_params(labelsize=8)
        if ax.lines:
            ax.legend(fontsize=7, frameon=False)
    return fig


@solara.component
def TrendingBoard(run: Run, step: int):
    """Top videos and sounds by the platform's trending count, and their curves."""
    tr = solara.use_memo(lambda: trending(run.model), [id(run.model), step])
    fig = solara.use_memo(lambda: trending_figure(tr), [id(tr)])
    Prose("**Trending now** (the public count: decayed views plus 4 x likes)\n\n" + _markdown_table(tr.table))
    Figure_(fig, (id(fig),))


# -- cascade view ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Cascade:
    """One viral video's largest share tree, sampled to at most ``MAX_CASCADE_NODES`` users.

    Attributes:
        video: the video id (-1 when nothing has been shared yet).
        tree: the sampled tree (nodes are user ids, edges sharer -> receiver).
        root: the user who started it.
        size: users in the whole tree before sampling.
        depth: longest share chain in the sample.
    """

    video: int
    tree: nx.DiGraph
    root: int
    size: int
    depth: int


def viral_cascade(model: FeedModel, max_nodes: int = MAX_CASCADE_NODES, candidates: int = 5) -> Cascade:
    """The largest share cascade among the ``candidates`` videos most often received through
    shares, sampled breadth-first from its root (so the sample stays one connected tree)."""
    log = model.log.observed
    parent = log.column("share_parent")
    shared_in = parent >= 0
    if not shared_in.any():
        return Cascade(-1, nx.DiGraph(), -1, 0, 0)
    video = log.column("video")
    counts = np.bincount(video[shared_in])
    top = np.argsort(-counts, kind="stable")[:candidates]
    top = top[counts[top] > 0]
    rows = np.isin(video, top)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        trees = M.cascade_trees(video[rows], log.column("user")[rows], parent[rows])
    if not trees:
        return Cascade(int(top[0]), nx.DiGraph(), -1, 0, 0)
    best, root, tree = max(trees, key=lambda item: item[2].number_of_nodes())
    depths = nx.single_source_shortest_path_length(tree, root)
    keep = sorted(depths, key=lambda u: (depths[u], u))[:max_nodes]  # breadth-first: parents come first
    sample = tree.subgraph(keep).copy()
    return Cascade(int(best), sample, root, tree.number_of_nodes(), max(depths[u] for u in keep))


def tree_layout(tree: nx.DiGraph, root: int) -> dict[int, tuple[float, float]]:
    """Positions for a tree: depth down the page, each level spread across (cheap, no force
    layout)."""
    depths = nx.single_source_shortest_path_length(tree, root)
    levels: dict[int, list[int]] = {}
    for node in nx.dfs_preorder_nodes(tree, root):
        levels.setdefault(depths[node], []).append(node)
    pos = {}
    for depth, nodes in levels.items():
        xs = np.linspace(0, 1, len(nodes) + 2)[1:-1]
        for x, node in zip(xs, nodes):
            pos[node] = (float(x), -float(depth))
    return pos


def cascade_figure(cascade: Cascade, segment: np.ndarray) -> Figure:
    fig = _figure(7.0, 3.8)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.92, bottom=0.02)
    ax = fig.subplots()
    ax.axis("off")
    if cascade.video < 0 or cascade.tree.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no video has been shared yet", ha="center", va="center")
        return fig
    pos = tree_layout(cascade.tree, cascade.root)
    nodes = list(pos)
    xy = np.array([pos[n] for n in nodes])
    lines = [(pos[a], pos[b]) for a, b in cascade.tree.edges]
    ax.add_collection(LineCollection(lines, colors="0.6", linewidths=0.7))
    size = 40 if len(nodes) < 30 else 14
    ax.scatter(xy[:, 0], xy[:, 1], c=segment[nodes], cmap=SEGMENT_COLOURS, vmin=0, vmax=9, s=size, zorder=3)
    ax.scatter([pos[cascade.root][0]], [pos[cascade.root][1]], s=80, facecolors="none", edgecolors="k", zorder=4)
    shown = cascade.tree.number_of_nodes()
    more = f" (first {shown} shown)" if shown < cascade.size else ""
    ax.set_title(f"video {cascade.video}: {cascade.size} users in its largest share cascade{more}; "
                 "colour = segment", fontsize=10)
    return fig


@solara.component
def CascadeView(run: Run, step: int):
    """One viral video's share cascade (a sampled tree, coloured by the users' segments)."""
    cascade = solara.use_memo(lambda: viral_cascade(run.model), [id(run.model), step])
    fig = solara.use_memo(lambda: cascade_figure(cascade, run.model.world.users.segment), [id(cascade)])
    Prose(
        f"Depth {cascade.depth}, {cascade.tree.number_of_nodes()} users drawn; each row is one more share hop."
        if cascade.video >= 0 else "Nothing shared yet: step the model."
    )
    Figure_(fig, (id(fig),))


# -- user inspector -------------------------------------------------------------------------
@dataclass(frozen=True)
class Inspection:
    """One user as the simulator knows them and as the platform sees them.

    Attributes:
        user: the user id.
        facts: segment, group, satisfaction and counts, for a one-line summary.
        true_taste: latent topic taste now (the platform never sees it).
        inferred_taste: topic mix of the videos the platform saw them like (public tags),
            or of what they watched when they have no likes yet.
        inferred_from: "likes" or "views".
        feed: their last step's impressions.
        why: score parts per recommended video of the last feed (rows: videos).
        why_note: where the parts come from.
    """

    user: int
    facts: dict
    true_taste: np.ndarray
    inferred_taste: np.ndarray
    inferred_from: str
    feed: pd.DataFrame
    why: pd.DataFrame
    why_note: str


def default_user(model: FeedModel) -> int:
    """A user whose last feed the model explained as it served it (else user 0)."""
    if model.explanations:
        last = model.explanations[-1]["step"]
        users = sorted({e["user"] for e in model.explanations if e["step"] == last})
        if users:
            return users[0]
    return 0


def inspect_user(model: FeedModel, user: int) -> Inspection:
    users = model.world.users
    log = model.log.observed
    mine = log.column("user") == user
    videos = log.column("video")[mine]
    liked = log.column("liked")[mine]
    tags = model.world.videos.catalog.column("tags").astype(np.float64)
    basis, source = (videos[liked], "likes") if liked.any() else (videos, "views")
    inferred = tags[basis].sum(axis=0) if len(basis) else np.zeros(tags.shape[1])
    inferred = inferred / inferred.sum() if inferred.sum() > 0 else inferred
    t = model.steps - 1
    last = mine & (log.column("step") == t)
    feed = pd.DataFrame({
        "slot": log.column("position")[last].astype(int),
        "video": log.column("video")[last],
        "creator": model.world.videos.catalog.column("creator")[log.column("video")[last]],
        "watch ratio": np.round(log.column("watch_ratio")[last], 2),
        "liked": log.column("liked")[last],
        "shared": log.column("shared")[last],
        "from a friend": log.column("share_parent")[last] >= 0,
    }).head(FEED_ROWS)
    why, note = explain_feed(model, user, feed[~feed["from a friend"]]["video"].to_numpy())
    facts = {
        "segment": int(users.segment[user]),
        "group": "holdout (chronological control)" if users.holdout[user] else "treatment",
        "satisfaction": float(users.satisfaction[user]),
        "churned": bool(users.churned[user]),
        "views": int(mine.sum()),
        "likes seen by the platform": int(liked.sum()),
    }
    return Inspection(user, facts, users.taste[user].copy(), inferred, source, feed, why, note)


def explain_feed(model: FeedModel, user: int, videos: np.ndarray) -> tuple[pd.DataFrame, str]:
    """Score parts of ``videos`` for ``user``: as kept when the feed was served, or else as
    the recommender scores them now (its random state is restored either way)."""
    t = model.steps - 1
    kept = [e for e in model.explanations if e["step"] == t and e["user"] == user]
    if kept:
        frame = pd.DataFrame(kept).pivot_table(index=["slot", "video"], columns="part", values="value", sort=False)
        frame = frame.reset_index().sort_values("slot").drop(columns="slot")
        frame.columns.name = None
        return frame, f"as scored when the whole feed was served (step {t}, {kept[0]['recommender']})"
    if len(videos) == 0 or not hasattr(model, "_pool"):
        return pd.DataFrame(), "no recommended videos in the last feed"
    rec = model.holdout_recommender if model.world.users.holdout[user] else model.recommender
    candidates = model._pool[0]
    cols = np.searchsorted(candidates, videos)
    ok = (cols < len(candidates)) & (candidates[np.minimum(cols, len(candidates) - 1)] == videos)
    state = rec.rng.bit_generator.state
    try:
        parts = rec.explain(int(user), candidates, model._view_for(rec))
    finally:
        rec.rng.bit_generator.state = state
    frame = pd.DataFrame({"video": videos[ok]})
    for name, values in parts.items():
        frame[name] = np.asarray(values, dtype=float)[cols[ok]]
    return frame, f"as {rec.name} scores them now, after learning from step {t}"


def inspector_figure(ins: Inspection) -> Figure:
    fig = _figure(7.0, 2.6)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.17)
    ax = fig.subplots()
    topics = np.arange(len(ins.true_taste))
    ax.bar(topics - 0.2, ins.true_taste, width=0.4, label="true taste (hidden)")
    ax.bar(topics + 0.2, ins.inferred_taste, width=0.4, label=f"platform's view (topic tags of {ins.inferred_from})")
    ax.set_xlabel("topic", fontsize=9)
    ax.set_xticks(topics)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"user {ins.user}: what they like vs what the platform infers", fontsize=10)
    return fig


@solara.component
def UserInspector(run: Run, step: int):
    """Pick a user: true taste beside the platform's inference, recent feed, and why each
    recommended video was shown (the score's parts)."""
    model = run.model
    chosen = solara.use_reactive(None)
    user = chosen.value if chosen.value is not None else default_user(model)
    user = int(min(max(user, 0), model.world.users.n - 1))
    ins = solara.use_memo(lambda: inspect_user(model, user), [id(model), step, user])
    fig = solara.use_memo(lambda: inspector_figure(ins), [id(ins)])
    with solara.Row():
        solara.InputInt("user id", value=user, on_value=chosen.set, continuous_update=False)
        solara.Button("a random active user", on_click=lambda: chosen.set(_random_active(model)), text=True)
    facts = ", ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in ins.facts.items())
    solara.Text(f"user {ins.user} | {facts}", classes=["fs-inspected-user"])
    Figure_(fig, (id(fig),))
    Prose(f"**Last feed** (step {model.steps - 1}; the videos they scrolled to)\n\n" + _markdown_table(ins.feed))
    Prose(f"**Why each video was shown**: score parts, {ins.why_note}\n\n" + _markdown_table(ins.why))


def _random_active(model: FeedModel) -> int:
    seen = np.unique(model.log.observed.column("user", len(model.log) - 1000 if len(model.log) > 1000 else 0))
    rng = np.random.default_rng(model.steps)
    return int(rng.choice(seen)) if len(seen) else 0


# -- privacy ------------------------------------------------------------------------------
def trait_inference(model: FeedModel) -> M.TraitAUC:
    """The hidden trait's AUC from the likes the platform holds now (Kosinski et al. 2013)."""
    likes = model.log.like_matrix(model.world.users.n, model.world.videos.n, observed=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        return M.trait_auc(likes, model.world.users.trait, seed=model.config.seed)


@solara.component
def PrivacyPanel(run: Run, step: int):
    """The trait inference AUC now, computed on demand (seconds at the default size) and
    cached for the step it was computed at."""
    result = solara.use_reactive(None)

    def compute():
        result.set((run.steps_done, run.cached("trait_auc", lambda: trait_inference(run.model))))

    eps = run.model.config.privacy.epsilon
    Prose(
        "From the likes alone, how well can the platform tell who has the hidden trait? "
        "(the pipeline of Kosinski, Stillwell and Graepel 2013: SVD of the like matrix, logistic "
        "regression, 10-fold cross-validated AUC; 0.5 is guessing). Likes are "
        + ("seen as they are." if eps is None else f"randomised with epsilon {eps:g} before the platform sees them.")
    )
    solara.Button("Infer the trait now", on_click=compute, color="primary")
    solara.Text("(a few seconds: it fits a model to every user's likes)", style={"color": "#555", "font-size": "0.9em"})
    if result.value is not None and result.value[1] is not None:
        at, auc = result.value
        stale = f" (model now at step {run.steps_done})" if at != run.steps_done else ""
        text = "n/a: " + auc.reason if np.isnan(auc.auc) else f"{auc.auc:.3f}"
        solara.Text(f"trait AUC {text}", classes=["fs-trait-auc"], style={"font-weight": "bold"})
        solara.Text(f"at step {at}{stale}, from {auc.n_users:,} users and {auc.n_videos:,} videos with enough likes")


# -- A/B difference -------------------------------------------------------------------------
def ab_difference(runs: list[Run]) -> pd.DataFrame:
    """Each headline metric for A and B at the last step, and B minus A."""
    a, b = runs[0].latest(), runs[1].latest()
    rows = [(label, format_metric(k, a[k]), format_metric(k, b[k]), f"{b[k] - a[k]:+.4g}") for k, label, _ in HEADLINE]
    return pd.DataFrame(rows, columns=["metric", f"A: {runs[0].recommender}", f"B: {runs[1].recommender}", "B - A"])


@solara.component
def ABDifference(runs: list[Run], step: int):
    """The difference of each headline metric, B minus A."""
    Prose(f"**B minus A at step {runs[0].steps_done}** (one world, one seed)\n\n" + _markdown_table(ab_difference(runs)))

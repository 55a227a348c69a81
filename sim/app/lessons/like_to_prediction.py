"""Lesson: how a like becomes a prediction.

Likes are the training data of the feed's model. Matrix factorisation (and user-kNN) turn
the users x videos like matrix into a score for every user and video; the lesson measures,
every few steps, how well those scores agree with what users truly get from a video (their
true utility, which the platform never sees), as the likes accumulate.

The agreement is the Pearson correlation, per sampled user, between the model's scores and
the user's true utility over a sample of the videos that have at least one like (the only
videos a like-trained model knows anything about), averaged over users. Random scores give 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import LESSON_DIR, Lesson, LessonResult
from ._common import as_floats, compare_words, fill, load_scenario, new_figure, run_model, save_figure, with_recommender
from ...experiments import metrics_frame

NAME = "like_to_prediction"
RECOMMENDERS = ("mf", "user_knn", "random")
SAMPLE_USERS = 200
SAMPLE_VIDEOS = 500
CHECKPOINTS = 8
HEADLESS = ["world.make_agents=false", "feed.explain_users=0", "metrics.families=[]"]

NARRATIVE = """
### How a like becomes a prediction

Every like you give is a training example. The platform keeps a table of who liked what, the
*like matrix*, and a model such as **matrix factorisation** compresses it into a few numbers per
user and per video, so that the product of the two predicts whether you would like a video you
have never seen. Nobody told the model what you enjoy: it only saw likes.

In this run ({n_users:,.0f} users, {steps:.0f} steps, seed {seed:.0f}) the like matrix grew from
{likes_first:.1f} likes per user at step {step_first:.0f} to {likes_last:.1f} at step
{step_last:.0f}. Over the videos that had at least one like, the correlation between the
matrix-factorisation model's scores and users' true utility was **r = {mf_first:.2f}** at step
{step_first:.0f} and **r = {mf_last:.2f}** at step {step_last:.0f}: {mf_trend}. User-kNN
("people who liked what you liked") reached r = {knn_last:.2f}; random scores, as a check,
r = {random_last:.2f}.

Over the last {tail_steps:.0f} steps the feeds ranked by matrix factorisation gave a mean true
utility of {utility_mf:+.2f} per view (user-kNN {utility_knn:+.2f}) against {utility_random:+.2f}
for random feeds: {utility_verdict}

Predictions exist only where likes are: at the end {known_share:.0%} of the catalogue had at
least one like. The other videos are unknown to the model whatever their quality.
"""

QUESTIONS = (
    "Switch the recommender from mf to random: does the taste map of what users watch still form clusters?",
    "Halve the number of users: how many steps does the model need to reach the same agreement?",
    "Inspect a user with few likes and one with many: whose inferred taste is closer to the true one?",
    "Raise like-bait: does the model learn users' tastes or the bait?",
)
LOOK_FOR = (
    "The agreement curve in the figure rising with likes per user, and random staying at zero.",
    "Mean true utility of the mf feed pulling away from random after the first refits.",
    "In the user inspector: the inferred taste sharpening as the user's likes accumulate.",
    "How few videos carry most of the likes: the model knows those and little else.",
)


def score_agreement(model, users: np.ndarray, rng: np.random.Generator) -> float:
    """Mean per-user Pearson correlation of the recommender's scores with true utility, over a
    sample of the videos with at least one observed like (NaN when none has)."""
    n_users, n_videos = model.world.users.n, model.world.videos.n
    likers = np.asarray(model.log.like_matrix(n_users, n_videos, observed=True).sum(axis=0)).ravel()
    known = np.flatnonzero(likers > 0)
    if len(known) < 2:
        return float("nan")
    videos = np.sort(rng.choice(known, min(SAMPLE_VIDEOS, len(known)), replace=False))
    rec = model.recommender
    state = rec.rng.bit_generator.state  # asking for scores must not change the run
    scores = np.asarray(rec.score(users, videos, model._view_for(rec)), dtype=np.float64)
    rec.rng.bit_generator.state = state
    utility = model.utility(users[:, None], videos[None, :]).astype(np.float64)
    s = scores - scores.mean(axis=1, keepdims=True)
    u = utility - utility.mean(axis=1, keepdims=True)
    denom = np.sqrt((s * s).sum(axis=1) * (u * u).sum(axis=1))
    r = np.divide((s * u).sum(axis=1), denom, out=np.full(len(users), np.nan), where=denom > 0)
    return float(np.nanmean(r)) if np.isfinite(r).any() else 0.0


def run(out_dir: str | Path | None = None, **overrides) -> LessonResult:
    """Run mf, user-kNN and random feeds on the lesson's world and seed; measure how well each
    model's scores agree with true utility as likes accumulate; write ``like_to_prediction.png``.

    Args:
        out_dir: folder for the figure (none written when None).
        **overrides: ``seed``, ``steps``, ``n_users``, dotted fields with ``__``, ``set=[...]``.
    """
    base = load_scenario(LESSON.scenario, overrides).with_overrides(HEADLESS)
    every = max(1, base.steps // CHECKPOINTS)
    curves, series = {}, {}
    for name in RECOMMENDERS:
        scenario = with_recommender(base, name)
        sample = np.random.default_rng(scenario.seed).choice(
            scenario.world.n_users, min(SAMPLE_USERS, scenario.world.n_users), replace=False
        )
        rng = np.random.default_rng([scenario.seed, 1])
        points = []

        def checkpoint(model, points=points, sample=sample, rng=rng):
            likes = model.log.like_matrix(model.world.users.n, model.world.videos.n, observed=True).nnz
            points.append((model.t + 1, likes / model.world.users.n, score_agreement(model, sample, rng)))

        model = run_model(scenario, every, checkpoint)
        curves[name] = np.array(points)
        series[name] = metrics_frame(model)["mean_utility"].to_numpy(dtype=float)
        if name == RECOMMENDERS[0]:
            likers = np.asarray(model.log.like_matrix(model.world.users.n, model.world.videos.n, observed=True).sum(0))
            known_share = float((likers > 0).mean())
    tail = max(1, base.steps // 4)
    mf, knn, rnd = (curves[n] for n in RECOMMENDERS)
    numbers = as_floats({
        "n_users": base.world.n_users, "steps": base.steps, "seed": base.seed,
        "step_first": mf[0, 0], "step_last": mf[-1, 0], "likes_first": mf[0, 1], "likes_last": mf[-1, 1],
        "mf_first": mf[0, 2], "mf_last": mf[-1, 2], "knn_first": knn[0, 2], "knn_last": knn[-1, 2],
        "random_last": rnd[-1, 2], "tail_steps": tail,
        "utility_mf": np.nanmean(series["mf"][-tail:]), "utility_knn": np.nanmean(series["user_knn"][-tail:]),
        "utility_random": np.nanmean(series["random"][-tail:]), "known_share": known_share,
    })
    words = {
        "mf_trend": compare_words(
            numbers["mf_last"], numbers["mf_first"], 0.05,
            "the predictions improved as the likes accumulated",
            "in this run the agreement fell as the likes accumulated",
            "in this run the agreement barely changed as the likes accumulated",
        ),
        "utility_verdict": compare_words(
            numbers["utility_mf"], numbers["utility_random"], 0.05,
            "the predictions are worth something to the users, not only to the model.",
            "in this run the learned feed served users worse than chance.",
            "in this run the learned feed was no better for users than chance.",
        ),
    }
    fig = _figure(curves, series, numbers)
    return LessonResult(NAME, numbers, fill(NARRATIVE, numbers, words), save_figure(fig, out_dir, NAME))


LABELS = {"mf": "matrix factorisation", "user_knn": "user-kNN", "random": "random"}


def _figure(curves: dict, series: dict, numbers: dict):
    fig, (left, right) = new_figure(2)
    for name, pts in curves.items():
        left.plot(pts[:, 1], pts[:, 2], marker="o", label=LABELS[name])
        right.plot(np.arange(1, len(series[name]) + 1), series[name], label=LABELS[name])
    left.axhline(0, color="grey", lw=0.8)
    left.set_xlabel("likes per user so far")
    left.set_ylabel("correlation of scores with true utility")
    left.set_title("Predictions sharpen as likes accumulate")
    right.set_xlabel("step")
    right.set_ylabel("mean true utility per view")
    right.set_title("What the feed gave users")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"How a like becomes a prediction (seed {numbers['seed']:.0f})")
    return fig


LESSON = Lesson(
    name=NAME,
    title="How a like becomes a prediction",
    scenario=LESSON_DIR / f"{NAME}.toml",
    recommenders=RECOMMENDERS,
    narrative=NARRATIVE,
    questions=QUESTIONS,
    look_for=LOOK_FOR,
    run=run,
)

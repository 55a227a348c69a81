"""Lesson: how echo chambers form.

A feed trained on likes serves more of what a user liked; watching pulls the user's taste
toward what was watched (preference amplification, Kalimeris et al. 2021); so each user's
consumption narrows and like-minded users end up watching the same videos (homogenisation,
Chaney et al. 2018). The lesson runs a feedback recommender (content-based, trained on likes),
random feeds and the oracle (ranks by true utility, no feedback learning) on one world and seed
and follows the echo metrics of :mod:`sim.metrics.echo` over time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import LESSON_DIR, Lesson, LessonResult
from ._common import (
    as_floats, compare_words, fill, load_scenario, new_figure, plot_over_steps, save_figure, with_recommender,
)
from ...experiments import run as run_scenario

NAME = "echo_chambers"
RECOMMENDERS = ("content", "random", "oracle")
HEADLESS = ["world.make_agents=false", "feed.explain_users=0", 'metrics.families=["echo"]']
METRICS = ("topic_entropy", "homogenization_nearest", "homogenization_random", "taste_drift", "polarization",
           "effective_clusters")

NARRATIVE = """
### How echo chambers form

A feed trained on your likes shows you more of what you liked. Watching it nudges your taste
toward it, so you like more of the same, and the loop closes. Across many users, people with
similar tastes can end up watching the same videos and drifting apart from everyone else.

This run ({n_users:,.0f} users, {steps:.0f} steps, seed {seed:.0f}) puts the same users, with
tastes that drift toward what they watch, under three feeds: a **content-based feed trained on
likes**, **random** feeds, and the **oracle**, which ranks by true utility and learns nothing
from likes.

- **Narrowing.** The topic entropy of what a user watched (lower = fewer topics) ended at
  {entropy_content:.2f} under the like-trained feed, {entropy_random:.2f} under random feeds and
  {entropy_oracle:.2f} under the oracle: the like-trained feed's users watched {entropy_vs_random}
  random feeds' users. {oracle_note}
- **Homogenisation.** The overlap between what a user watched and what their most similar
  user watched (Jaccard index: shared videos over all videos either watched) was
  {nearest_content:.2f} under the like-trained feed, {nearest_random:.2f} under random feeds and
  {nearest_oracle:.2f} under the oracle: {homog_verdict}
- **Tastes.** Tastes moved {drift_content:.2f} from where they started (random {drift_random:.2f},
  oracle {drift_oracle:.2f}). The mean distance between users' tastes, their polarisation, ended at
  {polar_content:.2f} under the like-trained feed against {polar_random:.2f} under random feeds:
  {polar_verdict}; users spread over {clusters_content:.1f} taste clusters (random
  {clusters_random:.1f}, oracle {clusters_oracle:.1f}).
"""

QUESTIONS = (
    "Set plasticity to 0: do users still narrow when their tastes cannot drift?",
    "Switch to random feeds: what happens to the taste map's clusters?",
    "Add exploration (or a diversity re-ranker): how much of the narrowing does it undo?",
    "Compare the like-trained feed with the oracle in A/B mode: which homogenises more, and which gives more utility?",
)
LOOK_FOR = (
    "The taste map: segments pulling apart into tight clusters under the like-trained feed.",
    "Diversity (topic entropy) falling step by step while engagement rises.",
    "Users' nearest-neighbour overlap climbing: like-minded users watching the same videos.",
    "Under random feeds, tastes converging toward the catalogue's average instead.",
)


def run(out_dir: str | Path | None = None, **overrides) -> LessonResult:
    """Run a like-trained content feed, random feeds and the oracle on the lesson's world and
    seed; compare the echo metrics; write ``echo_chambers.png``.

    Args:
        out_dir: folder for the figure (none written when None).
        **overrides: ``seed``, ``steps``, ``n_users``, dotted fields with ``__``, ``set=[...]``.
    """
    base = load_scenario(LESSON.scenario, overrides).with_overrides(HEADLESS)
    frames, final = {}, {}
    for name in RECOMMENDERS:
        result = run_scenario(with_recommender(base, name), write=False)
        frames[name] = result.metrics.dropna(subset=["topic_entropy"])
        final[name] = {m: result.summary.get(m) for m in METRICS}
    short = {"topic_entropy": "entropy", "homogenization_nearest": "nearest", "taste_drift": "drift",
             "polarization": "polar", "effective_clusters": "clusters", "homogenization_random": "homog_random"}
    numbers = {"n_users": base.world.n_users, "steps": base.steps, "seed": base.seed}
    for name in RECOMMENDERS:
        for metric, key in short.items():
            value = final[name][metric]
            numbers[f"{key}_{name}"] = float("nan") if value is None else value
    numbers = as_floats(numbers)
    n = numbers
    words = {
        "entropy_vs_random": compare_words(
            n["entropy_content"], n["entropy_random"], 0.05,
            "a wider mix of topics than", "a narrower mix of topics than", "about as wide a mix of topics as",
        ),
        "oracle_note": compare_words(
            n["entropy_oracle"], n["entropy_content"], 0.02,
            "The oracle narrowed them less.",
            "The oracle narrowed them even more: when tastes drift, serving exactly what people enjoy "
            "narrows them too.",
            "The oracle narrowed them about as much: when tastes drift, serving exactly what people enjoy "
            "narrows them too.",
        ),
        "homog_verdict": compare_words(
            n["nearest_content"], max(n["nearest_random"], n["nearest_oracle"]), 0.02,
            "the feed trained on likes homogenised users more than both random feeds and the ideal ranking.",
            "in this run the feed trained on likes did not homogenise users more than the other feeds.",
            "in this run the feed trained on likes homogenised users about as much as the most homogenising other.",
        ),
        "polar_verdict": compare_words(
            n["polar_content"], n["polar_random"], 0.02,
            "tastes stayed further apart under the like-trained feed than under random feeds",
            "tastes stayed further apart under random feeds",
            "about the same under both",
        ),
    }
    fig = _figure(frames, numbers)
    return LessonResult(NAME, numbers, fill(NARRATIVE, numbers, words), save_figure(fig, out_dir, NAME))


LABELS = {"content": "like-trained (content)", "random": "random", "oracle": "oracle"}
PANELS = (
    ("topic_entropy", "topic entropy of consumption", "Narrowing"),
    ("homogenization_nearest", "overlap with most similar user (Jaccard)", "Homogenisation"),
    ("polarization", "mean distance between tastes", "Polarisation"),
)


def _figure(frames: dict, numbers: dict):
    fig, axes = new_figure(3, width=4.4)
    plot_over_steps(axes, frames, PANELS, LABELS, marker="o")
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"How echo chambers form (seed {numbers['seed']:.0f})")
    return fig


LESSON = Lesson(
    name=NAME,
    title="How echo chambers form",
    scenario=LESSON_DIR / f"{NAME}.toml",
    recommenders=RECOMMENDERS,
    narrative=NARRATIVE,
    questions=QUESTIONS,
    look_for=LOOK_FOR,
    run=run,
)

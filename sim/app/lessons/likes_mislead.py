"""Lesson: when likes mislead.

A like is a proxy for what a user gets from a video, and proxies can be gamed: like-bait (calls
to action) buys likes without adding anything to true utility. A ranker that optimises likes
alone learns to serve the bait (Goodhart's law; Covington et al. 2016 on why YouTube moved
from clicks to watch time). The lesson runs a like optimiser (the value model with weight on
likes only), a trending feed (popularity of likes) and the multi-signal value model on one
world and seed, and compares likes with true utility (:mod:`sim.metrics.overfit`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import LESSON_DIR, Lesson, LessonResult
from ._common import as_floats, compare_words, fill, load_scenario, new_figure, plot_over_steps, save_figure
from ...experiments import run as run_scenario

NAME = "likes_mislead"
RECOMMENDERS = ("value", "popularity")
HEADLESS = ["world.make_agents=false", "feed.explain_users=0", 'metrics.families=["overfit"]']

NARRATIVE = """
### When likes mislead

A like is the platform's guess at what you enjoyed, and guesses can be gamed. In this world
{bait_catalogue:.0%} of videos carry **like-bait** ("double tap if you agree!"): it makes a
like more likely but adds nothing to what the viewer gets from the video.

This run ({n_users:,.0f} users, {steps:.0f} steps, seed {seed:.0f}) puts the same users under
three feeds:

| feed | likes per view | true utility per view | like-bait share of views | Kendall tau |
|---|---|---|---|---|
| like optimiser (likes only) | {likes_opt:.1%} | {utility_opt:+.2f} | {bait_opt:.0%} | {tau_opt:.2f} |
| trending (popularity of likes) | {likes_pop:.1%} | {utility_pop:+.2f} | {bait_pop:.0%} | {tau_pop:.2f} |
| value model (likes, watch time, shares...) | {likes_value:.1%} | {utility_value:+.2f} | {bait_value:.0%} | {tau_value:.2f} |

Kendall tau is the agreement of the feed's ranking with users' true utility (1 = same order).

The like optimiser earned {likes_verdict} the value model, and gave users {utility_verdict}.
{bait_sentence} {verdict}
"""

QUESTIONS = (
    "Raise like-bait: how far do likes and true utility come apart in the metrics panel?",
    "Put the like-only ranker beside the value model in A/B mode: which earns more likes, which more utility?",
    "Set like-bait to 0: does the like optimiser still fall behind?",
    "Inspect a user's feed: which videos were shown because of their predicted likes?",
)
LOOK_FOR = (
    "The like-vs-utility gap in the metrics panel widening under the like optimiser.",
    "The share of like-bait in feeds: far above its share of the catalogue when likes are the target.",
    "In the figure: the like optimiser's like rate on top while its utility is not.",
    "Why-was-this-shown: the predicted-like part dominating the score of bait videos.",
)


def run(out_dir: str | Path | None = None, **overrides) -> LessonResult:
    """Run a like optimiser, a trending feed and the multi-signal value model on the lesson's
    world and seed; compare likes with true utility; write ``likes_mislead.png``.

    Args:
        out_dir: folder for the figure (none written when None).
        **overrides: ``seed``, ``steps``, ``n_users``, dotted fields with ``__``, ``set=[...]``.
    """
    base = load_scenario(LESSON.scenario, overrides).with_overrides(HEADLESS)
    scenarios = {
        "opt": base,  # the scenario's value model with weight on likes alone: the like optimiser
        "pop": base.with_recommender("popularity", half_life=3.0, signal="likes"),
        "value": base.with_recommender("value"),  # the multi-signal value model, default weights
    }
    results = {name: run_scenario(sc, write=False) for name, sc in scenarios.items()}
    bait = results["opt"].model.world.videos.latent.column("like_bait") > 0
    numbers = {"n_users": base.world.n_users, "steps": base.steps, "seed": base.seed,
               "bait_catalogue": float(bait.mean())}
    for name, result in results.items():
        s = result.summary
        numbers |= {f"likes_{name}": s.get("like_rate"), f"utility_{name}": s.get("mean_utility"),
                    f"bait_{name}": s.get("like_bait_share"), f"tau_{name}": s.get("kendall_tau")}
    numbers = as_floats({k: np.nan if v is None else v for k, v in numbers.items()})
    fig = _figure({name: r.metrics for name, r in results.items()}, numbers)
    return LessonResult(NAME, numbers, fill(NARRATIVE, numbers, _words(numbers)), save_figure(fig, out_dir, NAME))


def _words(n: dict) -> dict[str, str]:
    likes = compare_words(n["likes_opt"], n["likes_value"], 0.005, "more", "fewer", "same")
    utility = compare_words(n["utility_opt"], n["utility_value"], 0.05, "more", "less", "same")
    if likes == "more" and utility == "less":
        verdict = ("Judged by likes alone, the like optimiser is the better feed; judged by what users got, "
                   "the value model is: here the likes misled.")
    elif utility == "less":
        verdict = ("In this run the like optimiser did not even win on likes: likes and true utility pointed "
                   "the same way, toward the value model.")
    else:
        verdict = "In this run the like optimiser gave no less true utility, so the likes did not mislead."
    return {
        "likes_verdict": {"more": "more likes per view than", "fewer": "fewer likes per view than",
                          "same": "about as many likes per view as"}[likes],
        "utility_verdict": {"more": "more true utility per view", "less": "less true utility per view",
                            "same": "about the same true utility per view"}[utility],
        "bait_sentence": compare_words(
            n["bait_opt"], n["bait_catalogue"], 0.05,
            "Like-bait took a larger share of its feeds than of the catalogue.",
            "Like-bait took a smaller share of its feeds than of the catalogue.",
            "Like-bait took about the same share of its feeds as of the catalogue.",
        ),
        "verdict": verdict,
    }


LABELS = {"opt": "like optimiser", "pop": "trending (popularity)", "value": "value model"}
PANELS = (
    ("like_rate", "likes per view", "What the platform sees"),
    ("mean_utility", "mean true utility per view", "What users get"),
    ("like_bait_share", "share of views that are like-bait", "Like-bait served"),
)


def _figure(frames: dict, numbers: dict):
    fig, axes = new_figure(3, width=4.4)
    plot_over_steps(axes, frames, PANELS, LABELS)
    axes[2].axhline(numbers["bait_catalogue"], color="grey", ls="--", lw=0.8, label="share of the catalogue")
    axes[0].legend(frameon=False, fontsize=8)
    axes[2].legend(frameon=False, fontsize=8)
    fig.suptitle(f"When likes mislead (seed {numbers['seed']:.0f})")
    return fig


LESSON = Lesson(
    name=NAME,
    title="When likes mislead",
    scenario=LESSON_DIR / f"{NAME}.toml",
    recommenders=RECOMMENDERS,
    narrative=NARRATIVE,
    questions=QUESTIONS,
    look_for=LOOK_FOR,
    run=run,
)

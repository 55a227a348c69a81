"""Lesson: trends amplified before they peak.

A sound becomes a trend when creators copy it and viewers watch it. The question of the
lesson: does the ranked feed push a trend before it peaks on its own, or pile on after? The
organic curve of a sound is its views per step in the chronological holdout; the ranked
feed's curve, its views per step among the treated users. For each sound the lesson takes
:func:`sim.metrics.share_before_peak` (the share of the feed's views served before the
organic peak) and compares it with the holdout's own share, and it measures each sound's
reach against the holdout with :func:`sim.metrics.amplification_by_group` (Huszar et al.).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import LESSON_DIR, Lesson, LessonResult
from ._common import as_floats, compare_words, fill, load_scenario, new_figure, run_model, save_figure, with_recommender
from ... import metrics as M

NAME = "trends"
RECOMMENDERS = ("popularity", "content")
MIN_ORGANIC_VIEWS = 30  # sounds the holdout saw fewer times have no meaningful organic peak
SMOOTH_STEPS = 3  # the holdout is small: its curves are smoothed before finding their peak
HEADLESS = ["world.make_agents=false", "feed.explain_users=0", "metrics.families=[]"]

NARRATIVE = """
### Trends amplified before they peak

Creators copy sounds that are doing well, so sounds rise and fall as trends. A feed can
*lead* a trend, serving it to many people before it would peak on its own, or *follow* it,
piling on once it is already big. To tell which, this run keeps {holdout_share:.0%} of users on
a chronological feed (what their followed creators and the newest uploads offer): their views
of a sound trace its **organic** curve, and its organic peak is when they watched it most.

In this run ({n_users:,.0f} users, {steps:.0f} steps, seed {seed:.0f}; {n_sounds:.0f} sounds with
enough organic views), the **trending feed** (popularity of recent likes) served
**{pop_before:.0%}** of a sound's views before the sound's organic peak, where the holdout
itself saw {pop_organic:.0%} of its views before it: the trending feed {pop_verdict}. The
**content-based feed** served {content_before:.0%} before the organic peak (its holdout
{content_organic:.0%}): it {content_verdict}.

Reach tells the other half. Against the holdout, per capita, the trending feed gave
{pop_amplified:.0%} of sounds more reach (amplification above 0; mean amplification
{pop_amp_mean:+.2f}, where +1 means twice the holdout's reach per person) and the content
feed {content_amplified:.0%} (mean {content_amp_mean:+.2f}).
"""

QUESTIONS = (
    "Switch the recommender from popularity to content: does the trending board change before or after a sound peaks?",
    "Set the holdout to 0: what can you no longer tell about amplification?",
    "Raise exploration: does the feed find rising sounds sooner?",
    "Follow one sound on the trending board: when did the feed start serving it, and when did it peak?",
)
LOOK_FOR = (
    "On the trending board, sounds that jump only after they were already large (following).",
    "In the figure, the feed's curve (solid) against the holdout's organic curve (dashed) of the same sound.",
    "The share of views before the organic peak, feed against holdout, in the right panel.",
    "Exposure Gini rising when the feed piles on a few trends.",
)


def sound_curves(model) -> dict[str, np.ndarray]:
    """Views per sound per step among treated users and in the holdout, and per-sound amplification."""
    world, n_steps = model.world, model.config.steps
    user = model.log.observed.column("user")
    step = model.log.observed.column("step")
    sound = world.videos.catalog.column("sound")[model.log.observed.column("video")]
    n_sounds = model.config.world.n_sounds
    treated = ~world.users.holdout[user]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        amp = M.amplification_by_group(user, sound, ~world.users.holdout, n_sounds)["amplification"]
    return {
        "feed": M.trend_curves(step[treated], sound[treated], n_sounds, n_steps),
        "organic": M.trend_curves(step[~treated], sound[~treated], n_sounds, n_steps),
        "amplification": np.asarray(amp, dtype=float),
        "n_treated": int((~world.users.holdout).sum()),
        "n_holdout": int(world.users.holdout.sum()),
    }


def trend_timing(curves: dict) -> dict[str, float]:
    """Share of views before the organic peak (feed, holdout) and amplification, over the sounds
    the holdout saw at least ``MIN_ORGANIC_VIEWS`` times."""
    keep = curves["organic"].sum(axis=1) >= MIN_ORGANIC_VIEWS
    organic = M.smooth_curves(curves["organic"][keep], SMOOTH_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        feed_share = M.share_before_peak(curves["feed"][keep], organic)
        organic_share = M.share_before_peak(curves["organic"][keep], organic)
    amp = curves["amplification"][keep]
    return {
        "before": float(np.nanmean(feed_share)) if keep.any() else float("nan"),
        "organic": float(np.nanmean(organic_share)) if keep.any() else float("nan"),
        "amplified": float(np.mean(amp > 0)) if keep.any() else float("nan"),
        "amp_mean": float(np.nanmean(amp)) if np.isfinite(amp).any() else float("nan"),
        "n_sounds": int(keep.sum()),
    }


def run(out_dir: str | Path | None = None, **overrides) -> LessonResult:
    """Run a trending and a content-based feed against a chronological holdout on the lesson's
    world and seed; compare each sound's feed views with its organic peak; write ``trends.png``.

    Args:
        out_dir: folder for the figure (none written when None).
        **overrides: ``seed``, ``steps``, ``n_users``, dotted fields with ``__``, ``set=[...]``.
    """
    base = load_scenario(LESSON.scenario, overrides).with_overrides(HEADLESS)
    curves, timing = {}, {}
    for name in RECOMMENDERS:
        curves[name] = sound_curves(run_model(with_recommender(base, name)))
        timing[name] = trend_timing(curves[name])
    pop, content = timing["popularity"], timing["content"]
    numbers = as_floats({
        "n_users": base.world.n_users, "steps": base.steps, "seed": base.seed, "holdout_share": base.holdout.fraction,
        "n_sounds": pop["n_sounds"], "pop_before": pop["before"], "pop_organic": pop["organic"],
        "content_before": content["before"], "content_organic": content["organic"],
        "pop_amplified": pop["amplified"], "pop_amp_mean": pop["amp_mean"],
        "content_amplified": content["amplified"], "content_amp_mean": content["amp_mean"],
    })
    words = {
        f"{key}_verdict": compare_words(
            t["before"], t["organic"], 0.03,
            "led the trends: it served them earlier than organic viewing did",
            "followed the trends: it served them later than organic viewing did",
            "kept pace with organic viewing",
        )
        for key, t in (("pop", pop), ("content", content))
    }
    fig = _figure(curves, timing, numbers)
    return LessonResult(NAME, numbers, fill(NARRATIVE, numbers, words), save_figure(fig, out_dir, NAME))


def _figure(curves: dict, timing: dict, numbers: dict):
    fig, (left, right) = new_figure(2)
    c = curves["popularity"]
    top = np.argsort(c["organic"].sum(axis=1))[::-1][:3]
    steps = np.arange(1, c["feed"].shape[1] + 1)
    for i, s in enumerate(top):
        colour = f"C{i}"
        left.plot(steps, 1000 * c["feed"][s] / max(c["n_treated"], 1), color=colour, label=f"sound {s}: trending feed")
        organic = M.smooth_curves(c["organic"][s], SMOOTH_STEPS) / max(c["n_holdout"], 1)
        left.plot(steps, 1000 * organic, color=colour, ls="--", label=f"sound {s}: holdout (organic)")
        left.axvline(steps[int(np.argmax(organic))], color=colour, lw=0.6, ls=":")
    left.set_xlabel("step")
    left.set_ylabel("views per 1,000 users")
    left.set_title("The three biggest sounds (dotted: organic peak)")
    left.legend(frameon=False, fontsize=7)
    labels, values = [], []
    for name, label in (("popularity", "trending feed"), ("content", "content feed")):
        labels += [label, f"its holdout"]
        values += [timing[name]["before"], timing[name]["organic"]]
    right.bar(range(4), values, color=["C0", "0.6", "C1", "0.6"])
    right.set_xticks(range(4), labels, fontsize=8)
    right.set_ylabel("share of a sound's views before its organic peak")
    right.set_title("Leading or following?")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"Trends amplified before they peak (seed {numbers['seed']:.0f})")
    return fig


LESSON = Lesson(
    name=NAME,
    title="Trends amplified before they peak",
    scenario=LESSON_DIR / f"{NAME}.toml",
    recommenders=RECOMMENDERS,
    narrative=NARRATIVE,
    questions=QUESTIONS,
    look_for=LOOK_FOR,
    run=run,
)

"""Lesson: what your likes reveal.

Likes are public-ish signals, and together they describe a person. Kosinski, Stillwell and
Graepel (PNAS 2013) predicted private traits from Facebook likes alone. Every simulated user
carries a hidden binary trait that never changes behaviour; an attacker holding the like log
runs their pipeline (:func:`sim.metrics.trait_auc`: SVD of the like matrix, logistic
regression, cross-validated AUC). Randomized response (``privacy.epsilon``) flips each
recorded like bit with a probability set by epsilon: it hides the trait, and it also blinds
the recommender that learns from the same likes. The lesson measures both sides.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import LESSON_DIR, Lesson, LessonResult
from ._common import as_floats, compare_words, fill, load_scenario, new_figure, save_figure
from ...experiments import run as run_scenario

NAME = "likes_reveal"
RECOMMENDERS = ("mf", "content")
EPSILONS = (None, 4.0, 1.0)
CURVE_POINTS = 4  # trait AUC measurements over the run without noise
HEADLESS = ["world.make_agents=false", "feed.explain_users=0", 'metrics.families=["privacy"]']

NARRATIVE = """
### What your likes reveal

Every user in this world has a hidden trait (think of a private attribute). It changes
nothing they do, and the platform never sees it. But the trait goes with some tastes, and
tastes show in likes. An attacker holding the platform's like log compresses it (SVD), trains
a classifier on the users whose trait it knows, and predicts everyone else's: the method of
Kosinski, Stillwell and Graepel (PNAS 2013), who did this with Facebook likes.

In this run ({n_users:,.0f} users, {steps:.0f} steps, seed {seed:.0f}) the attacker's
cross-validated **AUC was {auc_plain:.2f}** (0.5 is a coin toss, 1 a perfect guess; it
read {auc_first:.2f} after {steps_first:.0f} steps, when users had fewer likes): the likes
{reveal_verdict}.

**Randomized response** is a defence: every like bit the platform records is flipped with a
probability set by epsilon (smaller epsilon, more flips, more privacy). It also blinds the
recommender, which learns from the same likes:

| likes recorded | attacker's AUC | true utility per view of the feed |
|---|---|---|
| as they are | {auc_plain:.2f} | {utility_plain:+.2f} |
| epsilon = 4 | {auc_eps4:.2f} | {utility_eps4:+.2f} |
| epsilon = 1 | {auc_eps1:.2f} | {utility_eps1:+.2f} |

{tradeoff_sentence}
"""

QUESTIONS = (
    "Lower the privacy epsilon step by step: where does the trait AUC reach 0.5, and what happens to utility?",
    "Run longer: does the AUC keep rising as users accumulate likes?",
    "Switch to the content feed with a small epsilon: does a feed learning from watch time give the trait away?",
    "Inspect a user with the trait and one without: do their inferred tastes differ?",
)
LOOK_FOR = (
    "The privacy panel's trait AUC rising as likes accumulate.",
    "The figure's frontier: each step down in epsilon lowers the AUC and the feed's utility together.",
    "Engagement falling under strong randomized response, as the feed stops personalising.",
    "An AUC near 0.5 only when the likes the platform keeps are mostly noise.",
)


def run(out_dir: str | Path | None = None, **overrides) -> LessonResult:
    """Run matrix factorisation on the lesson's world and seed with likes as they are and under
    randomized response; compare the attacker's trait AUC with the feed's true utility; write
    ``likes_reveal.png``.

    Args:
        out_dir: folder for the figure (none written when None).
        **overrides: ``seed``, ``steps``, ``n_users``, dotted fields with ``__``, ``set=[...]``.
    """
    base = load_scenario(LESSON.scenario, overrides).with_overrides(HEADLESS)
    every = max(1, base.steps // CURVE_POINTS)
    results = {}
    for eps in EPSILONS:
        data = base.model_dump()
        data["privacy"]["epsilon"] = eps
        data["metrics_every"] = every if eps is None else base.steps  # the AUC curve without noise only
        results[eps] = run_scenario(type(base).from_dict(data), write=False)
    curve = results[None].metrics.dropna(subset=["trait_auc"])
    numbers = {
        "n_users": base.world.n_users, "steps": base.steps, "seed": base.seed,
        "auc_first": curve["trait_auc"].iloc[0] if len(curve) else np.nan,
        "steps_first": curve["step"].iloc[0] + 1 if len(curve) else np.nan,
    }
    for eps, key in zip(EPSILONS, ("plain", "eps4", "eps1")):
        s = results[eps].summary
        numbers[f"auc_{key}"] = np.nan if s.get("trait_auc") is None else s["trait_auc"]
        numbers[f"utility_{key}"] = np.nan if s.get("mean_utility") is None else s["mean_utility"]
    numbers = as_floats(numbers)
    fig = _figure(curve, numbers)
    return LessonResult(NAME, numbers, fill(NARRATIVE, numbers, _words(numbers)), save_figure(fig, out_dir, NAME))


def _words(n: dict) -> dict[str, str]:
    reveal = compare_words(
        n["auc_plain"], 0.5, 0.05,
        "gave the trait away well above chance", "did worse than chance (a sign the run is too small)",
        "gave little away: the AUC is near chance (a sign the run is too small)",
    )
    auc_falls = n["auc_eps1"] < n["auc_plain"] - 0.03
    utility_falls = n["utility_eps1"] < n["utility_plain"] - 0.05
    if auc_falls and utility_falls:
        tradeoff = ("At epsilon = 1 the attacker's AUC fell to {:.2f}, and the feed's true utility fell with it: "
                    "privacy here is paid for in recommendation quality.").format(n["auc_eps1"])
    elif auc_falls:
        tradeoff = ("At epsilon = 1 the attacker's AUC fell to {:.2f} while the feed's utility held: "
                    "in this run privacy came cheap.").format(n["auc_eps1"])
    else:
        tradeoff = "In this run randomized response at epsilon = 1 did not lower the attacker's AUC by much."
    return {"reveal_verdict": reveal, "tradeoff_sentence": tradeoff}


def _figure(curve, numbers: dict):
    fig, (left, right) = new_figure(2)
    left.plot(curve["step"].to_numpy() + 1, curve["trait_auc"].to_numpy(dtype=float), marker="o", color="C3")
    left.axhline(0.5, color="grey", ls="--", lw=0.8, label="chance")
    left.set_xlabel("step (likes accumulate)")
    left.set_ylabel("attacker's AUC of the hidden trait")
    left.set_title("Likes reveal more as they pile up")
    left.legend(frameon=False, fontsize=8)
    points = (("no noise", "plain"), ("epsilon 4", "eps4"), ("epsilon 1", "eps1"))
    auc = [numbers[f"auc_{k}"] for _, k in points]
    utility = [numbers[f"utility_{k}"] for _, k in points]
    right.plot(auc, utility, marker="o", color="C0")
    for (label, _), x, y in zip(points, auc, utility):
        right.annotate(label, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    right.axvline(0.5, color="grey", ls="--", lw=0.8)
    right.margins(x=0.2, y=0.15)  # room for the labels
    right.set_xlabel("attacker's AUC (lower = more private)")
    right.set_ylabel("true utility per view of the feed")
    right.set_title("Randomized response: privacy against utility")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"What your likes reveal (seed {numbers['seed']:.0f})")
    return fig


LESSON = Lesson(
    name=NAME,
    title="What your likes reveal",
    scenario=LESSON_DIR / f"{NAME}.toml",
    recommenders=RECOMMENDERS,
    narrative=NARRATIVE,
    questions=QUESTIONS,
    look_for=LOOK_FOR,
    run=run,
)

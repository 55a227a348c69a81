"""Guided lessons: each is a scenario, a narrative, questions to try and what to look for.

Every lesson is a page in ``feedsim app`` and also runs headless with ``feedsim lesson NAME``,
which writes the lesson's figure and prints its narrative with the numbers of that run.

The registry :data:`LESSONS` maps a lesson's name to its :class:`Lesson`, in teaching order:

- ``like_to_prediction``: how a like becomes a prediction;
- ``trends``: trends amplified before they peak;
- ``echo_chambers``: how echo chambers form;
- ``likes_mislead``: when likes mislead;
- ``likes_reveal``: what your likes reveal.

Each lesson lives in ``<name>.py`` beside its scenario ``<name>.toml``. Its ``run(out_dir,
**overrides)`` runs the scenario (usually contrasting two or three recommenders on one seed),
computes the lesson's numbers with :mod:`sim.metrics`, writes ``<out_dir>/<name>.png`` and
returns a :class:`LessonResult`. Overrides: ``seed``, ``steps``, ``n_users``, any dotted
scenario field with ``__`` for the dot, and ``set=[...]`` for command-line style overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

LESSON_DIR = Path(__file__).parent


@dataclass(frozen=True)
class LessonResult:
    """What one headless run of a lesson produced.

    Attributes:
        lesson: The lesson's name.
        numbers: The headline numbers of this run, by name (they fill the narrative).
        text: The narrative with this run's numbers filled in (Markdown).
        figure: Path of the PNG figure written, or None when no folder was given.
    """

    lesson: str
    numbers: dict[str, float]
    text: str
    figure: Path | None


@dataclass(frozen=True)
class Lesson:
    """One guided lesson.

    Attributes:
        name: Short name used on the command line (``feedsim lesson NAME``).
        title: Human title shown on the page.
        scenario: Path of the lesson's scenario TOML.
        recommenders: Recommenders the lesson contrasts (the first is the page's default).
        narrative: Markdown text; ``{name}`` fields are filled from the run's numbers.
        questions: Things to try on the page.
        look_for: What to look for in the panels and the figure.
        run: ``run(out_dir: Path | None, **overrides) -> LessonResult``, the headless run.
    """

    name: str
    title: str
    scenario: Path
    recommenders: tuple[str, ...]
    narrative: str
    questions: tuple[str, ...]
    look_for: tuple[str, ...]
    run: Callable[..., LessonResult] = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


LESSONS: dict[str, Lesson] = {}
"""Every lesson by name, in teaching order (filled by the lesson modules)."""


def _register() -> None:
    from . import echo_chambers, like_to_prediction, likes_mislead, likes_reveal, trends

    for module in (like_to_prediction, trends, echo_chambers, likes_mislead, likes_reveal):
        LESSONS[module.LESSON.name] = module.LESSON


_register()

"""The interactive page: ``feedsim app`` serves it, ``solara run sim.app.page`` too.

Routes: ``/`` explores a scenario (controls in the sidebar, panels in the main area);
``/lessons`` lists the guided lessons and ``/lessons/<name>`` opens one (its narrative,
questions and what to look for, above the same panels running the lesson's scenario).

The page uses Solara components directly rather than mesa's SolaraViz: SolaraViz rebuilds
a model from keyword arguments and shows a failed rebuild as a stack trace, while this page
builds from a validated scenario, keeps the previous model when new settings fail, and steps
an A/B pair together. The models are still mesa Models (agents, DataCollector).
"""

from __future__ import annotations

import string
import time
from typing import Any

import solara

from .lessons import LESSONS, Lesson
from .panels import (
    PROSE_CSS,
    ABDifference,
    CascadeView,
    HeadlineMetrics,
    MetricsPanel,
    Prose,
    PrivacyPanel,
    TasteMapPanel,
    TrendingBoard,
    UserInspector,
)
from .state import (
    KNOBS,
    Settings,
    Simulation,
    initial_settings,
    main_params,
    preset_name,
    presets,
    recommender_names,
)

TITLE = "feedsim: watch a feed loop form"
PLAY_PAUSE_S = 0.05  # between steps while playing, so the browser keeps up


def lessons() -> dict[str, Lesson]:
    """The registered lessons, in teaching order."""
    return LESSONS


# -- controls -----------------------------------------------------------------------------
@solara.component
def TextKnob(label: str, value: Any, on_value, classes: list[str] | None = None):
    """A text box for a number; what is typed goes to the checks as entered."""
    shown = "" if value is None else str(value)
    solara.InputText(label, value=shown, on_value=on_value, continuous_update=False, classes=classes or [])


@solara.component
def RecommenderParams(settings: Settings, on_change):
    """The recommender's main params (the first few with simple types)."""
    given = settings.param_dict()

    def set_param(name, value):
        on_change(params=tuple({**given, name: value}.items()))

    for p in main_params(settings.recommender):
        current = given.get(p.name, p.default)
        label = f"{settings.recommender}: {p.name}"
        if p.kind == "choice":
            solara.Select(label, values=list(p.choices), value=str(current), on_value=lambda v, n=p.name: set_param(n, v))
        elif p.kind == "bool":
            solara.Checkbox(label=label, value=bool(current), on_value=lambda v, n=p.name: set_param(n, v))
        else:
            TextKnob(label, current, lambda v, n=p.name: set_param(n, v), classes=[f"fs-param-{p.name}"])


@solara.component
def Controls(simulation: Simulation, settings: Settings, tick: int, is_playing: bool, on_change, on_preset,
             on_play, on_step, on_reset):
    """Scenario preset, recommender and its params, the key knobs, seed, A/B; play, step, reset.

    ``settings``, ``tick`` and ``is_playing`` are passed as values so the controls re-render
    whenever they change (the callbacks alone compare equal from one render to the next)."""
    s = settings
    with solara.Row():
        solara.Button("Pause" if is_playing else "Play", on_click=on_play, color="primary",
                      disabled=simulation.finished and not is_playing)
        solara.Button("Step", on_click=on_step, disabled=is_playing or simulation.finished)
        solara.Button("Reset", on_click=on_reset)
    names = list(presets())
    solara.Select("scenario preset", values=names if s.preset in names else names + [s.preset], value=s.preset,
                  on_value=on_preset)
    solara.Select("recommender", values=recommender_names(), value=s.recommender,
                  on_value=lambda v: on_change(recommender=v, params=()))
    RecommenderParams(s, on_change)
    for knob in KNOBS:
        TextKnob(knob.label, getattr(s, knob.name), lambda v, n=knob.name: on_change(**{n: v}),
                 classes=[f"fs-knob-{knob.name}"])
    TextKnob("seed (a whole number)", s.seed, lambda v: on_change(seed=v), classes=["fs-knob-seed"])
    solara.Switch(label="A/B mode: two recommenders, one world", value=s.ab, on_value=lambda v: on_change(ab=v))
    if s.ab:
        solara.Select("recommender B", values=recommender_names(), value=s.recommender_b,
                      on_value=lambda v: on_change(recommender_b=v))


# -- the explorer -------------------------------------------------------------------------
@solara.component
def Panels(simulation: Simulation, tick: int):
    """The panels of one model (A in A/B mode unless B is picked)."""
    runs = simulation.runs
    side = solara.use_reactive(0)
    run = runs[side.value if side.value < len(runs) else 0]
    if len(runs) > 1:
        labels = [f"panels of {r.label}: {r.recommender}" for r in runs]
        solara.ToggleButtonsSingle(value=labels[runs.index(run)], values=labels,
                                   on_value=lambda label: side.set(labels.index(label)))
    step = run.steps_done
    with solara.lab.Tabs(lazy=True):
        with solara.lab.Tab("Taste map"):
            TasteMapPanel(run, step)
        with solara.lab.Tab("Trending"):
            TrendingBoard(run, step)
        with solara.lab.Tab("Cascade"):
            CascadeView(run, step)
        with solara.lab.Tab("User inspector"):
            UserInspector(run, step)
        with solara.lab.Tab("Privacy"):
            PrivacyPanel(run, step)


@solara.component
def Explorer(simulation: Simulation):
    """Controls in the sidebar; headline metrics, metrics over time and the panels."""
    tick = solara.use_reactive(0)
    message = solara.use_reactive(simulation.message)
    playing = solara.use_reactive(False)

    def redraw(result: str | None):
        message.set(result)
        tick.set(tick.value + 1)

    def on_change(**changes):
        playing.set(False)
        redraw(simulation.apply(simulation.settings.replace(**changes)))

    def on_preset(name: str):
        playing.set(False)
        s = simulation.settings
        try:
            new = Settings.for_preset(name, ab=s.ab, recommender_b=s.recommender_b)
        except Exception as exc:  # a preset that does not load: say so, keep the model
            redraw(f"scenario preset {name!r}: {exc}")
            return
        redraw(simulation.apply(new))

    def on_step():
        redraw(simulation.step())

    def on_reset():
        playing.set(False)
        redraw(simulation.reset())

    def play_loop(cancel):
        while playing.value and not cancel.is_set():
            if simulation.finished:
                playing.set(False)  # the run is over: Play turns back on for the next one
                redraw(None)
                return
            result = simulation.step()
            redraw(result)
            if result:
                playing.set(False)
                return
            time.sleep(PLAY_PAUSE_S)

    solara.use_thread(play_loop, dependencies=[playing.value, id(simulation)], intrusive_cancel=False)

    solara.Style(PROSE_CSS)
    with solara.Sidebar():
        Controls(simulation, simulation.settings, tick.value, playing.value, on_change, on_preset,
                 lambda: playing.set(not playing.value), on_step, on_reset)
    if message.value:
        solara.Error(message.value, classes=["fs-error"])
    runs = simulation.runs
    total = runs[0].model.config.steps
    solara.Text(f"step {simulation.steps_done} of {total}", classes=["fs-step-count"], style={"font-size": "1.1em"})
    if len(runs) == 1:
        HeadlineMetrics(runs[0], runs[0].steps_done)
        MetricsPanel(runs, runs[0].steps_done)
    else:
        with solara.Columns([1, 1], classes=["fs-ab"]):
            for run in runs:
                with solara.Column(classes=[f"fs-ab-column-{run.label}"]):
                    Prose(f"### {run.label}: {run.recommender}")
                    HeadlineMetrics(run, run.steps_done)
        MetricsPanel(runs, runs[0].steps_done)
        ABDifference(runs, runs[0].steps_done)
    Panels(simulation, tick.value)


def _first_simulation() -> Simulation:
    settings, problem = initial_settings()
    simulation = Simulation(settings)
    simulation.message = problem
    return simulation


@solara.component
def Page():
    """The explorer on the default scenario (baseline, about 2,000 users)."""
    simulation = solara.use_memo(_first_simulation, [])
    solara.Title("feedsim")
    Prose(f"## {TITLE}", testid="page-title")
    Prose(
        "Users watch, like and share; the recommender learns from what they did and picks "
        "their next feed. Change the recommender or a knob, press Step or Play, and watch the "
        "metrics, the taste map and the trends respond."
    )
    Explorer(simulation)


# -- lessons ------------------------------------------------------------------------------
class _LiveNumbers(string.Formatter):
    """Fills ``{name}`` and ``{name:.2f}`` fields from live numbers; unknown ones print "…"."""

    def __init__(self, numbers: dict[str, float]):
        self.numbers = numbers

    def get_value(self, key, args, kwargs):
        return self.numbers.get(key, _MISSING)

    def format_field(self, value, format_spec):
        if value is _MISSING:
            return "…"
        try:
            return format(value, format_spec or ".3g")
        except (TypeError, ValueError):
            return str(value)


_MISSING = object()


def fill_narrative(narrative: str, numbers: dict[str, float]) -> str:
    """A lesson's narrative with its fields filled from ``numbers`` ("…" for the others)."""
    try:
        return _LiveNumbers(numbers).format(narrative)
    except (IndexError, KeyError, ValueError, AttributeError):
        return narrative


def lesson_settings(lesson: Lesson) -> Settings:
    """The lesson's scenario with its first recommender (its second, if any, as B)."""
    rec_b = lesson.recommenders[1] if len(lesson.recommenders) > 1 else "random"
    return Settings.for_preset(preset_name(lesson.scenario), lesson.recommenders[0], recommender_b=rec_b)


@solara.component
def LessonPage(name: str):
    """One lesson: title, narrative with live numbers, questions, what to look for, panels."""
    lesson = lessons().get(name)
    if lesson is None:
        solara.Error(f"no lesson named {name!r} (lessons: {', '.join(lessons()) or 'none yet'})")
    else:
        LessonBody(lesson)


def narrative_body(lesson: Lesson, text: str) -> str:
    """The narrative without a leading heading that repeats the lesson's title."""
    first, _, rest = text.strip().partition("\n")
    return rest if first.startswith("#") and lesson.title.lower() in first.lower() else text


@solara.component
def LessonNumbers(lesson: Lesson):
    """The narrative: with "…" for its numbers until the reader runs the lesson's own
    comparison (the headless run of ``feedsim lesson NAME``, in a background thread)."""
    requested = solara.use_reactive(0)
    filled = solara.use_reactive(None)
    problem = solara.use_reactive(None)

    def compute():
        if requested.value == 0:
            return
        try:
            filled.set(lesson.run(None).text)
            problem.set(None)
        except Exception as exc:  # a failed run must not take the page down
            problem.set(f"the lesson's run failed: {type(exc).__name__}: {exc}")

    result = solara.use_thread(compute, dependencies=[requested.value], intrusive_cancel=False)
    busy = requested.value > 0 and result.state == solara.ResultState.RUNNING
    text = filled.value if filled.value is not None else fill_narrative(lesson.narrative, {})
    Prose(narrative_body(lesson, text), testid="lesson-narrative")
    if problem.value:
        solara.Error(problem.value)
    if filled.value is None:
        with solara.Row():
            solara.Button("Fill in the numbers: run the lesson's comparison", disabled=busy,
                          on_click=lambda: requested.set(requested.value + 1), color="primary", outlined=True)
            solara.Text("running, this takes a little while ..." if busy else
                        f"(the same run as `feedsim lesson {lesson.name}`; the panels below are yours to play with)",
                        style={"color": "#555"})


@solara.component
def LessonBody(lesson: Lesson):
    """A registered lesson's text above the explorer running its scenario."""
    simulation = solara.use_memo(lambda: Simulation(lesson_settings(lesson)), [lesson.name])
    solara.Title(f"feedsim: {lesson.title}")
    Prose(f"## {lesson.title}", testid="lesson-title")
    LessonNumbers(lesson)
    with solara.Columns([1, 1]):
        with solara.Column():
            Prose("**Questions to try**\n\n" + "\n".join(f"- {q}" for q in lesson.questions))
        with solara.Column():
            Prose("**What to look for**\n\n" + "\n".join(f"- {q}" for q in lesson.look_for))
    Explorer(simulation)


@solara.component
def LessonIndex():
    Prose("## Lessons\n\nEach lesson is a scenario, a short story, questions to try and what to look for.")
    for name, lesson in lessons().items():
        with solara.Link(f"/lessons/{name}"):
            solara.Button(lesson.title, text=True, classes=[f"fs-lesson-link-{name}"])


@solara.component
def Lessons():
    """``/lessons`` and ``/lessons/<name>``."""
    route, _ = solara.use_route()
    if route is None or route.path == "/":
        LessonIndex()
    else:
        LessonPage(route.path)


page = Page
routes = [
    solara.Route(path="/", component=Page, label="Explore"),
    solara.Route(
        path="lessons",
        component=Lessons,
        label="Lessons",
        children=[solara.Route(path="/")] + [solara.Route(path=name) for name in lessons()],
    ),
]

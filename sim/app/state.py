"""The page's model holder: settings from the controls, building, stepping and resetting
the model (or the A/B pair), and keeping the previous model when a new one fails.

Nothing here imports Solara: the page binds these objects to its controls, the tests and
the benchmark drive them directly.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import numpy as np

from .. import metrics as M
from ..measure import quietly
from ..model import FeedModel
from ..recommenders.base import RecommenderError, available_recommenders, param_specs
from ..scenario import Scenario, ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
LESSON_SCENARIO_DIR = Path(__file__).resolve().parent / "lessons"
DEFAULT_PRESET = "baseline"
#: ``feedsim app SCENARIO`` passes the scenario to the page's server in this variable.
APP_SCENARIO_ENV = "FEEDSIM_APP_SCENARIO"
#: A preset with more users than this opens at this size (the page should run smoothly).
SMOOTH_USERS = 2000
#: The families the page measures every step: feed diversity (echo). Regret and Kendall tau
#: (welfare, overfit) would double a step's time; privacy runs on demand in its panel.
PAGE_FAMILIES = ("echo",)
#: Visitors per step whose feed is explained by the recommender (the inspector's default users).
PAGE_EXPLAIN_USERS = 8
#: How many of a recommender's params the page offers as controls.
MAIN_PARAMS = 4


class SettingsError(ValueError):
    """A control holds a value the page cannot use: one line naming the control."""


@dataclass(frozen=True)
class Knob:
    """A numeric control bound to one scenario field.

    Attributes:
        name: the Settings field.
        label: what the page calls it.
        path: the dotted scenario field it sets (None: handled by hand).
        low, high: the page's allowed range, inclusive.
        integer: whole numbers only.
    """

    name: str
    label: str
    path: str | None
    low: float
    high: float
    integer: bool = False


KNOBS: tuple[Knob, ...] = (
    Knob("n_users", "users", "world.n_users", 50, 20_000, integer=True),
    Knob("plasticity", "plasticity (taste drift rate)", "behaviour.plasticity_mean", 0.0, 0.5),
    Knob("like_bait", "like-bait creators (share)", "world.like_bait_creators", 0.0, 1.0),
    Knob("exploration", "exploration (share of feed slots)", None, 0.0, 1.0),
    Knob("epsilon", "privacy epsilon (empty: off)", "privacy.epsilon", 0.01, 20.0),
    Knob("holdout", "holdout fraction", "holdout.fraction", 0.0, 0.5),
)
KNOB = {k.name: k for k in KNOBS}


def presets() -> dict[str, Path]:
    """The scenario presets the page offers: every TOML in ``scenarios/`` by name, then the
    lessons' scenarios as ``lessons/<name>``."""
    found = {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}
    found.update({f"lessons/{p.stem}": p for p in sorted(LESSON_SCENARIO_DIR.glob("*.toml"))})
    return found


def preset_name(path: str | Path) -> str:
    """The preset name of a scenario file the page offers (else the path itself)."""
    path = Path(path).resolve()
    for name, known in presets().items():
        if known.resolve() == path:
            return name
    return str(path)


@lru_cache(maxsize=64)
def _load_preset(path: str) -> Scenario:
    return Scenario.load(path)


def load_preset(preset: str | Path) -> Scenario:
    """A preset by name (``baseline``) or a scenario file path; ScenarioError if neither."""
    path = presets().get(str(preset), Path(preset))
    return _load_preset(str(Path(path).resolve()))


def recommender_names() -> list[str]:
    """Every registered recommender, the oracle included (it is marked privileged)."""
    return list(available_recommenders())


@dataclass(frozen=True)
class ParamControl:
    """One recommender param as a control: name, kind ('float', 'int', 'bool' or 'choice'),
    default, and the choices of a 'choice'."""

    name: str
    kind: str
    default: Any
    choices: tuple[str, ...] = ()


def main_params(recommender: str) -> list[ParamControl]:
    """The first few params of a recommender that a simple control can set."""
    cls = available_recommenders().get(recommender)
    if cls is None:
        return []
    hints = get_type_hints(cls.__init__, include_extras=True)
    out = []
    for name, _, default in param_specs(cls):
        kind, choices = _param_kind(hints.get(name))
        if kind is not None and not isinstance(default, type):
            out.append(ParamControl(name, kind, default, choices))
        if len(out) == MAIN_PARAMS:
            break
    return out


def _param_kind(ann) -> tuple[str | None, tuple[str, ...]]:
    while get_args(ann) and get_origin(ann) is not Literal and hasattr(ann, "__metadata__"):
        ann = get_args(ann)[0]  # Annotated[T, ...] -> T
    if get_origin(ann) is Literal:
        return "choice", tuple(str(a) for a in get_args(ann))
    return {bool: "bool", int: "int", float: "float"}.get(ann, None), ()


@dataclass(frozen=True)
class Settings:
    """Everything the page's controls set, as entered (checked when a model is built).

    Knob values of None mean "as the preset has it" (for ``epsilon``: likes seen as they are).
    """

    preset: str = DEFAULT_PRESET
    recommender: str = "popularity"
    params: tuple[tuple[str, Any], ...] = ()
    n_users: Any = SMOOTH_USERS
    plasticity: Any = None
    like_bait: Any = None
    exploration: Any = None
    epsilon: Any = None
    holdout: Any = None
    seed: Any = 7
    ab: bool = False
    recommender_b: str = "random"

    @classmethod
    def for_preset(cls, preset: str | Path, recommender: str | None = None, **changes) -> "Settings":
        """Settings that show a preset's own values (users capped at SMOOTH_USERS)."""
        sc = load_preset(preset)
        rec = recommender or sc.recommender.name
        params = tuple(sc.recommender.params.items()) if rec == sc.recommender.name else ()
        base = cls(
            preset=str(preset), recommender=rec, params=params,
            n_users=min(sc.world.n_users, SMOOTH_USERS),
            plasticity=sc.behaviour.plasticity_mean,
            like_bait=sc.world.like_bait_creators,
            exploration=_explore_share(sc),
            epsilon=sc.privacy.epsilon,
            holdout=sc.holdout.fraction,
            seed=sc.seed,
        )
        return dataclasses.replace(base, **changes)

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


def initial_settings() -> tuple[Settings, str | None]:
    """The explorer's first settings: the scenario ``feedsim app`` was given, else the
    default preset (with a message saying why, when the given one does not build)."""
    wanted = os.environ.get(APP_SCENARIO_ENV) or DEFAULT_PRESET
    try:
        settings = Settings.for_preset(wanted)
        build_scenario(settings)
        return settings, None
    except (ScenarioError, SettingsError, RecommenderError) as exc:
        return Settings.for_preset(DEFAULT_PRESET), f"{exc}; showing {DEFAULT_PRESET} instead"


def _explore_share(sc: Scenario) -> float:
    shares = [r.params.get("share", 0.1) for r in sc.feed.rerankers if r.name == "explore"]
    return float(shares[0]) if shares else 0.0


def parse_seed(value: Any) -> int:
    """The seed as a non-negative integer; text such as ``"42"`` is accepted (a text box
    returns a string). Raises SettingsError naming the seed otherwise."""
    if isinstance(value, bool):
        raise SettingsError(f"seed: must be a whole number (got {value!r})")
    if isinstance(value, (int, np.integer)):
        seed = int(value)
    elif isinstance(value, float) and value.is_integer():
        seed = int(value)
    else:
        text = str(value).strip()
        try:
            seed = int(text)
        except ValueError:
            raise SettingsError(f"seed: must be a whole number (got {text!r})") from None
    if seed < 0:
        raise SettingsError(f"seed: must be 0 or more (got {seed})")
    return seed


def check_knob(name: str, value: Any) -> float | int | None:
    """A knob's value as a number in the page's range; None passes (the preset's value)."""
    knob = KNOB[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{knob.label}: must be a number (got {value!r})") from None
    if not np.isfinite(number):
        raise SettingsError(f"{knob.label}: must be a finite number (got {value!r})")
    if knob.integer and not number.is_integer():
        raise SettingsError(f"{knob.label}: must be a whole number (got {value!r})")
    if not knob.low <= number <= knob.high:
        raise SettingsError(f"{knob.label}: must be between {knob.low:g} and {knob.high:,g} (got {number:g})")
    return int(number) if knob.integer else number


def build_scenario(settings: Settings, recommender: str | None = None) -> Scenario:
    """The scenario the page runs for these settings (the B side's when ``recommender`` is
    given). Raises SettingsError or ScenarioError with one line naming the control."""
    seed = parse_seed(settings.seed)
    knobs = {k.name: check_knob(k.name, getattr(settings, k.name)) for k in KNOBS}
    data = load_preset(settings.preset).model_dump()
    for knob in KNOBS:
        if knob.path is not None and (knobs[knob.name] is not None or knob.name == "epsilon"):
            section, key = knob.path.split(".")
            data[section][key] = knobs[knob.name]
    if knobs["exploration"] is not None:
        data["feed"]["rerankers"] = _with_exploration(data["feed"]["rerankers"], knobs["exploration"])
    name = recommender or settings.recommender
    same = name == settings.recommender
    data["recommender"] = {"name": name, "params": settings.param_dict() if same else {}}
    data["seed"] = seed
    data["metrics"]["families"] = list(PAGE_FAMILIES)
    data["metrics_every"] = max(data["steps"], 1)  # the costly families are off; this keeps the ends cheap
    data["feed"]["explain_users"] = max(data["feed"]["explain_users"], PAGE_EXPLAIN_USERS)
    data["world"]["make_agents"] = True
    return Scenario.from_dict(data)


def _with_exploration(rerankers: list[dict], share: float) -> list[dict]:
    """The re-ranker list with the explore re-ranker's share set (removed at 0)."""
    rest = [r for r in rerankers if r["name"] != "explore"]
    old = [r for r in rerankers if r["name"] == "explore"]
    if share <= 0:
        return rest
    params = dict(old[0]["params"]) if old else {}
    params["share"] = share
    return rest + [{"name": "explore", "params": params}]


# -- one model and its page-side record ------------------------------------------------------
#: The headline metrics: key, label, format. The page shows these for each model.
HEADLINE = (
    ("like_rate", "like rate", "{:.3%}"),
    ("mean_utility", "true utility", "{:+.4f}"),
    ("exposure_gini", "exposure Gini", "{:.4f}"),
    ("intra_list_diversity", "feed diversity", "{:.4f}"),
    ("like_utility_gap", "like-utility gap", "{:+.3f}"),
)


def format_metric(key: str, value: float) -> str:
    """A headline metric as the page prints it ("n/a" when undefined)."""
    fmt = next((f for k, _, f in HEADLINE if k == key), "{:.4g}")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return fmt.format(value)


@dataclass
class Run:
    """One model on the page, with the per-step headline series the page plots.

    Attributes:
        label: "A", "B" or "" (single mode).
        model: the FeedModel.
        history: one dict of headline metrics per completed step.
    """

    label: str
    model: FeedModel
    history: list[dict[str, float]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def recommender(self) -> str:
        return self.model.config.recommender.name

    @property
    def steps_done(self) -> int:
        return self.model.steps

    @property
    def finished(self) -> bool:
        return self.model.steps >= self.model.config.steps

    def step(self) -> None:
        self.model.step()
        self.history.append(headline_now(self.model, self.history))

    def latest(self) -> dict[str, float]:
        """The headline metrics of the last step (NaN before the first)."""
        if self.history:
            return self.history[-1]
        return {k: float("nan") for k, _, _ in HEADLINE}

    def cached(self, key: str, compute):
        """``compute()`` once per step of this model (for costly panels)."""
        stamp = (key, self.model.steps)
        if stamp not in self.cache:
            self.cache = {k: v for k, v in self.cache.items() if k[0] != key}
            self.cache[stamp] = compute()
        return self.cache[stamp]


def headline_now(model: FeedModel, history: list[dict[str, float]]) -> dict[str, float]:
    """The headline metrics after a step: the model's own per-step values, the exposure
    Gini over every video's views so far, and the like-utility divergence of the series."""
    n = model.world.videos.n
    likes = [h["like_rate"] for h in history] + [model.latest["like_rate"]]
    utility = [h["mean_utility"] for h in history] + [model.latest["mean_utility"]]
    gap = float("nan")
    if len(likes) >= 3:
        gap = quietly(M.like_utility_divergence, np.array(likes), np.array(utility))
    return {
        "step": model.steps,
        "like_rate": float(model.latest["like_rate"]),
        "mean_utility": float(model.latest["mean_utility"]),
        "exposure_gini": float(M.gini(model.counters.views[:n])),
        "intra_list_diversity": float(model.latest.get("intra_list_diversity", float("nan"))),
        "like_utility_gap": float(gap),
    }


# -- the holder -------------------------------------------------------------------------------
class Simulation:
    """The model (or A/B pair) the page shows; one per open page.

    ``apply`` builds from new settings and keeps the previous model when that fails;
    ``step`` advances every model together; ``reset`` rebuilds from the current settings.
    Methods return None on success or a one-line message for the page to show.

    Args:
        settings: the first settings; they must build (the page's defaults do).
    """

    def __init__(self, settings: Settings | None = None):
        self._lock = threading.RLock()
        self.settings = settings or Settings.for_preset(DEFAULT_PRESET)
        self.runs: list[Run] = self._build(self.settings)
        self._previous: tuple[Settings, list[Run]] | None = None
        self._stopped: str | None = None  # why a run that failed mid-way cannot go on
        self.message: str | None = None

    @property
    def run(self) -> Run:
        """The A side (the only one outside A/B mode)."""
        return self.runs[0]

    @property
    def steps_done(self) -> int:
        return self.run.steps_done

    @property
    def finished(self) -> bool:
        return self.run.finished

    def _build(self, settings: Settings) -> list[Run]:
        scenario = build_scenario(settings)
        if not settings.ab:
            return [Run("", FeedModel(scenario))]
        scenario_b = build_scenario(settings, recommender=settings.recommender_b)
        return [Run("A", FeedModel(scenario)), Run("B", FeedModel(scenario_b))]

    def apply(self, settings: Settings) -> str | None:
        """Build the model(s) for ``settings``; on any failure keep the current ones."""
        with self._lock:
            try:
                runs = self._build(settings)
            except (SettingsError, ScenarioError, RecommenderError) as exc:
                return self._fail(str(exc))
            except Exception as exc:  # a recommender's own code raised while being built
                return self._fail(f"recommender failed to build: {type(exc).__name__}: {exc}")
            self._previous = (self.settings, self.runs)
            self.settings, self.runs, self.message, self._stopped = settings, runs, None, None
            return None

    def reset(self) -> str | None:
        """Start again from step 0 with the current settings."""
        return self.apply(self.settings)

    def step(self) -> str | None:
        """One step of every model. A failure on a fresh model brings back the previous
        model; a failure later stops there (the message says so)."""
        with self._lock:
            if self._stopped:
                return self._fail(self._stopped)
            if self.finished:
                return None
            fresh = self.steps_done == 0
            try:
                for run in self.runs:
                    run.step()
            except Exception as exc:
                what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, (RecommenderError, ValueError)) else str(exc)
                names = " / ".join(r.recommender for r in self.runs)
                if fresh and self._previous is not None:
                    self.settings, self.runs = self._previous
                    self._previous = None
                    return self._fail(f"{names} failed on the first step ({what}); kept the previous model")
                self._stopped = f"{names} failed at step {self.steps_done} ({what}); the run stops here (Reset starts again)"
                return self._fail(self._stopped)
            self.message = None
            return None

    def _fail(self, message: str) -> str:
        self.message = message
        return message

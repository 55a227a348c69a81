"""The recommender interface, its registry and plugin discovery.

A recommender follows scikit-learn's estimator contract: parameters in ``__init__``
(keyword arguments with defaults and type annotations, which the registry validates),
learning in ``observe``, answers from ``score``::

    from sim import Recommender, register_recommender

    @register_recommender("most_watched")
    class MostWatched(Recommender):
        def __init__(self, decay: float = 0.9):
            self.decay = decay

        def observe(self, events, view):
            ...  # events: this step's observed impressions (sim.log.LogView columns)

        def score(self, users, candidates, view):
            return np.broadcast_to(self.totals[candidates], (len(users), len(candidates)))

Third-party packages register through the entry-point group ``feedsim.recommenders``
(``name = "package.module:Class"``).
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin, get_type_hints

import numpy as np
from pydantic import ConfigDict, ValidationError, create_model

ENTRY_POINT_GROUP = "feedsim.recommenders"


class RecommenderError(ValueError):
    """A recommender that cannot be built or answered badly: one line naming it."""


@dataclass(frozen=True)
class Events:
    """One step's observed impressions, as the platform logged them (read-only arrays)."""

    step: int
    user: np.ndarray
    video: np.ndarray
    position: np.ndarray
    watch_ratio: np.ndarray
    liked: np.ndarray
    shared: np.ndarray
    commented: np.ndarray
    not_interested: np.ndarray
    share_parent: np.ndarray

    def __len__(self) -> int:
        return len(self.user)


class Recommender:
    """Base class of every recommender.

    Class attributes:
        name: the registered name.
        privileged: True only for recommenders allowed to see true utility (the oracle).

    The engine sets ``self.rng`` (a numpy Generator, the recommender stream) before the
    first ``observe`` or ``score``.
    """

    name: ClassVar[str] = ""
    privileged: ClassVar[bool] = False
    rng: np.random.Generator

    def observe(self, events: Events, view) -> None:
        """Learn from this step's observed impressions. Default: learn nothing."""

    def score(self, users: np.ndarray, candidates: np.ndarray, view) -> np.ndarray:
        """Scores of shape (len(users), len(candidates)); higher is shown first.

        A row-constant score may be returned as ``np.broadcast_to(row, shape)``.
        """
        raise NotImplementedError

    def explain(self, user: int, candidates: np.ndarray, view) -> dict[str, np.ndarray]:
        """Why each candidate got its score, as named parts that add up to it.

        Returns a dict of part name -> array of ``len(candidates)``; the parts sum to
        ``score(np.array([user]), candidates, view)[0]``. Families override this with
        their own parts (e.g. "neighbour likes", "topic match", "popularity", "exploration").
        Default: one part, "score".
        """
        users = np.array([user], dtype=np.int64)
        return {"score": np.asarray(self.score(users, candidates, view), dtype=np.float64)[0]}

    def get_params(self) -> dict[str, Any]:
        """The constructor params and their current values."""
        return {name: getattr(self, name, p.default) for name, p in _init_params(type(self)).items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


_REGISTRY: dict[str, type[Recommender]] = {}
_ENTRY_POINTS_LOADED = False


def register_recommender(name: str, cls: type[Recommender] | None = None):
    """Register a Recommender subclass under ``name``; usable as a decorator."""

    def deco(klass: type[Recommender]) -> type[Recommender]:
        if not (isinstance(klass, type) and issubclass(klass, Recommender)):
            raise TypeError(f"{klass!r} is not a Recommender subclass")
        klass.name = name
        _REGISTRY[name] = klass
        return klass

    return deco(cls) if cls is not None else deco


_BROKEN_PLUGINS: dict[str, str] = {}


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        try:
            cls = ep.load()
            register_recommender(ep.name, cls)
        except Exception as exc:  # a broken plugin must not break the built-ins
            message = f"recommender plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            _BROKEN_PLUGINS[ep.name] = message
            warnings.warn(message, RuntimeWarning, stacklevel=2)


def available_recommenders() -> dict[str, type[Recommender]]:
    """Every registered recommender, built-ins and plugins, by name."""
    from . import builtin  # noqa: F401  (registers the built-ins)

    _load_entry_points()
    return dict(sorted(_REGISTRY.items()))


def _init_params(cls: type) -> dict[str, inspect.Parameter]:
    sig = inspect.signature(cls.__init__)
    return {
        n: p
        for n, p in sig.parameters.items()
        if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def param_specs(cls: type[Recommender]) -> list[tuple[str, str, Any]]:
    """(name, type, default) for each constructor param, for listings.

    Types read as annotated, with their constraints: ``float > 0``, ``'likes' | 'views'``.
    """
    hints = get_type_hints(cls.__init__, include_extras=True)
    out = []
    for name, p in _init_params(cls).items():
        out.append((name, _describe_type(hints.get(name, Any)), p.default))
    return out


_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _describe_type(ann: Any) -> str:
    args = get_args(ann)
    if get_origin(ann) is Annotated:
        text = _describe_type(args[0])
        for meta in args[1:]:
            items = list(getattr(meta, "metadata", [])) or [meta]
            for item in items:
                for attr, sym in _BOUNDS.items():
                    bound = getattr(item, attr, None)
                    if bound is not None:
                        text += f" {sym} {bound}"
        return text
    if get_origin(ann) is Literal:
        return " | ".join(repr(a) for a in args)
    if get_origin(ann) in (dict, list, tuple, set):
        return get_origin(ann).__name__
    if ann is type(None):
        return "None"
    if args:
        return " | ".join(_describe_type(a) for a in args)
    return getattr(ann, "__name__", str(ann).replace("typing.", ""))


def make_recommender(name: str, params: dict[str, Any] | None = None) -> Recommender:
    """Build a registered recommender from its name and params, validating both.

    Raises:
        RecommenderError: unknown name, unknown param, or a value of the wrong type or range;
            the message names the recommender and the param.
    """
    registry = available_recommenders()
    if name in _BROKEN_PLUGINS:
        raise RecommenderError(_BROKEN_PLUGINS[name])
    if name not in registry:
        raise RecommenderError(f"unknown recommender {name!r} (known: {', '.join(registry)})")
    return construct(registry[name], params, f"recommender {name!r}")


def construct(cls: type, params: dict[str, Any] | None, label: str):
    """``cls(**params)`` after checking each param's name, type and range against the
    annotations of ``cls.__init__``; errors are one RecommenderError line starting with ``label``."""
    params = dict(params or {})
    spec = _init_params(cls)
    for key in params:
        if key not in spec:
            known = ", ".join(spec) or "none"
            raise RecommenderError(f"{label}: unknown param {key!r} (params: {known})")
    hints = get_type_hints(cls.__init__, include_extras=True)
    fields = {
        n: (hints.get(n, Any), ... if p.default is inspect.Parameter.empty else p.default) for n, p in spec.items()
    }
    model = create_model(
        f"{cls.__name__}Params",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True),
        **fields,
    )
    try:
        checked = model.model_validate(params)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise RecommenderError(f"{label}: param {field!r}: {err['msg']} (got {err.get('input')!r})") from None
    values = {k: getattr(checked, k) for k in params}
    return cls(**values)


def check_scores(name: str, scores: Any, n_users: int, n_candidates: int) -> np.ndarray:
    """Validate a score block; raise RecommenderError naming the recommender if it is wrong."""
    arr = np.asarray(scores)
    if arr.shape != (n_users, n_candidates):
        raise RecommenderError(
            f"recommender {name!r} returned scores of shape {arr.shape}, expected ({n_users}, {n_candidates})"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise RecommenderError(f"recommender {name!r} returned scores of dtype {arr.dtype}, expected real numbers")
    probe = arr[:1] if (arr.ndim == 2 and arr.strides[0] == 0) else arr
    if not np.isfinite(probe).all():
        raise RecommenderError(f"recommender {name!r} returned NaN or infinite scores")
    return arr

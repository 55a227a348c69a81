"""Recommenders: the interface, the registry and the built-in families."""

from .base import (
    ENTRY_POINT_GROUP,
    Events,
    Recommender,
    RecommenderError,
    available_recommenders,
    make_recommender,
    param_specs,
    register_recommender,
)
from . import builtin  # noqa: F401,E402

__all__ = [
    "ENTRY_POINT_GROUP",
    "Events",
    "Recommender",
    "RecommenderError",
    "available_recommenders",
    "make_recommender",
    "param_specs",
    "register_recommender",
]

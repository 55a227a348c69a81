"""Imports every built-in recommender module so that each registers itself."""

from . import baselines, content, oracle, popularity, social  # noqa: F401

"""Imports every built-in recommender module so that each registers itself."""

from . import bandit, baselines, content, oracle, popularity, social, value  # noqa: F401

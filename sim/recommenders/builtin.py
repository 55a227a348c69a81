"""Imports every built-in recommender module so that each registers itself."""

from . import baselines, oracle, popularity  # noqa: F401

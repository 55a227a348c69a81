"""Imports every built-in recommender module so that each registers itself."""

from . import bandit, baselines, content, mf, oracle, popularity, social, user_knn, value  # noqa: F401

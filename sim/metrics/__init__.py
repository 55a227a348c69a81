"""Metrics: pure functions on arrays, one module per family.

Each function's docstring gives its formula and its source.
"""

from ._undefined import UndefinedMetricWarning, undefined
from .engagement import like_rate, mean_true_utility, rate, session_length
from .exposure import exposure_gini, gini, top_share

__all__ = [
    "UndefinedMetricWarning",
    "exposure_gini",
    "gini",
    "like_rate",
    "mean_true_utility",
    "rate",
    "session_length",
    "top_share",
    "undefined",
]

"""Degenerate inputs: a metric that is undefined says why, and returns NaN."""

from __future__ import annotations

import warnings


class UndefinedMetricWarning(RuntimeWarning):
    """A metric was asked of data on which it is not defined (no likes yet, one user,
    one segment, everyone churned...). The metric returned NaN; the message says why."""


def undefined(metric: str, reason: str) -> float:
    """Warn ``UndefinedMetricWarning("<metric>: <reason>")`` and return NaN.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     undefined("gini", "no views")
    nan
    """
    warnings.warn(f"{metric}: {reason}", UndefinedMetricWarning, stacklevel=3)
    return float("nan")

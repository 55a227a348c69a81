"""Exposure concentration: Gini and top shares of views."""

from __future__ import annotations

import numpy as np


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values.

    ``G = sum_i (2i - n - 1) x_(i) / (n sum_i x_(i))`` over the values sorted ascending
    (i = 1..n): 0 when all are equal, (n - 1) / n when one holds everything. The exposure
    Gini of Abdollahpouri et al. (2019) and Mansoury et al. (2020); LITERATURE.md 2.3.

    >>> gini(np.array([1, 1, 1, 1]))
    0.0
    >>> gini(np.array([0, 0, 0, 4]))
    0.75
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * x.sum()))


def exposure_gini(item_ids: np.ndarray, n_items: int) -> float:
    """Gini of impressions per item over all ``n_items`` items (unseen ones count as 0).

    >>> exposure_gini(np.array([3, 3, 3, 3]), 4)
    0.75
    """
    return gini(np.bincount(np.asarray(item_ids, dtype=np.int64), minlength=n_items))


def top_share(counts: np.ndarray, fraction: float) -> float:
    """Share of all views that go to the top ``fraction`` of items by views.

    ``sum of the ceil(fraction * n) largest counts / sum of counts`` (KuaiRand's
    "top 20% of videos get 76.5% of exposures"; LITERATURE.md 6.2).

    >>> top_share(np.array([10, 0, 0, 0, 0]), 0.2)
    1.0
    """
    c = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    if c.sum() == 0:
        return float("nan")
    k = max(1, int(np.ceil(fraction * len(c))))
    return float(c[:k].sum() / c.sum())

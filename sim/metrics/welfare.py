"""Welfare: true utility delivered, and regret against the oracle and random feeds
(LITERATURE.md sections 1 and 4.5; DESIGN.md "Metrics").

The mean true utility per impression is :func:`sim.metrics.engagement.mean_true_utility`
(re-exported here); this module adds the regret and the counterfactual feeds it needs,
computed on the same candidate pool each step, so no second run is needed.
"""

from __future__ import annotations

import numpy as np

from ._undefined import undefined
from .engagement import mean_true_utility

__all__ = ["counterfactual_feed_utility", "mean_true_utility", "normalised_regret"]


def normalised_regret(u_rec, u_oracle, u_random):
    """Normalised utility regret of a recommender between the oracle and random feeds:
    ``R = (U_oracle - U_rec) / (U_oracle - U_random)``.

    0 is the oracle, 1 is random; below 0 beats the oracle's feed (possible when the
    oracle is myopic), above 1 is worse than random (LITERATURE.md 4.5, after Chaney et al.
    RecSys 2018's utility relative to ideal and Gao et al. ICML 2023). Undefined (NaN)
    where the oracle is no better than random, ``U_oracle = U_random``: every candidate is
    worth the same. Scalars give a float; arrays (one value per step) give an array.

    >>> normalised_regret(0.6, 1.0, 0.2)  # (1.0 - 0.6) / (1.0 - 0.2)
    0.5
    >>> normalised_regret(np.array([1.0, 0.2]), 1.0, 0.2)
    array([0., 1.])
    """
    rec = np.asarray(u_rec, dtype=np.float64)
    ora = np.asarray(u_oracle, dtype=np.float64)
    rnd = np.asarray(u_random, dtype=np.float64)
    den = ora - rnd
    scale = np.maximum(1.0, np.maximum(np.abs(ora), np.abs(rnd)))
    flat = np.abs(den) <= 1e-12 * scale
    if np.any(flat):
        undefined("normalised_regret", "the oracle's utility equals random's")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(flat, np.nan, (ora - rec) / np.where(flat, 1.0, den))
    return float(out) if out.ndim == 0 else out


def counterfactual_feed_utility(
    utility_block: np.ndarray, k, eligible: np.ndarray | None = None
) -> tuple[float, float]:
    """Mean true utility per impression of the oracle's and of a random feed of k items,
    on the same candidate pool.

    For user u with eligible candidates ``C_u`` (the row's non-NaN entries, and ``eligible``
    when given: e.g. not yet seen) and feed size ``k_u = min(k_u, |C_u|)``:

    - oracle: ``U_oracle = sum_u sum_{top k_u of C_u by U} U_ui / sum_u k_u`` (the ideal
      recommender of Chaney et al., RecSys 2018, ranking by true utility);
    - random: ``U_random = sum_u k_u mean_{i in C_u} U_ui / sum_u k_u``, the expected
      utility of k_u candidates drawn uniformly without replacement.

    Feed them with the recommender's own mean to :func:`normalised_regret`. ``k`` is one
    int, or one per user (e.g. the number of videos each user actually watched, to compare
    with the utility of the impressions the log holds). Users with no eligible candidate or
    ``k_u = 0`` are left out; none left gives ``(nan, nan)``.

    Returns:
        ``(U_oracle, U_random)``.

    >>> u = np.array([[3.0, 1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 5.0]])
    >>> counterfactual_feed_utility(u, 2)  # oracle (3+2 + 5+1)/4; random (2*1.5 + 2*2)/4
    (2.75, 1.75)
    """
    u = np.asarray(utility_block, dtype=np.float64)
    if u.ndim == 1:
        u = u[None]
    n, c = u.shape
    ok = ~np.isnan(u)
    if eligible is not None:
        ok &= np.asarray(eligible, dtype=bool).reshape(n, c)
    k_u = np.minimum(np.broadcast_to(np.asarray(k, dtype=np.int64), (n,)), ok.sum(axis=1))
    rows = k_u > 0
    if not rows.any():
        undefined("counterfactual_feed_utility", "no user with an eligible candidate and a feed")
        return float("nan"), float("nan")
    u, ok, k_u = u[rows], ok[rows], k_u[rows]
    masked = np.where(ok, u, -np.inf)
    ranked = -np.sort(-masked, axis=1)  # descending per row
    top = np.where(np.arange(c)[None, :] < k_u[:, None], ranked, 0.0)
    oracle = top.sum() / k_u.sum()
    row_mean = np.where(ok, u, 0.0).sum(axis=1) / ok.sum(axis=1)
    rand = float(np.sum(k_u * row_mean) / k_u.sum())
    return float(oracle), rand

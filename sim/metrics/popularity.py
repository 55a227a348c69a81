"""Popularity bias of recommendations: ARP, APLT, popularity lift, catalogue coverage.

Lists are given as impression pairs ``(users[k], items[k])``: user ``u``'s list ``L_u`` is
every item paired with ``u`` (a feed, or all of a user's impressions in a window; an item
shown twice counts twice). Popularity ``phi(i)`` is the share of users who interacted
with ``i`` in the reference data (:func:`item_popularity`). Exposure Gini and top shares
are in :mod:`sim.metrics.exposure`. LITERATURE.md sections 2.3 and 9 (V5).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._undefined import UndefinedMetricWarning, undefined
from .amplification import _ids


def _pairs(users, items, n_items: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    u = _ids(users, "users")
    i = _ids(items, "items", n_items)
    if len(u) != len(i):
        raise ValueError(f"users and items differ in length ({len(u)} != {len(i)})")
    return u, i


def _per_user_mean(users: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the users with a list, and the mean of ``values`` over each one's list."""
    ids, inverse, counts = np.unique(users, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=values, minlength=len(ids))
    return ids, sums / counts


def item_popularity(users, items, n_items: int, n_users: int) -> np.ndarray:
    """Share of users who interacted with each item: ``phi(i) = |{u : (u, i) in D}| / |U|``.

    Repeated interactions of one user with an item count once (as in Elliot's popularity).
    ``D`` is the reference data: users' profiles (e.g. likes in the log so far).

    Args:
        users, items: the interactions, one pair per entry.
        n_items: catalogue size (ids ``0 .. n_items - 1``).
        n_users: ``|U|``, the number of users.

    Returns:
        float array of length ``n_items``; NaN with an ``UndefinedMetricWarning`` when
        ``n_users`` is 0.

    >>> item_popularity([0, 0, 1, 1, 1], [2, 2, 2, 0, 0], n_items=3, n_users=4).tolist()
    [0.25, 0.0, 0.5]
    """
    u, i = _pairs(users, items, n_items)
    if n_users <= 0:
        return np.full(n_items, undefined("item_popularity", "no users"))
    if len(u) and u.max() >= n_users:
        raise ValueError(f"users must lie in [0, {n_users})")
    pairs = np.unique(i * n_users + u)
    return np.bincount(pairs // n_users, minlength=n_items) / n_users


def long_tail_mask(popularity, head_share: float = 0.8) -> np.ndarray:
    """The long tail ``Phi``: items outside the short head ``H``.

    ``H`` is the smallest set of most popular items whose popularity sums to at least
    ``head_share`` of the total (items sorted by popularity, descending, ties by id):
    ``H = {i_1 .. i_k}``, ``k = min{k : sum_{j <= k} phi(i_j) >= head_share sum_i phi(i)}``.
    The Pareto split of Abdollahpouri, Burke, Mobasher (RecSys 2017; FLAIRS 2019) as
    Elliot implements it (``pop_ratio = 0.8``). With no interactions at all the head is
    empty and every item is in the long tail.

    Args:
        popularity: ``phi(i)`` per item, or raw interaction counts (same split).
        head_share: share of all interactions the short head holds.

    Returns:
        bool array, True for long-tail items.

    >>> long_tail_mask(np.array([1, 10, 0, 5, 4]), 0.75).tolist()  # 10 + 5 = 15 >= 0.75 * 20
    [True, False, True, False, True]
    """
    phi = np.asarray(popularity, dtype=np.float64).reshape(-1)
    order = np.argsort(-phi, kind="stable")
    cum = np.cumsum(phi[order])
    target = head_share * (cum[-1] if len(cum) else 0.0)
    k = 0 if target <= 0 else int(np.searchsorted(cum, target * (1 - 1e-12), side="left")) + 1  # float slack
    tail = np.ones(len(phi), dtype=bool)
    tail[order[:k]] = False
    return tail


def average_recommendation_popularity(users, items, popularity) -> float:
    """ARP: mean popularity of the items in a user's list, averaged over users.

    ``ARP = (1/|U|) sum_{u in U} sum_{i in L_u} phi(i) / |L_u|``, over the users ``U``
    with a non-empty list. Yin et al. (VLDB 2012); Abdollahpouri, Burke, Mobasher
    (FLAIRS 2019); Elliot's ``ARP``. LITERATURE.md 2.3.

    Args:
        users, items: the lists, one (user, item) pair per slot.
        popularity: ``phi(i)`` per item id (:func:`item_popularity`).

    Returns:
        ARP; NaN with an ``UndefinedMetricWarning`` when no user has a list.

    >>> phi = np.array([0.5, 0.1, 0.0])
    >>> round(average_recommendation_popularity([0, 0, 1], [0, 1, 2], phi), 6)  # ((0.5 + 0.1) / 2 + 0) / 2
    0.15
    """
    phi = np.asarray(popularity, dtype=np.float64).reshape(-1)
    u, i = _pairs(users, items, len(phi))
    if len(u) == 0:
        return undefined("average_recommendation_popularity", "no recommendations")
    return float(_per_user_mean(u, phi[i])[1].mean())


def aplt(users, items, long_tail) -> float:
    """APLT: average percentage of long-tail items in a user's list.

    ``APLT = (1/|U|) sum_{u in U} |{i in L_u : i in Phi}| / |L_u|``, over the users ``U``
    with a non-empty list and the long tail ``Phi`` (:func:`long_tail_mask`).
    Abdollahpouri, Burke, Mobasher (RecSys 2017); Elliot's ``APLT``. LITERATURE.md 2.3.

    Args:
        users, items: the lists, one (user, item) pair per slot.
        long_tail: bool per item id, True in the long tail.

    Returns:
        APLT in [0, 1]; NaN with an ``UndefinedMetricWarning`` when no user has a list.

    >>> aplt([0, 0, 0, 0, 1], [0, 1, 2, 3, 3], np.array([False, False, True, True]))  # (2/4 + 1/1) / 2
    0.75
    """
    tail = np.asarray(long_tail, dtype=bool).reshape(-1)
    u, i = _pairs(users, items, len(tail))
    if len(u) == 0:
        return undefined("aplt", "no recommendations")
    return float(_per_user_mean(u, tail[i].astype(np.float64))[1].mean())


def group_average_popularity(users, items, popularity, user_group=None, n_groups: int | None = None):
    """GAP: average list popularity of the users of each group.

    ``GAP(g) = (1/|g|) sum_{u in g} sum_{i in L_u} phi(i) / |L_u|``, over the users of
    ``g`` with a non-empty list: ARP restricted to one user group. On profiles it is
    ``GAP_p``, on recommendation lists ``GAP_r`` (Abdollahpouri, Mansoury, Burke,
    Mobasher, "The unfairness of popularity bias in recommendation", RMSE workshop at
    RecSys 2019, arXiv 1907.13286).

    Args:
        users, items: the lists (profiles or recommendations), one pair per entry.
        popularity: ``phi(i)`` per item id.
        user_group: group id per user id (length ``n_users``); None for one group of all.
        n_groups: number of groups (default ``max(user_group) + 1``).

    Returns:
        A float per group (a float when ``user_group`` is None). NaN, with one
        ``UndefinedMetricWarning``, for a group none of whose users has a list.

    >>> group_average_popularity([0, 1, 2], [0, 1, 1], np.array([0.6, 0.2]), np.array([0, 0, 1])).round(6).tolist()
    [0.4, 0.2]
    """
    phi = np.asarray(popularity, dtype=np.float64).reshape(-1)
    u, i = _pairs(users, items, len(phi))
    if user_group is None:
        if len(u) == 0:
            return undefined("group_average_popularity", "no lists")
        return float(_per_user_mean(u, phi[i])[1].mean())
    group = np.asarray(user_group).reshape(-1)
    n_groups = int(group.max(initial=-1)) + 1 if n_groups is None else n_groups
    group = _ids(group, "user_group", n_groups)
    if len(u) and u.max() >= len(group):
        raise ValueError(f"users must lie in [0, {len(group)}) (the length of user_group)")
    ids, means = _per_user_mean(u, phi[i])
    g = group[ids]
    counts = np.bincount(g, minlength=n_groups)
    sums = np.bincount(g, weights=means, minlength=n_groups)
    out = np.full(n_groups, np.nan)
    ok = counts > 0
    out[ok] = sums[ok] / counts[ok]
    if not ok.all():
        undefined("group_average_popularity", f"{int((~ok).sum())} of {n_groups} groups have no user with a list")
    return out


def popularity_lift(
    profile_users, profile_items, rec_users, rec_items, popularity, user_group=None, n_groups: int | None = None
):
    """Popularity lift of each user group: ``PL(g) = (GAP_r(g) - GAP_p(g)) / GAP_p(g)``.

    ``GAP_p`` over the users' profiles ``P_u`` (what they consumed or liked), ``GAP_r``
    over their recommendation lists (:func:`group_average_popularity`). ``PL > 0``: the
    recommender serves the group more popular items than its profile holds (it amplifies
    popularity bias for that group). Abdollahpouri, Mansoury, Burke, Mobasher (2019,
    arXiv 1907.13286; the "Delta GAP"); Mansoury et al. (CIKM 2020). LITERATURE.md 2.3.

    Args:
        profile_users, profile_items: profile pairs ``(u, i in P_u)``.
        rec_users, rec_items: recommendation pairs ``(u, i in L_u)``.
        popularity: ``phi(i)`` per item id (computed on the profiles).
        user_group: group id per user id; None for one group of all users.
        n_groups: number of groups (default ``max(user_group) + 1``).

    Returns:
        A float per group (a float when ``user_group`` is None). NaN, with an
        ``UndefinedMetricWarning``, where a group has no profile, no recommendations, or a
        profile of popularity 0 (``GAP_p = 0``).

    >>> phi = np.array([0.8, 0.2])
    >>> round(popularity_lift([0, 0], [0, 1], [0, 0], [0, 0], phi), 6)  # GAP_p = 0.5, GAP_r = 0.8: 0.3 / 0.5
    0.6
    """
    scalar = user_group is None
    with warnings.catch_warnings():  # one warning below names every reason
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        gap_p = np.atleast_1d(group_average_popularity(profile_users, profile_items, popularity, user_group, n_groups))
        gap_r = np.atleast_1d(group_average_popularity(rec_users, rec_items, popularity, user_group, n_groups))
    ok = np.isfinite(gap_p) & np.isfinite(gap_r) & (gap_p > 0)
    out = np.full(len(gap_p), np.nan)
    out[ok] = (gap_r[ok] - gap_p[ok]) / gap_p[ok]
    if not ok.all():
        undefined(
            "popularity_lift",
            f"{int((~ok).sum())} of {len(out)} groups have no profile, no recommendations or GAP_p = 0",
        )
    return float(out[0]) if scalar else out


def catalogue_coverage(items, n_items: int, available=None) -> float:
    """Aggregate diversity: share of the catalogue recommended to anyone.

    ``coverage = |(∪_u L_u) ∩ A| / |A|`` with ``A`` the available items (the whole
    catalogue ``0 .. n_items - 1`` by default; pass the videos alive in the window, since
    old ones expire). Adomavicius and Kwon (IEEE TKDE 2012); Mansoury et al. (CIKM 2020);
    LITERATURE.md 2.3. 0 when nothing was recommended.

    Args:
        items: every recommended item (any order, repeats allowed).
        n_items: catalogue size.
        available: optional bool mask of length ``n_items``.

    Returns:
        Coverage in [0, 1]; NaN with an ``UndefinedMetricWarning`` when no item is available.

    >>> catalogue_coverage([3, 1, 1, 3], n_items=5)
    0.4
    >>> catalogue_coverage([3, 1, 1, 3], n_items=5, available=np.array([0, 1, 1, 0, 0], bool))
    0.5
    """
    i = _ids(items, "items", n_items)
    avail = np.ones(n_items, dtype=bool) if available is None else np.asarray(available, dtype=bool).reshape(-1)
    if len(avail) != n_items:
        raise ValueError(f"available must have length n_items = {n_items}, got {len(avail)}")
    n_avail = int(avail.sum())
    if n_avail == 0:
        return undefined("catalogue_coverage", "no item is available")
    shown = np.zeros(n_items, dtype=bool)
    shown[i] = True
    return float((shown & avail).sum() / n_avail)

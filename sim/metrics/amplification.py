"""Trend amplification: reach of the ranked feed against the holdout, and trend curves.

The amplification ratio compares how many distinct users a group of videos (a video, a
creator's videos, a topic, a sound) reaches in the treatment group (the personalised feed)
and in the holdout (control) group, per capita (Huszar et al., PNAS 2022). Trend curves
follow a group's views step by step and time them against the holdout's organic curve.
LITERATURE.md sections 2.1 and 9 (V4).
"""

from __future__ import annotations

import numpy as np

from ._undefined import undefined


def _ids(values, name: str, bound: int | None = None) -> np.ndarray:
    """Integer id array, checked to lie in [0, bound)."""
    out = np.asarray(values)
    if out.size == 0:
        return out.astype(np.int64).reshape(-1)
    if not np.issubdtype(out.dtype, np.integer):
        raise ValueError(f"{name} must hold integer ids, got dtype {out.dtype}")
    out = out.astype(np.int64).reshape(-1)
    if out.min() < 0 or (bound is not None and out.max() >= bound):
        raise ValueError(f"{name} must lie in [0, {bound}), got [{out.min()}, {out.max()}]")
    return out


def _shaped(values: np.ndarray, scalar: bool):
    return float(values.reshape(-1)[0]) if scalar else values


# -- amplification (Huszar et al. 2022) ---------------------------------------------------


def amplification_ratio(reach_treatment, reach_control, n_treatment: int, n_control: int):
    """Algorithmic amplification of a group of videos, treatment against holdout.

    ``a = (R_T + 1) / ((N_T / N_C) R_C + 1) - 1``

    with ``R_T`` and ``R_C`` the numbers of distinct treatment and control users the group
    reached (had an impression of any of its videos) and ``N_T``, ``N_C`` the sizes of the
    two user groups. ``a = 0`` means the same reach per capita as the holdout's feed,
    ``a = 1`` twice the reach, ``a < 0`` less; multiply by 100 for the paper's percentages.
    The +1 terms keep the ratio finite for groups the holdout never saw.

    Huszar, Ktena, O'Brien, Belli, Schlaikjer, Hardt, "Algorithmic amplification of politics
    on Twitter", PNAS 119(1), 2022 (their ``N_T / N_C = 4``). LITERATURE.md 2.1.

    Args:
        reach_treatment: distinct treatment users reached, a scalar or one per group.
        reach_control: distinct control users reached, same shape.
        n_treatment: users in the treatment group (``N_T``).
        n_control: users in the control (holdout) group (``N_C``).

    Returns:
        ``a`` with the shape of the reaches (a float for scalars). NaN, with an
        ``UndefinedMetricWarning``, when either user group is empty.

    >>> amplification_ratio(400, 100, 4, 1)  # 401 / (4 * 100 + 1) - 1
    0.0
    >>> amplification_ratio(np.array([801, 0]), np.array([100, 0]), 4000, 1000)  # 802 / 401 - 1: twice the reach
    array([1., 0.])
    """
    scalar = np.ndim(reach_treatment) == 0 and np.ndim(reach_control) == 0
    r_t, r_c = np.broadcast_arrays(
        np.atleast_1d(np.asarray(reach_treatment, dtype=np.float64)),
        np.atleast_1d(np.asarray(reach_control, dtype=np.float64)),
    )
    if n_treatment <= 0 or n_control <= 0:
        nan = undefined("amplification_ratio", "the treatment or the control group has no users")
        return _shaped(np.full(r_t.shape, nan), scalar)
    out = (r_t + 1.0) / ((n_treatment / n_control) * r_c + 1.0) - 1.0
    return _shaped(out, scalar)


def group_reach(users, groups, is_treatment, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct treatment and control users reached by each group of videos.

    ``R_T(g) = |{u in treatment : u had an impression of a video of g}|``, and ``R_C(g)``
    the same over control users: the ``|U_{T,d} ∩ U_treatment|`` of Huszar et al. (2022),
    a union over the group's videos, so a user reached by several of them counts once.

    Filter the impressions first to define "reached": a time window (their day ``d``),
    and a minimum watch ratio (the analogue of their linger impression), e.g.
    ``keep = (step >= t0) & (step < t1) & (watch_ratio >= 0.5)``. For groups a video
    belongs to several of (multi-tag topics), repeat its impressions once per group.

    Args:
        users: user id of each impression.
        groups: group id of each impression (its video's id, creator, topic or sound).
        is_treatment: bool per user id (length ``n_users``): True for the treatment
            (ranked feed), False for the control (holdout), e.g. ``~users.holdout``.
        n_groups: number of groups (ids ``0 .. n_groups - 1``).

    Returns:
        ``(reach_treatment, reach_control)``, two int64 arrays of length ``n_groups``.
        Cost: one ``np.unique`` over the impressions, O(N log N).

    >>> rt, rc = group_reach([0, 0, 1, 2, 2], [1, 1, 1, 0, 1], np.array([True, True, False]), 2)
    >>> rt.tolist(), rc.tolist()  # group 1: users 0 and 1 (treatment) and 2 (control)
    ([0, 2], [1, 1])
    """
    is_treatment = np.asarray(is_treatment, dtype=bool).reshape(-1)
    n_users = len(is_treatment)
    u = _ids(users, "users", n_users)
    g = _ids(groups, "groups", n_groups)
    if len(u) != len(g):
        raise ValueError(f"users and groups differ in length ({len(u)} != {len(g)})")
    pairs = np.unique(g * n_users + u)
    pg, pu = np.divmod(pairs, n_users) if n_users else (pairs, pairs)
    treated = is_treatment[pu]
    reach_t = np.bincount(pg[treated], minlength=n_groups).astype(np.int64)
    reach_c = np.bincount(pg[~treated], minlength=n_groups).astype(np.int64)
    return reach_t, reach_c


def amplification_by_group(
    users, groups, is_treatment, n_groups: int, n_treatment: int | None = None, n_control: int | None = None
) -> dict[str, np.ndarray]:
    """Reaches and amplification ratio of every group, from impressions.

    :func:`group_reach` then :func:`amplification_ratio` with ``N_T = sum(is_treatment)``
    and ``N_C = sum(~is_treatment)`` unless given (Huszar et al., PNAS 2022).

    Args:
        users, groups, is_treatment, n_groups: as in :func:`group_reach`.
        n_treatment, n_control: group sizes ``N_T``, ``N_C`` when they are not all the
            users of ``is_treatment`` (e.g. only users active in the window).

    Returns:
        ``{"reach_treatment", "reach_control", "amplification"}``, arrays of length
        ``n_groups`` (amplification NaN with an ``UndefinedMetricWarning`` when a user
        group is empty).

    >>> out = amplification_by_group([0, 1, 2, 3, 4], [0, 0, 0, 1, 1], np.array([1, 1, 1, 1, 0], bool), 2)
    >>> out["amplification"].tolist()  # a_0 = (3 + 1) / (4 * 0 + 1) - 1, a_1 = (1 + 1) / (4 * 1 + 1) - 1
    [3.0, -0.6]
    """
    is_treatment = np.asarray(is_treatment, dtype=bool).reshape(-1)
    reach_t, reach_c = group_reach(users, groups, is_treatment, n_groups)
    n_t = int(is_treatment.sum()) if n_treatment is None else n_treatment
    n_c = len(is_treatment) - int(is_treatment.sum()) if n_control is None else n_control
    amp = amplification_ratio(reach_t, reach_c, n_t, n_c)
    return {"reach_treatment": reach_t, "reach_control": reach_c, "amplification": amp}


# -- trend curves ------------------------------------------------------------------------


def trend_curves(steps, groups, n_groups: int, n_steps: int) -> np.ndarray:
    """Views per group per step: ``C[g, t] = |{impressions of group g at step t}|``.

    A group is a sound (the trend), a video, a creator or a topic. Rows are the trend
    curves that :func:`time_to_peak`, :func:`peak_height` and :func:`share_before_peak`
    read. Build the treatment's and the holdout's curves from their own impressions.

    Args:
        steps: step of each impression (``0 .. n_steps - 1``).
        groups: group id of each impression (``0 .. n_groups - 1``).
        n_groups, n_steps: the curve matrix's shape.

    Returns:
        int64 array ``(n_groups, n_steps)``. Memory ``8 n_groups n_steps`` bytes: fine for
        sounds or topics, pick a subset of videos before using it per video.

    >>> trend_curves([0, 0, 1, 2, 2, 2], [1, 1, 1, 0, 1, 1], n_groups=2, n_steps=3)
    array([[0, 0, 1],
           [2, 1, 2]])
    """
    t = _ids(steps, "steps", n_steps)
    g = _ids(groups, "groups", n_groups)
    if len(t) != len(g):
        raise ValueError(f"steps and groups differ in length ({len(t)} != {len(g)})")
    flat = np.bincount(g * n_steps + t, minlength=n_groups * n_steps)
    return flat.astype(np.int64).reshape(n_groups, n_steps)


def _curves(curves, name: str) -> tuple[np.ndarray, bool]:
    c = np.asarray(curves, dtype=np.float64)
    if c.ndim not in (1, 2):
        raise ValueError(f"{name} must be one curve (n_steps,) or curves (n_groups, n_steps)")
    return np.atleast_2d(c), c.ndim == 1


def peak_height(curves):
    """Highest views in one step: ``h_g = max_t C[g, t]`` (0 for a group never viewed).

    Args:
        curves: one curve ``(n_steps,)`` or curves ``(n_groups, n_steps)`` from
            :func:`trend_curves`.

    Returns:
        A float per curve (a float for one curve); NaN with an ``UndefinedMetricWarning``
        when the curves have no steps.

    >>> peak_height(np.array([[0, 3, 5, 1], [0, 0, 0, 0]])).tolist()
    [5.0, 0.0]
    """
    c, one = _curves(curves, "curves")
    if c.shape[1] == 0:
        return _shaped(np.full(c.shape[0], undefined("peak_height", "the curves have no steps")), one)
    return _shaped(c.max(axis=1), one)


def time_to_peak(curves, onset=None):
    """Steps from a trend's onset to its peak: ``t*_g - t0_g``.

    ``t*_g = argmax_t C[g, t]`` (the first step reaching the maximum) and ``t0_g`` the
    first step with any views, ``min{t : C[g, t] > 0}``, unless ``onset`` gives it (e.g. the
    step the sound was released). 0 when the first views are the peak.

    Args:
        curves: one curve ``(n_steps,)`` or curves ``(n_groups, n_steps)``.
        onset: optional start step per curve (a scalar for one curve).

    Returns:
        A float per curve (a float for one curve). Curves with no views have no peak:
        NaN, with one ``UndefinedMetricWarning`` saying how many.

    >>> time_to_peak(np.array([[0, 1, 4, 2], [3, 1, 0, 0]])).tolist()
    [1.0, 0.0]
    >>> time_to_peak(np.array([0, 1, 4, 2]), onset=0)
    2.0
    """
    c, one = _curves(curves, "curves")
    n_groups, n_steps = c.shape
    alive = c.max(axis=1, initial=0.0) > 0 if n_steps else np.zeros(n_groups, bool)
    out = np.full(n_groups, np.nan)
    if n_steps:
        peak = c.argmax(axis=1)
        start = (c > 0).argmax(axis=1) if onset is None else np.broadcast_to(np.asarray(onset, np.float64), (n_groups,))
        out[alive] = (peak - start)[alive]
    if not alive.all():
        undefined("time_to_peak", f"{int((~alive).sum())} of {n_groups} curves have no views, hence no peak")
    return _shaped(out, one)


def smooth_curves(curves, width: int = 3) -> np.ndarray:
    """Centred moving average of each curve over ``width`` steps, the end values repeated
    past the ends: ``S[g, t] = mean(C[g, t - h .. t + h])`` with ``h = width // 2`` (an odd
    ``width``; scipy's ``uniform_filter1d`` with ``mode="nearest"``). Smooth a small
    holdout's curves before finding their peak, so a one-step blip is not the peak.

    >>> smooth_curves(np.array([[0.0, 3.0, 0.0, 0.0]])).tolist()
    [[1.0, 1.0, 1.0, 0.0]]
    """
    from scipy.ndimage import uniform_filter1d

    c, one = _curves(curves, "curves")
    out = uniform_filter1d(c, width, axis=1, mode="nearest") if c.shape[1] else c
    return out[0] if one else out


def share_before_peak(curve_recommended, curve_organic):
    """Share of a trend's recommended views served before its organic peak.

    ``s_g = sum_{t < t*_g} R[g, t] / sum_t R[g, t]``, with ``t*_g = argmax_t O[g, t]``
    the first step at which the organic curve peaks. ``R`` is the treatment's curve (views
    served by the ranked feed), ``O`` the holdout's curve for the same group (its views
    under the chronological feed; it may be passed raw or rescaled by ``N_T / N_C`` to the
    treatment's scale: a rescaling moves no peak, so ``s`` is the same). The peak step
    itself counts as "after". ``s`` near 1: the recommender served the trend before it
    peaked organically (it led the trend); near 0: it followed. The organic curve's own
    share, ``share_before_peak(O, O)``, is the baseline to compare with. Smooth noisy
    holdout curves (a small holdout) before calling, so the peak is not a one-step blip.

    A timing measure of trend amplification in the spirit of Huszar et al. (PNAS 2022)
    and the trend-curve metrics of DESIGN.md ("Metrics"); defined here for the simulator.

    Args:
        curve_recommended: treatment curve(s), ``(n_steps,)`` or ``(n_groups, n_steps)``.
        curve_organic: holdout curve(s), same shape.

    Returns:
        A float per group (a float for one curve). NaN, with one
        ``UndefinedMetricWarning``, for a group with no recommended views or no organic
        views (no organic peak).

    >>> share_before_peak(np.array([2, 6, 2, 0]), np.array([0, 1, 3, 1]))  # peak at t = 2: (2 + 6) / 10
    0.8
    """
    r, one = _curves(curve_recommended, "curve_recommended")
    o, _ = _curves(curve_organic, "curve_organic")
    if r.shape != o.shape:
        raise ValueError(f"curves differ in shape ({r.shape} != {o.shape})")
    n_groups, n_steps = r.shape
    total = r.sum(axis=1)
    has_peak = o.max(axis=1, initial=0.0) > 0 if n_steps else np.zeros(n_groups, bool)
    ok = has_peak & (total > 0)
    out = np.full(n_groups, np.nan)
    if n_steps:
        peak = o.argmax(axis=1)
        before = np.where(np.arange(n_steps)[None, :] < peak[:, None], r, 0.0).sum(axis=1)
        out[ok] = before[ok] / total[ok]
    if not ok.all():
        undefined(
            "share_before_peak",
            f"{int((~ok).sum())} of {n_groups} groups have no recommended views or no organic peak",
        )
    return _shaped(out, one)

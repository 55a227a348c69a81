"""Privacy: how well a hidden binary trait can be inferred from a user's likes.

The attack is the pipeline of Kosinski, Stillwell and Graepel (PNAS 2013; LITERATURE.md 5.1
and validation V3): a binary users x videos like matrix, filtered (videos with at least 20
likers, then users with at least 2 likes on the kept videos), reduced by truncated SVD to 100
components, and a logistic regression of the trait on the components, scored by 10-fold
cross-validated AUC. Randomized response on the like bits (Warner 1965; LITERATURE.md 5.4)
is the defence; :func:`auc_vs_epsilon` gives the attacker's AUC against its epsilon.

Choices the paper leaves open, fixed here:

* The filters are applied once each, videos first, then users (as the paper states them);
  a kept video can end with fewer than ``min_likers`` likers among the kept users.
* The SVD is fitted on every kept user's likes (it sees no trait), as in the 2013 paper; only
  the regression is cross-validated. This is the attacker's position: a platform holds
  everyone's likes.
* The components are standardised before an L2-regularised logistic regression
  (scikit-learn's default ``C = 1``).
* The AUC is that of the pooled out-of-fold scores: the probability that a random user with
  the trait is scored above a random user without it, over all kept users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..platform import randomized_response
from ._undefined import undefined


#: Above this share of nonzero cells the SVD runs on a dense copy of the filtered matrix.
_DENSE_ABOVE = 0.05


class TraitAUC(NamedTuple):
    """Result of :func:`trait_auc`. ``float(result)`` is the AUC."""

    auc: float  # cross-validated AUC, NaN when undefined
    n_users: int  # users kept by the filters
    n_videos: int  # videos kept by the filters
    n_components: int  # SVD components used (0: the raw like columns were used)
    reason: str = ""  # why the AUC is undefined ("" when it is defined)

    def __float__(self) -> float:
        return float(self.auc)


class LikesBinAUC(NamedTuple):
    """Result of :func:`auc_by_likes_per_user`: one entry per bin ``[edges[i], edges[i+1])``."""

    edges: np.ndarray  # bin edges on the number of likes per user (after filtering)
    auc: np.ndarray  # AUC of the users in each bin, NaN where undefined
    n_users: np.ndarray  # users in each bin


class _Attack(NamedTuple):
    """The fitted pipeline: what the three public functions share."""

    x: sp.csr_matrix  # kept users x kept videos, binary
    y: np.ndarray  # trait of the kept users
    users: np.ndarray  # ids of the kept users
    n_videos: int
    svd: TruncatedSVD | None  # None when the raw columns are the features
    folds: list[tuple[np.ndarray, object]]  # (test rows, model fitted on the other rows)


def _binary_csr(like_matrix) -> sp.csr_matrix:
    """Any users x videos matrix (dense or sparse) as a binary float32 CSR matrix."""
    m = sp.csr_matrix(like_matrix, dtype=np.float32, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def _features(attack: _Attack, x: sp.csr_matrix) -> np.ndarray:
    return attack.svd.transform(x) if attack.svd is not None else x.toarray()


def _fit(
    like_matrix, trait, min_likers: int, min_likes: int, n_components: int, folds: int, seed: int, C: float
) -> _Attack | str:
    """Filter, reduce, and fit one regression per fold; or the reason it cannot be done."""
    x = _binary_csr(like_matrix)
    y = np.asarray(trait).astype(bool).ravel()
    if len(y) != x.shape[0]:
        raise ValueError(f"trait has {len(y)} entries for a like matrix of {x.shape[0]} users")
    videos = np.flatnonzero(np.asarray(x.sum(axis=0)).ravel() >= min_likers)
    if len(videos) == 0:
        return f"no video has {min_likers} or more likers"
    x = x[:, videos]
    users = np.flatnonzero(np.asarray(x.sum(axis=1)).ravel() >= min_likes)
    if len(users) == 0:
        return f"no user has {min_likes} or more likes on the kept videos"
    x, y = x[users], y[users]
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority == 0:
        return f"the trait has one class among the {len(users)} kept users"
    if minority < 2:
        return "fewer than 2 kept users in the trait's minority class"
    k = min(n_components, x.shape[0] - 1, x.shape[1] - 1)
    svd = None
    if k >= 1:
        svd = TruncatedSVD(n_components=k, algorithm="randomized", random_state=seed)
        # Randomized response makes the matrix dense-ish: dense BLAS is then far faster.
        with np.errstate(invalid="ignore", divide="ignore"):  # explained-variance ratio of a constant matrix
            z = svd.fit_transform(x.toarray() if x.nnz > _DENSE_ABOVE * x.shape[0] * x.shape[1] else x)
    else:
        z = x.toarray()
    cv = StratifiedKFold(n_splits=min(folds, minority), shuffle=True, random_state=seed)
    fitted = []
    for train, test in cv.split(z, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
        fitted.append((test, model.fit(z[train], y[train])))
    return _Attack(x, y, users, len(videos), svd, fitted)


def _oof_scores(attack: _Attack, z: np.ndarray) -> np.ndarray:
    """Out-of-fold trait scores for every kept user, from features ``z`` (one row per kept user)."""
    scores = np.empty(len(attack.y))
    for test, model in attack.folds:
        scores[test] = model.predict_proba(z[test])[:, 1]
    return scores


def _auc(y: np.ndarray, scores: np.ndarray, metric: str) -> float:
    if len(y) < 2 or y.all() or not y.any():
        return undefined(metric, "fewer than one user in each class")
    return float(roc_auc_score(y, scores))


def trait_auc(
    like_matrix,
    trait,
    min_likers: int = 20,
    min_likes: int = 2,
    n_components: int = 100,
    folds: int = 10,
    seed: int = 0,
    C: float = 1.0,
) -> TraitAUC:
    """Cross-validated AUC of a hidden binary trait predicted from likes (Kosinski et al. 2013).

    Pipeline (Kosinski, Stillwell, Graepel, "Private traits and attributes are predictable
    from digital records of human behavior", PNAS 110(15), 2013):

    1. ``X`` = binary users x videos like matrix; keep videos with ``>= min_likers`` likers,
       then users with ``>= min_likes`` likes on the kept videos.
    2. ``Z = U_k S_k``, the truncated SVD of ``X`` (scikit-learn ``TruncatedSVD``, randomized),
       ``k = min(n_components, n_users - 1, n_videos - 1)``; when ``k < 1`` the like columns
       themselves are the features.
    3. ``P(trait | z) = 1 / (1 + exp(-(w . z_std + b)))``: logistic regression on the
       standardised components, fitted in stratified ``folds``-fold cross-validation
       (fewer folds when the minority class has fewer users), seeded.
    4. ``AUC = P(s_i > s_j)`` for a random user ``i`` with the trait and ``j`` without, over the
       pooled out-of-fold scores (scikit-learn ``roc_auc_score``).

    Undefined (NaN, with the reason in ``.reason`` and an ``UndefinedMetricWarning``) when no
    video or no user survives the filters, or the kept users' trait has fewer than 2 users in
    a class. Cost: 1-8 s at 10,000 users x 20,000 videos with 500,000 likes (2 shared cores);
    about 20 s and 3 GB on the same matrix after full-matrix randomized response at eps = 0.5.

    Args:
        like_matrix: users x videos, nonzero where liked (scipy.sparse or dense).
        trait: one boolean per user (row).
        min_likers: a video needs this many likers to be kept.
        min_likes: a user needs this many likes on kept videos to be kept.
        n_components: SVD components (capped as above).
        folds: cross-validation folds.
        seed: seeds the SVD and the fold split.
        C: inverse L2 regularisation strength of the regression.

    Returns:
        TraitAUC(auc, n_users, n_videos, n_components, reason).

    >>> rng = np.random.default_rng(0)
    >>> trait = np.arange(60) < 30  # users 0-29 have the trait
    >>> likes = rng.random((60, 40)) < 0.15
    >>> likes[:30, :10] |= rng.random((30, 10)) < 0.6  # ... and like videos 0-9
    >>> r = trait_auc(likes, trait, min_likers=3, n_components=5, folds=5)
    >>> r.auc > 0.9, r.n_users, r.n_videos
    (True, 60, 40)
    """
    attack = _fit(like_matrix, trait, min_likers, min_likes, n_components, folds, seed, C)
    if isinstance(attack, str):
        return TraitAUC(undefined("trait_auc", attack), *_kept_counts(like_matrix, min_likers, min_likes), 0, attack)
    scores = _oof_scores(attack, _features(attack, attack.x))
    k = attack.svd.n_components if attack.svd is not None else 0
    return TraitAUC(float(roc_auc_score(attack.y, scores)), len(attack.users), attack.n_videos, k)


def _kept_counts(like_matrix, min_likers: int, min_likes: int) -> tuple[int, int]:
    """Users and videos the filters keep (for the result of an undefined AUC)."""
    x = _binary_csr(like_matrix)
    videos = np.asarray(x.sum(axis=0)).ravel() >= min_likers
    users = np.asarray(x[:, videos].sum(axis=1)).ravel() >= min_likes
    return int(users.sum()), int(videos.sum())


def auc_by_likes_per_user(like_matrix, trait, bins: Sequence[float], **pipeline) -> LikesBinAUC:
    """Trait AUC among users grouped by how many likes they have (after Kosinski et al. 2013).

    The pipeline of :func:`trait_auc` is fitted once on all kept users; bin ``i`` holds the kept
    users with ``bins[i] <= m_u < bins[i+1]`` likes on the kept videos, and its AUC is
    ``P(s_i > s_j)`` over their out-of-fold scores. Users outside every bin are ignored. A bin
    with no user of one class is undefined (NaN, ``UndefinedMetricWarning``); all bins are
    when the pipeline is.

    This compares different users (heavy likers may differ from light ones); for the paper's
    own design, the same users with their likes subsampled, see
    :func:`auc_by_likes_subsampled`.

    Args:
        like_matrix: users x videos likes.
        trait: one boolean per user.
        bins: increasing edges on the number of likes per user.
        **pipeline: keyword arguments of :func:`trait_auc` (``min_likers``, ``n_components``...).

    Returns:
        LikesBinAUC(edges, auc, n_users), one ``auc`` and ``n_users`` per bin.
    """
    edges = np.asarray(bins, dtype=np.float64)
    n_bins = max(len(edges) - 1, 0)
    attack = _fit(like_matrix, trait, **_pipeline_args(pipeline))
    if isinstance(attack, str):
        nan = undefined("auc_by_likes_per_user", attack)
        return LikesBinAUC(edges, np.full(n_bins, nan), np.zeros(n_bins, dtype=np.int64))
    scores = _oof_scores(attack, _features(attack, attack.x))
    likes = np.diff(attack.x.indptr)
    auc, counts = np.full(n_bins, np.nan), np.zeros(n_bins, dtype=np.int64)
    for i in range(n_bins):
        inside = (likes >= edges[i]) & (likes < edges[i + 1])
        counts[i] = inside.sum()
        auc[i] = _auc(attack.y[inside], scores[inside], f"auc_by_likes_per_user[{edges[i]:g}, {edges[i + 1]:g})")
    return LikesBinAUC(edges, auc, counts)


def auc_by_likes_subsampled(
    like_matrix, trait, n_likes: Sequence[int], seed: int = 0, **pipeline
) -> dict[int, float]:
    """Trait AUC of the same users given only ``n`` of their likes (Kosinski et al. 2013).

    The paper's design for "accuracy against the number of likes": take the kept users with
    at least ``max(n_likes)`` likes on the kept videos (the test users); for each ``n``, keep a
    random ``n`` of each test user's likes (seeded, nested: the first ``n`` of one random
    order); score them with the fold models of :func:`trait_auc` (fitted on full rows,
    the test user's own fold excluded) after projecting the subsampled rows on the fitted
    SVD; ``AUC_n = P(s_i > s_j)`` over the test users. The SVD basis was fitted on everyone's
    full rows (no trait is used), as in :func:`trait_auc`.

    Args:
        like_matrix: users x videos likes.
        trait: one boolean per user.
        n_likes: the numbers of likes to keep (each ``>= 1``).
        seed: seeds the subsampling and the pipeline.
        **pipeline: keyword arguments of :func:`trait_auc`.

    Returns:
        ``{n: AUC}``; NaN (``UndefinedMetricWarning``) where fewer than one test user of each
        class exists, or the pipeline is undefined.
    """
    n_likes = [int(n) for n in n_likes]
    metric = "auc_by_likes_subsampled"
    if not n_likes:
        return {}
    attack = _fit(like_matrix, trait, **_pipeline_args({"seed": seed} | pipeline))
    if isinstance(attack, str):
        reason = undefined(metric, attack)
        return dict.fromkeys(n_likes, reason)
    x = attack.x
    likes = np.diff(x.indptr)
    test = np.flatnonzero(likes >= max(n_likes))
    if len(test) < 2 or attack.y[test].all() or not attack.y[test].any():
        nan = undefined(metric, f"fewer than one user of each class has {max(n_likes)} or more likes")
        return dict.fromkeys(n_likes, nan)
    rng = np.random.default_rng(seed)
    # Rank each test user's likes in one random order: keeping ranks < n nests the subsets.
    starts, counts = x.indptr[test], likes[test]
    rank = np.concatenate([rng.permutation(c) for c in counts])
    cols = np.concatenate([x.indices[s : s + c] for s, c in zip(starts, counts)])
    row = np.repeat(np.arange(len(test)), counts)
    fold_of = np.empty(len(attack.y), dtype=np.int64)
    for f, (rows, _) in enumerate(attack.folds):
        fold_of[rows] = f
    out = {}
    for n in n_likes:
        keep = rank < n
        sub = sp.csr_matrix((np.ones(keep.sum(), np.float32), (row[keep], cols[keep])), shape=(len(test), x.shape[1]))
        z = _features(attack, sub)
        scores = np.empty(len(test))
        for f, (_, model) in enumerate(attack.folds):
            mine = fold_of[test] == f
            if mine.any():
                scores[mine] = model.predict_proba(z[mine])[:, 1]
        out[n] = _auc(attack.y[test], scores, metric)
    return out


def _pipeline_args(pipeline: dict) -> dict:
    args = {"min_likers": 20, "min_likes": 2, "n_components": 100, "folds": 10, "seed": 0, "C": 1.0}
    unknown = set(pipeline) - set(args)
    if unknown:
        raise TypeError(f"unknown pipeline arguments: {sorted(unknown)}")
    return args | pipeline


def randomize_likes(
    like_matrix, epsilon: float | None, rng: np.random.Generator, exposure=None, chunk_cells: int = 1 << 22
) -> sp.csr_matrix:
    """The like matrix a platform sees when every reported like bit goes through randomized response.

    Each reported bit ``b`` is kept with probability ``p = e^eps / (1 + e^eps)`` and flipped
    otherwise (Warner 1965; epsilon-LDP per bit; :func:`sim.platform.randomized_response`).
    Which bits are reported:

    * ``exposure=None``: every cell of the users x videos matrix (each user reports a bit for
      every video, the textbook setting). The result is dense-ish (a share ``1 - p`` of the
      unliked cells turn into likes), so this costs memory: about ``(1 - p) n_users n_videos``
      stored likes.
    * ``exposure`` given (users x videos, nonzero where the user saw the video): only the
      seen pairs (and the liked ones) are reported, as the engine does with its log; unseen
      pairs stay 0.

    ``epsilon=None`` (or ``inf``) returns the likes unchanged.

    >>> x = sp.csr_matrix(np.array([[1, 0], [0, 1]]))
    >>> randomize_likes(x, None, np.random.default_rng(0)).toarray().tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    x = _binary_csr(like_matrix)
    if epsilon is None or np.isinf(epsilon):
        return x
    if exposure is not None:
        seen = _binary_csr(exposure)
        if seen.shape != x.shape:
            raise ValueError(f"exposure is {seen.shape}, likes are {x.shape}")
        # Union of seen and liked; a cell holding 2 is a like.
        both = (seen.maximum(x) + x).tocsr()
        both.sort_indices()
        bits = randomized_response(both.data == 2.0, epsilon, rng)
        out = sp.csr_matrix((bits.astype(np.float32), both.indices, both.indptr), shape=x.shape)
        out.eliminate_zeros()
        return out
    rows = max(1, chunk_cells // max(x.shape[1], 1))
    blocks = []
    for start in range(0, x.shape[0], rows):
        dense = x[start : start + rows].toarray() > 0
        blocks.append(sp.csr_matrix(randomized_response(dense, epsilon, rng), dtype=np.float32))
    if not blocks:
        return x
    return sp.vstack(blocks, format="csr")


def auc_vs_epsilon(
    like_matrix,
    trait,
    epsilons: Sequence[float | None] = (0.5, 1.0, 2.0, 4.0, None),
    *,
    exposure=None,
    seed: int = 0,
    **pipeline,
) -> dict[float | None, TraitAUC]:
    """Attacker's trait AUC against the randomized-response epsilon (LITERATURE.md 5.4, V3).

    ``AUC(eps) = trait_auc(RR_eps(X), trait)``: the pipeline of :func:`trait_auc` run on the
    likes as reported under randomized response with each epsilon (see
    :func:`randomize_likes`; ``None`` = no noise). As ``eps -> 0`` every reported bit is a fair
    coin, and the AUC goes to 0.5. Pair it with recommendation utility at the same epsilons
    for the privacy-utility frontier.

    Args:
        like_matrix: the true users x videos likes; or a mapping ``{epsilon: matrix}`` of like
            matrices already perturbed (e.g. the observed likes of runs at each epsilon), used
            as given: ``epsilons`` and ``exposure`` are then ignored, ``seed`` seeds the pipeline.
        trait: one boolean per user.
        epsilons: the epsilons (``None`` for no noise).
        exposure: optional users x videos matrix of seen pairs: only those bits are reported.
        seed: seeds the perturbation (one independent stream per epsilon) and the pipeline.
        **pipeline: keyword arguments of :func:`trait_auc`.

    Returns:
        ``{epsilon: TraitAUC}`` in the order given. Cost: one :func:`trait_auc` per epsilon, on
        a matrix that for the full-matrix mechanism holds about ``(1 - p)`` of all cells.
    """
    args = _pipeline_args({"seed": seed} | pipeline)
    if isinstance(like_matrix, Mapping):
        return {eps: trait_auc(m, trait, **args) for eps, m in like_matrix.items()}
    streams = np.random.SeedSequence(seed).spawn(len(epsilons))
    out = {}
    for eps, stream in zip(epsilons, streams):
        noisy = randomize_likes(like_matrix, eps, np.random.default_rng(stream), exposure=exposure)
        out[eps] = trait_auc(noisy, trait, **args)
    return out

"""Echo chambers: homogenisation across users, narrowing within users, taste drift and
polarisation (LITERATURE.md sections 1, 3.1-3.7; validation setups V1, V2, V7, V8).

Inputs are plain arrays: a users x videos 0/1 ``consumed`` matrix (scipy.sparse; build it
from the log with :func:`consumption_matrix`), per-user topic counts (``consumed @ topics``
with ``topics`` the videos' latent topic mixtures), item vectors of each feed, and the
users' taste vectors (``world.users.taste`` and ``taste0``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._undefined import undefined

#: Pairs drawn for the random-pair homogenisation, as in the Chaney et al. replication
#: (T-RECS ``random_users``: 800 pairs).
CHANEY_RANDOM_PAIRS = 800

#: Dense block of pairwise similarities kept in memory at once (entries).
_BLOCK_ENTRIES = 1 << 22


# -- building blocks ------------------------------------------------------------------------
def consumption_matrix(user: np.ndarray, video: np.ndarray, n_users: int, n_videos: int) -> sp.csr_matrix:
    """Sparse users x videos 0/1 matrix: 1 where the user consumed (viewed) the video.

    ``D[u, i] = 1 if (u, i) occurs in the log`` (repeat views count once); the sets
    ``D_u(t)`` of Chaney et al. (RecSys 2018).

    >>> consumption_matrix(np.array([0, 0, 1, 0]), np.array([2, 2, 0, 1]), 2, 3).toarray()
    array([[0, 1, 1],
           [1, 0, 0]], dtype=int8)
    """
    user = np.asarray(user, dtype=np.int64)
    video = np.asarray(video, dtype=np.int64)
    m = sp.csr_matrix((np.ones(len(user), np.int8), (user, video)), shape=(n_users, n_videos))
    m.sum_duplicates()
    m.data[:] = 1
    return m


def _binary_csr(consumed) -> sp.csr_matrix:
    """A copy of ``consumed`` as CSR with every stored non-zero set to 1 (float64)."""
    m = sp.csr_matrix(consumed, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def random_user_pairs(n_users: int, n_pairs: int = CHANEY_RANDOM_PAIRS, seed: int = 0) -> np.ndarray:
    """Pairs of distinct users ``(u, v)``, u != v: every unordered pair when there are at
    most ``n_pairs`` of them, else ``n_pairs`` pairs drawn uniformly (seeded, with
    replacement), as the 800 random pairs of the T-RECS replication of Chaney et al. (2018).

    Returns an ``(m, 2)`` int64 array (m = 0 for fewer than two users).

    >>> random_user_pairs(3).tolist()
    [[0, 1], [0, 2], [1, 2]]
    >>> random_user_pairs(1000, 5).shape
    (5, 2)
    """
    n = int(n_users)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    if n * (n - 1) // 2 <= n_pairs:
        u, v = np.triu_indices(n, k=1)
        return np.stack([u, v], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, n_pairs)
    v = rng.integers(0, n - 1, n_pairs)
    v = v + (v >= u)  # uniform over the users other than u
    return np.stack([u, v], axis=1).astype(np.int64)


def nearest_neighbour_pairs(x, metric: str = "jaccard", seed: int = 0) -> np.ndarray:
    """Each user paired with their most similar other user: ``(u, argmax_{v != u} s(u, v))``.

    ``metric="jaccard"``: ``s = |D_u & D_v| / |D_u | D_v|`` on a users x items 0/1 matrix
    (sparse or dense); ``metric="cosine"``: cosine of the rows of a users x factors
    representation, which is how the T-RECS replication of Chaney et al. (RecSys 2018)
    pairs users (``SimilarUserInteractionSimilarity``: cosine in the recommender's user
    representation, ties broken at random). Ties are broken uniformly at random (seeded).
    Computes all n^2 similarities, in dense blocks of rows (about 4M entries at a time).

    Returns an ``(n, 2)`` int64 array, row u = ``(u, nearest(u))`` (empty for n < 2).

    >>> x = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]]))
    >>> nearest_neighbour_pairs(x).tolist()
    [[0, 1], [1, 0], [2, 1]]
    """
    if metric not in ("jaccard", "cosine"):
        raise ValueError(f"metric must be 'jaccard' or 'cosine', not {metric!r}")
    n = x.shape[0]
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    rng = np.random.default_rng(seed)
    if metric == "jaccard":
        m = _binary_csr(x)
        deg = np.asarray(m.sum(axis=1)).ravel()
        mt = m.T.tocsr()
    else:
        m = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
        norm = np.linalg.norm(m, axis=1, keepdims=True)
        m = m / np.where(norm > 0, norm, 1.0)
    nearest = np.empty(n, dtype=np.int64)
    block = max(1, _BLOCK_ENTRIES // n)
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        if metric == "jaccard":
            inter = (m[rows] @ mt).toarray()
            union = deg[rows, None] + deg[None, :] - inter
            s = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        else:
            s = m[rows] @ m.T
        s[np.arange(len(rows)), rows] = -np.inf  # not oneself
        best = s.max(axis=1, keepdims=True)
        tie = np.where(s == best, rng.random(s.shape), -1.0)
        nearest[rows] = tie.argmax(axis=1)
    return np.stack([np.arange(n), nearest], axis=1)


# -- homogenisation across users --------------------------------------------------------------
def jaccard_homogenization(consumed, pairs: np.ndarray) -> float:
    """Mean Jaccard similarity of consumed sets over user pairs (Chaney et al., RecSys 2018).

    ``H = (1/|P|) sum_{(u,v) in P} |D_u & D_v| / |D_u | D_v|`` with ``D_u`` the set of
    items user u consumed (row u of the 0/1 matrix ``consumed``). T-RECS
    ``InteractionSimilarity``; LITERATURE.md section 1. A pair of two empty sets (0/0) is
    left out of P; with no pair left the metric is undefined (NaN).

    >>> d = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]))
    >>> jaccard_homogenization(d, np.array([[0, 1], [0, 2]]))  # (1/3 + 0) / 2
    0.1667
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return undefined("jaccard_homogenization", "no user pairs")
    m = _binary_csr(consumed)
    deg = np.asarray(m.sum(axis=1)).ravel()
    u, v = pairs[:, 0], pairs[:, 1]
    inter = np.asarray(m[u].multiply(m[v]).sum(axis=1)).ravel()
    union = deg[u] + deg[v] - inter
    keep = union > 0
    if not keep.any():
        return undefined("jaccard_homogenization", "every pair has two empty consumed sets")
    return float(np.mean(inter[keep] / union[keep]))


def homogenization(
    consumed,
    mode: str = "random",
    *,
    n_pairs: int = CHANEY_RANDOM_PAIRS,
    representation: np.ndarray | None = None,
    seed: int = 0,
) -> float:
    """Homogenisation of user behaviour: :func:`jaccard_homogenization` over one pairing.

    Pairs are drawn among users who consumed at least one item:

    - ``mode="random"``: random pairs (:func:`random_user_pairs`, 800 as in the Chaney
      replication; all pairs when fewer);
    - ``mode="nearest"``: each user with their nearest neighbour
      (:func:`nearest_neighbour_pairs`): by cosine in ``representation`` (users x factors,
      e.g. the recommender's user vectors: Chaney et al.'s "similar users") when given,
      else by Jaccard of the consumed sets themselves.

    ``H = (1/|P|) sum_{(u,v) in P} |D_u & D_v| / |D_u | D_v|`` (Chaney, Stewart, Engelhardt,
    RecSys 2018; LITERATURE.md section 1). To compare two runs (recommender vs oracle) on
    the same pairs, as the replication does, build the pairs once and call
    :func:`jaccard_homogenization` on both runs' matrices.

    >>> d = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]]))
    >>> homogenization(d, "random")  # pairs (0,1), (0,2), (1,2): (1 + 0 + 0) / 3
    0.3333
    >>> homogenization(d, "nearest")  # 0 -> 1, 1 -> 0, 2 -> 0 or 1: (1 + 1 + 0) / 3
    0.6667
    """
    if mode not in ("random", "nearest"):
        raise ValueError(f"mode must be 'random' or 'nearest', not {mode!r}")
    m = _binary_csr(consumed)
    active = np.flatnonzero(np.diff(m.indptr) > 0)
    if len(active) < 2:
        return undefined("homogenization", "fewer than two users have consumed anything")
    sub = m[active]
    if mode == "random":
        pairs = random_user_pairs(len(active), n_pairs, seed)
    elif representation is not None:
        pairs = nearest_neighbour_pairs(np.asarray(representation)[active], "cosine", seed)
    else:
        pairs = nearest_neighbour_pairs(sub, "jaccard", seed)
    return jaccard_homogenization(sub, pairs)


def relative_homogenization(h_rec, h_ideal, form: str = "difference"):
    """Homogenisation relative to the ideal (oracle) recommender, on the same user pairs.

    - ``form="difference"`` (default): ``dH = H_rec - H_ideal``, what the Chaney et al.
      (RecSys 2018) replication code reports ("Change in Jaccard Index" relative to ideal;
      T-RECS ``SimilarUserInteractionSimilarity``, ``transform_relative_to_ideal``;
      LITERATURE.md section 1);
    - ``form="ratio"``: ``H_rec / H_ideal - 1``, the relative change; undefined (NaN) where
      ``H_ideal = 0``.

    Scalars give a float; arrays (e.g. one value per step) give an array.

    >>> relative_homogenization(0.30, 0.20)
    0.1
    >>> relative_homogenization(0.30, 0.20, "ratio")
    0.5
    """
    if form not in ("difference", "ratio"):
        raise ValueError(f"form must be 'difference' or 'ratio', not {form!r}")
    rec = np.asarray(h_rec, dtype=np.float64)
    ideal = np.asarray(h_ideal, dtype=np.float64)
    if form == "difference":
        out = rec - ideal
    else:
        zero = ideal == 0
        if np.any(zero):
            undefined("relative_homogenization", "the ideal run's homogenisation is 0 (ratio form)")
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(zero, np.nan, rec / np.where(zero, 1.0, ideal) - 1.0)
    return float(out) if out.ndim == 0 else out


def mean_interaction_distance(consumed, item_vectors: np.ndarray, pairs: np.ndarray) -> float:
    """Mean distance between paired users' average consumed item:
    ``(1/|P|) sum_{(u,v) in P} || mean_{i in D_u} b_i - mean_{i in D_v} b_i ||_2``.

    The companion of the Jaccard homogenisation in the Chaney et al. (RecSys 2018)
    replication (T-RECS ``MeanInteractionDistance`` / ``MeanDistanceSimUsers``; LITERATURE.md
    section 1): lower means users consume more alike content. Pairs with an empty side are
    left out; none left gives NaN.

    >>> d = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]]))
    >>> b = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    >>> mean_interaction_distance(d, b, np.array([[0, 1]]))  # means (.5, .5) and (.5, .5)
    0.0
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m = _binary_csr(consumed)
    deg = np.asarray(m.sum(axis=1)).ravel()
    b = np.asarray(item_vectors, dtype=np.float64)
    keep = (deg[pairs[:, 0]] > 0) & (deg[pairs[:, 1]] > 0) if len(pairs) else np.zeros(0, bool)
    if not keep.any():
        return undefined("mean_interaction_distance", "no pair where both users consumed something")
    pairs = pairs[keep]
    users = np.unique(pairs)
    means = np.zeros((m.shape[0], b.shape[1]))
    means[users] = (m[users] @ b) / deg[users, None]
    return float(np.mean(np.linalg.norm(means[pairs[:, 0]] - means[pairs[:, 1]], axis=1)))


# -- narrowing within users -------------------------------------------------------------------
def topic_entropy(counts: np.ndarray, normalized: bool = False):
    """Shannon entropy of each user's consumption over topics (nats).

    ``H_u = - sum_g p_u(g) log p_u(g)`` with ``p_u(g) = c_ug / sum_g c_ug`` (0 log 0 = 0);
    with ``normalized=True``, ``H_u / log G``, in [0, 1]. ``counts`` is users x topics (a
    1-D array is one user and gives a float); fractional counts such as ``consumed @
    topics`` (sums of topic mixtures) are fine. LITERATURE.md section 3.7 (Elliot's
    entropy; V8's per-user topic-entropy trajectory). A user with no consumption gets NaN
    (with one warning for all such users).

    >>> topic_entropy(np.array([[2, 2, 0, 0], [4, 0, 0, 0]]))  # log 2 and 0
    array([0.69314718, 0.        ])
    >>> topic_entropy(np.array([1, 1, 1, 1]), normalized=True)
    1.0
    """
    c = np.asarray(counts, dtype=np.float64)
    single = c.ndim == 1
    c = np.atleast_2d(c)
    if c.shape[1] == 0:
        out = np.full(c.shape[0], np.nan)
        undefined("topic_entropy", "no topics")
        return float(out[0]) if single and len(out) else out
    if np.any(c < 0):
        raise ValueError("topic_entropy: counts must be non-negative")
    total = c.sum(axis=1)
    empty = total <= 0
    if empty.any():
        undefined("topic_entropy", f"{int(empty.sum())} user(s) consumed nothing")
    p = c / np.where(empty, 1.0, total)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    h = np.maximum(h, 0.0)
    if normalized:
        g = c.shape[1]
        if g < 2:
            undefined("topic_entropy", "normalised entropy needs at least two topics")
            h = np.full(len(h), np.nan)
        else:
            h = h / np.log(g)
    h[empty] = np.nan
    return float(h[0]) if single else h


def intra_list_diversity(item_vectors: np.ndarray, mask: np.ndarray | None = None):
    """Intra-list diversity of each feed: mean pairwise cosine distance of its items.

    ``ILD(L) = 2 / (|L| (|L| - 1)) sum_{i<j in L} (1 - cos(v_i, v_j))`` (Ziegler et al.,
    WWW 2005; LITERATURE.md section 3.7). ``item_vectors`` is lists x slots x features
    (``topics[feeds]``; a 2-D array is one list and gives a float); ``mask`` (lists x
    slots, bool) marks the slots that hold an item (e.g. ``feeds >= 0``). All-zero vectors
    count as empty slots. A list with fewer than two items gets NaN (one warning for all).

    >>> v = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
    >>> intra_list_diversity(v)  # distances 1, 0, 1 over the 3 pairs
    array([0.66666667])
    """
    x = np.asarray(item_vectors, dtype=np.float64)
    single = x.ndim == 2
    if single:
        x = x[None]
    n, k = x.shape[0], x.shape[1]
    norm = np.linalg.norm(x, axis=2)
    valid = norm > 0
    if mask is not None:
        valid &= np.asarray(mask, dtype=bool).reshape(n, k)
    unit = np.where(valid[..., None], x / np.where(norm > 0, norm, 1.0)[..., None], 0.0)
    out = np.full(n, np.nan)
    m = valid.sum(axis=1)
    ok = m >= 2
    if (~ok).any():
        undefined("intra_list_diversity", f"{int((~ok).sum())} list(s) with fewer than two items")
    block = max(1, _BLOCK_ENTRIES // max(1, k * k))
    for start in range(0, n, block):
        sl = slice(start, min(n, start + block))
        sim = np.einsum("nkd,njd->nkj", unit[sl], unit[sl])
        pair = valid[sl, :, None] & valid[sl, None, :]
        iu = np.triu_indices(k, 1)
        dist = np.where(pair, 1.0 - sim, 0.0)[:, iu[0], iu[1]].sum(axis=1)
        mm = m[sl]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[sl] = np.where(mm >= 2, 2.0 * dist / (mm * (mm - 1)), np.nan)
    out = np.clip(out, 0.0, 2.0)
    return float(out[0]) if single else out


def calibration_kl(p: np.ndarray, q: np.ndarray, alpha: float = 0.01):
    """Miscalibration of recommendations against a user's history (Steck, RecSys 2018).

    ``C_KL(p, q) = sum_g p(g|u) log( p(g|u) / q~(g|u) )`` with
    ``q~ = (1 - alpha) q + alpha p`` and alpha = 0.01, where p is the topic distribution
    of the user's history and q that of the recommended list (LITERATURE.md section 3.7).
    Rows of ``p`` and ``q`` (users x topics, or 1-D for one user giving a float) may be
    counts: each is normalised to sum 1. 0 when q = p; terms with p(g) = 0 add 0. A row
    whose history or list is empty gets NaN (one warning for all).

    >>> calibration_kl(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    >>> round(calibration_kl(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 4)  # log(1/0.01)
    4.6052
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError("calibration_kl: alpha must be in (0, 1]")
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"calibration_kl: p and q differ in shape {p.shape} vs {q.shape}")
    single = p.ndim == 1
    p, q = np.atleast_2d(p), np.atleast_2d(q)
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("calibration_kl: p and q must be non-negative")
    sp_, sq = p.sum(axis=1), q.sum(axis=1)
    empty = (sp_ <= 0) | (sq <= 0)
    if empty.any():
        undefined("calibration_kl", f"{int(empty.sum())} user(s) with an empty history or list")
    p = p / np.where(sp_ > 0, sp_, 1.0)[:, None]
    q = q / np.where(sq > 0, sq, 1.0)[:, None]
    qt = (1 - alpha) * q + alpha * p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / np.where(qt > 0, qt, 1.0)), 0.0)
    out = np.maximum(terms.sum(axis=1), 0.0)
    out[empty] = np.nan
    return float(out[0]) if single else out


# -- tastes: drift, polarisation, clusters -----------------------------------------------------
def taste_drift(theta_t: np.ndarray, theta_0: np.ndarray, ord: int = 2) -> np.ndarray:
    """Per-user drift (degeneracy) of tastes from the start: ``||theta_t(u) - theta_0(u)||``.

    L2 by default: the degeneracy measure ``||mu_t - mu_0||_2`` of Jiang, Chiappa,
    Lattimore, Gyorgy, Kohli (AIES 2019), used in validation V8 (LITERATURE.md 3.1, V8),
    so results compare with theirs. ``ord=1`` gives the L1 distance, which for tastes on
    the simplex is twice the total-variation distance (the share of attention moved).

    >>> taste_drift(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([[1.0, 0.0], [0.5, 0.5]]))
    array([1.41421356, 0.        ])
    """
    a = np.asarray(theta_t, dtype=np.float64)
    b = np.asarray(theta_0, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"taste_drift: shapes differ {a.shape} vs {b.shape}")
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    return np.linalg.norm(a - b, ord=ord, axis=1)


def polarization(theta: np.ndarray, max_pairs: int = 1_000_000, seed: int = 0) -> float:
    """Mean pairwise distance of tastes (opinions):
    ``d = 1/(N(N-1)) sum_{i != j} ||theta_i - theta_j||_2`` (``|x_i - x_j|`` in 1-D).

    Sirbu, Pedreschi, Giannotti, Kertesz (PLoS ONE 2019); LITERATURE.md 3.3 and 3.7, V2.
    Exact (scipy ``pdist``) when there are at most ``max_pairs`` pairs, else the mean over
    ``max_pairs`` uniformly drawn pairs of distinct users (seeded; standard error about
    ``sd / sqrt(max_pairs)``). ``theta``: users x dims, or 1-D opinions.

    >>> polarization(np.array([0.0, 0.0, 1.0, 1.0]))  # 4 of the 6 pairs at distance 1
    0.6667
    """
    from scipy.spatial.distance import pdist

    x = np.asarray(theta, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n < 2:
        return undefined("polarization", "fewer than two users")
    if n * (n - 1) // 2 <= max_pairs:
        return float(pdist(x).mean())
    pairs = random_user_pairs(n, max_pairs, seed)
    return float(np.linalg.norm(x[pairs[:, 0]] - x[pairs[:, 1]], axis=1).mean())


def effective_clusters(
    theta: np.ndarray,
    method: str = "threshold",
    *,
    tol: float = 0.01,
    n_clusters: int = 8,
    max_users: int = 10_000,
    seed: int = 0,
) -> float:
    """Effective number of taste clusters, the inverse participation ratio of cluster sizes:
    ``C = N^2 / sum_k c_k^2`` (Sirbu et al., PLoS ONE 2019; LITERATURE.md 3.3, 3.7, V2).

    C is the number of equal clusters that would give the same concentration: k equal
    clusters give k; one cluster with a few stragglers gives about 1. Clusters:

    - ``method="threshold"`` (Sirbu et al.): single-linkage groups at distance ``tol``,
      i.e. users joined when a chain of users at most ``tol`` apart links them; in 1-D this
      is exactly "sorted opinions grouped within 0.01". Multi-dimensional tastes use scipy's
      single linkage (O(N^2) memory: above ``max_users`` users, a seeded random subsample of
      that many is clustered, which keeps the shares of large clusters);
    - ``method="kmeans"``: scikit-learn KMeans with ``n_clusters`` (seeded): how evenly the
      population spreads over k taste groups (at most k).

    With many taste dimensions a fixed ``tol`` leaves almost every user alone (C near N)
    until tastes have actually converged onto a few points: use it for opinions and
    converging tastes (V2), and k-means to compare how tastes are spread over groups.

    >>> effective_clusters(np.array([0.1, 0.105, 0.5, 0.505, 0.9, 0.905]))  # 3 pairs
    3.0
    >>> effective_clusters(np.array([0.0, 0.0, 0.0, 1.0]))  # 16 / (9 + 1)
    1.6
    """
    if method not in ("threshold", "kmeans"):
        raise ValueError(f"method must be 'threshold' or 'kmeans', not {method!r}")
    x = np.asarray(theta, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n == 0:
        return undefined("effective_clusters", "no users")
    if method == "kmeans":
        from sklearn.cluster import KMeans

        k = min(int(n_clusters), len(np.unique(x, axis=0)))
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(x) if k > 1 else np.zeros(n, int)
    elif x.shape[1] == 1:
        order = np.argsort(x[:, 0], kind="stable")
        gaps = np.diff(x[order, 0]) > tol
        labels = np.empty(n, dtype=np.int64)
        labels[order] = np.concatenate([[0], np.cumsum(gaps)])
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        if n > max_users:
            x = x[np.random.default_rng(seed).choice(n, max_users, replace=False)]
        labels = fcluster(linkage(x, "single"), tol, "distance") if len(x) > 1 else np.zeros(1, int)
    sizes = np.bincount(np.unique(labels, return_inverse=True)[1].ravel()).astype(np.float64)
    return float(sizes.sum() ** 2 / np.sum(sizes**2))


def co_like_modularity(like_matrix, segments: np.ndarray) -> float:
    """Newman modularity of the user co-like graph, partitioned by the true segments.

    ``Q = (1/2m) sum_ij (A_ij - k_i k_j / 2m) delta(c_i, c_j)`` (Newman, PNAS 2006;
    LITERATURE.md 3.7), where ``A_ij`` (i != j) is the number of videos both users liked,
    i.e. the weighted one-mode projection ``A = L L^T - diag(L L^T)`` of the 0/1 users x
    videos like matrix L, ``k_i = sum_j A_ij`` and ``2m = sum_i k_i``. Computed without
    building the user graph: with ``n_v`` the likers of video v and ``s_cv`` those in
    segment c, ``k_i = sum_v L_iv (n_v - 1)``, and the within-segment weight (ordered pairs)
    is ``e_c = sum_v s_cv^2 - sum_{i in c} |likes_i|``, so ``Q = sum_c [e_c / 2m -
    (d_c / 2m)^2]`` with ``d_c = sum_{i in c} k_i``; the same as networkx's weighted
    ``modularity`` on that graph. High Q: co-likes stay within segments (echo chambers);
    0 for one segment; NaN when no two users liked the same video.

    >>> L = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]]))
    >>> co_like_modularity(L, np.array([0, 0, 1, 1]))  # two disjoint edges: 2 * (1/2 - 1/4)
    0.5
    """
    m = _binary_csr(like_matrix)
    seg = np.asarray(segments).ravel()
    if len(seg) != m.shape[0]:
        raise ValueError(f"co_like_modularity: {len(seg)} segments for {m.shape[0]} users")
    deg = np.asarray(m.sum(axis=1)).ravel()  # likes per user
    n_v = np.asarray(m.sum(axis=0)).ravel()  # likers per video
    k = m @ (n_v - 1.0)
    two_m = float(k.sum())  # = sum_v n_v (n_v - 1)
    if two_m <= 0:
        return undefined("co_like_modularity", "no two users liked the same video")
    _, c = np.unique(seg, return_inverse=True)
    c = c.ravel()
    onehot = sp.csr_matrix((np.ones(len(c)), (np.arange(len(c)), c)), shape=(len(c), c.max() + 1))
    s = (m.T @ onehot).tocsc()  # videos x segments: likers of v in c
    e = np.asarray(s.multiply(s).sum(axis=0)).ravel() - np.bincount(c, weights=deg)
    d = np.bincount(c, weights=k)
    return float(np.sum(e / two_m - (d / two_m) ** 2))

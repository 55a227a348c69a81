"""Metrics: pure functions on arrays, one module per family.

Each function's docstring gives its formula and its source.
"""

from ._undefined import UndefinedMetricWarning, undefined
from .amplification import (
    amplification_by_group,
    amplification_ratio,
    group_reach,
    peak_height,
    share_before_peak,
    smooth_curves,
    time_to_peak,
    trend_curves,
)
from .cascades import cascade_depth, cascade_size, cascade_trees, cascades_from_log, structural_virality
from .echo import (
    CHANEY_RANDOM_PAIRS,
    calibration_kl,
    co_like_modularity,
    consumption_matrix,
    effective_clusters,
    homogenization,
    intra_list_diversity,
    jaccard_homogenization,
    mean_interaction_distance,
    nearest_neighbour_pairs,
    polarization,
    random_user_pairs,
    relative_homogenization,
    taste_drift,
    topic_entropy,
)
from .engagement import like_rate, mean_true_utility, rate, session_length
from .exposure import exposure_gini, gini, top_share
from .overfit import (
    GoodhartCurve,
    best_of_n_pressure,
    goodhart_curve,
    like_bait_share,
    like_prediction_auc,
    like_prediction_auc_gap,
    like_utility_divergence,
    score_utility_kendall,
)
from .popularity import (
    aplt,
    average_recommendation_popularity,
    catalogue_coverage,
    group_average_popularity,
    item_popularity,
    long_tail_mask,
    popularity_lift,
)
from .privacy import (
    LikesBinAUC,
    TraitAUC,
    auc_by_likes_per_user,
    auc_by_likes_subsampled,
    auc_vs_epsilon,
    randomize_likes,
    trait_auc,
)
from .segments import SegmentRecovery, cluster_topic_share, recover_segments, segment_recovery, targeting_lift
from .welfare import counterfactual_feed_utility, normalised_regret

__all__ = [name for name in dir() if not name.startswith("_")]

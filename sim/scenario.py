"""Scenarios: every knob of a run, validated, loaded from TOML, overridable by dotted path.

A scenario is one TOML file whose tables mirror the classes below::

    name = "baseline"
    seed = 7
    steps = 40

    [world]
    n_users = 2000

    [recommender]
    name = "popularity"
    params = { half_life = 3.0 }

Anything left out takes its default. ``Scenario.load(path, overrides=["world.n_users=5000"])``
applies command-line style overrides before validation. Every error is a
:class:`ScenarioError` whose message is one line naming the field.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Count = Annotated[int, Field(gt=0)]


class ScenarioError(ValueError):
    """A scenario that cannot run: the message names the field and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_assignment=True, strict=False
    )


class WorldConfig(_Section):
    """Users, creators, videos and the latent spaces they live in."""

    n_users: Count = Field(2000, description="Number of simulated users.")
    n_creators: Count = Field(300, description="Number of creators uploading videos.")
    n_topics: Count = Field(16, description="Latent topic dimensions of tastes and videos.")
    n_segments: Count = Field(8, description="Audience segments; each is a Dirichlet centroid over topics.")
    segment_shares: list[Annotated[float, Field(ge=0.0)]] | None = Field(
        None,
        description="Share of users (and of creators' home segments) in each segment, one per segment, "
        "summing to 1; unset = segments drawn uniformly.",
    )
    n_sounds: Count = Field(60, description="Distinct sounds a video can use.")
    segment_concentration: Positive = Field(
        0.3, description="Dirichlet concentration of segment centroids over topics (small: peaked segments)."
    )
    taste_concentration: Positive = Field(
        20.0, description="Concentration of a user's taste around the segment centroid (Chaney et al. 2018)."
    )
    niche_concentration: Positive = Field(
        20.0, description="Concentration of a creator's niche around its home segment's centroid."
    )
    video_concentration: Positive = Field(
        10.0, description="Concentration of a video's topic mix around its creator's niche."
    )
    upload_rate: Positive = Field(1.0, description="Mean videos uploaded per creator per step.")
    upload_rate_sigma: NonNegative = Field(
        1.0, description="Log-normal spread of upload rates across creators (heavy-tailed supply)."
    )
    quality_sd: NonNegative = Field(1.0, description="Spread of creator quality (standard normal scale).")
    video_length_median_s: Positive = Field(9.6, description="Median video length in seconds (KuaiRec: 9.6 s).")
    video_length_sigma: NonNegative = Field(
        0.37, description="Log-normal sigma of video length (KuaiRec quartiles 7.4 s and 12.2 s)."
    )
    like_bait_creators: Probability = Field(
        0.15, description="Share of creators whose videos carry like-bait (calls to action)."
    )
    tag_noise: NonNegative = Field(
        0.3, description="Noise added to a video's topic mix before its public tags are read off."
    )
    tags_per_video: Count = Field(2, description="Public topic tags per video.")
    trait_prevalence: Probability = Field(0.5, description="Share of users with the hidden binary trait.")
    trait_segment_effect: NonNegative = Field(
        1.5, description="Log-odds spread of the hidden trait across segments."
    )
    trait_topic_effect: NonNegative = Field(
        4.0, description="Log-odds effect on the hidden trait of taste for the trait's marker topics."
    )
    trend_adoption: Probability = Field(
        0.05, description="Per-step chance that a creator adopts the currently trending sound and drifts toward the trending topic."
    )
    video_max_age: Count = Field(
        30, description="Steps a video stays eligible for feeds after upload."
    )
    make_agents: bool = Field(
        True, description="Create mesa agents (thin views onto the arrays) for inspection and the UI."
    )

    @model_validator(mode="after")
    def _shares_match_segments(self) -> Self:
        shares = self.segment_shares
        if shares is not None:
            if len(shares) != self.n_segments:
                raise ValueError(f"segment_shares has {len(shares)} values for {self.n_segments} segments")
            if abs(sum(shares) - 1.0) > 1e-6:
                raise ValueError(f"segment_shares must sum to 1, not {sum(shares):.6g}")
        return self


class SocialConfig(_Section):
    """The friend graph (stochastic block model), follows and shares."""

    mean_friends: NonNegative = Field(10.0, description="Mean number of friends per user.")
    homophily: Probability = Field(
        0.8, description="Expected share of a user's friends inside their own segment."
    )
    follow_prob: Probability = Field(
        0.15, description="Chance that a like makes the user follow the video's creator."
    )
    share_fanout: Count = Field(3, description="Friends who receive one share: this many, or all friends if fewer.")


class BehaviourConfig(_Section):
    """How a user responds to one impression; drift, satiation, retention."""

    w_topic: float = Field(3.0, description="Weight of topic match (cosine of taste and topic mix) in true utility.")
    w_quality: float = Field(0.4, description="Weight of video quality in true utility.")
    w_pace: float = Field(0.5, description="Weight of the editing-pace mismatch penalty in true utility.")
    w_sound: float = Field(0.3, description="Weight of the user's sound affinity times the sound's appeal.")
    w_length: float = Field(0.3, description="Weight of the length mismatch penalty |log(length / preferred)|.")
    w_satiation: NonNegative = Field(1.0, description="Utility lost per unit of recent same-topic consumption.")
    utility_noise: NonNegative = Field(0.5, description="Spread of the persistent user-video idiosyncratic match.")
    satiation_decay: Probability = Field(0.7, description="Share of the satiation stock kept from one step to the next.")
    watch_ratio_median: Positive = Field(
        0.72, description="Watch ratio at zero utility (KuaiRec median 0.716)."
    )
    watch_utility: NonNegative = Field(0.5, description="Log watch ratio gained per unit of utility.")
    watch_noise: NonNegative = Field(0.6, description="Log-normal noise of the watch ratio.")
    max_watch_ratio: Positive = Field(5.0, description="Cap on the watch ratio (replays).")
    skip_seconds: NonNegative = Field(
        3.0, description="A play shorter than min(skip_seconds, length) is a skip (KuaiRec short-time play)."
    )
    like_intercept: float = Field(-3.3, description="Log-odds of a like at zero utility for a typical user.")
    like_utility: float = Field(1.0, description="Log-odds of a like gained per unit of utility.")
    like_bait_effect: float = Field(
        1.2, description="Log-odds of a like added by like-bait (raises likes, not satisfaction)."
    )
    like_propensity_sd: NonNegative = Field(0.7, description="Spread of users' like propensity on the log-odds scale.")
    share_intercept: float = Field(-6.0, description="Log-odds of a share at zero utility.")
    share_utility: float = Field(1.0, description="Log-odds of a share gained per unit of utility.")
    share_virality: float = Field(0.8, description="Log-odds of a share gained per unit of a video's virality.")
    comment_intercept: float = Field(-6.0, description="Log-odds of a comment at zero utility.")
    comment_utility: float = Field(0.8, description="Log-odds of a comment gained per unit of utility.")
    not_interested_intercept: float = Field(-5.0, description="Log-odds of 'not interested' at zero utility.")
    not_interested_utility: float = Field(1.5, description="Log-odds of 'not interested' lost per unit of utility.")
    session_median: Positive = Field(6.0, description="Median number of videos a user means to scroll per visit.")
    session_sigma: NonNegative = Field(0.6, description="Log-normal spread of session length intent (heavy tail).")
    session_utility: NonNegative = Field(
        0.8, description="Log-odds of scrolling on gained per unit of the session's mean utility so far."
    )
    plasticity_mean: NonNegative = Field(
        0.02, description="Mean drift rate of tastes toward watched content (Kalimeris et al. 2021)."
    )
    visit_prob: Probability = Field(0.8, description="Chance that a user with neutral satisfaction visits in a step.")
    visit_satisfaction: NonNegative = Field(1.0, description="Log-odds of visiting gained per unit of satisfaction.")
    churn_intercept: float = Field(-6.0, description="Log-odds per step of leaving for good at zero satisfaction.")
    churn_satisfaction: NonNegative = Field(2.0, description="Log-odds of churning lost per unit of satisfaction.")
    satisfaction_rate: Probability = Field(
        0.3, description="Weight of the latest session's mean utility in the running satisfaction."
    )


class RecommenderConfig(_Section):
    """A recommender by registered name, with its params."""

    name: str = Field("popularity", description="Registered recommender name (see `feedsim recommenders`).")
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword params of the recommender.")


class RerankerConfig(_Section):
    """A re-ranker by registered name, with its params."""

    name: str = Field(description="Registered re-ranker name: mmr, calibrated, explore, creator_cap.")
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword params of the re-ranker.")


class FeedConfig(_Section):
    """Feed assembly: candidate pool, top-K, re-rankers, inbox."""

    feed_size: Annotated[int, Field(gt=0, le=255)] = Field(10, description="Videos a feed holds per visit (K).")
    n_candidates: Count = Field(1000, description="Size of the candidate pool scored each step.")
    fresh_share: Probability = Field(0.4, description="Share of the pool taken by the newest videos.")
    trending_share: Probability = Field(0.4, description="Share of the pool taken by trending videos (decayed views plus 4 x likes).")
    followed_share: Probability = Field(
        0.1, description="Share of the pool taken by the newest videos of the most-followed creators."
    )
    trending_half_life: Positive = Field(3.0, description="Half-life in steps of the public trending count (views plus 4 x likes).")
    inbox: bool = Field(True, description="Shared-with-you videos take the first feed slot next step.")
    rerankers: list[RerankerConfig] = Field(
        default_factory=list, description="Re-rankers applied in order to each user's shortlist ([[feed.rerankers]])."
    )
    rerank_depth: Annotated[int, Field(ge=1, le=50)] = Field(
        3, description="With re-rankers, the shortlist holds rerank_depth x feed_size candidates."
    )
    explain_users: Annotated[int, Field(ge=0)] = Field(
        8, description="Visiting users per step whose feed is explained (why each video was shown)."
    )
    chunk_users: Count = Field(2048, description="Users scored per block (bounds memory of the score matrix).")

    @model_validator(mode="after")
    def _shares_fit(self) -> Self:
        total = self.fresh_share + self.trending_share + self.followed_share
        if total > 1.0 + 1e-9:
            raise ValueError(
                f"fresh_share + trending_share + followed_share must be at most 1 (got {total:g})"
            )
        return self


class HoldoutRecommenderConfig(RecommenderConfig):
    """The holdout group's recommender: chronological unless named otherwise."""

    name: str = Field("chronological", description="Registered recommender name of the holdout group.")


class ControlsConfig(_Section):
    """What users can tell the platform, and the platform must honour."""

    not_interested_scope: Literal["video", "creator", "topic"] = Field(
        "creator",
        description="What a 'not interested' hides from then on: the video only, its creator, or its tagged topics.",
    )
    diversity_dial_share: Probability = Field(
        0.0, description="Share of users who set the diversity dial (it replaces the re-rankers' lambda for them)."
    )
    diversity_dial_mean: Probability = Field(
        0.5, description="Mean dial among users who set it (Beta-distributed, concentration 4)."
    )


MetricFamily = Literal["welfare", "overfit", "echo", "amplification", "privacy", "segments"]


class MetricsConfig(_Section):
    """Which metric families a run computes (engagement is always on)."""

    families: list[MetricFamily] = Field(
        default_factory=lambda: ["welfare", "overfit", "echo", "amplification", "privacy", "segments"],
        description="Metric families to compute: welfare, overfit, echo, amplification, privacy, segments.",
    )
    sample_users: Count = Field(
        256, description="Visitors sampled per step for regret (Kendall tau uses 64 of them)."
    )


class PrivacyConfig(_Section):
    """Local differential privacy on the like bits the platform sees."""

    epsilon: Annotated[float, Field(gt=0.0)] | None = Field(
        None, description="Randomized-response epsilon on like bits; none means likes are seen as they are."
    )


class HoldoutConfig(_Section):
    """The control group that measures amplification (Huszar et al. 2022)."""

    fraction: Probability = Field(0.1, description="Share of users served by the holdout recommender.")
    recommender: HoldoutRecommenderConfig = Field(
        default_factory=HoldoutRecommenderConfig,
        description="The holdout group's recommender (chronological by default).",
    )


class SweepConfig(_Section):
    """A grid of runs for ``feedsim sweep``; a single run ignores this table."""

    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted parameter path -> values to try ([sweep.grid]); every combination runs.",
    )
    seeds: list[Annotated[int, Field(ge=0)]] | Count = Field(
        default_factory=list,
        description="Seeds each grid point runs with: a list, or a count n for seeds 0..n-1; empty: the scenario's seed.",
    )
    zip: list[list[str]] = Field(
        default_factory=list,
        description="Groups of grid paths whose value lists move together (equal lengths) instead of crossing.",
    )
    metrics: list[str] = Field(
        default_factory=list, description="Metrics `feedsim report` plots against each swept parameter; empty: a default set."
    )

    @model_validator(mode="after")
    def _grid_is_runnable(self) -> Self:
        for path, values in self.grid.items():
            check_sweep_path(path)
            if not values:
                raise ValueError(f"{path!r} has an empty list of values")
        if isinstance(self.seeds, list) and len(set(self.seeds)) < len(self.seeds):
            raise ValueError("seeds lists a seed more than once")
        seen: set[str] = set()
        for group in self.zip:
            unknown = [p for p in group if p not in self.grid]
            if unknown:
                raise ValueError(f"zip group names {unknown[0]!r}, which is not in sweep.grid")
            if seen & set(group):
                raise ValueError(f"{sorted(seen & set(group))[0]!r} is in more than one zip group")
            seen |= set(group)
            if len({len(self.grid[p]) for p in group}) > 1:
                raise ValueError(f"zip group {group} has value lists of different lengths")
        return self


def check_sweep_path(path: str) -> None:
    """Raise ValueError unless ``path`` names a scenario field, a table, or a key inside a
    params table (``recommender.params.w_like``)."""
    if path == "seed" or path.startswith("sweep"):
        raise ValueError(f"{path!r} cannot be swept (use sweep.seeds for seeds)")
    leaves = {p for p, _ in iter_fields() if not p.startswith("sweep.")}
    if path in leaves or any(leaf.startswith(path + ".") for leaf in leaves):
        return
    if any(path.startswith(leaf + ".") for leaf in leaves if leaf.endswith(".params")):
        return
    raise ValueError(f"unknown parameter path {path!r}")


class OutputConfig(_Section):
    """What a run writes."""

    dir: str = Field("runs", description="Folder under which run folders are created.")
    save_log: bool = Field(False, description="Write the interaction log as Parquet.")
    figures: bool = Field(True, description="Write a PNG figure of the main metrics over time.")


class Scenario(_Section):
    """Every knob of a feedsim run."""

    name: str = Field("scenario", description="A short name; it prefixes the run folder.")
    description: str = Field("", description="What the scenario shows.")
    seed: Annotated[int, Field(ge=0)] = Field(0, description="The one seed all random streams come from.")
    steps: Count = Field(40, description="Steps to run.")
    metrics_every: Count = Field(10, description="Steps between costly metric evaluations.")
    world: WorldConfig = Field(default_factory=WorldConfig, description="The world.")
    social: SocialConfig = Field(default_factory=SocialConfig, description="The social layer.")
    behaviour: BehaviourConfig = Field(default_factory=BehaviourConfig, description="User behaviour.")
    recommender: RecommenderConfig = Field(default_factory=RecommenderConfig, description="The recommender.")
    feed: FeedConfig = Field(default_factory=FeedConfig, description="Feed assembly.")
    controls: ControlsConfig = Field(default_factory=ControlsConfig, description="User controls.")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="What a run measures.")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig, description="Privacy of like bits.")
    holdout: HoldoutConfig = Field(default_factory=HoldoutConfig, description="The holdout group.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="Outputs.")
    sweep: SweepConfig = Field(default_factory=SweepConfig, description="A grid of runs (feedsim sweep only).")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> "Scenario":
        """Validate a plain dict (as read from TOML), after applying dotted overrides."""
        data = _deep_copy(data)
        for item in overrides:
            path, value = parse_override(item)
            set_dotted(data, path, value)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(describe_validation_error(exc)) from None

    @classmethod
    def load(cls, path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> "Scenario":
        """Read a scenario TOML file; raise ScenarioError with one line on any problem."""
        path = Path(path)
        if not path.is_file():
            raise ScenarioError(f"scenario file not found: {path}")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ScenarioError(f"{path}: not a UTF-8 text file") from None
        return cls.from_dict(data, overrides)

    def with_overrides(self, overrides: list[str] | tuple[str, ...]) -> "Scenario":
        """A copy with dotted overrides applied and validated."""
        return Scenario.from_dict(self.model_dump(), overrides)

    def with_recommender(self, name: str, **params: Any) -> "Scenario":
        """A copy that uses another recommender (its own params; the old ones are dropped)."""
        data = self.model_dump()
        data["recommender"] = {"name": name, "params": params}
        return Scenario.from_dict(data)

    def to_toml(self) -> str:
        """The resolved scenario as TOML (every field, defaults included)."""
        import tomli_w

        return tomli_w.dumps(_drop_none(self.model_dump()))


# -- helpers ---------------------------------------------------------------------------
def parse_override(item: str) -> tuple[str, Any]:
    """Split ``"world.n_users=5000"`` into a path and a TOML-parsed value.

    The value is read as a TOML value (numbers, booleans, quoted strings, arrays, inline
    tables); anything TOML cannot read is taken as a bare string.
    """
    if "=" not in item:
        raise ScenarioError(f"override {item!r}: expected PATH=VALUE, e.g. world.n_users=5000")
    path, raw = item.split("=", 1)
    path, raw = path.strip(), raw.strip()
    if not path:
        raise ScenarioError(f"override {item!r}: empty field path")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if raw.lower() in {"nan", "+nan", "-nan"}:
            value = math.nan
        else:
            value = raw
    return path, value


def set_dotted(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data["a"]["b"]["c"] = value`` for ``path == "a.b.c"``, creating tables."""
    keys = path.split(".")
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"{'.'.join(keys[: i + 1])}: is a value, not a table")
        node = child
    node[keys[-1]] = value


def describe_validation_error(exc: ValidationError) -> str:
    """One line from pydantic's error list: the first error's field, problem and input."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "scenario"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown field"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    shown = err.get("input")
    tail = f" (got {shown!r})" if not isinstance(shown, dict | list) else ""
    more = len(exc.errors()) - 1
    suffix = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"{loc}: {msg}{tail}{suffix}"


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def _drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    return data


def iter_fields(model: type[BaseModel] = Scenario, prefix: str = ""):
    """Yield (dotted path, FieldInfo) for every leaf field of the scenario."""
    for name, info in model.model_fields.items():
        ann = info.annotation
        path = f"{prefix}{name}"
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_fields(ann, path + ".")
        else:
            yield path, info

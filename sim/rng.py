"""Random streams: one seed, one independent numpy Generator per subsystem.

Every subsystem draws from its own stream, spawned from the scenario's seed with
:class:`numpy.random.SeedSequence`. Two runs that share a seed but differ in the
recommender therefore face the same users, the same videos and the same behaviour
noise (common random numbers), as far as their different feeds allow.

The persistent part of a user's reaction to one video (``pair_noise``) does not come
from a stream at all: it is a counter-based hash of (seed, user, video), so that part
of a user's reaction to a video is the same whenever, and under whichever recommender,
it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Streams that live for the whole run, in spawn order (appending keeps the others).
STREAMS = ("world", "social", "holdout", "recommender")

#: Streams drawn afresh each step from (seed, name, step): what one step draws never
#: shifts what a later step draws, so runs that diverge (different feeds, different
#: visitors) still share each step's randomness for uploads, visits, responses and more.
STEP_STREAMS = (
    "uploads", "trends", "feed", "visits", "behaviour", "churn", "shares", "follows", "privacy",
    "controls", "rerank", "explain", "metrics",
)

_STEP_OFFSET = 1 << 20  # keeps spawn keys non-negative for warm-up steps (negative step numbers)


@dataclass(frozen=True)
class Streams:
    """Independent numpy Generators, all from one seed.

    Attributes ``world``, ``social``, ``holdout`` and ``recommender`` are persistent
    streams; :meth:`at` gives the stream of one subsystem for one step.
    """

    seed: int
    world: np.random.Generator
    social: np.random.Generator
    holdout: np.random.Generator
    recommender: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> "Streams":
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        return cls(seed, *(np.random.default_rng(c) for c in children))

    def at(self, name: str, step: int, *more: int) -> np.random.Generator:
        """The ``name`` stream of step ``step`` (one of STEP_STREAMS); ``more`` non-negative
        ints split it further (e.g. one stream per block of users)."""
        key = (len(STREAMS) + STEP_STREAMS.index(name), step + _STEP_OFFSET, *more)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))


def _lowbias32(x: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (Wellons' "lowbias32"), vectorised; wraps modulo 2**32."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def pair_noise(seed: int, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
    """Approximately standard-normal noise that depends only on (seed, user, video).

    ``users`` and ``videos`` broadcast against each other, so the same function serves
    one impression per element and a whole (users x candidates) block. Users and videos
    are hashed on their own (cheap vectors), and each pair's hash mixes the two:
    ``x = h(h_u + phi * h_v)`` with 32-bit arithmetic. Three 10-bit uniforms from ``x``
    make an Irwin-Hall(3) variate, standardised: mean 0, variance 1, bounded at +-3.

    Returns:
        float32 array of the broadcast shape.
    """
    mask = 0xFFFFFFFF
    with np.errstate(over="ignore"):
        key_u = _lowbias32(np.uint32(seed & mask) ^ _lowbias32(np.uint32((seed >> 32) & mask)))
        key_v = _lowbias32(key_u ^ np.uint32(0x5BD1E995))
        hu = _lowbias32(np.asarray(users).astype(np.uint32) * np.uint32(2654435761) ^ key_u)
        hv = _lowbias32(np.asarray(videos).astype(np.uint32) ^ key_v)
        x = _lowbias32(hu + hv * np.uint32(0x9E3779B9))
    ten = np.uint32(0x3FF)
    total = (x & ten) + ((x >> np.uint32(10)) & ten) + ((x >> np.uint32(20)) & ten)
    return (total.astype(np.float32) * np.float32(1.0 / 1024.0) - np.float32(1.5)) * np.float32(2.0)

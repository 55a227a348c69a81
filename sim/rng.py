"""Random streams: one seed, one independent numpy Generator per subsystem.

Every subsystem draws from its own stream, spawned from the scenario's seed with
:class:`numpy.random.SeedSequence`. Two runs that share a seed but differ in the
recommender therefore face the same users, the same videos and the same behaviour
noise (common random numbers), as far as their different feeds allow.

The persistent part of a user's reaction to one video (``pair_noise``) does not come
from a stream at all: it is a counter-based hash of (seed, user, video), so a user
reacts the same way to the same video whenever, and under whichever recommender,
it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Names of the independent streams, in spawn order. Appending a name keeps the
#: earlier streams unchanged.
STREAMS = ("world", "social", "uploads", "behaviour", "feed", "recommender", "privacy", "holdout")


@dataclass(frozen=True)
class Streams:
    """One numpy Generator per subsystem, all spawned from one seed."""

    seed: int
    world: np.random.Generator
    social: np.random.Generator
    uploads: np.random.Generator
    behaviour: np.random.Generator
    feed: np.random.Generator
    recommender: np.random.Generator
    privacy: np.random.Generator
    holdout: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> "Streams":
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        return cls(seed, *(np.random.default_rng(c) for c in children))


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised over a uint64 array (wraps modulo 2**64)."""
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def pair_noise(seed: int, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
    """Standard-normal noise that depends only on (seed, user, video).

    ``users`` and ``videos`` broadcast against each other, so the same function serves
    one impression per element and a whole (users x candidates) block.

    Returns:
        float32 array of the broadcast shape, approximately N(0, 1) (sum of four
        uniforms, rescaled: mean 0, variance 1, tails bounded at +-3.46).
    """
    u = np.asarray(users, dtype=np.uint64)
    v = np.asarray(videos, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = _splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ _GOLDEN)
        h = _splitmix64((u << np.uint64(32)) ^ v ^ key)
    # Four 16-bit uniforms from one 64-bit hash: Irwin-Hall(4), standardised.
    mask = np.uint64(0xFFFF)
    total = np.zeros(h.shape, dtype=np.float32)
    for shift in (0, 16, 32, 48):
        total += ((h >> np.uint64(shift)) & mask).astype(np.float32)
    total *= np.float32(1.0 / 65536.0)
    return (total - np.float32(2.0)) * np.float32(np.sqrt(3.0))

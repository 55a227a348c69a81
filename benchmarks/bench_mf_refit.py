"""Time one refit of the mf recommender (implicit's ALS) and one score block.

A random sparse like matrix (seeded): 10,000 users x 100,000 videos with 1,000,000 likes by
default, observed as one step, then ``refit()`` is timed ``--repeat`` times with the
default params (or those given). The score time is for one block of 2,048 users x 2,000
candidates, the engine's block shape. Target: a refit under 10 s on a 2-core machine.

Usage:
    python benchmarks/bench_mf_refit.py
    python benchmarks/bench_mf_refit.py --users 20000 --videos 200000 --likes 2000000 --params '{"factors": 32}'
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import sim
import sim.recommenders.mf  # noqa: F401  (registers "mf")
from sim.recommenders import Events


class RandomView:
    """The few PlatformView attributes mf reads: sizes, the clock and trending counts."""

    def __init__(self, n_users: int, n_videos: int, rng: np.random.Generator):
        self.n_users = n_users
        self.n_videos = n_videos
        self.step = 0
        self.trending = rng.random(n_videos)


def random_likes(n_users: int, n_videos: int, n_likes: int, seed: int) -> Events:
    rng = np.random.default_rng(seed)
    user = rng.integers(0, n_users, n_likes).astype(np.int32)
    video = rng.integers(0, n_videos, n_likes).astype(np.int32)
    yes = np.ones(n_likes, dtype=bool)
    no = np.zeros(n_likes, dtype=bool)
    return Events(
        step=0, user=user, video=video, position=np.zeros(n_likes, np.uint8),
        watch_ratio=np.ones(n_likes, np.float32), liked=yes, shared=no, commented=no, not_interested=no,
        share_parent=np.full(n_likes, -1, np.int32),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--videos", type=int, default=100_000)
    ap.add_argument("--likes", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="refits timed (the best is reported)")
    ap.add_argument("--params", default="{}", help="mf params as JSON")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rec = sim.make_recommender("mf", json.loads(args.params))
    rec.rng = np.random.default_rng(args.seed)
    view = RandomView(args.users, args.videos, np.random.default_rng(args.seed + 1))
    events = random_likes(args.users, args.videos, args.likes, args.seed)
    t = time.perf_counter()
    rec.observe(events, view)  # builds the like matrix and fits (the first refit)
    first = time.perf_counter() - t
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        rec.refit()
        times.append(time.perf_counter() - t)

    rng = np.random.default_rng(args.seed + 2)
    users = np.sort(rng.choice(args.users, min(2048, args.users), replace=False)).astype(np.int64)
    cands = np.sort(rng.choice(args.videos, min(2000, args.videos), replace=False)).astype(np.int64)
    score_times = []
    for _ in range(5):
        t = time.perf_counter()
        np.asarray(rec.score(users, cands, view))
        score_times.append(time.perf_counter() - t)

    print(f"mf {rec.get_params()}")
    print(f"{args.users:,} users x {args.videos:,} videos, {args.likes:,} likes "
          f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.2f})")
    print(f"first observe (matrix + refit): {first:.2f} s")
    print(f"refit: {min(times):.2f} s (best of {len(times)}: {', '.join(f'{x:.2f}' for x in times)})")
    print(f"score {len(users)} x {len(cands)}: {min(score_times) * 1e3:.1f} ms (best of {len(score_times)})")


if __name__ == "__main__":
    main()

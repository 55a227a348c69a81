"""Score and feed-assembly time of each recommender at scale.

For each recommender, in a fresh subprocess: a world of ``--users`` users runs ``--warmup``
steps with that recommender (so it has observed and, where it refits, fitted), then the
benchmark times, on the next step's candidate pool of 2,000 videos,

  * ``score``: the recommender's score for every visiting user, block by block;
  * ``assemble``: the engine's whole feed assembly (score, drop seen, top-K, re-rank),

and prints each beside popularity's. Popularity ranks the pool the same for every user, so
the engine sorts it once (its fast path); ``popularity_dense`` is the same scores handed over
as a full matrix, the cost of selection for any personalised recommender. Usage:

    python benchmarks/bench_recommenders.py                     # 100,000 users, every built-in
    python benchmarks/bench_recommenders.py --users 20000 --recommenders popularity mf
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def register_dense_popularity() -> None:
    """popularity_dense: popularity's scores as a full (users x candidates) matrix, so that
    the engine selects as for a personalised recommender (no shared-ranking fast path)."""
    import sim
    from sim.recommenders.popularity import PopularityRecommender

    @sim.register_recommender("popularity_dense")
    class DensePopularity(PopularityRecommender):
        def score(self, users, candidates, view):
            return np.array(super().score(users, candidates, view), dtype=np.float32)


def one(name: str, users: int, warmup: int) -> dict:
    import sim
    from sim.feed import assemble_feeds, candidate_columns, seen_pairs

    register_dense_popularity()
    scenario = sim.Scenario(
        seed=1,
        steps=warmup + 1,
        metrics_every=10**6,
        world={"n_users": users, "n_creators": max(300, users // 20), "make_agents": False},
        feed={"n_candidates": 2000, "explain_users": 0},
        holdout={"fraction": 0.0},
        recommender={"name": name},
    )
    model = sim.FeedModel(scenario)
    t = time.perf_counter()
    for _ in range(warmup):
        model.step()
    warm = time.perf_counter() - t
    model.view.step = model.steps
    model.world.upload(model.steps, model.streams.at("uploads", model.steps))
    model.counters.grow(model.world.videos.n)
    candidates = model.build_candidate_pool()
    visiting = np.arange(users, dtype=np.int64)
    rec, view = model.recommender, model._view_for(model.recommender)
    chunk = scenario.feed.chunk_users
    t = time.perf_counter()
    for s in range(0, users, chunk):
        np.asarray(rec.score(visiting[s : s + chunk], candidates, view))
    score_s = time.perf_counter() - t
    since = model.steps - scenario.world.video_max_age + 1
    su, sv = seen_pairs(model.view.log, candidates, since, model.world.videos.n)
    seen = candidate_columns(su, sv, candidates, model.world.videos.n)
    t = time.perf_counter()
    assemble_feeds([(rec, view, visiting)], candidates, seen, scenario.feed, users)
    assemble_s = time.perf_counter() - t
    return {"recommender": name, "users": users, "warmup_s": round(warm, 1), "score_s": score_s, "assemble_s": assemble_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--warmup", type=int, default=4)
    ap.add_argument("--recommenders", nargs="+", default=None)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.users, args.warmup)))
        return
    import sim

    names = args.recommenders or [n for n in sim.recommenders.available_recommenders() if n != "epsilon_greedy"]
    names = ["popularity", "popularity_dense"] + [n for n in names if n not in ("popularity", "popularity_dense")]
    print(f"{args.users:,} users, 2,000 candidates, after {args.warmup} steps")
    print(f"{'recommender':>16} {'score s':>9} {'assemble s':>11} {'x popularity':>13} {'x dense':>8} {'warm-up s':>10}")
    base = dense = None
    for name in names:
        cmd = [sys.executable, __file__, "--one", name, "--users", str(args.users), "--warmup", str(args.warmup)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name:>16} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        base = base or res["assemble_s"]
        dense = res["assemble_s"] if name == "popularity_dense" else dense
        vs_dense = f"{res['assemble_s'] / dense:>8.2f}" if dense else f"{'':>8}"
        print(
            f"{name:>16} {res['score_s']:>9.3f} {res['assemble_s']:>11.3f} {res['assemble_s'] / base:>13.2f} "
            f"{vs_dense} {res['warmup_s']:>10.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

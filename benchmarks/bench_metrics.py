"""Wall time of the costly (periodic) metric families on one model state.

Runs a world of ``--users`` users for ``--steps`` steps with no metric family switched on,
then times each costly family of :mod:`sim.measure` on the final state, one at a time (the
time a run spends on it at each ``metrics_every`` step), and co-like modularity on its own.

Usage:
    python benchmarks/bench_metrics.py                    # 10,000 users, 30 steps
    python benchmarks/bench_metrics.py --users 2000 --steps 10
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--recommender", default="mf")
    args = ap.parse_args()

    import sim
    from sim import measure
    from sim import metrics as M

    scenario = sim.Scenario(
        name="bench", seed=1, steps=args.steps, metrics_every=10**6, metrics={"families": []},
        world={"n_users": args.users, "n_creators": max(300, args.users // 20), "make_agents": False},
        feed={"n_candidates": 2000}, recommender={"name": args.recommender},
    )
    t = time.perf_counter()
    model = sim.FeedModel(scenario)
    for _ in range(args.steps):
        model.step()
    run_s = time.perf_counter() - t
    likes = model.log.like_matrix(model.world.users.n, model.world.videos.n, observed=True)
    print(
        f"{args.users:,} users, {args.steps} steps of {args.recommender} in {run_s:.1f} s: "
        f"{len(model.log):,} impressions, {likes.nnz:,} likes, {model.world.videos.n:,} videos"
    )
    print(f"{'family':>16} {'seconds':>8}  values")
    for family in ("echo", "amplification", "privacy", "segments"):
        model.config.metrics.families = [family]
        t = time.perf_counter()
        values = measure.periodic_metrics(model)
        took = time.perf_counter() - t
        shown = ", ".join(f"{k} {v:.3f}" for k, v in list(values.items())[:4])
        print(f"{family:>16} {took:>8.2f}  {shown}", flush=True)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", M.UndefinedMetricWarning)
        q = M.co_like_modularity(model.log.like_matrix(model.world.users.n, model.world.videos.n), model.world.users.segment)
    print(f"{'modularity':>16} {time.perf_counter() - t:>8.2f}  co_like_modularity {q:.3f}")


if __name__ == "__main__":
    main()

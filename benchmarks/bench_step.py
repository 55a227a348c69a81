"""Step throughput and memory of FeedModel, against the kernel floor.

For each size (users), in a fresh subprocess so peak memory is its own:
  * seconds per step and user-steps per second over ``--steps`` steps (log kept),
    after a few warm-up steps;
  * peak resident memory of the process (ru_maxrss);
  * the step with the per-step metrics of every family (welfare, overfit, echo,
    amplification) switched on, to show
    what measuring costs (the costly periodic families run every ``metrics_every`` steps and
    are left out here);
  * the kernel floor: the bare score product (users x topics @ topics x candidates) plus
    top-K selection for the same shapes, block by block as the engine does it; the ratio
    step / floor says how much the rest of the step costs. numpy's argpartition floor is
    printed beside it for reference.

Usage:
    python benchmarks/bench_step.py                       # 1k, 10k, 100k users, popularity
    python benchmarks/bench_step.py --sizes 10000 --recommenders popularity oracle --steps 20
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def kernel_floor(n_users: int, n_candidates: int, k: int, n_topics: int, chunk: int) -> dict[str, float]:
    from sim.feed import top_k

    rng = np.random.default_rng(0)
    users = rng.random((n_users, n_topics), dtype=np.float32)
    items = rng.random((n_candidates, n_topics), dtype=np.float32)

    def timed(select) -> float:
        best = np.inf
        for _ in range(3):
            t = time.perf_counter()
            for s in range(0, n_users, chunk):
                select(users[s : s + chunk] @ items.T)
            best = min(best, time.perf_counter() - t)
        return best

    return {
        "floor_s": timed(lambda block: top_k(block, k)),
        "floor_argpartition_s": timed(lambda block: np.argpartition(block, -k, axis=1)[:, -k:]),
    }


def one(n_users: int, recommender: str, steps: int, warmup: int, families: list[str] | None) -> dict:
    import sim

    scenario = sim.Scenario(
        name="bench",
        seed=1,
        steps=steps + warmup + 1,  # the last step, with the costly end-of-run metrics, is not run
        metrics_every=10**6,
        metrics={"families": [] if families is None else families},
        world={"n_users": n_users, "n_creators": max(300, n_users // 20), "make_agents": False},
        feed={"feed_size": 10, "n_candidates": 2000},
        recommender={"name": recommender},
    )
    t = time.perf_counter()
    model = sim.FeedModel(scenario)
    build = time.perf_counter() - t
    for _ in range(warmup):
        model.step()
    t = time.perf_counter()
    for _ in range(steps):
        model.step()
    per_step = (time.perf_counter() - t) / steps
    floor = kernel_floor(n_users, 2000, 10, scenario.world.n_topics, scenario.feed.chunk_users)
    return {
        "users": n_users,
        "recommender": recommender,
        "steps": steps,
        "build_s": round(build, 2),
        "step_s": round(per_step, 4),
        "user_steps_per_s": round(n_users / per_step),
        "impressions": len(model.log),
        "log_mb": round(model.log.nbytes() / 2**20, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "floor_s": round(floor["floor_s"], 4),
        "floor_argpartition_s": round(floor["floor_argpartition_s"], 4),
        "step_over_floor": round(per_step / floor["floor_s"], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--recommenders", nargs="+", default=["popularity"])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--families", nargs="*", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.sizes[0], args.recommenders[0], args.steps, args.warmup, args.families)))
        return
    header = (
        f"{'users':>8} {'recommender':>13} {'s/step':>8} {'user-steps/s':>13} {'peak MB':>8} {'log MB':>7} "
        f"{'floor s':>8} {'step/floor':>10} {'argpart floor s':>15} {'+ step metrics s':>17} {'cost':>6}"
    )
    print(header)
    for rec in args.recommenders:
        for n in args.sizes:
            cmd = [sys.executable, __file__, "--one", "--sizes", str(n), "--recommenders", rec,
                   "--steps", str(args.steps), "--warmup", str(args.warmup)]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            with_metrics = cmd + ["--families", "welfare", "overfit", "echo", "amplification"]
            measured = json.loads(
                subprocess.run(with_metrics, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            )
            print(
                f"{res['users']:>8,} {rec:>13} {res['step_s']:>8.3f} {res['user_steps_per_s']:>13,} "
                f"{res['peak_mb']:>8,.0f} {res['log_mb']:>7,.0f} {res['floor_s']:>8.3f} {res['step_over_floor']:>10.2f} "
                f"{res['floor_argpartition_s']:>15.3f} {measured['step_s']:>17.3f} "
                f"{measured['step_s'] / res['step_s'] - 1:>+6.0%}",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""Sweep throughput: the same 16 runs serially, on the local process pool and on Dask.

The sweep is the baseline scenario at 2,000 users x 50 steps: two recommenders x two taste
plasticities x four seeds. It runs three times into fresh folders (resume off):

  * serial: one run after another in this process;
  * local pool: one process per run, ``--workers`` at a time (default 2);
  * Dask: a LocalCluster on 127.0.0.1 with ``--workers`` single-threaded worker processes
    (its start-up time is counted).

``--plain-serial`` adds ``sim.run`` in a loop with the default thread pools (a run on its own
may use both cores for BLAS and OpenMP; sweep runs use one thread each).

It prints each wall time, the ratios pool / serial (target <= 0.6 on 2 cores) and
Dask / pool (target <= 1.3), the sum of the runs' own wall times (what the runs cost apart
from the executor), and checks that the three give the same metrics per run.

Usage:
    python benchmarks/bench_sweep.py
    python benchmarks/bench_sweep.py --users 500 --steps 10     # a quick look
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_scenario(users: int, steps: int, seeds: int):
    from sim.scenario import Scenario

    return Scenario.load(
        ROOT / "scenarios" / "baseline.toml",
        [
            f"world.n_users={users}",
            f"steps={steps}",
            "world.make_agents=false",
            "output.figures=false",
            'sweep.grid={"recommender.name" = ["popularity", "mf"], "behaviour.plasticity_mean" = [0.02, 0.1]}',
            "recommender.params={}",
            f"sweep.seeds={seeds}",
        ],
    )


def main() -> None:
    import sim
    from sim.sweep import plan_sweep, sweep

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=4, help="seeds per grid point (4 x 4 points = 16 runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--plain-serial", action="store_true",
        help="also time sim.run in a loop with the default thread pools (BLAS, OpenMP) instead of one thread per run",
    )
    args = parser.parse_args()

    scenario = bench_scenario(args.users, args.steps, args.seeds)
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    modes = {
        "serial": {"serial": True},
        "local pool": {"workers": args.workers},
        "dask LocalCluster": {"dask_local": True, "workers": args.workers},
    }
    times, frames = {}, {}
    try:
        for label, options in modes.items():
            start = time.perf_counter()
            frame = sweep(scenario, root / label.replace(" ", "-"), resume=False, **options)
            times[label] = time.perf_counter() - start
            frames[label] = frame
            ok = int((frame["status"] == "ok").sum())
            print(
                f"{label:>18}: {times[label]:7.1f} s  ({ok}/{len(frame)} runs ok; "
                f"sum of run wall times {frame['wall_seconds'].sum():.1f} s)",
                flush=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.plain_serial:
        start = time.perf_counter()
        for config in plan_sweep(scenario).configs:
            sim.run(sim.Scenario.from_dict(config["scenario"]), write=False)
        times["plain serial"] = time.perf_counter() - start
        print(f"{'plain serial':>18}: {times['plain serial']:7.1f} s  (sim.run in a loop, default thread pools)")
    print(f"{len(frames['serial'])} runs at {args.users:,} users x {args.steps} steps")
    print(f"local pool / serial: {times['local pool'] / times['serial']:.2f}  (target <= 0.6)")
    print(f"dask / local pool:   {times['dask LocalCluster'] / times['local pool']:.2f}  (target <= 1.3)")
    if args.plain_serial:
        print(f"local pool / plain serial: {times['local pool'] / times['plain serial']:.2f}")
    drop = ["wall_seconds", "seconds_per_step"]
    base = frames["serial"].drop(columns=drop).sort_values("run_id").reset_index(drop=True)
    for label in ("local pool", "dask LocalCluster"):
        other = frames[label].drop(columns=drop).sort_values("run_id").reset_index(drop=True)
        print(f"{label} gives the same summaries as serial: {base.equals(other)}")


if __name__ == "__main__":
    main()

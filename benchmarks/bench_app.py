"""Step plus redraw time of the interactive page at its default size (baseline, 2,000 users).

What the page does after each step, timed piece by piece over ``--steps`` steps (after a
few warm-up steps), as the page runs it (the same Simulation holder and figure objects):
  * step: one step of the model, with the page's per-step headline metrics;
  * metrics: the metrics-over-time figure updated and encoded to PNG (always visible);
  * taste map: the taste map updated and encoded (the default tab; other tabs are lazy,
    only the visible one redraws);
  * step + redraw: the sum of the three, the number the target (< 300 ms) is about.
Then, once at the end, the other tabs (trending, cascade, user inspector) and the privacy
panel's on-demand trait AUC, and the same loop in A/B mode (two models, one chart).

Usage:
    python benchmarks/bench_app.py               # 30 steps at 2,000 users
    python benchmarks/bench_app.py --steps 20 --users 5000
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np

TARGET_MS = 300.0


def png(fig) -> int:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return len(buf.getvalue())


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def loop(simulation, steps: int, warmup: int) -> dict[str, list[float]]:
    from sim.app import panels

    chart = panels.MetricsChart(simulation.runs)
    taste = panels.TasteChart(panels.taste_map(simulation.run))
    times: dict[str, list[float]] = {"step": [], "metrics": [], "taste map": []}
    for i in range(warmup + steps):
        t_step = timed(simulation.step)
        t_metrics = timed(lambda: png(panels.metrics_figure(simulation.runs, chart)))
        t_taste = timed(lambda: png(panels.taste_map_figure(panels.taste_map(simulation.run), simulation.steps_done, taste)))
        if i >= warmup:
            times["step"].append(t_step)
            times["metrics"].append(t_metrics)
            times["taste map"].append(t_taste)
    times["step + redraw"] = list(np.add(np.add(times["step"], times["metrics"]), times["taste map"]))
    return times


def once(simulation) -> dict[str, float]:
    from sim.app import panels

    run, model = simulation.run, simulation.run.model
    return {
        "trending tab": timed(lambda: png(panels.trending_figure(panels.trending(model)))),
        "cascade tab": timed(lambda: png(panels.cascade_figure(panels.viral_cascade(model), model.world.users.segment))),
        "inspector tab": timed(lambda: png(panels.inspector_figure(panels.inspect_user(model, 1)))),
        "privacy AUC (on demand)": timed(lambda: panels.trait_inference(run.model)),
    }


def report(title: str, times: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"  {'':<26}{'median ms':>10}{'p90 ms':>10}{'max ms':>10}")
    for name, values in times.items():
        v = np.asarray(values)
        print(f"  {name:<26}{np.median(v):>10.1f}{np.percentile(v, 90):>10.1f}{v.max():>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()

    from sim.app.state import Settings, Simulation

    settings = Settings.for_preset("baseline", n_users=args.users)
    print(f"page default: baseline, {args.users:,} users, recommender {settings.recommender}; "
          f"{args.steps} steps after {args.warmup} warm-up; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    single = Simulation(settings)
    times = loop(single, args.steps, args.warmup)
    report("one model", times)
    for name, ms in once(single).items():
        print(f"  {name:<26}{ms:>10.1f}")
    ab = Simulation(settings.replace(ab=True, recommender_b="content"))
    ab_times = loop(ab, args.steps, args.warmup)
    report("A/B mode (popularity vs content)", ab_times)
    median = float(np.median(times["step + redraw"]))
    verdict = "meets" if median < TARGET_MS else "misses"
    print(f"\nstep + redraw, median {median:.0f} ms: {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()

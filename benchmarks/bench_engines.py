"""Benchmark the agent and array engines on the baseline scenario.

Each case runs in its own process, so its peak memory (max RSS) is its own, and
is repeated (``--repeat``, default 3); the fastest repeat is reported, as
``timeit`` does, because slower repeats measure other load on the machine.
Prints, per population size and engine: graph-build time, initialisation time,
simulation time, agent-steps per second, peak memory, and the array/agent speed
ratio measured in the same run.

Usage::

    .venv/bin/python benchmarks/bench_engines.py            # 1e3 .. 1e6 users, 156 steps
    .venv/bin/python benchmarks/bench_engines.py --quick    # 1e3 .. 1e5 users
    .venv/bin/python benchmarks/bench_engines.py --ten-years  # the 1e6 x 520-step target
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
AGENT_MAX = 100_000  # the agent engine is benchmarked up to 1e5 users


def one_case(engine: str, size: int, steps: int) -> dict:
    """Run one case in this process and return its measurements."""
    import numpy as np

    from simulator import load_scenario
    from simulator.model import FlywheelModel
    from simulator.world.population import build_network
    from simulator.world.resources import tune_allocator
    from simulator.world.streams import derive_streams

    tune_allocator()  # as the flywheel command does
    scenario = load_scenario(
        BASELINE, overrides={"population.size": size, "steps": steps, "engine": engine}
    )
    # Graph build alone, from the same stream the model uses.
    streams = derive_streams(scenario.seed)
    group = np.zeros(size, dtype=np.int16)
    started = time.perf_counter()
    build_network(scenario, group, streams.graph)
    graph_s = time.perf_counter() - started

    started = time.perf_counter()
    model = FlywheelModel(scenario)
    init_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        model.step()
    sim_s = time.perf_counter() - started
    return {
        "engine": engine,
        "size": size,
        "steps": steps,
        "graph_s": graph_s,
        "init_s": init_s,
        "sim_s": sim_s,
        "total_s": init_s + sim_s,
        "agent_steps_per_s": size * steps / sim_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_active_users": int(model.counts[1].sum()),
    }


def run_case(engine: str, size: int, steps: int, repeat: int = 1) -> dict:
    """Run one case ``repeat`` times, each in a fresh process; keep the fastest.

    Peak memory is the largest over the repeats.
    """
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--case", engine, str(size), str(steps)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["sim_s"])
    best["peak_mb"] = max(r["peak_mb"] for r in runs)
    best["repeats"] = repeat
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=3, metavar=("ENGINE", "SIZE", "STEPS"))
    parser.add_argument("--quick", action="store_true", help="stop at 1e5 users")
    parser.add_argument("--ten-years", action="store_true", help="only 1e6 users x 520 steps")
    parser.add_argument("--steps", type=int, default=156)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (fastest kept)")
    args = parser.parse_args()
    if args.case:
        engine, size, steps = args.case
        print(json.dumps(one_case(engine, int(size), int(steps))))
        return

    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    if args.ten_years:
        cases = [("array", 1_000_000, 520)]
    else:
        sizes = [1_000, 10_000, 100_000] + ([] if args.quick else [1_000_000])
        cases = [(e, n, args.steps) for n in sizes for e in ("agent", "array") if
                 e == "array" or n <= AGENT_MAX]  # fmt: skip
    header = (f"{'engine':>6} {'users':>9} {'steps':>5} {'graph s':>8} {'init s':>7} "
              f"{'sim s':>7} {'total s':>8} {'agent-steps/s':>14} {'peak MB':>8}")  # fmt: skip
    print(header)
    results = {}
    for engine, size, steps in cases:
        r = run_case(engine, size, steps, args.repeat)
        results[(engine, size)] = r
        print(f"{engine:>6} {size:>9,} {steps:>5} {r['graph_s']:>8.2f} {r['init_s']:>7.2f} "
              f"{r['sim_s']:>7.2f} {r['total_s']:>8.2f} {r['agent_steps_per_s']:>14,.0f} "
              f"{r['peak_mb']:>8.0f}", flush=True)  # fmt: skip
    for size in sorted({n for _, n in results}):
        if ("agent", size) in results and ("array", size) in results:
            ratio = (results[("array", size)]["agent_steps_per_s"]
                     / results[("agent", size)]["agent_steps_per_s"])  # fmt: skip
            print(f"array/agent speed ratio at {size:,} users: {ratio:.0f}x")


if __name__ == "__main__":
    main()

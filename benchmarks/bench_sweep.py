"""Sweep throughput: a 1,000-run sweep of the baseline at 10^4 users x 104 steps.

Targets: issue #15, a 1,000-run sweep of 10^4 users x 104 steps in <= 60 s on 2 workers;
issue #4, parallel efficiency 2 vs 1 workers >= 80% (efficiency = T(1 worker) / (2 x
T(2 workers)); only with ``--one-process``, which also times the sweep on 1 worker). Each
sweep runs as the `flywheel sweep` command in a fresh process, so the times include
starting Python, loading the sweep, starting the workers, and merging the tables.

    .venv/bin/python benchmarks/bench_sweep.py                 # 1,000 runs, 2 processes
    .venv/bin/python benchmarks/bench_sweep.py --one-process   # also 1 process (efficiency)
    .venv/bin/python benchmarks/bench_sweep.py --dask          # also a 2-worker LocalCluster
    .venv/bin/python benchmarks/bench_sweep.py --runs 200      # a quicker look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def sweep_file(folder: Path, runs: int) -> Path:
    """The baseline, `runs` seeds (one design point, `runs` replicates)."""
    block = {
        "scenario": str(ROOT / "scenarios" / "baseline.yaml"),
        "name": "bench_sweep",
        "seed": 2026,
        "replicates": runs,
        "overrides": {"population.size": 10_000, "steps": 104},
        "outcomes": {"summary": ["final.moat", "takeoff_step", "final.active_users"]},
    }
    path = folder / "bench_sweep.yaml"
    path.write_text(yaml.safe_dump({"sweep": block}, sort_keys=False))
    return path


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes and theirs (the sweep
    command and its workers, once reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_sweep(path: Path, out: Path, options: list[str]) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (every process of the sweep) and the sweep's manifest."""
    command = [sys.executable, "-m", "simulator", "sweep", str(path), "--out", str(out)]
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run(command + options, check=True, capture_output=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    return wall, cpu, json.loads((out / "manifest.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--one-process", action="store_true", help="also time 1 process")
    parser.add_argument("--dask", action="store_true", help="also time a local Dask cluster")
    args = parser.parse_args()
    configs = {"2 processes": ["--workers", "2"]}
    if args.one_process:
        configs = {"1 process": ["--workers", "1"], **configs}
    if args.dask:
        configs["Dask LocalCluster, 2 workers"] = ["--dask-local", "--workers", "2"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = sweep_file(folder, args.runs)
        times, cpus, tables = {}, {}, {}
        print(f"{args.runs}-run sweep of the baseline, 10,000 users x 104 steps (array engine)")
        for i, (label, options) in enumerate(configs.items()):
            out = folder / f"out{i}"
            wall, cpu, manifest = timed_sweep(path, out, options)
            per_run = manifest["timings"]["run_s_mean"]
            times[label] = wall
            cpus[label] = cpu
            tables[label] = (out / "runs.parquet").read_bytes()
            print(
                f"  {label:30s} {wall:6.1f} s  ({args.runs / wall:5.1f} runs/s; "
                f"{per_run * 1000:.0f} ms per run in a worker); CPU {cpu:.1f} s in all "
                f"({cpu / args.runs * 1000:.0f} ms per run)"
            )
        if "1 process" in times:
            efficiency = times["1 process"] / (2 * times["2 processes"])
            print(f"  parallel efficiency, 2 vs 1 processes: {efficiency:.0%} (target >= 80%)")
        wall = times["2 processes"]
        scaled = (
            f" (scaled to 1,000 runs: {wall * 1000 / args.runs:.1f} s)" if args.runs != 1000 else ""
        )
        met = wall * 1000 / args.runs <= 60
        print(
            f"  target (issue #15): 1,000 runs on 2 workers <= 60 s; measured {wall:.1f} s for "
            f"{args.runs:,} runs{scaled}: {'met' if met else 'NOT met'}"
        )
        # On a shared machine the wall time counts the waits for a core; the sweep's CPU
        # seconds spread over its 2 workers are what 2 free cores would need at least.
        cpu_2 = cpus["2 processes"] * 1000 / args.runs / 2
        print(
            f"  CPU-based: {cpus['2 processes']:.1f} CPU s for {args.runs:,} runs, i.e. >= "
            f"{cpu_2:.1f} s for 1,000 runs on 2 free cores: {'met' if cpu_2 <= 60 else 'NOT met'}"
        )
        if len(tables) > 1:
            identical = len(set(tables.values())) == 1
            print(f"  runs.parquet byte-identical across executors: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()

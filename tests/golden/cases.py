"""The golden cases: what is run, and how each output is reduced to a SHA-256 hash.

A golden hash freezes the simulator's dynamics: the same scenario, seed and engine
must give exactly the same files forever, unless a change means to alter the
dynamics. Then the hashes are regenerated deliberately, in a commit of their own
that says why::

    make golden            # = python -m tests.golden.regenerate

Every scenario in ``scenarios/`` (the validation ones included) runs at a reduced
population (``GOLDEN_SIZE`` users, its own number of steps, so that interventions
still fire), on both engines, with two seeds. A few extra cases reach code paths
that no scenario file uses (the threshold rule with rejoining, hub seeding and
dt != 1; the logistic estimator with group DRO; aged data; many interventions).

What is hashed:

- ``timeseries.csv`` as ``flywheel run`` writes it, byte for byte;
- ``summary.json`` without the fields that measure the machine, not the model
  (``runtime_s``, ``agent_steps_per_s``) or name the release (``package_version``),
  re-serialised with sorted keys;
- ``runs.parquet`` of one small sweep, by content: the Arrow schema and every row as
  CSV. The file's bytes also hold the writer's version (``created_by``), which a
  pyarrow upgrade changes without any change of the numbers.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
HASHES = Path(__file__).with_name("hashes.json")
SWEEP = Path(__file__).with_name("sweep.yaml")

GOLDEN_SIZE = 400
SEEDS = (3, 11)
ENGINES = ("agent", "array")
MACHINE_FIELDS = ("runtime_s", "agent_steps_per_s", "package_version")


@dataclass(frozen=True)
class Case:
    """One scenario file with overrides, run on every engine and seed."""

    name: str
    path: Path
    overrides: dict[str, Any] = field(default_factory=dict)
    size: int | None = GOLDEN_SIZE
    """Users (None: the file's own population, for files whose firms seed a fixed count)."""


EXTRA_CASES = (
    Case(
        "threshold_rejoin_hubs_dt",
        SCENARIOS / "baseline.yaml",
        {
            "steps": 90, "dt": 0.5, "adoption.rule": "threshold", "adoption.seeding": "hubs",
            "adoption.initial_adopters": 30, "churn.rejoin_rate": 0.2, "churn.base_rate": 0.05,
            "network.kind": "watts_strogatz", "network.mean_degree": 4,
        },
    ),
    Case(
        "logistic_group_dro",
        SCENARIOS / "bias_dro.yaml",
        {"steps": 80, "learning.estimator": "logistic", "learning.objective": "group_dro",
         "learning.initial_examples": 5},
    ),
    Case(
        "mean_aged_data_no_ab",
        SCENARIOS / "bias_dro.yaml",
        {"steps": 80, "learning.estimator": "mean", "reinvestment.data_half_life": 3.0,
         "reinvestment.ab_test": False, "churn.retention": "risk", "reinvestment.latency": 0},
    ),
    Case(
        "interventions",
        SCENARIOS / "baseline.yaml",
        {
            "steps": 100, "churn.rejoin_rate": 0.05,
            "interventions": [
                {"at": 10, "set": {"reinvestment.retrain_every": 1, "reinvestment.latency": 3}},
                {"at": 30, "set": {"adoption.quality_sensitivity": 0.0, "churn.lock_in": 0.9,
                                   "population.groups.minority.label_noise": 0.4}},
                {"at": 60, "set": {"reinvestment.rate": 0.0, "market.baseline.ceiling": 0.95,
                                   "population.groups.majority.activity": 6.0}},
            ],
        },
    ),
)  # fmt: skip


def scenario_cases() -> list[Case]:
    """Every scenario file (validation ones included), then the extra cases."""
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted((SCENARIOS / "validation").glob("*.yaml"))
    cases = [
        Case(name, path, size=None if name in OWN_SIZE else GOLDEN_SIZE)
        for path in files
        if (name := str(path.relative_to(SCENARIOS).with_suffix("")))
    ]
    return cases + list(EXTRA_CASES)


OWN_SIZE = {"validation/dean"}
"""Scenarios run at their own size: every user starts on a firm (1,000 users)."""


def run_keys() -> Iterator[tuple[Case, str, int]]:
    for case in scenario_cases():
        for engine in ENGINES:
            for seed in SEEDS:
                yield case, engine, seed


def key(case: Case, engine: str, seed: int) -> str:
    return f"{case.name}/{engine}/seed{seed}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def summary_hash(text: str) -> str:
    summary = json.loads(text)
    for name in MACHINE_FIELDS:
        summary.pop(name, None)
    return sha256(json.dumps(summary, sort_keys=True, indent=1).encode())


def run_hashes(case: Case, engine: str, seed: int) -> dict[str, str]:
    """Run one case the way ``flywheel run --no-plots`` does and hash its files."""
    from simulator import load_scenario, run

    size = {} if case.size is None else {"population.size": case.size}
    overrides = {**size, **case.overrides, "seed": seed, "engine": engine}
    result = run(load_scenario(case.path, overrides=overrides))
    with tempfile.TemporaryDirectory() as folder:
        result.write(folder, plots=False)
        out = Path(folder)
        return {
            "timeseries.csv": sha256((out / "timeseries.csv").read_bytes()),
            "summary.json": summary_hash((out / "summary.json").read_text(encoding="utf-8")),
        }


def sweep_hash() -> dict[str, str]:
    """Run the small golden sweep on 2 local processes and hash ``runs.parquet`` by content."""
    import pyarrow.parquet as pq

    from simulator.experiment import load_experiment, run_experiment

    with tempfile.TemporaryDirectory() as folder:
        run_experiment(load_experiment(SWEEP), Path(folder) / "sweep", workers=2)
        table = pq.read_table(Path(folder) / "sweep" / "runs.parquet")
        content = str(table.schema).encode() + table.to_pandas().to_csv(index=False).encode()
        return {"runs.parquet": sha256(content)}


def load_hashes() -> dict[str, dict[str, str]]:
    return json.loads(HASHES.read_text(encoding="utf-8"))

"""Estimator learners at the edges of the documented ranges, drawn at random.

One point, data that has fully aged out, synthetic shares a hair below 1, batches of
one point, users who never interact: every drawn scenario must either run, with
strict-JSON output and no NaN outside the columns documented as sometimes undefined,
identically on both engines, or be refused as invalid input (exit 2). Never exit 1.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simulator.cli import app

# Ratios whose denominator can be 0 (docs/outputs.md): empty when undefined.
MAY_BE_EMPTY = {
    "data_growth_rate", "model_improvement_rate", "user_growth_rate", "data_per_user",
    "feedback_rate",
}  # fmt: skip
runner = CliRunner()
EXAMPLES = int(os.environ.get("FLYWHEEL_EDGE_EXAMPLES", "30"))
"""Examples per run (30 in the suite; 400 were run once by hand, all passed)."""


@st.composite
def edge_scenarios(draw) -> dict:
    estimator = draw(st.sampled_from(["median", "mean", "gaussian", "logistic"]))
    objective = "erm" if estimator == "gaussian" else draw(st.sampled_from(["erm", "group_dro"]))
    share = (
        0.0
        if estimator == "logistic"
        else draw(st.sampled_from([0.0, 0.5, 1 - 1e-6, 1 - 1e-12, 1.0]))
    )
    batch = draw(st.sampled_from([None, 1, 2]) if share < 1 else st.sampled_from([1, 2]))
    n_groups = draw(st.integers(1, 2))
    groups = [
        {
            "name": f"g{i}", "share": 1.0 / n_groups,
            "activity": draw(st.sampled_from([0.0, 1e-3, 3.0])),
            "label_noise": draw(st.sampled_from([0.0, 0.5, 1.0])),
            "data_mean": draw(st.sampled_from([0.0, 1e-9, 2.0])),
            "data_spread": draw(st.sampled_from([1e-6, 1.0])),
        }
        for i in range(n_groups)
    ]  # fmt: skip
    return {
        "name": "edge",
        "seed": draw(st.integers(0, 1000)),
        "steps": draw(st.integers(1, 12)),
        "population": {"size": draw(st.integers(2, 40)), "groups": groups},
        "network": {"kind": "complete"},
        "learning": {
            "kind": "estimator", "estimator": estimator, "objective": objective,
            "alpha_min": draw(st.sampled_from([1e-3, 0.3, 1.0])),
            "initial_examples": draw(st.sampled_from([0, 1, 2, 20])),
        },
        "data": {"synthetic_share": share, "batch_size": batch,
                 "policy": draw(st.sampled_from(["accumulate", "replace"]))},
        "reinvestment": {
            "data_half_life": draw(st.sampled_from([None, 1e-12, 0.01, 1.0])),
            "retrain_every": draw(st.sampled_from([1, 3, 12])),
            "latency": draw(st.sampled_from([0, 1])),
            "ab_test": draw(st.booleans()),
        },
        "churn": {"retention": draw(st.sampled_from(["hazard", "risk"]))},
    }  # fmt: skip


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _run(path: Path, out: Path, engine: str):
    return runner.invoke(app, ["run", str(path), "--engine", engine, "--out", str(out),
                               "--no-plots"])  # fmt: skip


@settings(
    max_examples=EXAMPLES, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(raw=edge_scenarios())
def test_edge_scenarios_run_strictly_or_are_refused(raw, tmp_path_factory):
    folder = tmp_path_factory.mktemp("edge")
    path = folder / "edge.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    results = {}
    for engine in ("agent", "array"):
        out = folder / engine
        result = _run(path, out, engine)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert not out.exists()  # nothing written on invalid input
            assert "Traceback" not in result.output
            results[engine] = None
            continue
        summary = _strict((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["final"]["active_users"] >= 0
        timeseries = pd.read_csv(out / "timeseries.csv")
        undefined = {c for c in timeseries.columns if timeseries[c].isna().any()}
        assert undefined <= MAY_BE_EMPTY, undefined
        numbers = timeseries.select_dtypes("number").to_numpy().ravel()
        assert all(math.isfinite(v) for v in numbers if v == v)  # no infinities either
        results[engine] = (out / "timeseries.csv").read_bytes()
    assert results["agent"] == results["array"]


ONE_POINT = {
    "name": "one-point",
    "steps": 1,
    "population": {"size": 20, "groups": [{"name": "all", "share": 1}]},
    "learning": {"kind": "estimator", "estimator": "gaussian", "initial_examples": 1},
}
AGED_OUT = {"name": "aged-out", "steps": 5,
            "population": {"size": 20, "groups": [{"name": "all", "share": 1, "activity": 0}]},
            "learning": {"kind": "estimator", "estimator": "mean", "initial_examples": 20},
            "reinvestment": {"data_half_life": 1.0e-12, "ab_test": False}}  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expect_exit"),
    [
        (ONE_POINT, 0),
        (AGED_OUT, 0),
        (AGED_OUT | {"learning": AGED_OUT["learning"] | {"estimator": "median"}}, 0),
        (AGED_OUT | {"learning": AGED_OUT["learning"] | {"estimator": "logistic",
                                                         "objective": "group_dro"}}, 0),
        (AGED_OUT | {"steps": 30, "reinvestment": {"data_half_life": 0.01, "retrain_every": 12,
                                                   "ab_test": False}}, 0),
        (ONE_POINT | {"learning": {"kind": "estimator", "estimator": "mean"},
                      "data": {"synthetic_share": 0.999999999999}}, 2),
    ],
    ids=["one-point", "aged-out-mean", "aged-out-median", "aged-out-logistic-dro",
         "half-life-0.01", "synthetic-share-near-1"],
)  # fmt: skip
def test_the_three_reported_files(raw, expect_exit, tmp_path):
    """Each once passed `flywheel validate` and then wrote Infinity or NaN, or crashed."""
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = _run(path, tmp_path / "out", "array")
    assert result.exit_code == expect_exit, result.output
    if expect_exit == 2:
        assert "data.synthetic_share" in result.output and "data.batch_size" in result.output
        return
    summary = _strict((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    final = summary["final"]
    quality = [value for key, value in final.items() if key.startswith("quality")]
    assert all(value is not None and 0 <= value <= 1 for value in quality)
    risks = [value for key, value in final.items() if key.startswith("risk[")]
    assert risks and all(value is not None and math.isfinite(value) for value in risks)

"""Key metrics (``report.highlight``): the names a run will have are known before it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import load_scenario, run
from simulator.metrics.columns import summary_fields, timeseries_columns
from simulator.reporting.stories import has_field

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = {"population.size": 200, "steps": 10}


@pytest.mark.parametrize("name", ["baseline", "model_collapse", "bias_dro"])
def test_the_predicted_names_are_those_a_run_has(name):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml", overrides=SMALL)
    result = run(scenario, engine="array")
    assert timeseries_columns(scenario) == list(result.timeseries.columns)
    missing = [field for field in summary_fields(scenario) if not has_field(result.summary, field)]
    assert missing == []


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_every_library_scenario_names_its_key_metrics_and_what_to_notice(path):
    report = load_scenario(path).report
    assert report.highlight and report.notice
    assert all(len(sentence) > 20 for sentence in report.notice)

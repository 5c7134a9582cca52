"""`flywheel schema`: the scenario format as JSON Schema, checked with a JSON Schema validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.scenario import scenario_json_schema

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "validation").glob("*.yaml")
)
runner = CliRunner()


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(runner.invoke(app, ["schema"]).output)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_scenario_file_is_valid_under_the_schema(validator, path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(validator.iter_errors(data)) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"adoption": {"innovation": -1}}, "innovation"),
        ({"adoption": {"rule": "viral"}}, "rule"),
        ({"reinvestment": {"retrain_every": 0}}, "retrain_every"),
        ({"churn": {"lock_in": 1.5}}, "lock_in"),
        ({"learning": {"scael": 100}}, "scael"),
        ({"population": {"groups": [{"share": 1.0}]}}, "name"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(validator, change, where):
    errors = list(validator.iter_errors(change))
    assert errors, change
    assert any(where in str(error.path) + error.message for error in errors)


def test_structural_keys_are_marked_and_every_field_is_described():
    schema = scenario_json_schema()
    defs = schema["$defs"]
    assert defs["Population"]["properties"]["size"]["structural"] is True
    assert "structural" not in defs["Reinvestment"]["properties"]["retrain_every"]

    def fields(node):
        yield from node.get("properties", {}).items()

    undescribed = [
        f"{section}.{name}"
        for section, node in [("scenario", schema), *defs.items()]
        for name, value in fields(node)
        if "description" not in value
    ]
    assert undescribed == []


def test_schema_out_writes_the_file(tmp_path):
    out = tmp_path / "scenario.schema.json"
    result = runner.invoke(app, ["schema", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == scenario_json_schema()

"""Compliance time (``market.compliance_steps``): under ``market.regulatory_barrier`` an
entrant's product goes on offer that many steps after its ``enters_at``, and a late
entrant ends with a smaller share. Off (0, the default) nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from simulator import load_scenario, run
from simulator.cli import app
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
ENTRANT = ROOT / "scenarios/incumbent_vs_entrant.yaml"
SMALL = {"population.size": 600, "steps": 130}


def first_step(timeseries, firm: str) -> int:
    return int(timeseries.loc[timeseries[f"active_users[{firm}]"] > 0, "step"].iloc[0])


def outcome(**market):
    overrides = SMALL | {f"market.{k}": v for k, v in market.items()}
    return run(load_scenario(ENTRANT, overrides=overrides), seed=42)


def test_an_entrant_enters_later_by_exactly_the_compliance_time_and_loses_share():
    free, barrier = outcome(), outcome(regulatory_barrier=True)
    slowed = outcome(regulatory_barrier=True, compliance_steps=20)
    # the barrier alone keeps its audit meaning only: the run is unchanged
    assert barrier.timeseries.equals(free.timeseries)
    assert first_step(free.timeseries, "entrant") == 52
    assert first_step(slowed.timeseries, "entrant") == 72  # 52 + 20
    assert not slowed.timeseries.loc[slowed.timeseries["step"] < 72, "market_share[entrant]"].any()
    assert slowed.summary["market"]["firms"]["entrant"]["enters_at"] == 72
    # the incumbent's head start grows: the entrant ends with a smaller share
    free_share, slowed_share = (r.summary["market"]["firms"]["entrant"]["market_share"]
                                for r in (free, slowed))  # fmt: skip
    assert slowed_share < free_share - 0.05, (free_share, slowed_share)
    # the incumbent (on offer from step 0) needs no new approval
    assert first_step(slowed.timeseries, "incumbent") == 0
    # before the entrant's planned entry the two runs are the same
    assert free.timeseries.iloc[:52].equals(slowed.timeseries.iloc[:52])


@pytest.mark.parametrize(
    ("market", "expected"),
    [
        ({"compliance_steps": 10}, "market.compliance_steps: needs market.regulatory_barrier"),
        ({"regulatory_barrier": True, "compliance_steps": -1},
         "market.compliance_steps: must be >= 0"),
        ({"regulatory_barrier": True, "compliance_steps": 100},
         "market.compliance_steps: makes 'entrant' enter at step 152"),
    ],
)  # fmt: skip
def test_bad_compliance_keys_are_named(market, expected):
    overrides = SMALL | {f"market.{k}": v for k, v in market.items()}
    with pytest.raises(ScenarioError) as info:
        load_scenario(ENTRANT, overrides=overrides)
    assert expected in str(info.value)


def test_compliance_without_a_barrier_exits_2_from_the_command_line(tmp_path):
    raw = yaml.safe_load(ENTRANT.read_text())
    raw["market"] = {"compliance_steps": 10}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "market.compliance_steps: needs market.regulatory_barrier" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()

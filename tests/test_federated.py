"""Federated learning in runs (``privacy.federated: true``): bad input exits 2 with the
dotted key, both engines agree, the federated stream leaves other draws alone, and the
strategist's trade-off: on non-IID segments with partial participation federated
learning costs quality against centralised training, and full participation gets most
of it back. The validation against theory is tests/validation/test_federated.py."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from simulator import load_scenario, run
from simulator.cli import app
from simulator.scenario import ScenarioError

GROUPS = [{"name": "a", "share": 0.5, "data_mean": 0.0, "data_spread": 1.0},
          {"name": "b", "share": 0.5, "data_mean": 1.0, "data_spread": 1.0}]  # fmt: skip
SMALL = {"population": {"size": 400, "groups": GROUPS}, "steps": 30,
         "adoption": {"innovation": 0.02},
         "reinvestment": {"retrain_every": 2, "latency": 0, "ab_test": False}}  # fmt: skip
MEAN = {"kind": "estimator", "estimator": "mean", "initial_examples": 5}


def problems_of(raw) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    return str(info.value)


@pytest.mark.parametrize(
    ("privacy", "learning", "expected"),
    [
        ({"epsilon": 1.0, "clients": 5}, {},
         "privacy.clients: is a federated-learning key: set privacy.federated: true"),
        ({"epsilon": 1.0, "split": "shuffle"}, {}, "privacy.split: is a federated-learning key"),
        ({"federated": True, "participation": 0}, {},
         "privacy.participation: must be in (0, 1]; got 0"),
        ({"federated": True, "participation": 1.5}, {},
         "privacy.participation: must be in (0, 1]; got 1.5"),
        ({"federated": True, "learning_rate": 0}, {}, "privacy.learning_rate: must be in (0, 1]"),
        ({"federated": True, "rounds": 0}, {}, "privacy.rounds: must be >= 1"),
        ({"federated": True, "split": "random"}, {}, "privacy.split"),
        ({"federated": True, "epsilon": 0}, {}, "privacy.epsilon: must be > 0"),
        ({"federated": True, "epsilon": -2.0}, {}, "privacy.epsilon: must be > 0"),
        ({"federated": True}, MEAN | {"estimator": "median"},
         "privacy.federated: federated learning trains the mean, gaussian, logistic"),
        ({"federated": True}, MEAN | {"objective": "group_dro", "alpha_min": 0.2},
         "privacy.federated: needs learning.objective: erm"),
        ({"clip": 2.0}, {}, "privacy.epsilon: is required"),
    ],
)  # fmt: skip
def test_bad_federated_keys_are_named(privacy, learning, expected):
    raw = SMALL | {"privacy": privacy} | ({"learning": learning} if learning else {})
    assert expected in problems_of(raw)


def test_federated_keys_without_federated_exit_2_from_the_command_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(SMALL | {"privacy": {"epsilon": 1.0, "rounds": 3}}))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "privacy.rounds: is a federated-learning key" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_a_median_exits_2_from_the_command_line(tmp_path):
    path = tmp_path / "bad.yaml"
    raw = SMALL | {"privacy": {"federated": True}, "learning": MEAN | {"estimator": "median"}}
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "fits a median" in result.output
    assert not (tmp_path / "out").exists()


def test_the_dump_round_trips_and_hides_federated_keys_when_off():
    off = load_scenario(SMALL | {"privacy": {"epsilon": 1.0}})
    assert off.to_dict()["privacy"] == {"epsilon": 1.0, "delta": 1e-5, "clip": 3.0}
    on = load_scenario(SMALL | {"privacy": {"federated": True, "clients": 4}})
    assert on.to_dict()["privacy"]["clients"] == 4 and on.to_dict()["privacy"]["epsilon"] is None
    assert load_scenario(yaml.safe_load(on.to_yaml())) == on


@pytest.mark.parametrize(
    ("learning", "privacy"),
    [
        ({}, {"federated": True, "epsilon": 2.0}),
        (MEAN, {"federated": True, "participation": 0.3}),
        (MEAN | {"estimator": "gaussian"}, {"federated": True, "split": "shuffle", "epsilon": 3}),
        (MEAN | {"estimator": "logistic"}, {"federated": True, "clients": 3}),
    ],
)  # fmt: skip
def test_federated_runs_agree_on_both_engines(learning, privacy):
    raw = SMALL | {"privacy": privacy} | ({"learning": learning} if learning else {})
    a = run(load_scenario(raw), seed=8, engine="agent").timeseries.to_csv(index=False)
    b = run(load_scenario(raw), seed=8, engine="array").timeseries.to_csv(index=False)
    assert a == b


def test_federated_learning_costs_quality_on_non_iid_segments_and_full_participation_helps():
    """A strategist's trade-off, on the learning curve (deterministic): with a fifth of
    the clients per round the model sees less data and pays for client drift; with every
    client in every round (and no DP) it is the centralised model."""
    base = SMALL | {"steps": 40}
    central = run(load_scenario(base), seed=5).timeseries
    partial = run(load_scenario(base | {"privacy": {"federated": True}}), seed=5).timeseries
    full = {"federated": True, "participation": 1.0}
    everyone = run(load_scenario(base | {"privacy": full}), seed=5).timeseries
    # same users at step 0 (the federated stream draws nothing for the curve)
    assert partial.loc[0, "active_users"] == central.loc[0, "active_users"]
    assert partial["quality"].iloc[-1] < central["quality"].iloc[-1] - 0.02
    assert everyone.equals(central)  # seen share 1, no drift variance: the same model

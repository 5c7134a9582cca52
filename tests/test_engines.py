"""The agent and array engines give byte-identical timeseries for the same scenario and seed."""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import FlywheelModel, load_scenario, run
from simulator.engines import AUTO_ARRAY_FROM, resolve_engine

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def assert_engines_agree(scenario, seed=None):
    agent = run(scenario, seed=seed, engine="agent")
    array = run(scenario, seed=seed, engine="array")
    assert agent.summary["engine"] == "agent" and array.summary["engine"] == "array"
    assert agent.timeseries.to_csv(index=False) == array.timeseries.to_csv(index=False)
    for key, values in agent.model.user_arrays().items():
        np.testing.assert_array_equal(values, array.model.user_arrays()[key], err_msg=key)
    assert agent.summary["defensibility"] == array.summary["defensibility"]
    return agent


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_gives_identical_timeseries_on_both_engines(path):
    entries = [firm.enters_at for firm in load_scenario(path).firms]  # must enter in the run
    steps = max([60, *(entry + 30 for entry in entries)])
    scenario = load_scenario(path, overrides={"population.size": 1500, "steps": steps})
    assert_engines_agree(scenario)


def test_engines_agree_with_rejoins_threshold_rule_hubs_and_interventions():
    scenario = load_scenario(
        ROOT / "scenarios/baseline.yaml",
        overrides={
            "population.size": 1200, "steps": 80, "dt": 0.5,
            "adoption.rule": "threshold", "adoption.seeding": "hubs",
            "adoption.initial_adopters": 40, "churn.rejoin_rate": 0.2,
            "churn.base_rate": 0.05, "network.kind": "watts_strogatz", "network.mean_degree": 4,
            "interventions": [
                {"at": 20, "set": {"adoption.quality_sensitivity": 0.0, "churn.lock_in": 0.9}},
                {"at": 50, "set": {"population.groups.minority.label_noise": 0.4}},
            ],
        },
    )  # fmt: skip
    agent = assert_engines_agree(scenario)
    assert agent.timeseries["rejoins"].sum() > 0  # the rejoin path was exercised


group_count = st.integers(1, 3)


@st.composite
def scenarios(draw):
    n_groups = draw(group_count)
    raw = [draw(st.integers(1, 10)) for _ in range(n_groups)]
    shares = [r / sum(raw) for r in raw]
    shares[-1] = 1 - sum(shares[:-1])
    estimator = draw(st.booleans())
    arrivals = draw(st.booleans())
    groups = [
        {
            "name": f"g{i}",
            "share": share,
            "activity": draw(st.floats(0, 8)),
            "label_noise": draw(st.floats(0, 0.5)),
            "data_mean": draw(st.floats(-3, 3)),
            "data_spread": draw(st.floats(0.05, 3)),
            **({"arrivals": draw(st.integers(0, 20))} if arrivals else {}),
        }
        for i, share in enumerate(shares)
    ]
    size = draw(st.integers(20, 400))
    kind = draw(st.sampled_from(
        ["complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block"]
    ))  # fmt: skip
    degree = (
        draw(st.sampled_from([2, 4, 6])) if kind == "watts_strogatz" else draw(st.floats(0.5, 12))
    )
    learning = {"transfer": draw(st.floats(0, 1)), "noise_penalty": draw(st.floats(0, 2))}
    data, retention = {}, "hazard"
    if estimator:
        fitted = draw(st.sampled_from(["median", "mean", "gaussian", "logistic"]))
        objectives = ["erm"] if fitted == "gaussian" else ["erm", "group_dro"]
        learning |= {
            "kind": "estimator",
            "estimator": fitted,
            "objective": draw(st.sampled_from(objectives)),
            "alpha_min": draw(st.floats(0.05, 1)),
            "initial_examples": draw(st.integers(0, 50)),
        }
        share = 0.0 if fitted == "logistic" else draw(st.sampled_from([0.0, 0.3, 1.0]))
        data = {
            "synthetic_share": share,
            "policy": draw(st.sampled_from(["accumulate", "replace"])),
            "batch_size": draw(
                st.sampled_from([None, 10, 100]) if share < 1 else st.integers(1, 50)
            ),
        }
        retention = draw(st.sampled_from(["hazard", "risk"]))
    steps = draw(st.integers(1, 40))
    market = {}
    if draw(st.booleans()):  # a market of firms
        n_firms = draw(st.integers(1, 3))
        names = [f"firm{j}" for j in range(n_firms)]
        firms = [{"name": f, "enters_at": draw(st.integers(0, steps - 1)) if j else 0,
                  "initial_adopters": draw(st.integers(0, 10)),
                  "reinvestment": {"retrain_every": draw(st.integers(1, 8))}}
                 for j, f in enumerate(names)]  # fmt: skip
        market = {"firms": firms, "choice": {
            "rule": draw(st.sampled_from(["logit", "best"])),
            "quality_weight": draw(st.sampled_from([None, 0.0, 8.0])),
            "local_network_effect": draw(st.floats(0, 3)),
            "global_network_effect": draw(st.floats(0, 0.05)),
            "preferences": {g["name"]: {f: draw(st.floats(-2, 2)) for f in names}
                            for g in groups[:1]},
            "reconsider_rate": draw(st.floats(0, 1)),
            "switching_cost": draw(st.floats(0, 2)),
        }}  # fmt: skip
    return market | {
        "seed": draw(st.integers(0, 2**32)),
        "steps": steps,
        "dt": draw(st.sampled_from([0.25, 1.0, 2.0])),
        "population": {"size": size, "groups": groups,
                       "activity_cv": draw(st.floats(0, 1.5))},
        "network": {"kind": kind, "mean_degree": min(degree, size - 1),
                    "homophily": draw(st.floats(0, 1)), "rewire": draw(st.floats(0, 1))},
        "adoption": {
            "rule": "arrivals" if arrivals else draw(st.sampled_from(["bass", "threshold"])),
            "innovation": draw(st.floats(0, 0.2)),
            "imitation": draw(st.floats(0, 2)),
            "threshold": draw(st.floats(0, 1)),
            "quality_sensitivity": draw(st.floats(0, 10)),
            "initial_adopters": draw(st.integers(0, min(size, 30))),
            "seeding": draw(st.sampled_from(["random", "hubs"])),
        },
        "learning": learning,
        "data": data,
        "reinvestment": {
            "rate": draw(st.floats(0, 1)),
            "retrain_every": draw(st.integers(1, 8)),
            "latency": draw(st.integers(0, 10)),
            "data_half_life": draw(st.sampled_from([None, 5.0, 104.0])),
            # cohorts: a test or a canary serves a candidate to some users
            "deployment": draw(st.sampled_from([
                None, {"policy": "ab_test", "traffic_pct": draw(st.integers(1, 99)),
                       "duration": draw(st.integers(1, 4)), "alpha": 0.2},
                {"policy": "shadow", "duration": draw(st.integers(1, 4))},
                {"policy": "canary", "ramp": draw(st.sampled_from([[5, 25, 50, 100], [60, 100]])),
                 "step_duration": draw(st.integers(1, 3)), "alpha": 0.2},
            ])),
        },
        "churn": {
            "base_rate": draw(st.floats(0, 0.5)),
            "sensitivity": draw(st.floats(0, 10)),
            "lock_in": draw(st.floats(0, 1)),
            "rejoin_rate": draw(st.floats(0, 0.5)),
            "retention": retention,
        },
    }  # fmt: skip


@settings(
    max_examples=int(os.environ.get("FLYWHEEL_ENGINE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(raw=scenarios())
def test_random_valid_scenarios_give_identical_timeseries(raw):
    assert_engines_agree(load_scenario(raw))


def test_auto_picks_the_array_engine_for_large_populations():
    assert resolve_engine("auto", AUTO_ARRAY_FROM - 1) == "agent"
    assert resolve_engine("auto", AUTO_ARRAY_FROM) == "array"
    assert resolve_engine("agent", 10**6) == "agent"
    model = FlywheelModel(load_scenario({"population": {"size": 300, "groups": [
        {"name": "all", "share": 1.0}]}}), engine="array")  # fmt: skip
    assert model.engine == "array" and len(model.agents) == 0

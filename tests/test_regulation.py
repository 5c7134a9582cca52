"""Regulatory intervention verbs (delete, fine, incident): hand-computed effects, the
summary's figures, validation with exit 2 and the key named, and runs that are unchanged
until the verb's step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simulator import load_scenario, run
from simulator.cli import app
from simulator.firm.datastore import DataStore
from simulator.firm.learners.curve import CurveLearner
from simulator.regulation import TrustShock
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"population": {"size": 400}, "steps": 40, "adoption": {"innovation": 0.02}}
MONEY = {"price": 1.0, "cost_per_user": 0.1}


def problems_of(raw) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    return str(info.value)


# -- delete: the data store ------------------------------------------------------------


def test_erasing_a_share_of_every_source_scales_every_count():
    store = DataStore(2, initial_examples=100)
    store.age_and_add(_kept(np.array([40, 10]), np.array([4, 2])), np.array([40, 10]),
                      np.array([4, 2]))  # fmt: skip
    store.add("open", np.array([50.0, 50.0]), np.array([5.0, 5.0]))
    erased = store.erase(np.array([1.0, 0.25]))
    # group 1 held 100 curated + 10 users + 50 open = 160; 75% of it goes
    np.testing.assert_allclose(store.examples, [190.0, 40.0])
    np.testing.assert_allclose(erased, [0.0, 120.0])
    np.testing.assert_allclose(store.wrong_examples, [9.0, 0.25 * 7.0])
    np.testing.assert_allclose(store.shared, [50.0, 12.5])
    np.testing.assert_allclose(store.by_source["users"], [40.0, 2.5])
    np.testing.assert_allclose(store.by_source["curated"], [100.0, 25.0])


def test_erasing_one_source_removes_its_examples_from_the_totals():
    store = DataStore(2, initial_examples=100)
    store.age_and_add(_kept(np.array([40, 10]), np.array([4, 2])), np.array([40, 10]),
                      np.array([4, 2]))  # fmt: skip
    store.erase(np.array([0.5, 0.0]), source="users")
    np.testing.assert_allclose(store.by_source["users"], [20.0, 0.0])
    np.testing.assert_allclose(store.by_source["curated"], [100.0, 100.0])  # untouched
    np.testing.assert_allclose(store.examples, [120.0, 100.0])
    np.testing.assert_allclose(store.wrong_examples, [2.0, 0.0])  # half of 4; all of 2
    np.testing.assert_allclose(store.collected, [20.0, 0.0])  # the curated set is not collected


def _kept(clean, wrong):
    from simulator.firm.pipeline import Labelled

    return Labelled(clean=clean - wrong, wrong=wrong)


# -- delete: a run -----------------------------------------------------------------------


def test_erasure_retrains_at_once_on_what_remains_and_the_run_is_unchanged_before():
    base = SMALL | {"reinvestment": {"retrain_every": 1, "latency": 0}}
    plain = run(load_scenario(base), seed=5)
    erased = run(
        load_scenario(
            base
            | {
                "interventions": [
                    {"at": 20, "delete": {"share": 0.5, "source": "users", "group": "minority"}}
                ]
            }
        ),
        seed=5,
    )
    a, b = plain.timeseries, erased.timeseries
    assert a.iloc[:20].equals(b.iloc[:20])  # no draw moved before the erasure
    # Step 20: the pipeline adds the step's data after the erasure, then the firm retrains
    # (retrain_every 1); recompute that model by hand from the store's counts.
    firm = erased.model.firm
    assert b.loc[20, "quality[minority]"] < a.loc[20, "quality[minority]"]
    learner = CurveLearner.from_scenario(erased.scenario.learning)
    final = learner.quality_for(firm.store.examples, firm.store.wrong_examples)
    np.testing.assert_allclose(firm.deployed.quality, final)


def test_erasure_with_retrain_drops_quality_at_the_step_and_the_summary_measures_it():
    base = SMALL | {"steps": 60, "reinvestment": {"retrain_every": 4, "latency": 1}}
    result = run(load_scenario(base | {"interventions": [{"at": 30, "delete": {"share": 0.9}}]}),
                 seed=2)  # fmt: skip
    ts = result.timeseries
    erasure = result.summary["regulation"]["erasures"][0]
    assert erasure["quality_before"] == ts.loc[29, "quality"]
    assert erasure["quality_after"] == ts.loc[30, "quality"]
    assert erasure["drop"] == pytest.approx(ts.loc[29, "quality"] - ts.loc[30, "quality"])
    assert erasure["drop"] > 0.01
    # step 30 is not on the cadence (30 % 4 != 0): the drop comes from the erasure itself
    store = result.model.firm.store
    assert ts.loc[30, "training_examples"] < 0.2 * ts.loc[29, "training_examples"] + 1e3
    recovered = erasure["recovered_at"]
    if recovered is not None:
        assert ts.loc[recovered, "quality"] >= erasure["quality_before"]
        assert (ts.loc[30 : recovered - 1, "quality"] < erasure["quality_before"]).all()
    assert store.examples.sum() > 0


def test_erasure_without_retrain_keeps_the_deployed_model():
    base = SMALL | {"reinvestment": {"retrain_every": 4, "latency": 1}}
    plain = run(load_scenario(base), seed=2)
    kept = run(
        load_scenario(
            base | {"interventions": [{"at": 21, "delete": {"share": 0.9, "retrain": False}}]}
        ),
        seed=2,
    )
    assert kept.timeseries.loc[21, "quality"] == plain.timeseries.loc[21, "quality"]
    assert (
        kept.timeseries.loc[21, "training_examples"] < plain.timeseries.loc[21, "training_examples"]
    )


# -- fine --------------------------------------------------------------------------------


def test_a_fine_is_a_cost_of_its_step_only():
    base = SMALL | {"economics": MONEY}
    plain = run(load_scenario(base), seed=1).timeseries
    fined = run(load_scenario(base | {"interventions": [{"at": 15, "fine": {"amount": 250.0}}]}),
                seed=1).timeseries  # fmt: skip
    assert fined.loc[15, "costs"] == pytest.approx(plain.loc[15, "costs"] + 250.0)
    assert fined.loc[16, "costs"] == plain.loc[16, "costs"]
    np.testing.assert_allclose(fined["cumulative_profit"].iloc[15:],
                               plain["cumulative_profit"].iloc[15:] - 250.0)  # fmt: skip
    assert fined.drop(columns=["costs", "profit", "cumulative_profit"], errors="ignore").equals(
        plain.drop(columns=["costs", "profit", "cumulative_profit"], errors="ignore")
    )


# -- incident ----------------------------------------------------------------------------


def test_trust_shock_arithmetic():
    a = TrustShock(10, 18, 3.0, -0.5)
    b = TrustShock(12, 14, 2.0, 0.4)
    assert TrustShock.combined([a, b], 9) is None
    both = TrustShock.combined([a, b], 12)
    assert both.churn_multiplier == 6.0 and both.word_of_mouth == -0.5
    assert both.imitation(0.3) == 0.0 and both.warning(0.3) == pytest.approx(0.15)
    only_b = TrustShock.combined([b], 13)
    assert only_b.imitation(0.3) == pytest.approx(0.12) and only_b.warning(0.3) == 0.0
    assert TrustShock.combined([a, b], 18) is None  # end is exclusive


def test_retention_parameters_during_an_incident():
    from simulator.mechanisms.retention import Retention

    scenario = load_scenario(SMALL)
    view = _View(scenario, TrustShock(0, 8, 3.0, -0.5))
    params = Retention().prepare(view)
    assert params.base_rate == pytest.approx(3.0 * scenario.churn.base_rate)
    assert params.warning == pytest.approx(0.5 * scenario.adoption.imitation)
    calm = Retention().prepare(_View(scenario, None))
    assert calm.base_rate == scenario.churn.base_rate and calm.warning == 0.0


class _View:
    def __init__(self, scenario, trust):
        self.scenario, self.trust = scenario, trust
        self.quality, self.risk, self.reference_quality = np.array([0.6, 0.5]), None, 0.5
        self.market = self.cohorts = None


def test_an_incident_raises_churn_for_its_duration_then_ends():
    base = SMALL | {"steps": 50, "adoption": {"innovation": 0.05}}
    plain = run(load_scenario(base), seed=4)
    hit = run(load_scenario(base | {"interventions": [
        {"at": 25, "incident": {"duration": 6, "churn_multiplier": 4.0, "word_of_mouth": -1}}]}),
        seed=4)  # fmt: skip
    a, b = plain.timeseries, hit.timeseries
    assert a.iloc[:25].equals(b.iloc[:25])
    assert b.loc[25:30, "churns"].sum() > 3 * max(a.loc[25:30, "churns"].sum(), 1)
    assert b.loc[25:30, "organic_adoptions"].sum() == 0  # nobody recommends it
    incident = hit.summary["regulation"]["incidents"][0]
    assert incident["churn_ratio"] > 3
    assert hit.summary["regulation"]["churn_ratio"] == incident["churn_ratio"]


@pytest.mark.parametrize("engine", ["agent", "array"])
def test_incident_and_erasure_on_both_engines(engine):
    raw = SMALL | {"interventions": [
        {"at": 10, "incident": {"duration": 5}},
        {"at": 20, "delete": {"share": 0.5, "group": "majority"}}]}  # fmt: skip
    other = "array" if engine == "agent" else "agent"
    a = run(load_scenario(raw), seed=9, engine=engine).timeseries.to_csv(index=False)
    b = run(load_scenario(raw), seed=9, engine=other).timeseries.to_csv(index=False)
    assert a == b


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        ({"delete": {"group": "nobody"}}, "interventions.0.delete.group: no group 'nobody'"),
        ({"delete": {"firm": "acme"}}, "interventions.0.delete.firm: no firm 'acme'"),
        ({"delete": {"share": 0}}, "interventions.0.delete.share: must be in (0, 1]"),
        ({"delete": {"source": "web"}}, "interventions.0.delete.source: must be one of"),
        ({"fine": {"amount": 10}}, "interventions.0.fine: needs economics"),
        ({"fine": {"amount": -1}}, "interventions.0.fine.amount: must be > 0"),
        ({"incident": {"word_of_mouth": -2}}, "interventions.0.incident.word_of_mouth: must be"),
        (
            {"incident": {"churn_multiplier": 0.5}},
            "interventions.0.incident.churn_multiplier: must be >= 1",
        ),
        ({}, "interventions.0.set: an intervention needs set, delete, fine, incident or forbid"),
    ],
)
def test_bad_verbs_are_named(verb, expected):
    assert expected in problems_of(SMALL | {"interventions": [{"at": 3, **verb}]})


def test_delete_needs_the_learning_curve():
    raw = SMALL | {"learning": {"kind": "estimator", "estimator": "mean"},
                   "interventions": [{"at": 3, "delete": {"share": 0.5}}]}  # fmt: skip
    assert "interventions.0.delete: is available for the learning curve" in problems_of(raw)


def test_bad_verb_exits_2_from_the_command_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(SMALL | {"interventions": [
        {"at": 3, "fine": {"amount": 5}}]}))  # fmt: skip
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "interventions.0.fine: needs economics" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_unused_verbs_leave_the_dump_as_before():
    scenario = load_scenario(SMALL | {"interventions": [{"at": 3, "set": {"churn.lock_in": 0.2}}]})
    assert scenario.to_dict()["interventions"] == [{"at": 3, "set": {"churn.lock_in": 0.2}}]
    again = load_scenario(SMALL | {"interventions": [{"at": 3, "delete": {"share": 0.5}}]})
    assert load_scenario(yaml.safe_load(again.to_yaml())) == again


def test_the_scenarios_show_the_drop_and_the_spike():
    small = {"population.size": 1500}
    gdpr = run(load_scenario(ROOT / "scenarios/gdpr_erasure.yaml", overrides=small), seed=42)
    erasure = gdpr.summary["regulation"]["erasures"][0]
    assert erasure["drop"] > 0.005 and erasure["recovery_steps"] is not None
    incident = run(load_scenario(ROOT / "scenarios/privacy_incident.yaml", overrides=small),
                   seed=42).summary["regulation"]  # fmt: skip
    assert incident["churn_ratio"] > 2 and incident["fines"] == 20000.0


# -- privacy (differential privacy; the validation is tests/validation/test_privacy.py) ------


@pytest.mark.parametrize(
    ("privacy", "expected"),
    [
        ({"epsilon": 0}, "privacy.epsilon: must be > 0; got 0"),
        ({"epsilon": -1.0}, "privacy.epsilon: must be > 0; got -1.0"),
        ({"epsilon": 1.0, "delta": 1}, "privacy.delta: must be in (0, 1); got 1"),
        ({"delta": 1e-5}, "privacy.epsilon: is required"),
        ({"epsilon": 1.0, "clip": 0}, "privacy.clip: must be > 0"),
    ],
)
def test_bad_privacy_keys_are_named(privacy, expected):
    assert expected in problems_of(SMALL | {"privacy": privacy})


def test_privacy_needs_a_mean_estimator():
    raw = SMALL | {"privacy": {"epsilon": 1.0},
                   "learning": {"kind": "estimator", "estimator": "median"}}  # fmt: skip
    assert "privacy: needs the mean or gaussian estimator" in problems_of(raw)


def test_epsilon_zero_exits_2_from_the_command_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(SMALL | {"privacy": {"epsilon": 0.0}}))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "privacy.epsilon: must be > 0" in result.output


def test_privacy_costs_the_learning_curve_quality_and_leaves_users_draws_alone():
    base = SMALL | {"reinvestment": {"retrain_every": 1, "latency": 0, "ab_test": False}}
    plain = run(load_scenario(base), seed=3).timeseries
    private = run(load_scenario(base | {"privacy": {"epsilon": 0.5}}), seed=3).timeseries
    assert private.loc[1, "quality"] < plain.loc[1, "quality"]  # same data, less effective
    assert private["quality"].iloc[-1] < plain["quality"].iloc[-1]
    assert private.loc[0, "active_users"] == plain.loc[0, "active_users"]


@pytest.mark.parametrize("learning", [{}, {"kind": "estimator", "estimator": "mean",
                                           "initial_examples": 5}])  # fmt: skip
def test_private_runs_agree_on_both_engines(learning):
    raw = SMALL | {"privacy": {"epsilon": 0.5}, "learning": learning}
    a = run(load_scenario(raw), seed=8, engine="agent").timeseries.to_csv(index=False)
    b = run(load_scenario(raw), seed=8, engine="array").timeseries.to_csv(index=False)
    assert a == b

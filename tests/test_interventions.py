"""Interventions do what they say: every key an intervention may set changes the run from
that step on, and every other key is refused as structural.

The keys are derived from the schema, so a new key without a case here fails
``test_every_settable_key_has_a_case``: the list cannot drift.
"""

from __future__ import annotations

import pandas as pd
import pytest

from simulator import load_scenario, run
from simulator.scenario import ScenarioError
from simulator.scenario.keys import generic, is_structural, leaf_keys

AT = 10
CURVE = {
    "steps": 25, "population": {"size": 300}, "adoption": {"innovation": 0.02},
    "reinvestment": {"retrain_every": 1, "latency": 0, "ab_test": False},
    "churn": {"base_rate": 0.05},
}  # fmt: skip
ESTIMATOR = {
    "steps": 25,
    "population": {"size": 300, "groups": [
        {"name": "majority", "share": 0.8, "data_mean": -0.3},
        {"name": "minority", "share": 0.2, "data_mean": 0.3}]},
    "adoption": {"innovation": 0.02},
    "learning": {"kind": "estimator", "estimator": "median", "initial_examples": 10},
    "reinvestment": {"retrain_every": 1, "latency": 0, "ab_test": False},
    "churn": {"base_rate": 0.05},
}  # fmt: skip
DRO = ESTIMATOR | {"learning": ESTIMATOR["learning"] | {"objective": "group_dro"}}
ARRIVALS = ESTIMATOR | {
    "population": {"size": 300, "groups": [
        {"name": "majority", "share": 0.8, "data_mean": -0.3, "arrivals": 4},
        {"name": "minority", "share": 0.2, "data_mean": 0.3, "arrivals": 1}]},
    "adoption": {"rule": "arrivals"},
}  # fmt: skip
ARRIVALS_TOTAL = ESTIMATOR | {"adoption": {"rule": "arrivals", "arrivals": 5}}
MARKET = CURVE | {
    "firms": [{"name": "incumbent"}, {"name": "entrant", "initial_adopters": 10}],
    "choice": {"reconsider_rate": 0.2},
}  # fmt: skip
MONEY = {"price": 1.0, "cost_per_user": 0.1, "cost_per_retrain": 20.0, "cost_per_example": 0.01,
         "fixed_cost": 5.0}  # fmt: skip
COLD = CURVE | {
    "economics": MONEY,
    "cold_start": {
        "curation": {"users": 100, "service_quality": 0.9, "cost_per_example": 0.5},
        "synthetic": {"examples": 1000, "at": 20},
        "open_data": {"examples": 20000, "at": 20},
        "acquisition": {"examples": 5000, "at": 20, "price": 100.0},
        "lighthouse": {"users": 60, "at": 20, "leaves_at": 23, "examples": 2000},
        "free_tier": {"enabled": True, "revenue_per_user": 0.1},
    },
}  # fmt: skip
CURATING = COLD | {"cold_start": {"curation": {"users": 100000, "service_quality": 0.9,
                                               "cost_per_example": 0.5}}}  # fmt: skip
THRESHOLD = CURVE | {"adoption": {"rule": "threshold", "threshold": 0.5, "innovation": 0.01}}
GATED = CURVE | {"reinvestment": {"retrain_every": 1, "latency": 0, "ab_test": True}}
TESTED = CURVE | {"reinvestment": {"retrain_every": 1, "latency": 0, "deployment": {
    "policy": "ab_test", "traffic_pct": 20, "duration": 2, "alpha": 0.2}}}  # fmt: skip
PREFERENCE = CURVE | {"learning": {"kind": "preference", "pair_share": 0.5}}
SIGNALS = CURVE | {"data": {"signals": [{"name": "sig", "kind": "thumbs", "rate": 0.3}]}}
DWELL = CURVE | {"data": {"signals": [{"name": "sig", "kind": "dwell"}]}}
TOP_K = CURVE | {"data": {"top_k": 1000}}
CANARIED = CURVE | {"reinvestment": {"retrain_every": 1, "latency": 0, "deployment": {
    "policy": "canary", "step_duration": 2, "alpha": 0.2}}}  # fmt: skip

# generic key -> (base scenario, new value, step of the intervention)
CASES = {
    "population.groups.*.activity": (CURVE, 9.0, AT),
    "population.groups.*.label_noise": (CURVE, 0.6, AT),
    "population.groups.*.data_mean": (ESTIMATOR, 2.0, AT),
    "population.groups.*.data_spread": (ESTIMATOR, 3.0, AT),
    "population.groups.*.arrivals": (ARRIVALS, 0, AT),
    "adoption.rule": (CURVE, "threshold", AT),
    "adoption.innovation": (CURVE, 0.3, AT),
    "adoption.imitation": (CURVE, 3.0, AT),
    "adoption.threshold": (THRESHOLD, 0.05, AT),
    "adoption.quality_sensitivity": (CURVE, 0.0, AT),
    "data.feedback_rate": (CURVE, 1.0, AT),
    "data.filter_recall": (CURVE, 0.1, AT),
    "data.filter_false_accept": (CURVE, 1.0, AT),
    "data.synthetic_share": (ESTIMATOR, 0.5, AT),
    "data.policy": (ESTIMATOR, "replace", AT),
    "data.batch_size": (ESTIMATOR, 3, AT),
    "data.signals.*.kind": (SIGNALS, "dwell", AT),
    "data.signals.*.rate": (SIGNALS, 0.9, AT),
    "data.signals.*.noise": (SIGNALS, 0.6, AT),
    "data.signals.*.weight": (SIGNALS, 4.0, AT),
    "data.signals.*.threshold": (DWELL, 90.0, AT),
    "data.signals.*.good_median": (DWELL, 20.0, AT),
    "data.signals.*.bad_median": (DWELL, 50.0, AT),
    "data.signals.*.spread": (DWELL, 3.0, AT),
    "data.top_k": (TOP_K, 5, AT),
    "learning.estimator": (ESTIMATOR, "mean", AT),
    "learning.objective": (ESTIMATOR, "group_dro", AT),
    "learning.alpha_min": (DRO, 0.9, AT),
    "learning.initial_error": (CURVE, 0.9, AT),
    "learning.floor_error": (CURVE, 0.3, AT),
    "learning.exponent": (CURVE, 1.0, AT),
    "learning.scale": (CURVE, 20.0, AT),
    "learning.transfer": (CURVE, 0.0, AT),
    "learning.noise_penalty": (CURVE, 3.0, AT),
    "reinvestment.rate": (CURVE, 0.0, AT),
    "reinvestment.retrain_every": (CURVE, 7, AT),
    "reinvestment.latency": (CURVE, 5, AT),
    "reinvestment.data_half_life": (CURVE, 0.5, AT),
    "reinvestment.ab_test": (GATED, False, 1),  # the first noisy models are worse: they ship
    "reinvestment.deployment.policy": (TESTED, "always", AT),
    "reinvestment.deployment.traffic_pct": (TESTED, 90, AT),
    "reinvestment.deployment.duration": (TESTED, 5, AT),
    "reinvestment.deployment.alpha": (TESTED, 0.01, AT),
    "reinvestment.deployment.canary_pct": (CANARIED, 40, AT),
    "reinvestment.deployment.ramp": (CANARIED, [60, 100], AT),
    "reinvestment.deployment.step_duration": (CANARIED, 5, AT),
    "churn.base_rate": (CURVE, 0.5, AT),
    "churn.sensitivity": (CURVE, 0.0, AT),
    "churn.satisfaction_rate": (CURVE, 1.0, AT),
    "churn.lock_in": (CURVE, 1.0, AT),
    "churn.lock_in_time": (CURVE, 1.0, AT),
    "churn.rejoin_rate": (CURVE, 5.0, AT),
    "churn.retention": (ESTIMATOR, "risk", AT),
    "market.baseline.start": (CURVE, 0.1, AT),
    "market.baseline.ceiling": (CURVE, 1.0, AT),
    "market.baseline.time_constant": (CURVE, 2.0, AT),
    "market.regulatory_barrier": (CURVE, True, AT),  # an audit input: read at the end
    "adoption.arrivals": (ARRIVALS_TOTAL, 0, AT),
    "choice.rule": (MARKET, "best", AT),
    "choice.quality_weight": (MARKET, 20.0, AT),
    "choice.local_network_effect": (MARKET, 3.0, AT),
    "choice.global_network_effect": (MARKET, 0.05, AT),
    "choice.preferences": (MARKET, {"minority": {"entrant": 2.0}}, AT),
    "choice.reconsider_rate": (MARKET, 2.0, AT),
    "choice.switching_cost": (MARKET | {"choice": {"reconsider_rate": 1.0}}, 5.0, AT),
    "choice.price_weight": (MARKET | {"economics": MONEY}, 3.0, AT),
    "cold_start.curation.users": (COLD, 100000, AT),
    "cold_start.curation.service_quality": (CURATING, 0.2, AT),
    "cold_start.curation.cost_per_example": (CURATING, 2.0, AT),
    "cold_start.synthetic.examples": (COLD, 9000, AT),
    "cold_start.synthetic.weight": (COLD, 1.0, AT),
    "cold_start.synthetic.at": (COLD, 15, AT),
    "cold_start.open_data.examples": (COLD, 90000, AT),
    "cold_start.open_data.relevance": (COLD, {"minority": 1.0}, AT),
    "cold_start.open_data.default_relevance": (COLD, 1.0, AT),
    "cold_start.open_data.label_noise": (COLD, 0.6, AT),
    "cold_start.open_data.at": (COLD, 15, AT),
    "cold_start.acquisition.examples": (COLD, 30000, AT),
    "cold_start.acquisition.group": (COLD, "minority", AT),
    "cold_start.acquisition.at": (COLD, 15, AT),
    "cold_start.acquisition.price": (COLD, 999.0, AT),
    "cold_start.acquisition.label_noise": (COLD, 0.7, AT),
    "cold_start.acquisition.exclusive": (COLD, True, AT),  # an audit input: read at the end
    "cold_start.lighthouse.users": (COLD, 200, AT),
    "cold_start.lighthouse.group": (COLD, "minority", AT),
    "cold_start.lighthouse.at": (COLD, 15, AT),
    "cold_start.lighthouse.leaves_at": (COLD, None, AT),
    "cold_start.lighthouse.examples": (COLD, 9000, AT),
    "cold_start.lighthouse.label_noise": (COLD, 0.8, AT),
    "cold_start.lighthouse.discount": (COLD, 0.9, AT),
    "cold_start.free_tier.enabled": (COLD, False, AT),
    "cold_start.free_tier.attraction": (COLD, 3.0, AT),
    "cold_start.free_tier.revenue_per_user": (COLD, 0.9, AT),
    "cold_start.free_tier.conversion_rate": (COLD, 1.0, AT),
    "economics.price": (COLD, 2.0, AT),
    "economics.cost_per_user": (COLD, 0.5, AT),
    "economics.cost_per_retrain": (COLD, 99.0, AT),
    "economics.cost_per_example": (COLD, 0.2, AT),
    "economics.fixed_cost": (COLD, 50.0, AT),
    "population.groups.*.taste_angle": (PREFERENCE, 90.0, AT),  # re-scored at once
    "learning.pair_share": (PREFERENCE, 0.0, AT),
    "learning.beta": (PREFERENCE, 5.0, AT),
    "learning.ridge": (PREFERENCE, 1000.0, AT),
    "learning.max_pairs": (PREFERENCE, 10, AT),
}
# A firm's own data, learning and reinvestment keys: the same change, made to one firm of
# a two-firm market built on the same base.
END_OF_RUN = {"market.regulatory_barrier", "cold_start.acquisition.exclusive"}
"""Keys whose only effect is on the end-of-run audit (summary.json), not the timeseries."""
FIRM_LEVEL = ("data", "learning", "reinvestment", "cold_start", "economics")
for _key in [k for k in list(CASES) if k.split(".")[0] in FIRM_LEVEL]:
    _base, _value, _at = CASES[_key]
    _market = _base | {"firms": MARKET["firms"], "choice": MARKET["choice"]}
    CASES[f"firms.*.{_key}"] = (_market, _value, _at)
    if _key in END_OF_RUN:
        END_OF_RUN.add(f"firms.*.{_key}")
    if _key.startswith("data.signals."):  # the firm's own list of signals
        _own = [dict(firm, data=_base["data"]) for firm in MARKET["firms"]]
        CASES[f"firms.*.{_key}"] = (_market | {"firms": _own}, _value, _at)
# The canary keys, for a firm whose own deployment section is a canary (a firm's
# deployment section replaces the scenario's whole).
for _key in ("canary_pct", "ramp", "step_duration"):
    _base, _value, _at = CASES[f"reinvestment.deployment.{_key}"]
    _firms = [MARKET["firms"][0], MARKET["firms"][1] | {"reinvestment": _base["reinvestment"]}]
    CASES[f"firms.*.reinvestment.deployment.{_key}"] = (
        _base | {"firms": _firms, "choice": MARKET["choice"]}, _value, _at)  # fmt: skip


def settable_keys() -> list[str]:
    return [key for key in leaf_keys() if not is_structural(key)]


def test_every_settable_key_has_a_case():
    assert sorted(settable_keys()) == sorted(CASES)


def _concrete(key: str) -> str:
    if key.startswith("population.groups."):
        return key.replace("*", "minority")
    key = key.replace("signals.*", "signals.sig")
    return key.replace("*", "entrant") if key.startswith("firms.") else key


@pytest.mark.parametrize("key", sorted(CASES))
def test_an_intervention_changes_the_run_from_its_step(key):
    base, value, at = CASES[key]
    scenario = load_scenario(base)
    changed = scenario.with_overrides(
        {"interventions": [{"at": at, "set": {_concrete(key): value}}]}
    )
    before, after = run(scenario), run(changed)
    if generic(key) in END_OF_RUN or key in END_OF_RUN:
        assert before.summary["defensibility"] != after.summary["defensibility"]
        return
    rows = before.timeseries.columns
    earlier = before.timeseries.loc[: at - 1]
    pd.testing.assert_frame_equal(earlier, after.timeseries.loc[: at - 1][rows])
    differs = before.timeseries.loc[at:].compare(after.timeseries.loc[at:][rows])
    assert not differs.empty, f"{key} = {value!r} from step {at} changed nothing"


FIRMS = {"firms": [
    {"name": f, "initial_adopters": 10, "learning": {"kind": "curve", "initial_examples": 0}}
    for f in ("incumbent", "entrant")]}  # fmt: skip


@pytest.mark.parametrize("key", [key for key in leaf_keys() if is_structural(key)])
def test_structural_keys_are_refused_by_name(key):
    base = FIRMS if key.startswith("firms.") else {}
    if "data.signals." in key:  # a list empty by default: a scenario with one signal
        base = SIGNALS if base == {} else {"firms": [
            dict(firm, data=SIGNALS["data"]) for firm in FIRMS["firms"]]}  # fmt: skip
    if key.startswith("privacy."):  # an optional section: refused when it is set (federated:
        base = {"privacy": {"epsilon": 1.0, "federated": True}}  # every privacy key is dumped)
    value = load_scenario(base).to_dict()
    path = generic(key).replace("signals.*", "signals.0")
    for part in path.replace("*", "1" if "firms" in base else "0").split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    with pytest.raises(ScenarioError) as info:
        load_scenario(base | {"interventions": [{"at": 3, "set": {_concrete(key): value}}]})
    assert f"interventions.0.set.{_concrete(key)}: is structural" in str(info.value)

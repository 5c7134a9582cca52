"""Cold-start tactics and economics do what a strategist expects (issue 11).

One test per tactic, on small markets with fixed seeds (a few replicates where chance
matters), then the accounts checked by hand and the new scenario files on both engines.
Tolerances are stated where a check is not exact: most are, because a tactic's data is a
deterministic block (``simulator/firm/tactics.py``: counts are rounded, never drawn).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario, run

ROOT = Path(__file__).resolve().parents[1]

SLOW_START = {
    "steps": 60,
    "population": {"size": 800},
    "adoption": {"innovation": 0.003, "imitation": 0.25, "quality_sensitivity": 6.0},
    "learning": {"scale": 60000},
    "market": {"baseline": {"start": 0.55, "ceiling": 0.8, "time_constant": 520}},
}  # fmt: skip
"""The slow cold start of scenarios/cold_start_tactics.yaml, small: a specialised product
(scale 60,000) against a free open model already better than a model with no data."""

SEEDS = (1, 2, 3)


def scenario(base: dict | None = None, **changes):
    """``base`` (default: :data:`SLOW_START`) changed by dotted keys."""
    return load_scenario(dict(SLOW_START if base is None else base), overrides=changes)


def steps_of(ts, column, value):
    return ts.loc[ts[column] == value, "step"].tolist()


# -- acquisition -----------------------------------------------------------------------------


def test_bought_data_shortens_the_time_to_takeoff_and_arrives_at_the_purchase_step():
    """Buying 40,000 examples at week 8 starts the flywheel earlier than waiting for users,
    on every seed (waiting does not take off within 60 weeks at all: None counts as never).
    The purchase shows in training_examples[bought] exactly at week 8, in full, and its
    price is booked as a cost that week."""
    for seed in SEEDS:
        bought = scenario(**{"cold_start.acquisition": {"examples": 40000, "at": 8,
                                                        "price": 5000.0},
                             "economics": {"price": 1.0}})  # fmt: skip
        wait = scenario(**{"economics": {"price": 1.0}})
        buy_run, wait_run = run(bought, seed=seed), run(wait, seed=seed)
        buy_step = buy_run.summary["takeoff_step"]
        wait_step = wait_run.summary["takeoff_step"]
        assert buy_step is not None
        assert buy_step < (math.inf if wait_step is None else wait_step), seed
        ts = buy_run.timeseries
        held = ts["training_examples[bought]"]
        assert (held[ts.step < 8] == 0).all()
        assert held[ts.step == 8].item() == 40000.0  # exact: added fresh at the end of week 8
        assert (held[ts.step > 8] < 40000.0).all()  # then it ages (half-life 104 weeks)
        # the price is a cost of week 8 only (costs are otherwise 0 here)
        assert ts.loc[ts.step == 8, "costs"].item() == 5000.0
        assert (ts.loc[ts.step != 8, "costs"] == 0).all()


# -- open data -------------------------------------------------------------------------------


def two_firms(**changes):
    base = dict(SLOW_START) | {
        "steps": 40,
        "firms": [{"name": "a", "initial_adopters": 10}, {"name": "b", "initial_adopters": 10}],
        "choice": {"quality_weight": 6.0},
    }  # fmt: skip
    return scenario(base, **changes)


OPEN = {"examples": 100000, "default_relevance": 0.5, "label_noise": 0.1, "at": 0}


def test_open_data_lifts_every_firm_equally():
    """Two identical firms both using the same open pool: each holds the same open
    examples, so at week 0 (before any user data) both gain exactly the same quality.
    Later their users' data differ by chance; the gains from open data stay equal to
    within 0.01 of quality at week 40 (measured: under 0.003 on these seeds)."""
    for seed in SEEDS:
        with_open = run(two_firms(**{"cold_start.open_data": OPEN}), seed=seed).timeseries
        without = run(two_firms(), seed=seed).timeseries
        gain = {f: with_open[f"quality[{f}]"] - without[f"quality[{f}]"] for f in "ab"}
        assert gain["a"].iloc[0] == gain["b"].iloc[0] > 0.03
        assert abs(gain["a"].iloc[-1] - gain["b"].iloc[-1]) < 0.01, seed
        assert gain["a"].iloc[-1] > 0 and gain["b"].iloc[-1] > 0
        # each firm holds the whole relevant pool: 2 groups x 50,000, times 2 firms
        assert with_open["training_examples[open]"].iloc[0] == 2 * 2 * 50000.0


def exclusivity(result) -> float:
    return result.summary["defensibility"]["items"]["data_exclusivity"]["input"]


def test_data_exclusivity_is_below_one_with_open_or_non_exclusive_bought_data():
    """The audit's data_exclusivity (summary defensibility.items.data_exclusivity.input) is
    the share of the first firm's training data no rival holds: 1 when all of it is its
    own (users' data, curated, a lighthouse's history, synthetic, an exclusive purchase),
    below 1 with open data or a dataset bought non-exclusively."""
    small = dict(SLOW_START) | {"steps": 20}
    cases = {
        "own": ({}, 1.0),
        "exclusive purchase": ({"cold_start.acquisition": {"examples": 20000, "at": 5,
                                                           "exclusive": True}}, 1.0),
        "lighthouse": ({"cold_start.lighthouse": {"users": 50, "examples": 5000, "at": 2}}, 1.0),
        "synthetic": ({"cold_start.synthetic": {"examples": 5000}}, 1.0),
        "open": ({"cold_start.open_data": OPEN}, None),
        "purchase": ({"cold_start.acquisition": {"examples": 20000, "at": 5}}, None),
    }  # fmt: skip
    for name, (changes, expected) in cases.items():
        value = exclusivity(run(scenario(small, **changes), seed=1))
        if expected is None:
            assert 0 < value < 1, name
        else:
            assert value == expected, name
    # two firms both on open data: the first firm's exclusivity falls as well
    assert exclusivity(run(two_firms(**{"cold_start.open_data": OPEN, "steps": 20}), seed=1)) < 1


# -- lighthouse customer -----------------------------------------------------------------------


LIGHTHOUSE = {"users": 150, "group": "majority", "at": 4, "leaves_at": 30,
              "examples": 10000, "discount": 0.5}  # fmt: skip


def test_a_lighthouse_brings_its_users_and_history_and_takes_its_freshness_when_it_leaves():
    """The customer's 150 users join together at week 4 with its 10,000-example history;
    at week 30 every one of them still on the product leaves. While they stay, their
    feedback is booked under the lighthouse source, so its data keeps being refreshed
    (mean age below the weeks since it arrived, and growing); once they leave nothing new
    arrives: with no data half-life the held examples stay as they are and their mean
    age grows by exactly one week per week. A customer that stays keeps it younger."""
    from simulator.model import FlywheelModel

    sc = scenario(**{"cold_start.lighthouse": LIGHTHOUSE, "steps": 40,
                     "reinvestment.data_half_life": None})  # fmt: skip
    model = FlywheelModel(sc.with_overrides({"seed": 5}))
    for _ in range(29):
        model.step()
    staying = model.lighthouse_active(0)
    assert 0 < staying <= 150
    churned = model.counts[2].sum()
    model.step()  # week 30: the customer leaves
    assert model.lighthouse_active(0) == 0
    assert model.counts[2].sum() - churned >= staying  # they churned (others may too)
    ts = run(sc, seed=5).timeseries
    jump = ts.active_users.diff()
    assert jump[ts.step == 4].item() >= 150  # the block joins at once (plus ordinary adopters)
    # its history arrives whole, plus its users' first week of feedback (part of the week's)
    week = ts.set_index("step")
    fresh = week.loc[4, "training_examples"] - week.loc[3, "training_examples"] - 10000.0
    assert 0 < week.loc[4, "training_examples[lighthouse]"] - 10000.0 <= fresh + 1e-9
    assert ts["data_age[lighthouse]"][ts.step < 4].isna().all()
    age, held = (
        ts.set_index("step")["data_age[lighthouse]"],
        ts.set_index("step")["training_examples[lighthouse]"],
    )
    staying_weeks = range(6, 30)
    assert all(age[t] < t - 4 for t in staying_weeks)  # fresh feedback lowers the mean age
    assert held[29] > held[5] > 10000.0
    gone = range(31, 40)
    np.testing.assert_allclose(held[list(gone)], held[30], rtol=1e-12)  # nothing new
    np.testing.assert_allclose(np.diff(age[list(gone)]), 1.0, atol=1e-9)  # one week per week
    stays = run(sc.with_overrides({"cold_start.lighthouse.leaves_at": None}), seed=5).timeseries
    assert stays["data_age[lighthouse]"].iloc[-1] < age[39]
    drop = ts.active_users.diff()[ts.step == 30].item()
    assert drop <= -staying + 40  # tolerance: at most 40 ordinary adoptions that week


def test_a_lighthouse_discount_lowers_only_its_users_revenue():
    """Revenue = price x (paying users - discount x lighthouse users still active): the same
    run at full price earns exactly 0.5 x price more per lighthouse user and week while the
    customer is there, and the same after it has left."""
    money = {"economics": {"price": 1.0}}
    half = run(scenario(**{"cold_start.lighthouse": LIGHTHOUSE} | money), seed=2)
    full = run(scenario(**{"cold_start.lighthouse": LIGHTHOUSE | {"discount": 0.0}} | money),
               seed=2)  # fmt: skip
    # the discount changes no dynamics (users ignore prices: choice.price_weight 0)
    assert half.timeseries.active_users.equals(full.timeseries.active_users)
    lost = full.timeseries.revenue - half.timeseries.revenue
    steps = half.timeseries.step
    assert (lost[(steps >= 4) & (steps < 30)] > 0).all()
    assert (lost[(steps < 4) | (steps >= 30)] == 0).all()
    assert (lost <= 0.5 * 150 + 1e-9).all()


# -- hand-curation -----------------------------------------------------------------------------


def test_curation_serves_the_first_users_by_hand_with_clean_examples_at_a_cost():
    """While the firm has had at most 200 users, every interaction is a clean curated
    example (nothing from the pipeline, no label noise), each costing 0.5; the users get
    the hand-served quality 0.8, so they adopt faster than with the bare cold-start model
    (quality 0.5 against the open model's 0.55)."""
    curation = {"users": 200, "service_quality": 0.8, "cost_per_example": 0.5}
    sc = scenario(**{"cold_start.curation": curation, "economics": {"price": 0.0},
                     "reinvestment.data_half_life": None, "steps": 40})  # fmt: skip
    from simulator.model import FlywheelModel

    model = FlywheelModel(sc.with_overrides({"seed": 1}))
    model.step()
    firm = model.firms[0]
    assert firm.curating and (firm.quality == 0.8).all()  # what the hand-served users get
    assert (firm.deployed.quality == 0.5).all()  # the model itself has learnt nothing yet
    for seed in SEEDS:
        ts = run(sc, seed=seed).timeseries
        served = ts.active_users + ts.churned_users  # users it has had so far, at most
        curating = ts[(served <= 200) & (ts.step >= 1)]
        assert len(curating) >= 3, seed
        assert (curating["training_examples[users]"] == 0).all()
        assert (curating["noise_share"] == 0).all()
        # each hand-served interaction is one curated example, at 0.5 each
        np.testing.assert_allclose(curating["training_examples[curated]"].diff().dropna(),
                                   curating.interactions.iloc[1:], rtol=1e-12)  # fmt: skip
        np.testing.assert_allclose(curating.costs, 0.5 * curating.interactions, rtol=1e-12)
        plain = run(scenario(steps=40), seed=seed).timeseries
        week = curating.step.iloc[-1]
        assert ts.active_users[week] > plain.active_users[week], seed


# -- synthetic data ----------------------------------------------------------------------------


def test_synthetic_examples_appear_at_their_step_with_their_weight():
    """The learning curve counts each synthetic example as ``weight`` real ones: 3,000 per
    group at weight 0.3 show as 900 per group (2 groups: 1,800), exactly at week 6."""
    sc = scenario(**{"cold_start.synthetic": {"examples": 3000, "weight": 0.3, "at": 6},
                     "reinvestment.data_half_life": None, "steps": 12})  # fmt: skip
    ts = run(sc, seed=1).timeseries
    held = ts["training_examples[synthetic]"]
    assert (held[ts.step < 6] == 0).all()
    assert (held[ts.step >= 6] == 1800.0).all()
    assert ts.loc[ts.step == 6, "training_examples"].item() - ts.loc[
        ts.step == 5, "training_examples"
    ].item() == pytest.approx(1800.0 + ts.loc[ts.step == 6, "new_examples"].item())


def test_synthetic_points_from_the_cold_start_model_train_an_estimators_first_model():
    """An estimator learner gets the synthetic examples as points sampled from its
    cold-start model (the standard normal), in its first training set at week 0."""
    base = {"steps": 3, "population": {"size": 200, "groups": [{"name": "all", "share": 1.0}]},
            "learning": {"kind": "estimator", "estimator": "gaussian"}}  # fmt: skip
    ts = run(scenario(base, **{"cold_start.synthetic": {"examples": 500}}), seed=1).timeseries
    assert ts.synthetic_examples.iloc[0] == 500
    assert ts.training_set.iloc[0] == 500
    # a fit to 500 draws of N(0, 1): spread within 0.1 of 1 (5 standard errors)
    assert abs(ts.model_spread.iloc[0] - 1.0) < 0.1


# -- free tier -------------------------------------------------------------------------------


def test_a_free_tier_brings_more_users_and_data_at_less_revenue_per_user():
    """New users start free (attraction 1.0, revenue 0.1 per week against the price of 1.0)
    and convert at 5 % a week: free users exist, each step's revenue is exactly
    price x paying + 0.1 x free, and the free tier has more users and more data after
    half a year than no free tier, on every seed."""
    tier = {"enabled": True, "attraction": 1.0, "revenue_per_user": 0.1,
            "conversion_rate": 0.05}  # fmt: skip
    money = {"economics": {"price": 1.0}, "steps": 26}
    for seed in SEEDS:
        free = run(scenario(**{"cold_start.free_tier": tier} | money), seed=seed).timeseries
        paid = run(scenario(**money), seed=seed).timeseries
        assert (free.free_users > 0).all() and (paid.free_users == 0).all()
        assert (free.free_users <= free.active_users).all()
        paying = free.active_users - free.free_users
        np.testing.assert_allclose(free.revenue[1:], (paying + 0.1 * free.free_users)[1:],
                                   rtol=1e-12)  # fmt: skip
        per_user = free.revenue[1:] / free.active_users[1:]
        assert (per_user < 1.0).all()  # below the paid tier's revenue per user
        assert paying.iloc[-1] > 0  # some have converted
        assert free.active_users.iloc[-1] > paid.active_users.iloc[-1], seed
        assert free.training_examples.iloc[-1] > paid.training_examples.iloc[-1], seed


# -- economics -------------------------------------------------------------------------------


def test_cumulative_profit_is_the_running_sum_of_revenue_minus_costs_by_hand():
    """Every step's accounts recomputed from the timeseries (no free tier, no lighthouse):
    revenue = price x dt x active users; costs = cost_per_user x dt x active users +
    cost_per_retrain on retrain steps (every 4th) + cost_per_example x the users' new
    examples + fixed_cost x dt; profit = revenue - costs; cumulative profit their running
    sum. Exact to 1e-9 (float rounding of the running sum)."""
    money = {"price": 2.0, "cost_per_user": 0.3, "cost_per_retrain": 40.0,
             "cost_per_example": 0.02, "fixed_cost": 10.0}  # fmt: skip
    sc = scenario(**{"economics": money, "steps": 20, "dt": 0.5})
    ts = run(sc, seed=4).timeseries
    active, dt = ts.active_users, 0.5
    retrained = (ts.step % 4 == 0) & (ts.step > 0)
    revenue = 2.0 * dt * active
    costs = 0.3 * dt * active + 40.0 * retrained + 0.02 * ts.new_examples + 10.0 * dt
    later = ts.step > 0
    np.testing.assert_allclose(ts.revenue[later], revenue[later], rtol=1e-12)
    np.testing.assert_allclose(ts.costs[later], costs[later], rtol=1e-12)
    np.testing.assert_allclose(ts.profit, ts.revenue - ts.costs, atol=1e-9)
    np.testing.assert_allclose(ts.cumulative_profit, ts.profit.cumsum(), atol=1e-9)
    economics = run(sc, seed=4).summary["economics"]
    assert economics["cumulative_profit"] == pytest.approx(ts.cumulative_profit.iloc[-1])


# -- the scenario files on both engines ------------------------------------------------------------


NEW_SCENARIOS = ["buy_or_wait", "open_data_leveller", "lighthouse", "free_tier",
                 "synthetic_data_only", "data_is_a_moat"]  # fmt: skip


@pytest.mark.parametrize("name", NEW_SCENARIOS)
def test_both_engines_give_the_same_timeseries_on_each_cold_start_scenario(name):
    """The golden tests' size (400 users), 60 steps (the entrant enters at 52, the
    lighthouse leaves at 52): the agent and array engines agree to the last digit."""
    path = ROOT / "scenarios" / f"{name}.yaml"
    overrides = {"population.size": 400, "steps": 60}
    agent = run(path, seed=3, engine="agent", overrides=overrides).timeseries
    array = run(path, seed=3, engine="array", overrides=overrides).timeseries
    assert agent.to_csv() == array.to_csv()


def test_a_dataset_bought_at_week_0_is_paid_for():
    """The price is booked with the first step's accounts, whatever the purchase week."""
    costs = {}
    for at in (0, 1):
        sc = scenario(**{"cold_start.acquisition": {"examples": 1000, "at": at, "price": 5000},
                         "economics": {"price": 1.0}, "steps": 3})  # fmt: skip
        costs[at] = run(sc, seed=2).timeseries.set_index("step")["costs"]
    assert costs[0][1] == pytest.approx(5000.0)  # no other cost is set
    assert costs[1][1] == pytest.approx(5000.0)
    assert costs[0][[2, 3]].sum() == costs[1][[2, 3]].sum() == 0.0


def test_a_lighthouse_without_users_brings_nothing():
    """No customer (users: 0), no history: its examples count only with its users."""
    sc = scenario(**{"cold_start.lighthouse": {"users": 0, "at": 2, "examples": 5000},
                     "steps": 6})  # fmt: skip
    ts = run(sc, seed=1).timeseries
    column = "training_examples[lighthouse]"
    assert column not in ts or (ts[column] == 0).all()
    plain = run(scenario(steps=6), seed=1).timeseries
    assert ts["training_examples"].tolist() == plain["training_examples"].tolist()


@pytest.mark.parametrize("where", ["population.groups.0.name", "firms"])
def test_groups_and_firms_may_not_take_a_data_sources_name(where):
    from simulator.scenario import ScenarioError

    firms = {"firms": [{"name": "open"}, {"name": "b"}]}
    change = firms if where == "firms" else {where: "bought"}
    with pytest.raises(ScenarioError, match="is the name of a data source"):
        scenario(**change)

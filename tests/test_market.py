"""A market of firms: the monopoly limit, entry, choice, switching and the market metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario, run

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "validation").glob("*.yaml")
)
SINGLE = [path for path in SCENARIOS if not load_scenario(path).firms]
"""The single-company scenarios (the monopoly limit compares each with its one-firm market)."""


@pytest.mark.parametrize("engine", ["agent", "array"])
@pytest.mark.parametrize("path", SINGLE, ids=lambda p: p.stem)
def test_a_monopoly_reproduces_the_single_company_model(path, engine):
    """One firm and no rivals, run through the market machinery (products per user, per-firm
    interactions, choice), gives the single-company run bit for bit on every column they
    share; the market's own columns say it holds the whole market."""
    overrides = {"population.size": 300, "steps": 60, "engine": engine}
    single = run(load_scenario(path, overrides=overrides))
    monopoly = run(load_scenario(path, overrides=overrides | {"firms": [{"name": "solo"}]}))
    shared = list(single.timeseries.columns)
    assert monopoly.timeseries[shared].to_csv() == single.timeseries.to_csv()
    ts = monopoly.timeseries
    np.testing.assert_array_equal(ts["active_users[solo]"], ts["active_users"])
    held = ts["active_users"] > 0
    assert (ts.loc[held, "market_share[solo]"] == 1.0).all()
    assert (ts.loc[held, "hhi"] == 1.0).all()
    np.testing.assert_allclose(ts["moat[solo]"], ts["moat"], atol=1e-12)


def market(**changes) -> dict:
    """A small two-firm market, changed by dotted keys."""
    base = {
        "steps": 60, "population": {"size": 1500},
        "firms": [{"name": "a", "initial_adopters": 10}, {"name": "b", "initial_adopters": 10}],
        "choice": {"quality_weight": 10.0},
    }  # fmt: skip
    return load_scenario(base, overrides=changes)


def test_an_entrant_is_not_chosen_before_it_enters_and_starts_with_its_first_users():
    scenario = market(**{"firms.b.enters_at": 30, "firms.b.initial_adopters": 25})
    ts = run(scenario).timeseries
    assert (ts.loc[:29, "active_users[b]"] == 0).all()
    assert ts.loc[30, "active_users[b]"] >= 25  # its launch users, plus any first adopters
    assert ts.loc[30, "active_users[b]"] - ts.loc[29, "active_users[b]"] >= 25


def test_each_firm_learns_only_from_its_own_users():
    """A firm whose product nobody uses collects nothing and keeps its cold-start model."""
    scenario = market(**{"firms.b.initial_adopters": 0, "adoption.innovation": 0.0})
    ts = run(scenario).timeseries
    assert (ts["active_users[b]"] == 0).all()  # no marketing, no users to spread it
    assert (ts["training_examples[b]"] == 0).all() and (ts["model_version[b]"] == 0).all()
    assert ts["training_examples[a]"].iloc[-1] > 1000
    assert ts["quality[a]"].iloc[-1] > ts["quality[b]"].iloc[-1]


def test_word_of_mouth_spreads_the_neighbours_product():
    """With no spontaneous adoption every adopter heard of a product from a neighbour on
    it: a product with no users is never adopted, however good."""
    scenario = market(**{
        "adoption.innovation": 0.0, "firms.b.initial_adopters": 0,
        "firms.b.learning.initial_error": 0.1,  # b's product is far better ...
    })  # fmt: skip
    ts = run(scenario).timeseries
    assert ts["active_users[a]"].iloc[-1] > 500 and (ts["active_users[b]"] == 0).all()
    assert ts["quality[b]"].iloc[-1] > ts["quality[a]"].iloc[-1]  # ... and nobody knows


@pytest.mark.parametrize("taste", [0.0, 1.0])
def test_logit_splits_new_users_in_proportion_to_attraction(taste):
    """Spontaneous adoption only, two products equal but for a taste ``d`` for b: each
    adopter picks b with probability exp(d) / (1 + exp(d)) (0.5; 0.731 at d = 1). With n
    adopters the share is within 4 binomial standard errors (p ~ 6e-5)."""
    scenario = market(**{
        "adoption.imitation": 0.0, "adoption.innovation": 0.05, "churn.base_rate": 0.0,
        "firms.a.initial_adopters": 0, "firms.b.initial_adopters": 0,
        "choice.preferences": {"majority": {"b": taste}, "minority": {"b": taste}},
        "reinvestment.rate": 0.0,  # equal cold-start qualities all along
    })  # fmt: skip
    last = run(scenario).timeseries.iloc[-1]
    n = last["active_users"]
    share = last["active_users[b]"] / n
    expected = np.exp(taste) / (1 + np.exp(taste))
    assert n > 1000
    assert abs(share - expected) < 4 * np.sqrt(expected * (1 - expected) / n), (share, expected)


def test_best_response_sends_every_new_user_to_the_better_product():
    scenario = market(**{
        "choice.rule": "best", "firms.a.initial_adopters": 0, "firms.b.initial_adopters": 0,
        "firms.b.learning.initial_error": 0.4, "reinvestment.rate": 0.0,
    })  # fmt: skip
    ts = run(scenario).timeseries
    assert (ts["active_users[a]"] == 0).all() and ts["active_users[b]"].iloc[-1] > 100


def test_switching_moves_users_to_the_better_firm_and_switching_costs_cut_switches():
    """A better entrant wins users from the incumbent by switching; a switching cost that
    builds up with tenure cuts how often users switch (either way: it also keeps the
    entrant's new users from drifting back)."""

    def switched(cost):
        scenario = market(**{
            "firms.b.enters_at": 20, "firms.b.learning.initial_error": 0.2,
            "choice.reconsider_rate": 0.2, "choice.switching_cost": cost,
            "churn.lock_in_time": 5.0,
        })  # fmt: skip
        return run(scenario)

    free, costly = switched(0.0), switched(3.0)
    assert free.summary["market"]["switches"] > 2 * costly.summary["market"]["switches"]
    assert free.summary["market"]["firms"]["b"]["market_share"] > 0.8


def test_a_strong_network_effect_tips_the_market():
    tipped = run(ROOT / "scenarios" / "winner_take_all.yaml", overrides={"population.size": 2000})
    shared = run(
        ROOT / "scenarios" / "winner_take_all.yaml",
        overrides={"population.size": 2000, "choice.local_network_effect": 0.0,
                   "choice.global_network_effect": 0.0},
    )  # fmt: skip
    assert tipped.summary["market"]["tipping_step"] is not None
    assert tipped.summary["market"]["hhi"] > 0.9
    assert shared.summary["market"]["hhi"] < tipped.summary["market"]["hhi"]


def test_a_market_run_draws_market_shares_and_the_quality_race(tmp_path):
    from simulator.reporting import plots

    result = run(market(**{"firms.b.enters_at": 20}))
    figures = plots.run_figures(result.timeseries, result.summary, result.scenario)
    assert {"market_shares", "quality_race"} <= set(figures)
    shares = figures["market_shares"].axes[0]
    stacked = [poly.get_paths()[0] for poly in shares.collections]  # one band per firm
    assert len(stacked) == 2
    assert any("b enters (week 20)" in text.get_text() for text in shares.texts)
    race = figures["quality_race"].axes
    labels = [line.get_label() for line in race[0].lines]
    assert {"a", "b", "free open model"} <= set(labels)
    single = run(load_scenario({"steps": 20, "population": {"size": 300}}))
    assert "market_shares" not in plots.run_figures(single.timeseries, single.summary)


def test_a_sweep_over_markets_tells_who_wins(tmp_path):
    from simulator.experiment import load_experiment, run_experiment
    from simulator.experiment.analysis import analyze

    sweep = {
        "sweep": {
            "name": "who", "seed": 3, "replicates": 2, "engine": "array",
            "overrides": {"population.size": 300, "steps": 40},
            "parameters": {"firms.b.enters_at": {"values": [1, 30]}},
            "outcomes": {"summary": ["market.winner", "final.market_share[b]"]},
        },
        "firms": [{"name": "a"}, {"name": "b", "learning": {"initial_error": 0.2}}],
        "choice": {"quality_weight": 10.0, "reconsider_rate": 0.2},
    }  # fmt: skip
    result = run_experiment(load_experiment(sweep), tmp_path / "who")
    out = analyze(result.path, outcome="market.winner", verbose=False)
    assert (tmp_path / "who" / "analysis" / "winners.png").exists()
    summary = out["summary"].set_index("firms.b.enters_at")
    assert summary.loc[1, "share[b]"] == 1.0  # early, the better product wins every run
    assert sorted(summary.index) == [1, 30] and (summary["n"] == 2).all()


def test_every_firm_s_pipeline_draws_on_from_step_to_step():
    """Each firm's data pipeline is one stream for the whole run: the second firm's stream
    is the same generator at every call, so each step draws on where the last stopped (it
    was once re-made from its seed at every call, and the firm drew the same numbers every
    week). The first firm's is the scenario's pipeline stream."""
    from simulator.model import FlywheelModel
    from simulator.world.streams import derive_streams

    streams = derive_streams(5)
    assert streams.firm_pipeline(0) is streams.pipeline
    assert streams.firm_pipeline(1) is streams.firm_pipeline(1)
    first = streams.firm_pipeline(1).random(3)
    assert not np.array_equal(first, streams.firm_pipeline(1).random(3))
    raw = {"population": {"size": 600}, "steps": 5, "firms": [{"name": "a"}, {"name": "b"}]}
    flywheel = FlywheelModel(load_scenario(raw))
    assert flywheel.firms[1].rng is flywheel.streams.firm_pipeline(1)

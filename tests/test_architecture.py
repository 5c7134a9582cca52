"""The worked example of docs/architecture.md: a user-side mechanism added as one room.

A win-back campaign brings churned users straight back to the product. Defined here,
outside the package and registered per model, it runs on both engines with identical
results and does what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import FlywheelModel, load_scenario
from simulator.mechanisms import USER_MECHANISMS, Decision, Members, Move, UserMechanism, fires
from simulator.mechanisms.states import CHURNED


@dataclass(frozen=True)
class WinBackParams:
    dt: float
    rate: float


class WinBack(UserMechanism):
    """A churned user returns to the product at hazard ``rate`` per week."""

    name = "winback"
    states = (CHURNED,)

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def prepare(self, view) -> WinBackParams | None:
        return WinBackParams(float(view.scenario.dt), self.rate) if self.rate > 0 else None

    def decide(self, user, params, draws) -> Move:
        won = fires(params.rate, params.dt, draws.clock[user.node])
        return Move.RETURN if won else Move.STAY

    def decide_all(self, users, members: Members, params, draws) -> Decision:
        index = members.index
        won = fires(params.rate, params.dt, draws.clock[index])
        return Decision(moves={Move.RETURN: index[won]})


SCENARIO = {"steps": 80, "population": {"size": 600}, "churn": {"base_rate": 0.08}}


def _run(engine: str, mechanisms=None):
    model = FlywheelModel(load_scenario(SCENARIO), engine=engine, mechanisms=mechanisms)
    model.run_for(SCENARIO["steps"])
    return model, model.datacollector.get_model_vars_dataframe()


def test_the_worked_example_runs_identically_on_both_engines_and_brings_users_back():
    mechanisms = (*USER_MECHANISMS, WinBack(0.3))
    _, agent = _run("agent", mechanisms)
    array_model, array = _run("array", mechanisms)
    assert agent.to_csv() == array.to_csv()
    _, without = _run("array")
    assert without["rejoins"].sum() == 0  # churn is final in this scenario
    returned = array["rejoins"].sum()
    assert returned > 50  # churned users came back ...
    assert array["churned_users"].iloc[-1] < without["churned_users"].iloc[-1]
    states = array_model.user_arrays()["state"]
    assert np.bincount(states, minlength=3)[1] == array["active_users"].iloc[-1]

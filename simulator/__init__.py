"""Flywheel: an agent-based simulator of AI data flywheels.

Public API::

    from simulator import load_scenario, run
    sc = load_scenario("scenarios/baseline.yaml", overrides={"population.size": 2000})
    result = run(sc, seed=7)
    result.timeseries, result.summary, result.model
"""

from ._version import __version__
from .errors import InputError
from .model import FlywheelModel
from .scenario import Scenario, ScenarioError, load_scenario
from .simulation import Result, run

__all__ = [
    "FlywheelModel",
    "InputError",
    "Result",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run",
]

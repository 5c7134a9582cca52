"""Flywheel: an agent-based simulator of AI data flywheels.

Public API::

    from simulator import load_scenario, run
    sc = load_scenario("scenarios/baseline.yaml", overrides={"population.size": 2000})
    result = run(sc, seed=7)
    result.timeseries, result.summary, result.model
"""

__version__ = "0.1.0"

from .errors import InputError  # noqa: E402
from .model import FlywheelModel  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario  # noqa: E402
from .simulation import Result, run  # noqa: E402

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

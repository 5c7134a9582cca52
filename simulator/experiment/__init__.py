"""Experiments: sweeps of a scenario over a design, run anywhere, stored as tidy tables.

Separate steps, each usable alone (as in SALib and EMA Workbench):

- *what is varied*: :func:`load_experiment` reads and validates a sweep file into an
  :class:`Experiment` (base scenario, design points, seeded runs) — ``spec``, ``design``;
- *running*: :func:`run_experiment` hands the runs to an executor (serial, local
  processes, Dask) and stores each as it finishes; rerunning resumes — ``runner``,
  ``executors``, ``store``;
- *analysis*: ``simulator.experiment.analysis`` reads the results folder;
- *tournaments*: :func:`load_tournament` and :func:`run_tournament` play strategy
  bundles in market situations (one sweep per situation) and judge a decision table.

Example::

    from simulator.experiment import load_experiment, run_experiment
    sweep = load_experiment("scenarios/sweeps/reinvestment_x_density.yaml")
    result = run_experiment(sweep, "results/rxd", workers=2)   # or dask="local"
    result.runs()            # one row per run: ids, seed, parameters, outcomes
    rerun("results/rxd", 7)  # repeat run 7 alone: same outcomes
"""

from .design import Design, RunSpec
from .executors import SerialExecutor, open_executor
from .loader import Experiment, load_experiment
from .runner import SweepResult, execute_run, rerun, rerun_command, run_experiment
from .spec import SweepError, SweepSpec
from .tournament import Tournament, TournamentError, load_tournament, run_tournament

__all__ = [
    "Design",
    "Experiment",
    "RunSpec",
    "SerialExecutor",
    "SweepError",
    "SweepResult",
    "SweepSpec",
    "Tournament",
    "TournamentError",
    "execute_run",
    "load_experiment",
    "load_tournament",
    "open_executor",
    "rerun",
    "rerun_command",
    "run_experiment",
    "run_tournament",
]

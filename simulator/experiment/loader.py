"""Loading a sweep: the file, its base scenario, its design, and every check.

:func:`load_experiment` reads a sweep file (or a scenario file with a ``sweep:`` block),
validates the block against :mod:`~simulator.experiment.spec`, loads the base scenario
and applies the sweep's overrides, builds the design and checks, before anything runs:
every parameter key (unknown keys with a "did you mean"), every design point as a
complete scenario, and every outcome name (by a one-step dry run of the base). All
problems are reported at once, with the file and line, in the scenario's words.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from simulator._version import __version__
from simulator.scenario import (
    Problem,
    Scenario,
    ScenarioError,
    did_you_mean,
    key_annotation,
    key_problem,
    line_of,
    load_scenario,
    read_yaml_file,
    validation_problems,
)

from .design import SAMPLED_KINDS, Design, RunSpec, grid_design, plan_runs, sampled_design
from .spec import ID_COLUMNS, SweepError, SweepSpec

__all__ = ["Experiment", "load_experiment", "summary_value"]

# Summary fields that measure the machine, not the market: never the same twice.
WALL_CLOCK = ("runtime_s", "agent_steps_per_s")
MAX_REPORTED_POINTS = 20


@dataclass(frozen=True)
class Experiment:
    """A validated sweep: the spec, its base scenario, its design and its runs.

    Build one with :func:`load_experiment`; run it with
    :func:`simulator.experiment.run_experiment`.
    """

    spec: SweepSpec
    scenario: Scenario
    """The base scenario with the sweep's ``overrides`` and ``engine`` applied."""
    design: Design
    source: str | None = None
    """The sweep file, if loaded from one."""

    @property
    def name(self) -> str:
        return self.spec.name or "sweep"

    @property
    def outcomes(self) -> list[str]:
        return list(self.spec.outcomes.summary)

    @property
    def replicates(self) -> int:
        return self.spec.replicates

    @property
    def n_runs(self) -> int:
        return self.design.n_points * self.spec.replicates

    @cached_property
    def runs(self) -> list[RunSpec]:
        """Every run, in ``run_id`` order, with its point, replicate, seed and values."""
        return plan_runs(self.design, self.spec.replicates, self.spec.seed)

    def to_dict(self) -> dict[str, Any]:
        """The resolved sweep block (defaults filled in) as plain data."""
        resolved = self.spec.model_dump(mode="json")
        resolved["name"] = self.name
        resolved["parameters"] = {
            key: spec.model_dump(mode="json", exclude_none=True)
            for key, spec in self.spec.parameters.items()
        }
        return resolved

    @cached_property
    def hash(self) -> str:
        """SHA-256 of what determines the results: the resolved sweep (without its scenario
        path, name and description), the resolved base scenario and the package version."""
        experiment = self.to_dict() | {"scenario": None, "name": None, "description": None}
        content = {
            "experiment": experiment,
            "scenario": self.scenario.to_dict(),
            "package_version": __version__,
        }
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def run_scenario(self, run_id: int) -> tuple[Scenario, int]:
        """The scenario and seed of run ``run_id``: what ``flywheel run`` needs to repeat it."""
        run = self.runs[run_id]
        return self.scenario.with_overrides(expand(run.values, self.spec.variants)), run.seed

    def rerun(self, run_id: int):
        """Run ``run_id`` again, alone, in this process; returns its :class:`~simulator.Result`."""
        from simulator.simulation import run

        scenario, seed = self.run_scenario(run_id)
        return run(scenario, seed=seed)


def read_block(
    source: str | os.PathLike | Mapping,
    key: str,
    hint: str,
    error: type[Exception],
    base_dir: str | os.PathLike | None = None,
) -> tuple[str | None, Mapping, dict, Path, Mapping]:
    """Read an experiment file (or mapping) and its top-level ``key:`` block.

    Returns ``(file, lines, data, folder, block)``: the file name (None for a mapping),
    the YAML line of each key, the whole parsed mapping, the folder relative paths are
    taken from (the file's, else ``base_dir`` or the current one) and the block.
    Raises ``error`` (a :class:`~simulator.scenario.loading.ProblemsError`) listing the
    file's YAML problems, or saying that the block is missing (``hint``: its keys)."""
    if isinstance(source, Mapping):
        file, lines, data = None, {}, copy.deepcopy(dict(source))
        folder = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        file = os.fspath(source)
        data, lines, problems = read_yaml_file(file)
        if data is None or problems:
            raise error(problems)
        folder = Path(file).resolve().parent
    block = data.get(key)
    if not isinstance(block, Mapping):
        got = "nothing" if block is None else f"a {type(block).__name__}"
        message = f"needs a `{key}:` mapping ({hint})"
        raise error([Problem(file, line_of((key,), lines), key, message, got)])
    return file, lines, data, folder, block


def load_experiment(
    source: str | os.PathLike | Mapping, base_dir: str | os.PathLike | None = None
) -> Experiment:
    """Load and validate a sweep from a YAML file or a mapping.

    Parameters
    ----------
    source : str, os.PathLike or Mapping
        A sweep file (``sweep:`` block naming a ``scenario:``), a scenario file with a
        ``sweep:`` block, or the same as an already parsed mapping.
    base_dir : path, optional
        For a mapping: the folder relative paths are taken from (default: the current one).

    Returns
    -------
    Experiment

    Raises
    ------
    SweepError
        Listing every problem of the sweep block and of the design points, with lines.
    ScenarioError
        If the base scenario file itself is invalid.
    """
    file, lines, data, folder, block = read_block(
        source, "sweep", "scenario:, design:, parameters:, ...", SweepError, base_dir
    )
    try:
        spec = SweepSpec.model_validate(block)
    except ValidationError as exc:
        raise SweepError(validation_problems(exc, SweepSpec, file, lines, ("sweep",))) from None
    if spec.name is None:
        default = re.sub(r"[^a-z0-9_-]+", "_", Path(file).stem.lower()) if file else "sweep"
        spec = spec.model_copy(update={"name": default})

    base = _load_base(spec, data, file, lines, folder)
    context = _Where(file, lines)
    scenario = _apply_overrides(base, spec, context)
    design = _make_design(spec, scenario, context)
    _check_points(scenario, design, context, spec.variants)
    _check_outcomes(scenario, spec, context)
    return Experiment(spec=spec, scenario=scenario, design=design, source=file)


@dataclass(frozen=True)
class _Where:
    file: str | None
    lines: Mapping[tuple, int]

    def problem(self, loc: tuple, message: str, value: str | None = None) -> Problem:
        key = ".".join(str(part) for part in loc)
        return Problem(self.file, line_of(loc, self.lines), key, message, value)


def _load_base(
    spec: SweepSpec, data: dict, file: str | None, lines: Mapping, folder: Path
) -> Scenario:
    """The base scenario: the file ``sweep.scenario`` names, or the rest of this file."""
    inline = {key: value for key, value in data.items() if key != "sweep"}
    where = _Where(file, lines)
    if spec.scenario is not None and inline:
        message = "a sweep that names a scenario file holds only the sweep block"
        raise SweepError(
            [where.problem((next(iter(inline)),), f"unexpected top-level key; {message}")]
        )
    if spec.scenario is None and not inline:
        message = "is required: the base scenario file (or put the sweep block inside a scenario)"
        raise SweepError([where.problem(("sweep", "scenario"), message)])
    if spec.scenario is not None:
        path = Path(spec.scenario).expanduser()
        return load_scenario(path if path.is_absolute() else folder / path)
    network = inline.get("network")
    if isinstance(network, dict) and isinstance(network.get("path"), str):
        path = Path(network["path"]).expanduser()
        network["path"] = str(path if path.is_absolute() else folder / path)
    try:
        return load_scenario(inline)
    except ScenarioError as exc:  # place the problems at their lines in this file
        raise ScenarioError(
            [
                Problem(
                    file,
                    line_of(_loc(problem.key), lines),
                    problem.key,
                    problem.message,
                    problem.value,
                )
                for problem in exc.problems
            ]
        ) from None


def _loc(key: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in key.split("."))


def _apply_overrides(base: Scenario, spec: SweepSpec, where: _Where) -> Scenario:
    try:
        return base.with_overrides({**spec.overrides, "engine": spec.engine})
    except ScenarioError as exc:
        problems = []
        for problem in exc.problems:
            key = next(
                (k for k in spec.overrides if problem.key == k or problem.key.startswith(k + ".")),
                None,
            )
            loc = ("sweep", "overrides", key) if key else ("sweep", "overrides")
            found = where.problem(loc, problem.message, problem.value)
            problems.append(
                Problem(found.file, found.line, problem.key, found.message, found.value)
            )
        raise SweepError(problems) from None


def _is_numeric(annotation: Any) -> bool:
    options = set(get_args(annotation)) or {annotation}
    return bool(options & {int, float}) and bool not in options


def _make_design(spec: SweepSpec, scenario: Scenario, where: _Where) -> Design:
    problems = []
    for key in spec.parameters:
        loc = ("sweep", "parameters", key)
        why = key_problem(key, scenario)
        if why is not None:
            problems.append(where.problem(loc, why))
        elif spec.design != "grid" and not _is_numeric(key_annotation(key)):
            message = (
                f"is not a number; design {spec.design} needs numeric keys (use a grid of values)"
            )
            problems.append(where.problem(loc, message))
    if problems:
        raise SweepError(problems)
    if spec.design == "grid":
        levels = {key: list(levels) for key, levels in spec.variants.items()}
        return grid_design(levels | {key: p.grid_values() for key, p in spec.parameters.items()})
    integer = {key for key in spec.parameters if key_annotation(key) is int}
    bounds = {key: (p.min, p.max) for key, p in spec.parameters.items()}
    assert spec.design in SAMPLED_KINDS and spec.samples is not None
    return sampled_design(
        spec.design,
        bounds,
        spec.samples,
        spec.seed,
        integer=integer,
        second_order=bool(spec.second_order),
        levels=spec.levels or 4,
    )


def expand(values: Mapping[str, Any], variants: Mapping[str, Mapping]) -> dict[str, Any]:
    """A design point's overrides: its parameter values, and for each variant dimension the
    overrides of the point's level (``tactic: bought`` -> ``{cold_start...: 5000}``)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in variants:
            out |= dict(variants[key][value])
        else:
            out[key] = value
    return out


def _check_points(scenario: Scenario, design: Design, where: _Where, variants=None) -> None:
    """Every design point must make a valid scenario; report all bad points at once."""
    problems, bad = [], 0
    for index, values in enumerate(design.points):
        try:
            scenario.with_overrides(expand(values, variants or {}))
        except ScenarioError as exc:
            bad += 1
            if len(problems) >= MAX_REPORTED_POINTS:
                continue
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            for problem in exc.problems:
                key = next((k for k in values if problem.key.startswith(k)), None)
                loc = ("sweep", "parameters", key) if key else ("sweep", "parameters")
                message = f"design point {index} ({shown}): {problem.key}: {problem.message}"
                problems.append(where.problem(loc, message, problem.value))
    if bad > MAX_REPORTED_POINTS:
        message = f"... {bad} of {design.n_points} design points are invalid in all"
        problems.append(where.problem(("sweep", "parameters"), message))
    if problems:
        raise SweepError(problems)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _flatten(item, f"{prefix}{key}.")
        return out
    return {prefix.rstrip("."): value}


def summary_value(summary: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in a run's summary (``final.moat``), None if absent."""
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _check_outcomes(scenario: Scenario, spec: SweepSpec, where: _Where) -> None:
    """Outcome names must be scalar summary values and timeseries columns: a short dry run
    of the base scenario shows which exist (one step, or until the last firm has entered:
    a firm must enter before the last step)."""
    from simulator.simulation import run

    entries = [scenario.entry_step(j) for j in range(len(scenario.firms))]
    probe = run(scenario, steps=1 + max([0, *entries]))
    leaves = _flatten(probe.summary)
    problems = []
    for index, name in enumerate(spec.outcomes.summary):
        loc = ("sweep", "outcomes", "summary", index)
        value = summary_value(probe.summary, name)
        if name in WALL_CLOCK:
            problems.append(
                where.problem(loc, "measures the machine, not the run; not an outcome", repr(name))
            )
        elif isinstance(value, Mapping):
            inside = [key for key in leaves if key.startswith(name + ".")]
            problems.append(
                where.problem(loc, f"is a group of values; pick one of {inside}", repr(name))
            )
        elif name not in leaves:
            candidates = [key for key in leaves if key not in WALL_CLOCK]
            problems.append(
                where.problem(
                    loc, "is not a summary value" + did_you_mean(name, candidates), repr(name)
                )
            )
    if spec.outcomes.timeseries is not None:
        columns = list(probe.timeseries.columns)
        for index, column in enumerate(spec.outcomes.timeseries.columns):
            loc = ("sweep", "outcomes", "timeseries", "columns", index)
            if column == "step":
                message = "is always kept; list only the other columns"
                problems.append(where.problem(loc, message, repr(column)))
            elif column not in columns:
                message = "is not a timeseries column" + did_you_mean(column, columns)
                problems.append(where.problem(loc, message, repr(column)))
    if len(set(spec.outcomes.summary)) != len(spec.outcomes.summary):
        problems.append(where.problem(("sweep", "outcomes", "summary"), "lists a name twice"))
    taken = set(ID_COLUMNS) | set(spec.parameters)
    for index, name in enumerate(spec.outcomes.summary):
        if name in taken:
            message = "is already a column of runs.parquet (run id or parameter)"
            problems.append(
                where.problem(("sweep", "outcomes", "summary", index), message, repr(name))
            )
    if problems:
        raise SweepError(problems)

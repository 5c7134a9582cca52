"""Sweep files: the schema of the ``sweep:`` block that describes an experiment.

A sweep is a base scenario plus a ``sweep:`` block, either in a file of its own that
names the scenario (``scenario: ../baseline.yaml``) or inside a scenario file::

    sweep:
      scenario: ../baseline.yaml          # relative to this file; omit inside a scenario
      name: reinvestment_x_density        # default: the file's name
      seed: 2026                          # root seed of the run seeds
      design: grid                        # grid | lhs | sobol | morris
      samples: 64                         # lhs: points; sobol: N (power of 2); morris: trajectories
      levels: 4                           # morris only: grid levels
      second_order: false                 # sobol only: also second-order indices (N(2D+2) runs)
      replicates: 3                       # runs per design point, each with its own seed
      engine: array                       # agent | array | auto (array: same results, faster)
      overrides: {population.size: 10000, steps: 104}   # fixed changes to the base scenario
      parameters:                         # dotted scenario keys (none: replicates only)
        reinvestment.retrain_every: {values: [1, 2, 4, 8, 13]}
        network.mean_degree: {first: 2, step: 2, last: 20}
        learning.transfer: {min: 0.0, max: 1.0}          # lhs / sobol / morris only
      variants:                           # grids only: named bundles of overrides, one
        tactic:                           # dimension each (a column of runs.parquet)
          none: {}
          bought: {cold_start.acquisition.examples: 5000}
      outcomes:
        summary: [final.moat, takeoff_step]               # dotted paths into summary.json
        timeseries: {every: 4, columns: [moat, active_users]}   # optional

The schema lives here; :mod:`simulator.experiment.loader` reads the file, loads the
base scenario, builds the design and checks it all before anything runs, with the
scenario rules: unknown keys (with a "did you mean"), types, ranges, every parameter
key, and every design point as a complete scenario. All problems are reported at once,
with the file and line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.scenario import raise_issues
from simulator.scenario.loading import ProblemsError

__all__ = [
    "ID_COLUMNS",
    "OutcomeSpec",
    "ParameterSpec",
    "SweepError",
    "SweepSpec",
    "TimeseriesOutcome",
]

Scalar = int | float | str | bool | None
Name = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
Number = int | float
MAX_GRID_LEVELS = 100_000
DEFAULT_OUTCOMES = ["final.moat", "final.active_users", "takeoff_step", "defensibility.score"]
ID_COLUMNS = ("run_id", "point", "replicate", "seed", "status", "error")


class _Block(BaseModel):
    # as strict as the scenario: `true` or "3" is not a number, unknown keys are errors
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class ParameterSpec(_Block):
    """How one parameter varies: a list of ``values``, a range ``first/step/last``
    (both for grids), or bounds ``min/max`` (for sampled designs)."""

    values: Annotated[list[Scalar], Field(min_length=1)] | None = None
    first: Number | None = None
    step: Number | None = None
    last: Number | None = None
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _check_form(self) -> ParameterSpec:
        given = {
            k
            for k in ("values", "first", "step", "last", "min", "max")
            if getattr(self, k) is not None
        }
        forms = [
            form
            for form, keys in (
                ("values", {"values"}),
                ("range", {"first", "step", "last"}),
                ("bounds", {"min", "max"}),
            )
            if given & keys
        ]
        if len(forms) != 1:
            got = "nothing" if not given else ", ".join(sorted(given))
            message = "give exactly one of: values: [...]; first/step/last; min/max"
            raise_issues([((), message, got)])
        issues: list[tuple[tuple, str, str | None]] = []
        if forms == ["range"]:
            missing = [k for k in ("first", "step", "last") if k not in given]
            issues += [((k,), "is required with first/step/last", None) for k in missing]
            if not missing:
                issues += self._check_range()
        elif forms == ["bounds"]:
            missing = [k for k in ("min", "max") if k not in given]
            issues += [((k,), "is required with min/max", None) for k in missing]
            if not missing and not self.min < self.max:
                issues.append((("max",), f"must be > min ({self.min:g})", repr(self.max)))
        elif len(set(map(repr, self.values))) != len(self.values):
            issues.append((("values",), "must not repeat a value", repr(self.values)))
        raise_issues(issues)
        return self

    def _check_range(self) -> list[tuple[tuple, str, str | None]]:
        if self.step == 0:
            return [(("step",), "must not be 0", "0")]
        count = (self.last - self.first) / self.step
        if count < -1e-9:
            message = f"must move from first ({self.first:g}) towards last ({self.last:g})"
            return [(("step",), message, repr(self.step))]
        if abs(count - round(count)) > 1e-9 * max(1.0, abs(count)):
            message = (
                f"must be first + a whole number of steps ({self.first:g} + k * {self.step:g})"
            )
            return [(("last",), message, repr(self.last))]
        if round(count) + 1 > MAX_GRID_LEVELS:
            return [(("step",), f"gives more than {MAX_GRID_LEVELS:,} values", repr(self.step))]
        return []

    @property
    def is_grid(self) -> bool:
        return self.min is None

    def grid_values(self) -> list[Any]:
        """The values of a list or a first/step/last range (floats kept to 12 digits)."""
        if self.values is not None:
            return list(self.values)
        count = round((self.last - self.first) / self.step) + 1
        if all(isinstance(v, int) for v in (self.first, self.step, self.last)):
            return [self.first + i * self.step for i in range(count)]
        # 0.1 + 2 * 0.1 is 0.30000000000000004: keep 12 significant digits
        return [float(f"{self.first + i * self.step:.12g}") for i in range(count)]


class TimeseriesOutcome(_Block):
    """Which timeseries columns to keep, at every ``every``-th step (0, every, 2 every, ...)."""

    every: Annotated[int, Field(ge=1)] = 1
    columns: Annotated[list[str], Field(min_length=1)]


class OutcomeSpec(_Block):
    """What each run keeps: summary values (one column each) and optionally timeseries."""

    summary: Annotated[list[str], Field(min_length=1)] = list(DEFAULT_OUTCOMES)
    timeseries: TimeseriesOutcome | None = None


class SweepSpec(_Block):
    """The ``sweep:`` block of an experiment file."""

    scenario: str | None = None
    name: Name | None = None
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    design: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    samples: Annotated[int, Field(ge=1)] | None = None
    levels: Annotated[int, Field(ge=2)] | None = None
    second_order: bool | None = None
    replicates: Annotated[int, Field(ge=1)] = 1
    engine: Literal["agent", "array", "auto"] = "array"
    overrides: dict[str, Any] = {}
    parameters: dict[str, ParameterSpec] = {}  # none: one point, replicates only (seed robustness)
    variants: dict[Name, dict[Name, dict[str, Any]]] = {}
    """Categorical dimensions of a grid: dimension -> level -> overrides (dotted keys), e.g.
    ``tactic: {none: {}, bought: {cold_start.acquisition.examples: 5000}}``."""
    outcomes: OutcomeSpec = OutcomeSpec()

    @model_validator(mode="after")
    def _check_design(self) -> SweepSpec:
        issues: list[tuple[tuple, str, str | None]] = []
        grid = self.design == "grid"
        for key, spec in self.parameters.items():
            if grid and not spec.is_grid:
                message = (
                    "design grid needs values: [...] or first/step/last "
                    "(min/max are for lhs, sobol, morris)"
                )
                issues.append((("parameters", key), message, None))
            elif not grid and spec.is_grid:
                message = (
                    f"design {self.design} samples between min and max; give min/max, not values"
                )
                issues.append((("parameters", key), message, None))
            if key in self.overrides:
                issues.append((("parameters", key), "is also fixed in overrides; keep one", None))
            if key.split(".")[0] == "seed":
                message = "cannot be swept: every run's seed is spawned from sweep.seed"
                issues.append((("parameters", key), message, None))
        for dimension, levels in self.variants.items():
            if not grid:
                message = "variants are levels of a grid; use design grid"
                issues.append((("variants", dimension), message, None))
            if not levels:
                issues.append((("variants", dimension), "needs at least one level", None))
            if dimension in self.parameters:
                issues.append((("variants", dimension), "is also a parameter; rename one", None))
            for level, overrides in levels.items():
                for key in overrides:
                    if key in self.overrides or key.split(".")[0] == "seed":
                        message = "is fixed in overrides (or a seed); a variant cannot set it"
                        issues.append((("variants", dimension, level, key), message, None))
        if "seed" in self.overrides:
            message = "cannot be fixed: every run's seed is spawned from sweep.seed"
            issues.append((("overrides", "seed"), message, None))
        if "engine" in self.overrides:
            issues.append((("overrides", "engine"), "set sweep.engine instead", None))
        if grid and self.samples is not None:
            issues.append(
                (("samples",), "is for lhs, sobol and morris; a grid runs every value", None)
            )
        if not grid and not self.parameters:
            issues.append((("parameters",), f"design {self.design} needs parameters to vary", None))
        if not grid and self.samples is None:
            issues.append((("samples",), f"is required for design {self.design}", None))
        if (
            self.design == "sobol"
            and self.samples is not None
            and self.samples & (self.samples - 1)
        ):
            message = (
                "must be a power of 2 for design sobol (Sobol' sequences balance at 2^k points)"
            )
            issues.append((("samples",), message, repr(self.samples)))
        if self.levels is not None and self.design != "morris":
            issues.append((("levels",), "is for design morris only", repr(self.levels)))
        if self.second_order is not None and self.design != "sobol":
            issues.append((("second_order",), "is for design sobol only", repr(self.second_order)))
        raise_issues(issues)
        return self


class SweepError(ProblemsError):
    """An invalid sweep; ``.problems`` lists every problem, ``str()`` shows them all."""

    kind = "sweep"

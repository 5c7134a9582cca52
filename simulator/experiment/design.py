"""What a sweep varies: design points (grid, LHS, Sobol, Morris) and the seeded run plan.

A design is a table of *points*: one value per swept parameter (a dotted scenario
key). Each point is run ``replicates`` times, and every run gets its own seed,
spawned from the sweep's one root seed with :class:`numpy.random.SeedSequence`::

    run_id = point * replicates + replicate
    seed   = SeedSequence(root).spawn(n_runs)[run_id] -> one uint32

Points keep the sampler's order (``point`` indexes the rows SALib's analyzers expect).
The sampler itself is seeded from ``SeedSequence([root, 1])``, a stream independent of
every run seed, so the same sweep file always gives the same design.

References
----------
McKay, Beckman & Conover (1979), Latin hypercube sampling (``scipy.stats.qmc``).
Saltelli et al. (2010), Sobol' indices from N(D+2) / N(2D+2) model runs (SALib ``sobol``).
Morris (1991), elementary effects on trajectories through a level grid (SALib ``morris``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Design", "RunSpec", "grid_design", "plan_runs", "run_seeds", "sampled_design"]

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris")
SAMPLED_KINDS = DESIGN_KINDS[1:]
_DESIGN_STREAM = 1  # SeedSequence([root, 1]) seeds the sampler; the runs use SeedSequence(root)


@dataclass(frozen=True)
class Design:
    """The design points of a sweep, in the sampler's order."""

    kind: str
    """``grid``, ``lhs``, ``sobol`` or ``morris``."""
    parameters: dict[str, dict[str, Any]]
    """Per dotted key: ``{"values": [...]}`` (grid) or ``{"min", "max", "integer"}``."""
    points: list[dict[str, Any]]
    """One mapping of dotted key -> value per point; integer keys hold rounded values."""
    matrix: np.ndarray | None = field(default=None, repr=False)
    """The sampler's raw output (points x parameters, before rounding); None for a grid."""
    samples: int | None = None
    """lhs: points; sobol: base samples N; morris: trajectories. None for a grid."""
    second_order: bool = False
    """sobol: the design also supports second-order indices (N(2D+2) points)."""
    levels: int | None = None
    """morris: the number of grid levels."""

    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def problem(self) -> dict[str, Any] | None:
        """The SALib problem (``num_vars``, ``names``, ``bounds``); None for a grid."""
        if self.kind == "grid":
            return None
        bounds = [[spec["min"], spec["max"]] for spec in self.parameters.values()]
        return {"num_vars": len(self.parameters), "names": self.names, "bounds": bounds}

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``design`` section (plain JSON types)."""
        return {
            "kind": self.kind,
            "parameters": self.parameters,
            "problem": self.problem,
            "n_points": self.n_points,
            "samples": self.samples,
            "second_order": self.second_order,
            "levels": self.levels,
        }


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: which point, which replicate, which seed."""

    run_id: int
    point: int
    replicate: int
    seed: int
    values: dict[str, Any]
    """The point's parameter values (dotted key -> value), the run's overrides."""


def grid_design(values: dict[str, list[Any]]) -> Design:
    """The full factorial grid; the first parameter varies slowest (``itertools.product``).

    Parameters
    ----------
    values : dict of dotted key -> list of values
        The levels of each parameter, in the order they are listed.
    """
    names = list(values)
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())]
    parameters = {name: {"values": list(levels)} for name, levels in values.items()}
    return Design(kind="grid", parameters=parameters, points=points)


def sampled_design(
    kind: str,
    bounds: dict[str, tuple[float, float]],
    samples: int,
    root_seed: int,
    integer: frozenset[str] | set[str] = frozenset(),
    second_order: bool = False,
    levels: int = 4,
) -> Design:
    """Sample points in the box ``bounds`` with an LHS, Sobol' or Morris design.

    Parameters
    ----------
    kind : {"lhs", "sobol", "morris"}
        ``lhs``: ``samples`` points (``scipy.stats.qmc.LatinHypercube``); ``sobol``: Saltelli's
        scheme on a scrambled Sobol' sequence, ``samples`` (N, a power of 2) x (D+2) points, or
        x (2D+2) with ``second_order`` (``SALib.sample.sobol``); ``morris``: ``samples``
        trajectories of D+1 points on a ``levels``-level grid (``SALib.sample.morris``).
    bounds : dict of dotted key -> (min, max)
    samples : int
    root_seed : int
        The sweep's root seed; the sampler draws from a stream derived from it.
    integer : set of dotted keys
        Integer scenario fields: their sampled values are rounded to the nearest integer.
    """
    names = list(bounds)
    problem = {"num_vars": len(names), "names": names, "bounds": [list(b) for b in bounds.values()]}
    sequence = np.random.SeedSequence([root_seed, _DESIGN_STREAM])
    seed = int(sequence.generate_state(1, dtype=np.uint32)[0])
    if kind == "lhs":
        from scipy.stats import qmc

        generator = np.random.default_rng(sequence)
        try:
            sampler = qmc.LatinHypercube(d=len(names), rng=generator)
        except TypeError:  # SciPy < 1.15 calls it seed; the same generator, the same points
            sampler = qmc.LatinHypercube(d=len(names), seed=generator)
        unit = sampler.random(samples)
        low, high = np.array(problem["bounds"], dtype=float).T
        matrix = low + unit * (high - low)
    elif kind == "sobol":
        from SALib.sample import sobol

        matrix = sobol.sample(problem, samples, calc_second_order=second_order, seed=seed)
    elif kind == "morris":
        from SALib.sample import morris

        matrix = morris.sample(problem, samples, num_levels=levels, seed=seed)
    else:
        raise ValueError(f"kind must be one of {SAMPLED_KINDS}; got {kind!r}")
    points = [
        {
            name: int(np.rint(value)) if name in integer else float(value)
            for name, value in zip(names, row, strict=True)
        }
        for row in matrix
    ]
    parameters = {
        name: {"min": low, "max": high, "integer": name in integer}
        for name, (low, high) in bounds.items()
    }
    return Design(
        kind=kind,
        parameters=parameters,
        points=points,
        matrix=np.asarray(matrix, dtype=float),
        samples=samples,
        second_order=second_order if kind == "sobol" else False,
        levels=levels if kind == "morris" else None,
    )


def run_seeds(root_seed: int, n_runs: int) -> list[int]:
    """The seeds of runs ``0 .. n_runs-1``: child ``i`` of ``SeedSequence(root_seed)``.

    Each seed is the first 32-bit word of the child's state, a valid scenario seed that
    ``flywheel run --seed`` accepts, so any run can be repeated on its own.
    """
    children = np.random.SeedSequence(root_seed).spawn(n_runs)
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def plan_runs(design: Design, replicates: int, root_seed: int) -> list[RunSpec]:
    """Every run of the sweep in ``run_id`` order: each point ``replicates`` times."""
    seeds = run_seeds(root_seed, design.n_points * replicates)
    return [
        RunSpec(
            run_id=(run_id := point * replicates + replicate),
            point=point,
            replicate=replicate,
            seed=seeds[run_id],
            values=dict(values),
        )
        for point, values in enumerate(design.points)
        for replicate in range(replicates)
    ]

"""Random streams, all derived from a scenario's one root seed.

``numpy.random.SeedSequence(seed).spawn`` gives independent child streams, so
adding draws to one stream (say, the graph builder) never shifts another (the
per-step draws). Both engines, every executor and every worker derive the same
streams from the same seed, which is what makes results byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Streams:
    """The independent random streams of one run."""

    graph: np.random.Generator
    """Builds the network."""
    population: np.random.Generator
    """Assigns groups and activity levels and picks the initial adopters."""
    steps: np.random.Generator
    """The users' per-step draws: adoption, churn and rejoin clocks, interactions."""
    pipeline: np.random.Generator
    """The data pipeline's draws (signals, label noise, filter, reinvestment).

    Separate from ``steps`` so that two scenarios differing only in the pipeline
    (feedback rate, noise, filter, reinvestment rate) give their users exactly the
    same draws: comparisons between them are paired (common random numbers)."""
    mesa_seed: int
    """Seed for Mesa's own ``model.rng`` / ``model.random`` (not used by the dynamics)."""


def derive_streams(seed: int) -> Streams:
    """Spawn the run's streams from its root ``seed`` (an int >= 0)."""
    graph, population, steps, mesa, pipeline = np.random.SeedSequence(seed).spawn(5)
    return Streams(
        graph=np.random.default_rng(graph),
        population=np.random.default_rng(population),
        steps=np.random.default_rng(steps),
        pipeline=np.random.default_rng(pipeline),
        mesa_seed=int(mesa.generate_state(1, dtype=np.uint32)[0]),
    )

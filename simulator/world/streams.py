"""Random streams, all derived from a scenario's one root seed.

``numpy.random.SeedSequence(seed).spawn`` gives independent child streams, so
adding draws to one stream (say, the graph builder) never shifts another (the
per-step draws). Both engines, every executor and every worker derive the same
streams from the same seed, which is what makes results byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    market: np.random.Generator
    """A market of several firms: which product a user picks, who reconsiders and what, who
    an entrant's first users are. A stream of its own (added after the first five), so
    that single-firm runs draw exactly what they always drew."""
    seed_sequence: np.random.SeedSequence
    """The root, for streams derived later (one data pipeline per extra firm)."""
    business: np.random.Generator | None = None
    """Cold-start tactics and economics: which free users convert to paid, which leave
    (a stream of its own, so runs without them draw exactly what they always drew)."""

    _firm_pipelines: dict[int, np.random.Generator] = field(
        default_factory=dict, repr=False, compare=False
    )
    """The pipeline streams of the firms after the first, made once each."""

    def firm_pipeline(self, index: int) -> np.random.Generator:
        """The data pipeline stream of firm ``index``: the first firm uses ``pipeline``;
        every other firm a stream of its own: child ``index`` of the market stream
        (spawn key ``(5, index)``), made at the first call and the same generator at every
        later one (so that each step draws on from where the last one stopped)."""
        if index == 0:
            return self.pipeline
        if index not in self._firm_pipelines:
            entropy = self.seed_sequence.entropy
            seed = np.random.SeedSequence(entropy, spawn_key=(5, index))
            self._firm_pipelines[index] = np.random.default_rng(seed)
        return self._firm_pipelines[index]

    def firm_child(self, kind: int, index: int) -> np.random.Generator:
        """A stream of firm ``index`` for a mechanism added after the first seven streams:
        spawn key ``(kind, index)`` of the root, never spawned by :func:`derive_streams`,
        so that runs without the mechanism draw exactly what they always drew. Kinds:
        :data:`PRIVACY_STREAM` (differential-privacy noise), :data:`DEPLOYMENT_STREAM` (A/B
        test outcomes), :data:`SIGNALS_STREAM` (the quality scores of the top-K
        selection), :data:`PREFERENCE_STREAM` (preference pairs and their features),
        :data:`FEDERATED_STREAM` (federated learning: client sampling, shuffles,
        DP-FedAvg noise)."""
        entropy = self.seed_sequence.entropy
        return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(kind, index)))


PRIVACY_STREAM = 7
DEPLOYMENT_STREAM = 8
SIGNALS_STREAM = 9
PREFERENCE_STREAM = 10
FEDERATED_STREAM = 12


def derive_streams(seed: int) -> Streams:
    """Spawn the run's streams from its root ``seed`` (an int >= 0)."""
    root = np.random.SeedSequence(seed)
    graph, population, steps, mesa, pipeline, market, business = root.spawn(7)
    return Streams(
        graph=np.random.default_rng(graph),
        population=np.random.default_rng(population),
        steps=np.random.default_rng(steps),
        pipeline=np.random.default_rng(pipeline),
        mesa_seed=int(mesa.generate_state(1, dtype=np.uint32)[0]),
        market=np.random.default_rng(market),
        seed_sequence=root,
        business=np.random.default_rng(business),
    )


def privacy_stream(scenario) -> int:
    """The stream kind of a firm's privacy draws: :data:`FEDERATED_STREAM` under
    ``privacy.federated`` (a new stream, so centralised private runs draw as before),
    else :data:`PRIVACY_STREAM`."""
    return FEDERATED_STREAM if scenario.privacy.federated else PRIVACY_STREAM

"""What every user sees in a step, and what the step's users did (tallies).

Both are model-level and engine-independent: the model fills a
:class:`StepEnvironment` from the start-of-step state, the users decide against
it, and their transitions are counted in a :class:`StepTally`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import rules


@dataclass(frozen=True)
class StepEnvironment:
    """Parameters and start-of-step model-level state for one step.

    Per-group values are Python lists (fast to index per agent; the same float64
    values the array engine uses).
    """

    dt: float
    rule: str
    innovation: float
    imitation: float
    threshold: float
    attractiveness: list[float]
    quality: list[float]
    reference_quality: float
    satisfaction_rate: float
    churn_base_rate: float
    churn_sensitivity: float
    lock_in: float
    lock_in_time: float
    rejoin_rate: float
    retention: str = "hazard"
    """``hazard``: the churn hazard; ``risk``: an active user leaves at hazard ``R_g``."""
    risk: list[float] | None = None
    """The deployed estimator's risk per group (estimator learners only)."""
    arrivals: list[int] | None = None
    """Users joining per group this step (``adoption.rule: arrivals`` only)."""

    @classmethod
    def build(
        cls, scenario, quality: np.ndarray, reference_quality: float, risk: np.ndarray | None = None
    ) -> StepEnvironment:
        adoption, churn = scenario.adoption, scenario.churn
        arrivals = None
        if adoption.rule == "arrivals":
            arrivals = [int(group.arrivals) for group in scenario.population.groups]
        attract = rules.attractiveness(quality, reference_quality, adoption.quality_sensitivity)
        return cls(
            dt=float(scenario.dt),
            rule=adoption.rule,
            innovation=float(adoption.innovation),
            imitation=float(adoption.imitation),
            threshold=float(adoption.threshold),
            attractiveness=np.asarray(attract, dtype=float).tolist(),
            quality=np.asarray(quality, dtype=float).tolist(),
            reference_quality=float(reference_quality),
            satisfaction_rate=float(churn.satisfaction_rate),
            churn_base_rate=float(churn.base_rate),
            churn_sensitivity=float(churn.sensitivity),
            lock_in=float(churn.lock_in),
            lock_in_time=float(churn.lock_in_time),
            rejoin_rate=float(churn.rejoin_rate),
            retention=churn.retention,
            risk=None if risk is None else np.asarray(risk, dtype=float).tolist(),
            arrivals=arrivals,
        )


@dataclass
class StepTally:
    """Counts of what users did in one step, per group."""

    n_groups: int
    adoptions: np.ndarray = field(init=False)
    churns: np.ndarray = field(init=False)
    rejoins: np.ndarray = field(init=False)
    interactions: np.ndarray = field(init=False)
    organic_adoptions: int = 0
    """Adoptions by word of mouth (the imitation / threshold clock fired first)."""

    def __post_init__(self) -> None:
        zeros = np.zeros(self.n_groups, dtype=np.int64)
        self.adoptions, self.churns, self.rejoins = zeros.copy(), zeros.copy(), zeros.copy()
        self.interactions = zeros.copy()

    def record_adoption(self, group: int, by_word_of_mouth: bool) -> None:
        self.adoptions[group] += 1
        self.organic_adoptions += by_word_of_mouth

    @property
    def spontaneous_adoptions(self) -> int:
        return int(self.adoptions.sum()) - self.organic_adoptions

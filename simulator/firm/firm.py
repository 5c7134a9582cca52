"""One firm: its data store, pipeline, learner and deployed model.

This is the model-level half of a step, the same for both engines: the firm receives
its users' interactions per group and turns them into feedback signals, filtered
training data and, every ``retrain_every`` steps, a candidate model that goes live
``latency`` steps later if the deployment policy accepts it.

Each part has its own module: the data store (:mod:`.datastore`), the pipeline stages
(:mod:`.pipeline`), where examples come from (:mod:`.sources`), the deployment policy
(:mod:`.deployment`) and the learners (:mod:`.learners`, one interface).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datastore import DataStore, PointStore, decay_factor
from .deployment import Deployment, Trained
from .learners import Fitted, Learner, make_learner
from .pipeline import Pipeline, PipelineCounts
from .sources import GroupTruth


@dataclass(frozen=True)
class FirmRecord:
    """A read-only snapshot of a firm after a step (what reporters read)."""

    name: str
    quality: np.ndarray
    """Deployed model quality per group."""
    risk: np.ndarray | None
    params: np.ndarray | None
    examples: np.ndarray
    wrong_examples: np.ndarray
    collected: np.ndarray
    by_source: dict[str, np.ndarray]
    model_version: int
    synthetic: np.ndarray | None
    """Estimator learners: synthetic points per group in the training set."""
    training_set: int | None
    """Estimator learners: points in the training set."""


class Firm:
    """Training data per group, the learner, and the deployed model's quality per group.

    Parameters
    ----------
    scenario : Scenario
        Read for ``data``, ``learning``, ``reinvestment`` and the groups; replace it
        with :meth:`update` when an intervention changes the scenario.
    rng : numpy.random.Generator
        The run's pipeline stream; estimator learners also draw their data points, the
        cold-start points and synthetic samples from it.
    name : str
        The firm's name (a scenario without ``firms:`` has one firm, ``firm``).
    """

    def __init__(
        self, scenario, rng: np.random.Generator | None = None, name: str = "firm"
    ) -> None:
        self.name = name
        self.rng = rng
        self.n_groups = len(scenario.population.groups)
        self.store = DataStore(self.n_groups, scenario.learning.initial_examples)
        self.deployment = Deployment()
        self.model_version = 0
        """How many models have been deployed (0 = the cold-start model)."""
        self.deployed: Fitted | None = None
        self.update(scenario)
        if self.learner.uses_points:
            self.store.points = PointStore(rng, self.truth, scenario.learning.initial_examples)
        self.deployed = self.learner.cold_start(self.store)
        """The model users experience."""

    # -- what users experience ---------------------------------------------------------

    @property
    def quality(self) -> np.ndarray:
        """Deployed model quality per group, in [0, 1]."""
        return self.deployed.quality

    @property
    def risk(self) -> np.ndarray | None:
        """Estimator learners: the deployed model's risk per group."""
        return self.deployed.risk

    # -- parameters ----------------------------------------------------------------------

    def update(self, scenario) -> None:
        """Take new parameters (e.g. from an intervention); the data and models are kept."""
        self.data = scenario.data
        self.reinvestment = scenario.reinvestment
        self.pipeline = Pipeline.of(scenario)
        self.truth = GroupTruth.of(scenario.population.groups)
        self.learner: Learner = make_learner(scenario.learning, scenario.population.groups)
        self.store.decay = decay_factor(scenario.reinvestment.data_half_life)
        self.group_shares = np.array([group.share for group in scenario.population.groups])
        if self.deployed is not None:  # the groups' distributions may have changed
            self.deployed = self.learner.evaluate(self.deployed)

    # -- one step --------------------------------------------------------------------------

    def collect(self, interactions: np.ndarray, rng: np.random.Generator) -> PipelineCounts:
        """Run one step of the data pipeline on the interactions per group."""
        counts, kept, used = self.pipeline.run(interactions, rng)
        self.store.age_and_add(kept, used.total, used.wrong)
        if self.store.points is not None:
            self.store.points.collect(rng, self.truth, used.clean, used.wrong)
        return counts

    def learn(self, step: int) -> bool:
        """Retrain if ``step`` is on the cadence, and deploy a model whose latency is over.

        A candidate with no usable data is the deployed model itself (the rule of
        :mod:`.learners.base`). Returns whether a model went live.
        """
        if step % self.reinvestment.retrain_every == 0:
            points = self.store.points
            if points is not None:
                deployed = self.deployed
                points.new_generation(
                    step, self.data, lambda n, r: self.learner.sample(deployed, n, r), self.rng
                )
            candidate = self.learner.fit(self.store, step) or self.learner.evaluate(self.deployed)
            live_at = step + self.reinvestment.latency
            self.deployment.submit(Trained(live_at=live_at, trained_at=step, model=candidate))
        due = self.deployment.due(step)
        if due is None:
            return False
        if self.reinvestment.ab_test and not self.deployment.better(
            due.model.quality, self.deployed.quality, self.group_shares
        ):
            return False
        self.deployed = self.learner.evaluate(due.model)
        self.model_version += 1
        return True

    def record(self) -> FirmRecord:
        store, points = self.store, self.store.points
        return FirmRecord(
            name=self.name,
            quality=self.deployed.quality,
            risk=self.deployed.risk,
            params=self.deployed.params,
            examples=store.examples,
            wrong_examples=store.wrong_examples,
            collected=store.collected,
            by_source=dict(store.by_source),
            model_version=self.model_version,
            synthetic=None if points is None else points.synthetic.copy(),
            training_set=None if points is None else points.size,
        )

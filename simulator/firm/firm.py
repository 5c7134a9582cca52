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

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from .. import numerics
from ..frozen import quick_init
from .abtest import TestLedger, promotes, start_test
from .canary import rolls_back, start_rollout
from .datastore import DataStore, PointStore, SourceRecords, decay_factor
from .deployment import Deployment, Trained
from .economics import Ledger, step_accounts
from .learners import Fitted, Learner, make_learner
from .pairs import PairStore, build_pairs, thumbs_of
from .pipeline import Labelled, Pipeline, PipelineCounts
from .signals import SignalPipeline, TopK
from .sources import GroupTruth, user_points
from .tactics import blocks_at


@quick_init
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
    sources: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    """Per source: training examples, mislabelled ones, mean age per group."""
    shared: np.ndarray | None = None
    """Training examples a rival can hold too (open data, non-exclusive purchases)."""
    revenue: float = 0.0
    cost: float = 0.0
    cumulative_profit: float = 0.0
    free_users: int = 0
    tests: int = 0
    """A/B tests (reinvestment.deployment.policy ab_test) decided so far."""
    promoted: int = 0
    shipped_worse: int = 0
    """Of the tests, candidates shipped that were truly worse than the deployed model."""
    rejected_better: int = 0
    """Of the tests, candidates rejected that were truly better."""
    testing: bool = False
    pairs: np.ndarray | None = None
    """Preference learner: training pairs held per group (None for other learners)."""
    rollouts: int = 0
    """canary: rollouts started so far."""
    rollbacks: int = 0
    """canary: rollouts rolled back so far."""
    canary_pct: int = 0
    """canary: per cent of the users served the candidate now (0: no rollout)."""


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
        self, scenario, rng: np.random.Generator | None = None, name: str = "firm",
        privacy_rng: np.random.Generator | None = None,
        preference_rng: np.random.Generator | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.rng = rng
        self.privacy_rng = privacy_rng
        """Differential privacy: the noise of the estimators' private means, or federated
        learning's client sampling and noise (a stream of its own, :meth:`Streams.firm_child`)."""
        self.preference_rng = preference_rng
        """The preference learner: its pairs and their features (a stream of its own)."""
        self.n_groups = len(scenario.population.groups)
        self.store = DataStore(self.n_groups, scenario.learning.initial_examples)
        self.deployment = Deployment()
        self.model_version = 0
        """How many models have been deployed (0 = the cold-start model)."""
        self.deployed: Fitted | None = None
        self.ledger = Ledger()
        """Economics: this step's revenue and costs, and the cumulative profit."""
        self.served = 0
        """Users the firm has had so far (its first users, adopters, switchers to it)."""
        self.curated_this_step = 0.0
        self.bought_this_step = 0.0
        self.retrained = False
        self.fined_this_step = 0.0
        """Regulation: fines booked this step (a cost in the ledger)."""
        self.forbidden: frozenset[str] = frozenset()
        """Signals the firm may no longer collect (the ``forbid`` verb)."""
        self.held = TopK(self.n_groups)
        """``data.top_k``: the examples held back for the next retrain's selection."""
        self.signals_rng: np.random.Generator | None = None
        """``data.top_k``: the quality scores (a stream of its own, set by the model)."""
        self.tests = TestLedger()
        """reinvestment.deployment (ab_test, shadow, canary): the decisions so far, the
        test or rollout running."""
        self.deployment_rng: np.random.Generator | None = None
        """The deployment policies' observations (a stream of its own, set by the model)."""
        self.update(scenario)
        if self.learner.uses_points:
            self.store.points = PointStore(rng, self.truth, scenario.learning.initial_examples)
        if scenario.learning.kind == "preference":
            self.store.pairs = PairStore(self.n_groups, scenario.learning.initial_examples)
        self.add_blocks(0)  # tactics of step 0 train the first model
        self.deployed = self.learner.cold_start(self.store)
        """The model deployed (what users experience, unless they are served by hand)."""

    # -- what users experience ---------------------------------------------------------

    @property
    def quality(self) -> np.ndarray:
        """Quality per group users experience, in [0, 1]: the deployed model's, or while the
        firm serves its first users by hand (``cold_start.curation.service_quality``) the
        better of the two."""
        service = self.cold_start.curation.service_quality
        if service is not None and self.curating:
            return np.maximum(self.deployed.quality, service)
        return self.deployed.quality

    def served_quality(self, fitted: Fitted) -> np.ndarray:
        """The quality per group users served ``fitted`` experience (as :attr:`quality`)."""
        service = self.cold_start.curation.service_quality
        if service is not None and self.curating:
            return np.maximum(fitted.quality, service)
        return fitted.quality

    def exposure(self) -> tuple[int, Fitted] | None:
        """The candidate some users are served this step, and their per cent (users with
        ``bucket(i) < pct``): an A/B test's or a canary's; None: everyone is served the
        deployed model (no test, a shadow test)."""
        tests = self.tests
        if tests.kind != self.policy:  # the policy changed: what ran is dropped in learn
            return None
        if tests.running is not None and self.policy == "ab_test":
            return self.policy_keys.traffic_pct, self.learner.evaluate(
                tests.running.candidate.model
            )
        if tests.rollout is not None:
            rollout = tests.rollout
            return rollout.pct, self.learner.evaluate(rollout.candidate.model)
        return None

    @property
    def cohort_pct(self) -> int:
        """The treatment cohort's per cent (A/B test: ``traffic_pct``; canary: its stage)."""
        if self.tests.rollout is not None:
            return self.tests.rollout.pct
        return self.policy_keys.traffic_pct

    @property
    def curating(self) -> bool:
        """Whether the firm still serves and labels its first users by hand."""
        return self.served <= self.cold_start.curation.users and self.cold_start.curation.users > 0

    @property
    def risk(self) -> np.ndarray | None:
        """Estimator learners: the deployed model's risk per group."""
        return self.deployed.risk

    # -- parameters ----------------------------------------------------------------------

    def update(self, scenario) -> None:
        """Take new parameters (e.g. from an intervention); the data and models are kept."""
        self.data = scenario.data
        self.reinvestment = scenario.reinvestment
        policy = scenario.reinvestment.deployment
        self.policy = policy.policy if policy else ("perfect" if self.reinvestment.ab_test
                                                     else "always")  # fmt: skip
        """How a candidate goes live: perfect (the true-quality gate), always, ab_test."""
        self.policy_keys = policy
        self.pipeline = Pipeline.of(scenario)
        self.signal_pipeline = SignalPipeline.of(scenario)
        """``data.signals`` (None: the one signal of :attr:`pipeline`)."""
        self.top_k = scenario.data.top_k
        if self.top_k is None and self.held.held:  # top_k switched off: train on all held
            examples, wrong, _, _ = self.held.select(np.iinfo(np.int64).max, self.signals_rng)
            self.store.add_selected(examples, wrong)
        self.truth = GroupTruth.of(scenario.population.groups)
        self.learner: Learner = make_learner(
            scenario.learning, scenario.population.groups, scenario.privacy, self.privacy_rng,
            self.preference_rng,
        )  # fmt: skip
        self.pair_share = scenario.learning.pair_share
        self.store.decay = decay_factor(scenario.reinvestment.data_half_life)
        self.group_shares = np.array([group.share for group in scenario.population.groups])
        self.groups = scenario.population.groups
        self.cold_start = scenario.cold_start
        self.economics = scenario.economics
        self.dt = float(scenario.dt)
        if self.deployed is not None:  # the groups' distributions may have changed
            self.deployed = self.learner.evaluate(self.deployed)

    # -- one step --------------------------------------------------------------------------

    def collect(
        self, interactions: np.ndarray, rng: np.random.Generator, step: int = 0,
        lighthouse: np.ndarray | None = None,
    ) -> PipelineCounts:  # fmt: skip
        """Run one step of the data pipeline on the interactions per group, then add the data
        the cold-start tactics bring at ``step`` (fresh: age 0 at the end of the step).

        While the firm curates by hand, every interaction is a clean, hand-labelled example
        (source ``curated``) and the pipeline does not run. ``lighthouse``: per group, the
        share of the firm's active users who came with its lighthouse customer (their
        feedback is booked under that source)."""
        counts = self._collect(interactions, rng, lighthouse)
        if self.top_k is not None and step > 0 and not self.curated_this_step:
            counts = self._select_top_k(counts, step)
        if step > 0:
            self.add_blocks(step)
        return counts

    def _collect(
        self, interactions: np.ndarray, rng: np.random.Generator, lighthouse=None
    ) -> PipelineCounts:
        self.curated_this_step = 0.0
        if self.curating:
            interactions = np.asarray(interactions, dtype=np.int64)
            zero = np.zeros_like(interactions)
            kept = Labelled(clean=interactions, wrong=zero)
            self.store.age_and_add(kept, interactions, zero, source="curated")
            if self.store.points is not None:
                self.store.points.collect(rng, self.truth, interactions, zero)
            self.curated_this_step = float(interactions.sum())
            if self.store.pairs is not None:
                self.store.pairs.age(self.store.decay)
            return PipelineCounts(interactions, zero, interactions, interactions, zero)
        if self.signal_pipeline is not None or self.forbidden or self.top_k is not None:
            counts = self._collect_signals(interactions, rng, lighthouse)
        else:
            counts, kept, used = self.pipeline.run(interactions, rng)
            self.store.age_and_add(kept, counts.new_examples, used.wrong, lighthouse=lighthouse)
            if self.store.points is not None:
                self.store.points.collect(rng, self.truth, used.clean, used.wrong)
        if self.store.pairs is not None:
            self.collect_pairs(counts)
        return counts

    def collect_pairs(self, counts: PipelineCounts) -> None:
        """Preference learner: this step's preference pairs from the thumbs signals
        (:mod:`.pairs`), drawn from the preference stream, into the store."""
        pipeline = self.pipeline
        formed, used = build_pairs(
            thumbs_of(counts), self.pair_share, pipeline.label_noise, pipeline.filter_recall,
            pipeline.filter_false_accept, pipeline.reinvestment_rate, self.preference_rng,
        )  # fmt: skip
        self.store.pairs.age_and_add(formed, used, self.store.decay)

    def _collect_signals(self, interactions, rng, lighthouse) -> PipelineCounts:
        """The pipeline with ``data.signals``, a forbidden signal or ``data.top_k``
        (:mod:`.signals`). With top_k the used examples are held for the selection."""
        if self.signal_pipeline is None:  # the one thumbs signal
            pipeline = self.pipeline
            if "thumbs" in self.forbidden:
                pipeline = replace(pipeline, feedback_rate=0.0)
            counts, kept, used = pipeline.run(interactions, rng)
            batches = [(("thumbs", 1.0), used)]
            used_total, used_wrong = used.total, used.wrong
        else:
            counts, kept, signal_batches = self.signal_pipeline.run(
                interactions, self.quality, rng, self.forbidden
            )
            batches = [((b.spec.name, b.spec.weight), b.used) for b in signal_batches]
            used_total, used_wrong = counts.new_examples, counts.new_wrong_examples
        if self.top_k is not None:
            for (name, weight), used in batches:
                self.held.hold(name, weight, used)
            zero = np.zeros(self.n_groups, dtype=np.int64)
            self.store.age_and_add(kept, zero, zero, lighthouse=lighthouse)
            return replace(counts, new_examples=zero, new_wrong_examples=zero)
        self.store.age_and_add(kept, used_total, used_wrong, lighthouse=lighthouse)
        if self.store.points is not None:  # estimators: one point per signal used
            clean = sum(used.clean for _, used in batches)
            wrong = sum(used.wrong for _, used in batches)
            self.store.points.collect(rng, self.truth, clean, wrong)
        return counts

    def _select_top_k(self, counts: PipelineCounts, step: int) -> PipelineCounts:
        """On a retrain step, train on the best ``top_k`` examples held (:class:`TopK`)."""
        if step % self.reinvestment.retrain_every != 0:
            return counts
        examples, wrong, _, _ = self.held.select(self.top_k, self.signals_rng)
        self.store.add_selected(examples, wrong)
        return replace(counts, new_examples=examples, new_wrong_examples=wrong)

    def add_blocks(self, step: int) -> None:
        """Add the data the firm's cold-start tactics bring at ``step`` (tactics.py); what
        they cost is booked with the step's accounts (at step 0: with step 1's)."""
        if not self.cold_start.in_use:  # no tactic: no block (a step's fixed cost)
            return
        for block in blocks_at(step, self.cold_start, self.groups):
            points = self.store.points
            if points is not None:  # the same examples as data points
                if block.source == "synthetic":
                    n = int(block.examples[0])
                    sample = [self.learner.sample(self.deployed or self._cold(), n, self.rng)
                              for _ in range(self.n_groups)]  # fmt: skip
                    points.add(step, sample, synthetic=True)
                else:
                    wrong = block.wrong.astype(int)
                    clean = block.examples.astype(int) - wrong
                    points.add(step, [user_points(self.rng, self.truth, g, clean[g], wrong[g])
                                      for g in range(self.n_groups)])  # fmt: skip
                self.store.add(block.source, block.examples, block.wrong, block.exclusive)
            else:
                self.store.add(block.source, block.examples * block.weight,
                               block.wrong * block.weight, block.exclusive)  # fmt: skip
            self.bought_this_step += block.cost

    def _cold(self) -> Fitted:
        return self.learner.evaluate_params(self.learner.cold_start_params())

    def settle_tiers(self, joined: int, lost: int, rng: np.random.Generator) -> None:
        """Free tier: this step's new users start free; of the users the firm lost, the free
        ones are a random draw (hypergeometric); then each free user converts to paid with
        probability ``1 - exp(-conversion_rate dt)``."""
        tier = self.cold_start.free_tier
        if not tier.enabled:
            return
        ledger = self.ledger
        active_before = self.active_before
        paid = max(active_before - ledger.free_users, 0)
        if lost:
            lost = min(lost, active_before)
            free_lost = int(rng.hypergeometric(ledger.free_users, paid, lost)) if lost else 0
            ledger.free_users -= free_lost
        ledger.free_users += joined
        probability = -numerics.expm1(-tier.conversion_rate * self.dt)
        ledger.free_users -= int(rng.binomial(ledger.free_users, probability))

    def account(self, active: int, lighthouse: int, retrained: bool, used: float) -> None:
        """Book this step's revenue and costs (economics.py); nothing without economics."""
        revenue, cost = step_accounts(
            self.economics, self.cold_start, self.dt, active, self.ledger.free_users,
            lighthouse, retrained, used, self.curated_this_step, self.bought_this_step,
        )  # fmt: skip
        if self.fined_this_step:
            cost += self.fined_this_step
            self.fined_this_step = 0.0
        self.ledger.book(self.economics, revenue, cost)
        self.bought_this_step = 0.0  # booked

    # -- regulation (simulator/regulation.py) ---------------------------------------------

    def erase(self, keep: np.ndarray, source: str | None, retrain: bool, step: int) -> None:
        """GDPR erasure: keep the share ``keep[g]`` of each group's data (of ``source``, or
        all). With ``retrain`` the firm may no longer serve a model that learned from the
        erased data: models waiting to ship are dropped, and a model retrained on what
        remains goes live at once (the deployment gate does not apply: the old model is
        not an option)."""
        self.store.erase(keep, source)
        if not retrain:
            return
        self.deployment.pending = []
        candidate = self.learner.fit(self.store, step)
        if candidate is not None:
            self.deployed = self.learner.evaluate(candidate)
            self.model_version += 1

    def learn(self, step: int, traffic=None) -> bool:
        """Retrain if ``step`` is on the cadence, and deploy a model whose latency is over.

        A candidate with no usable data is the deployed model itself (the rule of
        :mod:`.learners.base`). Returns whether a model went live.
        """
        self.retrained = step % self.reinvestment.retrain_every == 0
        if self.retrained:
            points = self.store.points
            if points is not None:
                deployed = self.deployed
                points.new_generation(
                    step, self.data, lambda n, r: self.learner.sample(deployed, n, r), self.rng
                )
            candidate = self.learner.fit(self.store, step) or self.learner.evaluate(self.deployed)
            live_at = step + self.reinvestment.latency
            self.deployment.submit(Trained(live_at=live_at, trained_at=step, model=candidate))
        if self.tests.kind != self.policy:  # an intervention changed the policy: drop
            self.tests.running = self.tests.rollout = None  # what was running
            self.tests.kind = self.policy
        if self.policy == "ab_test":
            return self._learn_by_test(step, traffic)
        if self.policy == "shadow":
            return self._learn_by_shadow(step, traffic)
        if self.policy == "canary":
            return self._learn_by_canary(step, traffic)
        due = self.deployment.due(step)
        if due is None:
            return False
        if self.policy == "perfect" and not self.deployment.better(
            due.model.quality, self.deployed.quality, self.group_shares
        ):
            return False
        self.deployed = self.learner.evaluate(due.model)
        self.model_version += 1
        return True

    def _learn_by_test(self, step: int, traffic) -> bool:
        """``reinvestment.deployment.policy: ab_test`` (:mod:`.abtest`): start a test of the
        newest due candidate, or observe the running test and decide at its end.
        ``traffic()`` gives this step's interactions, treated and active users per group."""

        def observe(test, candidate: Fitted) -> None:
            test.observe(traffic(), candidate.quality, self.deployed.quality,
                         self.deployment_rng)  # fmt: skip

        return self._run_test(step, observe)

    def _run_test(self, step: int, observe) -> bool:
        """A tested policy's step (ab_test, shadow): start a test of the newest due
        candidate, or ``observe(test, candidate)`` the running one and decide at its end."""
        tests, keys = self.tests, self.policy_keys
        if tests.running is None:
            tests.running = start_test(self.deployment, step, keys.duration, self.n_groups)
            return False
        test = tests.running
        candidate = self.learner.evaluate(test.candidate.model)
        observe(test, candidate)
        if step < test.ends_at:
            return False
        tests.running = None
        return self._decided(candidate, promotes(test.z(), keys.alpha))

    def _decided(self, candidate: Fitted, ship: bool) -> bool:
        """Record a tested decision (judged against the true qualities); ship if so."""
        tests = self.tests
        better = self.deployment.better(candidate.quality, self.deployed.quality,
                                        self.group_shares)  # fmt: skip
        worse = self.deployment.better(self.deployed.quality, candidate.quality,
                                       self.group_shares)  # fmt: skip
        tests.tests += 1
        tests.promoted += int(ship)
        tests.shipped_worse += int(ship and worse)
        tests.rejected_better += int(not ship and better)
        if not ship:
            return False
        self.deployed = candidate
        self.model_version += 1
        return True

    def _learn_by_shadow(self, step: int, traffic) -> bool:
        """``policy: shadow`` (:mod:`.abtest`): score the newest due candidate on the logged
        interactions for ``duration`` steps, no user exposed; decide at the end."""

        def observe(test, candidate: Fitted) -> None:
            test.observe_logged(traffic()[0], self.pipeline.label_noise, candidate.quality,
                                self.deployed.quality, self.deployment_rng)  # fmt: skip

        return self._run_test(step, observe)

    def _learn_by_canary(self, step: int, traffic) -> bool:
        """``policy: canary`` (:mod:`.canary`): start a rollout of the newest due candidate,
        or observe its stage; at the stage's end roll back, widen, or deploy at 100."""
        tests, keys = self.tests, self.policy_keys
        if tests.rollout is None:
            tests.rollout = start_rollout(self.deployment, step, keys.stages, keys.step_duration,
                                          self.n_groups)  # fmt: skip
            tests.rollouts += tests.rollout is not None
            return False
        rollout = tests.rollout
        candidate = self.learner.evaluate(rollout.candidate.model)
        test = rollout.test
        test.observe(traffic(), candidate.quality, self.deployed.quality, self.deployment_rng)
        if step < test.ends_at:
            return False
        if rolls_back(test.z(), keys.alpha):
            tests.rollout = None
            tests.rollbacks += 1
            return self._decided(candidate, False)
        if not rollout.next_stage(step, keys.step_duration):
            return False
        tests.rollout = None
        return self._decided(candidate, True)

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
            sources=SourceRecords(store.sources),
            shared=store.shared,
            revenue=self.ledger.revenue,
            cost=self.ledger.cost,
            cumulative_profit=self.ledger.cumulative,
            free_users=self.ledger.free_users,
            tests=self.tests.tests,
            promoted=self.tests.promoted,
            shipped_worse=self.tests.shipped_worse,
            rejected_better=self.tests.rejected_better,
            pairs=None if store.pairs is None else store.pairs.held,
            testing=self.tests.running is not None or self.tests.rollout is not None,
            rollouts=self.tests.rollouts,
            rollbacks=self.tests.rollbacks,
            canary_pct=0 if self.tests.rollout is None else self.tests.rollout.pct,
        )

"""The company: its data pipeline, training data and deployed model.

This is the model-level half of a step, shared by both engines: it receives the
users' interactions per group and turns them into feedback signals, filtered
training data and, every ``retrain_every`` steps, a new model that goes live
``latency`` steps later.

With an estimator learner (``learning.kind: estimator``) the company also holds the
actual data points: every example the pipeline keeps is a draw from its group's
data distribution (sign-flipped when its label is wrong), and every retrain is a
*generation* that trains on a batch of fresh real points plus points sampled from
the deployed model (``data.synthetic_share``), either added to everything kept
so far (``data.policy: accumulate``) or replacing it (``replace``). All draws come
from the pipeline stream, so both engines share them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rules
from .learners import EstimatorLearner, make_learner


@dataclass(frozen=True)
class PipelineCounts:
    """What the data pipeline did in one step, per group (int arrays)."""

    signals: np.ndarray
    """Feedback signals emitted (interactions that yielded a usable signal)."""
    wrong_signals: np.ndarray
    """Signals with a wrong label."""
    kept: np.ndarray
    """Signals that passed the quality filter."""
    new_examples: np.ndarray
    """Kept signals actually used for training (the reinvested share)."""
    new_wrong_examples: np.ndarray
    """Of those, the wrongly labelled ones."""


@dataclass(frozen=True)
class Trained:
    """A trained model waiting to go live."""

    live_at: int
    """Step at which its deployment latency is over."""
    trained_at: int
    quality: np.ndarray
    """Quality per group it would give."""
    params: np.ndarray | None = None
    """Estimator learners: the fitted ``(location, scale)``."""


class Company:
    """Training data per group, the learner, and the deployed model's quality per group.

    Parameters
    ----------
    scenario : Scenario
        Read for ``data``, ``learning`` and ``reinvestment``; replace it with
        :meth:`update` when an intervention changes the scenario.
    rng : numpy.random.Generator, optional
        The run's pipeline stream; estimator learners draw their data points, the
        cold-start examples and synthetic samples from it (needed for them only).
    """

    def __init__(self, scenario, rng: np.random.Generator | None = None) -> None:
        self.n_groups = len(scenario.population.groups)
        self.rng = rng
        initial = float(scenario.learning.initial_examples)
        self.examples = np.full(self.n_groups, initial)
        """Training examples held per group (decays with the data half-life); starts at
        ``learning.initial_examples`` (the clean cold-start data set)."""
        self.wrong_examples = np.zeros(self.n_groups)
        """Of those, the mislabelled ones."""
        self.collected = np.zeros(self.n_groups)
        """Filtered signals held per group, used for training or not (ages like training data)."""
        self.pending: list[Trained] = []
        """Trained models waiting for deployment."""
        self.model_version = 0
        """How many models have been deployed (0 = the cold-start model)."""
        self.params: np.ndarray | None = None
        """Estimator learners: the deployed model's ``(location, scale)``."""
        self.risk: np.ndarray | None = None
        """Estimator learners: the deployed model's risk per group."""
        self.update(scenario)
        if self.estimates:
            self._start_estimator(scenario)
        else:
            self.quality = self.learner.fit(self.examples, self.wrong_examples)
        """Deployed model quality per group, in [0, 1]."""

    @property
    def estimates(self) -> bool:
        """Whether the learner is an estimator fitted to data points."""
        return isinstance(self.learner, EstimatorLearner)

    def _start_estimator(self, scenario) -> None:
        """Generation 0: the cold-start model, fitted to ``initial_examples`` clean points
        per group drawn from the groups' distributions (none: the learner's cold start)."""
        count = scenario.learning.initial_examples
        self.training = [
            self._draw(self.rng, g, count, 0) if count else np.zeros(0)
            for g in range(self.n_groups)
        ]
        """Per group, the points of the current training set."""
        self.training_born = [np.zeros(len(points), dtype=np.int64) for points in self.training]
        """Per group, the step each training point was collected or generated at."""
        self.synthetic = np.zeros(self.n_groups, dtype=np.int64)
        """Per group, how many points of the training set are synthetic."""
        self.fresh: list[list[np.ndarray]] = [[] for _ in range(self.n_groups)]
        """Per group, the real points collected since the last generation (chunks)."""
        self.fresh_born: list[list[np.ndarray]] = [[] for _ in range(self.n_groups)]
        """Per group, the step each fresh point was collected at (chunks)."""
        self.collections = 0
        self.params = self._fit(0)
        self._evaluate()

    def _draw(self, rng: np.random.Generator, group: int, count: int, wrong: int) -> np.ndarray:
        """``count`` clean and ``wrong`` mislabelled points of ``group``: draws from
        ``N(data_mean, data_spread^2)``, a wrong one with its sign flipped."""
        mean, spread = self.learner.means[group], self.learner.spreads[group]
        clean = rng.normal(mean, spread, count)
        return np.concatenate([clean, -rng.normal(mean, spread, wrong)]) if wrong else clean

    def _fit(self, step: int) -> np.ndarray:
        values = np.concatenate(self.training)
        if len(values) == 0:  # nothing to learn from: keep the deployed model
            return self.learner.cold_start() if self.params is None else self.params.copy()
        weights = None
        if self.decay < 1.0:  # data ageing: a point's weight halves every half-life
            weights = np.power(self.decay, step - np.concatenate(self.training_born))
        return self.learner.fit(values, weights)

    def _evaluate(self) -> None:
        """Risk and quality of the deployed parameters on the groups' true distributions."""
        self.risk = self.learner.risk(self.params)
        self.quality = self.learner.quality(self.risk)

    def update(self, scenario) -> None:
        """Take new parameters (e.g. from an intervention); the data and models are kept."""
        self.data = scenario.data
        self.reinvestment = scenario.reinvestment
        self.learner = make_learner(scenario.learning, scenario.population.groups)
        self.decay = rules.decay_factor(scenario.reinvestment.data_half_life)
        self.label_noise = np.array([group.label_noise for group in scenario.population.groups])
        self.group_shares = np.array([group.share for group in scenario.population.groups])
        if self.params is not None:  # the groups' distributions may have changed
            self._evaluate()

    def collect(self, interactions: np.ndarray, rng: np.random.Generator) -> PipelineCounts:
        """Run one step of the data pipeline on the interactions per group.

        Each interaction yields a signal with probability ``feedback_rate``; a signal
        is wrong with the group's ``label_noise``; the filter keeps a clean signal
        with ``filter_recall`` and a wrong one with ``filter_false_accept``; a share
        ``reinvestment.rate`` of what it keeps is used for training. Thinning a
        count by independent coin flips is a binomial draw, so the pipeline draws
        per group, not per interaction: same distribution, O(groups) work.
        """
        data, label_noise = self.data, self.label_noise
        signals = rng.binomial(interactions, data.feedback_rate)
        wrong = rng.binomial(signals, label_noise)
        kept_clean = rng.binomial(signals - wrong, data.filter_recall)
        kept_wrong = rng.binomial(wrong, data.filter_false_accept)
        used_clean = rng.binomial(kept_clean, self.reinvestment.rate)
        used_wrong = rng.binomial(kept_wrong, self.reinvestment.rate)
        new_examples = used_clean + used_wrong
        self.collected = self.collected * self.decay + kept_clean + kept_wrong
        self.examples = self.examples * self.decay + new_examples
        self.wrong_examples = self.wrong_examples * self.decay + used_wrong
        if self.estimates:
            self.collections += 1  # = the step number
            for g in range(self.n_groups):
                if new_examples[g]:
                    self.fresh[g].append(self._draw(rng, g, int(used_clean[g]), int(used_wrong[g])))
                    self.fresh_born[g].append(np.full(new_examples[g], self.collections))
        return PipelineCounts(
            signals=signals,
            wrong_signals=wrong,
            kept=kept_clean + kept_wrong,
            new_examples=new_examples,
            new_wrong_examples=used_wrong,
        )

    def learn(self, step: int) -> bool:
        """Retrain if ``step`` is on the cadence, and deploy a model whose latency is over.

        When several trained models are due at once (an intervention shortened the
        latency), the most recently trained one goes live and the older ones are
        dropped. With ``reinvestment.ab_test`` the candidate replaces the deployed
        model only if it is better on average over users (the brief's A/B test);
        otherwise it goes live unconditionally. Returns whether a model went live.
        """
        if step % self.reinvestment.retrain_every == 0:
            params = None
            if self.estimates:
                params = self._generation(step)
                trained = self.learner.quality(self.learner.risk(params))
            else:
                trained = self.learner.fit(self.examples, self.wrong_examples)
            self.pending.append(Trained(live_at=step + self.reinvestment.latency, trained_at=step,
                                        quality=trained, params=params))  # fmt: skip
        due = [model for model in self.pending if model.live_at <= step]
        if not due:
            return False
        candidate = max(due, key=lambda model: model.trained_at)
        self.pending = [m for m in self.pending if m.trained_at > candidate.trained_at]
        if self.reinvestment.ab_test and not self._better(candidate.quality):
            return False
        self.quality = candidate.quality
        if candidate.params is not None:
            self.params = candidate.params
            self._evaluate()
        self.model_version += 1
        return True

    def _generation(self, step: int) -> np.ndarray:
        """Build this generation's training set and fit the estimator to it.

        Per group, the batch holds fresh real points and synthetic points sampled
        from the deployed model. Without ``data.batch_size``: every fresh real point,
        plus ``round(n_real s / (1 - s))`` synthetic ones, so that a share ``s`` of
        the batch is synthetic. With ``batch_size`` M: ``round(M s)`` synthetic
        points and ``M - round(M s)`` real ones, a random subset of the fresh points
        (fewer if fewer were collected; the rest are discarded). ``replace`` trains
        on the batch alone; ``accumulate`` adds it to everything kept so far.
        """
        share, size = self.data.synthetic_share, self.data.batch_size
        replace = self.data.policy == "replace"
        for g in range(self.n_groups):
            real = np.concatenate([np.zeros(0), *self.fresh[g]])
            born = np.concatenate([np.zeros(0, dtype=np.int64), *self.fresh_born[g]])
            self.fresh[g], self.fresh_born[g] = [], []
            if size is None:
                n_synthetic = _round(len(real) * share / (1.0 - share))
            else:
                n_synthetic = _round(size * share)
                n_real = min(size - n_synthetic, len(real))
                if n_real < len(real):
                    keep = np.sort(self.rng.choice(len(real), n_real, replace=False))
                    real, born = real[keep], born[keep]
            synthetic = self.learner.sample(self.params, n_synthetic, self.rng)
            batch = np.concatenate([real, synthetic])
            batch_born = np.concatenate([born, np.full(n_synthetic, step)]).astype(np.int64)
            if replace:
                self.training[g], self.training_born[g] = batch, batch_born
                self.synthetic[g] = n_synthetic
            else:
                self.training[g] = np.concatenate([self.training[g], batch])
                self.training_born[g] = np.concatenate([self.training_born[g], batch_born])
                self.synthetic[g] += n_synthetic
        return self._fit(step)

    def _better(self, quality: np.ndarray) -> bool:
        """Whether ``quality`` beats the deployed model for the average user."""
        weights = self.group_shares
        return rules.sum_in_order(quality * weights) > rules.sum_in_order(self.quality * weights)

    @property
    def noise_share(self) -> np.ndarray:
        """Share of mislabelled examples in each group's training data."""
        return np.divide(
            self.wrong_examples,
            self.examples,
            out=np.zeros(self.n_groups),
            where=self.examples > 0,
        )


def _round(value: float) -> int:
    """Round half up (Python's ``round`` rounds half to even)."""
    return int(np.floor(value + 0.5))

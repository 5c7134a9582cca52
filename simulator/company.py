"""The company: its data pipeline, training data and deployed model.

This is the model-level half of a step, shared by both engines: it receives the
users' interactions per group and turns them into feedback signals, filtered
training data and, every ``retrain_every`` steps, a new model that goes live
``latency`` steps later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rules
from .learners import make_learner


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


class Company:
    """Training data per group, the learner, and the deployed model's quality per group.

    Parameters
    ----------
    scenario : Scenario
        Read for ``data``, ``learning`` and ``reinvestment``; replace it with
        :meth:`update` when an intervention changes the scenario.
    """

    def __init__(self, scenario) -> None:
        self.n_groups = len(scenario.population.groups)
        self.examples = np.zeros(self.n_groups)
        """Training examples held per group (decays with the data half-life)."""
        self.wrong_examples = np.zeros(self.n_groups)
        """Of those, the mislabelled ones."""
        self.collected = np.zeros(self.n_groups)
        """Filtered signals held per group, used for training or not (ages like training data)."""
        self.pending: list[Trained] = []
        """Trained models waiting for deployment."""
        self.model_version = 0
        """How many models have been deployed (0 = the cold-start model)."""
        self.update(scenario)
        self.quality = self.learner.fit(self.examples, self.wrong_examples)
        """Deployed model quality per group, in [0, 1]."""

    def update(self, scenario) -> None:
        """Take new parameters (e.g. from an intervention); the data and models are kept."""
        self.data = scenario.data
        self.reinvestment = scenario.reinvestment
        self.learner = make_learner(scenario.learning)
        self.decay = rules.decay_factor(scenario.reinvestment.data_half_life)
        self.label_noise = np.array([group.label_noise for group in scenario.population.groups])
        self.group_shares = np.array([group.share for group in scenario.population.groups])

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
        otherwise every due model goes live. Returns whether a model went live.
        """
        if step % self.reinvestment.retrain_every == 0:
            trained = self.learner.fit(self.examples, self.wrong_examples)
            self.pending.append(Trained(live_at=step + self.reinvestment.latency,
                                        trained_at=step, quality=trained))  # fmt: skip
        due = [model for model in self.pending if model.live_at <= step]
        if not due:
            return False
        candidate = max(due, key=lambda model: model.trained_at)
        self.pending = [m for m in self.pending if m.trained_at > candidate.trained_at]
        if self.reinvestment.ab_test and not self._better(candidate.quality):
            return False
        self.quality = candidate.quality
        self.model_version += 1
        return True

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

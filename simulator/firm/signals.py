"""Typed feedback signals (``data.signals``), the training-example quality score and the
top-K selection (``data.top_k``).

**Signals.** Each signal ``s`` of a firm turns the interactions of group ``g`` into
signals by binomial thinning from the firm's pipeline stream, signal after signal in the
order listed; each then goes through the quality filter and the reinvestment share like
today's single signal (:mod:`.pipeline`):

- explicit and fixed-noise implicit kinds (thumbs, correction, copy, share, edit):
  ``n_sg ~ Binomial(I_g, rate_s)`` and ``wrong_sg ~ Binomial(n_sg, noise_sg)``;
- ``dwell``: a share ``rate`` of interactions has its dwell time measured. The answer is
  good with probability ``q_g`` (the deployed model's quality for the group) and the dwell
  time is log-normal, ``ln D ~ N(ln m_good, sigma^2)`` on a good answer and
  ``N(ln m_bad, sigma^2)`` on a bad one. A dwell longer than the threshold ``T`` is a
  positive signal; a shorter one yields none. With ``S(m) = 1 - Phi((ln T - ln m) /
  sigma)`` the chance to exceed ``T``, a measured interaction yields a signal with
  probability ``y_g = q_g S(m_good) + (1 - q_g) S(m_bad)``, and the signal is wrong (a
  bad answer read as good) with probability ``eta_g = (1 - q_g) S(m_bad) / y_g``: a
  poorer model gives noisier dwell signals, and a higher threshold gives fewer, cleaner
  ones.

A kept signal used for training is worth ``weight_s`` training examples.

**Quality score.** Each training example has four attributes in [0, 1], drawn when the
top-K selection scores it (the firm's signals stream, :data:`SIGNALS_STREAM`): diverse
vocabulary ``V``, not repetitive ``R`` and task clarity ``C``, each ``Beta(2, 2)``
(mean 1/2, sd 0.22), and factual consistency ``F ~ Beta(4, 2)`` (mean 2/3) for a correctly
labelled example, ``Beta(2, 4)`` (mean 1/3) for a wrongly labelled one. The score is
``0.2 V + 0.2 R + 0.3 F + 0.3 C``: mean 0.55 for a clean example and 0.45 for a wrong one,
sd 0.107 for both, so the score separates them only in part (d' = 0.94).

**Top K.** With ``data.top_k = K`` the examples the pipeline passes on are held back
until the next retrain; at each retrain the ``K`` best by score (all, if fewer) of those
collected since the previous retrain are added to the training data (age 0 then), the
rest are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .. import numerics
from ..numerics import binomial
from ..scenario.signals import KIND_DEFAULTS
from .pipeline import Labelled, PipelineCounts

SCORE_WEIGHTS = (0.2, 0.2, 0.3, 0.3)
"""diverse vocabulary, not repetitive, factually consistent, task clarity."""
OTHER_BETA = (2.0, 2.0)
"""Beta parameters of vocabulary, repetition and clarity, for every example."""
CONSISTENT_BETA = {False: (4.0, 2.0), True: (2.0, 4.0)}
"""Beta parameters of factual consistency: a clean example (False), a wrong one (True)."""


def dwell_signal(quality, threshold: float, good_median, bad_median, spread: float):
    """Per group: the chance ``y`` a measured dwell time exceeds ``threshold`` and the share
    ``eta`` of those positive signals that follow a bad answer (wrong labels)."""
    quality = np.clip(np.asarray(quality, dtype=float), 0.0, 1.0)
    log_t = numerics.log(threshold)
    over_good = ndtr((numerics.log(good_median) - log_t) / spread)
    over_bad = ndtr((numerics.log(bad_median) - log_t) / spread)
    good, bad = quality * over_good, (1.0 - quality) * over_bad
    positive = good + bad
    wrong = np.divide(bad, positive, out=np.zeros_like(positive), where=positive > 0)
    return positive, wrong


def _per_group(value, groups, default) -> np.ndarray:
    """A number or ``{group: number}`` as one value per group (``default``: an array)."""
    if value is None:
        return np.asarray(default, dtype=float)
    if isinstance(value, dict):
        return np.array([value.get(g.name, d) for g, d in zip(groups, default, strict=True)],
                        dtype=float)  # fmt: skip
    return np.full(len(groups), float(value))


@dataclass(frozen=True)
class SignalSpec:
    """One signal's parameters in force, per group where they vary."""

    name: str
    kind: str
    rate: float
    noise: np.ndarray | None
    """Share of wrong labels per group (None for dwell: it follows from the quality)."""
    weight: float
    threshold: float = 30.0
    good_median: np.ndarray | None = None
    bad_median: np.ndarray | None = None
    spread: float = 1.0

    @classmethod
    def of(cls, signal, groups) -> SignalSpec:
        label_noise = [group.label_noise for group in groups]
        if signal.kind == "dwell":
            n = len(groups)
            return cls(
                signal.name, signal.kind, float(signal.rate), None, float(signal.weight),
                float(signal.threshold), _per_group(signal.good_median, groups, [60.0] * n),
                _per_group(signal.bad_median, groups, [12.0] * n), float(signal.spread),
            )  # fmt: skip
        kind_noise = KIND_DEFAULTS[signal.kind]["noise"]  # for groups a mapping leaves out
        default = label_noise if kind_noise is None else [kind_noise] * len(groups)
        noise = _per_group(signal.noise, groups, label_noise if signal.noise is None else default)
        return cls(signal.name, signal.kind, float(signal.rate), noise, float(signal.weight))

    def yield_and_noise(self, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per group: the chance an interaction yields this signal, and its wrong share."""
        if self.kind != "dwell":
            return np.full(len(self.noise), self.rate), self.noise
        positive, wrong = dwell_signal(
            quality, self.threshold, self.good_median, self.bad_median, self.spread
        )
        return self.rate * positive, wrong


@dataclass(frozen=True)
class SignalBatch:
    """One signal's counts of a step, per group: emitted, labelled, kept, used."""

    spec: SignalSpec
    labelled: Labelled
    kept: Labelled
    used: Labelled


@dataclass(frozen=True)
class SignalPipeline:
    """``data.signals`` in force: the signals, the filter and the reinvestment share."""

    signals: tuple[SignalSpec, ...]
    filter_recall: float
    filter_false_accept: float
    reinvestment_rate: float

    @classmethod
    def of(cls, scenario) -> SignalPipeline | None:
        data = scenario.data
        if not data.signals:
            return None
        groups = scenario.population.groups
        return cls(
            signals=tuple(SignalSpec.of(signal, groups) for signal in data.signals),
            filter_recall=data.filter_recall,
            filter_false_accept=data.filter_false_accept,
            reinvestment_rate=scenario.reinvestment.rate,
        )

    def run(
        self, interactions: np.ndarray, quality: np.ndarray, rng: np.random.Generator,
        forbidden: frozenset[str] = frozenset(),
    ) -> tuple[PipelineCounts, Labelled, list[SignalBatch]]:  # fmt: skip
        """One step: the counts, the kept signals (all signals, unweighted) and each
        signal's batch. A forbidden signal is not collected (and draws nothing)."""
        interactions = np.asarray(interactions, dtype=np.int64)
        zero = np.zeros_like(interactions)
        batches = []
        for spec in self.signals:
            if spec.name in forbidden:
                nothing = Labelled(zero, zero)
                batches.append(SignalBatch(spec, nothing, nothing, nothing))
                continue
            chance, noise = spec.yield_and_noise(quality)
            emitted = binomial(rng, interactions, chance)
            wrong = binomial(rng, emitted, noise)
            labelled = Labelled(clean=emitted - wrong, wrong=wrong)
            kept = Labelled(
                clean=binomial(rng, labelled.clean, self.filter_recall),
                wrong=binomial(rng, labelled.wrong, self.filter_false_accept),
            )
            used = Labelled(
                clean=binomial(rng, kept.clean, self.reinvestment_rate),
                wrong=binomial(rng, kept.wrong, self.reinvestment_rate),
            )
            batches.append(SignalBatch(spec, labelled, kept, used))
        kept = Labelled(
            clean=sum((b.kept.clean for b in batches), zero),
            wrong=sum((b.kept.wrong for b in batches), zero),
        )
        used_total, used_wrong = weighted_used(batches, len(interactions))
        counts = PipelineCounts(
            signals=sum((b.labelled.total for b in batches), zero),
            wrong_signals=sum((b.labelled.wrong for b in batches), zero),
            kept=kept.total,
            new_examples=used_total,
            new_wrong_examples=used_wrong,
            by_signal={b.spec.name: b.labelled.total for b in batches},
            wrong_by_signal={b.spec.name: b.labelled.wrong for b in batches},
            kinds={b.spec.name: b.spec.kind for b in batches},
        )
        return counts, kept, batches


def weighted_used(batches: list[SignalBatch], n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Training examples the batches are worth per group, and the wrong ones among them:
    ``sum_s weight_s used_sg`` (integers when every weight is)."""
    if all(float(b.spec.weight).is_integer() for b in batches):
        total = np.zeros(n_groups, dtype=np.int64)
        wrong = np.zeros(n_groups, dtype=np.int64)
        for b in batches:
            total = total + int(b.spec.weight) * b.used.total
            wrong = wrong + int(b.spec.weight) * b.used.wrong
        return total, wrong
    total, wrong = np.zeros(n_groups), np.zeros(n_groups)
    for b in batches:
        total = total + b.spec.weight * b.used.total
        wrong = wrong + b.spec.weight * b.used.wrong
    return total, wrong


def thumbs_signals(counts: PipelineCounts) -> np.ndarray:
    """Per group: the thumbs signals of this step (every signal of kind ``thumbs``).

    Without ``data.signals`` the one signal is a thumbs signal: ``counts.signals``."""
    if counts.by_signal is None:
        return counts.signals
    total = np.zeros_like(counts.signals)
    for name, emitted in counts.by_signal.items():
        if counts.kinds[name] == "thumbs":
            total = total + emitted
    return total


# -- the quality score and the top-K selection -----------------------------------------------


def quality_scores(n: int, wrong: bool, rng: np.random.Generator) -> np.ndarray:
    """The quality scores of ``n`` examples (wrongly labelled ones if ``wrong``): in order,
    vocabulary, repetition, factual consistency and clarity, ``n`` draws each."""
    a, b = OTHER_BETA
    vocabulary = rng.beta(a, b, n)
    repetition = rng.beta(a, b, n)
    consistent = rng.beta(*CONSISTENT_BETA[wrong], n)
    clarity = rng.beta(a, b, n)
    w = SCORE_WEIGHTS
    return w[0] * vocabulary + w[1] * repetition + w[2] * consistent + w[3] * clarity


class TopK:
    """The examples held back for the next retrain, and the selection of the best K.

    ``held[(signal, weight)]`` holds, per group, the clean (row 0) and wrong (row 1)
    examples collected since the last retrain (unweighted counts)."""

    def __init__(self, n_groups: int) -> None:
        self.n_groups = n_groups
        self.held: dict[tuple[str, float], np.ndarray] = {}

    def hold(self, name: str, weight: float, used: Labelled) -> None:
        key = (name, float(weight))
        cell = self.held.setdefault(key, np.zeros((2, self.n_groups), dtype=np.int64))
        cell[0] += np.asarray(used.clean, dtype=np.int64)
        cell[1] += np.asarray(used.wrong, dtype=np.int64)

    def select(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Keep the best ``k`` examples held; returns per group the training examples they
        are worth and the wrong ones among them (weighted), and the examples kept and held
        (unweighted). The held examples are then dropped."""
        cells, sizes = [], []
        for (_, weight), counts in self.held.items():
            for wrong in (0, 1):
                for g in range(self.n_groups):
                    n = int(counts[wrong, g])
                    if n:
                        cells.append((weight, wrong, g))
                        sizes.append(n)
        self.held = {}
        total, wrong_total = np.zeros(self.n_groups), np.zeros(self.n_groups)
        if not cells:
            return total, wrong_total, 0, 0
        sizes = np.array(sizes)
        held = int(sizes.sum())
        keep = min(k, held)
        if keep < held:  # scored only when some must go (no draws otherwise)
            all_scores = np.concatenate([
                quality_scores(int(n), bool(wrong), rng)
                for (_, wrong, _), n in zip(cells, sizes, strict=True)
            ])  # fmt: skip
            best = np.argpartition(-all_scores, keep - 1)[:keep]
            cell_of = np.repeat(np.arange(len(cells)), sizes)
            kept = np.bincount(cell_of[best], minlength=len(cells))
        else:
            kept = sizes
        for (weight, wrong, g), n in zip(cells, kept, strict=True):
            total[g] += weight * n
            if wrong:
                wrong_total[g] += weight * n
        return total, wrong_total, keep, held


def merge_by_signal(summed: PipelineCounts, pipelines) -> PipelineCounts:
    """Several firms' counts: the per-signal counts added up by signal name (a firm
    without ``data.signals`` counts as one thumbs signal, ``thumbs``)."""
    from dataclasses import replace

    by_signal: dict[str, np.ndarray] = {}
    wrong: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for p in pipelines:
        own = p.by_signal if p.by_signal is not None else {"thumbs": p.signals}
        own_wrong = p.wrong_by_signal if p.by_signal is not None else {"thumbs": p.wrong_signals}
        for name, emitted in own.items():
            by_signal[name] = by_signal.get(name, 0) + emitted
            wrong[name] = wrong.get(name, 0) + own_wrong[name]
            kinds.setdefault(name, p.kinds[name] if p.kinds is not None else "thumbs")
    return replace(summed, by_signal=by_signal, wrong_by_signal=wrong, kinds=kinds)

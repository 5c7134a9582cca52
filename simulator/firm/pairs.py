"""Preference pairs (RLHF / DPO training data): from thumbs signals to filtered pairs.

A session in which the user saw two responses and rated one up and the other down
gives a preference pair (prompt, chosen, rejected). Each step, per group:

- **pairs**: of the sessions with a thumbs signal (:func:`thumbs_of`), a share
  ``learning.pair_share`` yields a pair (a binomial draw);
- **flips**: a pair is mislabelled (chosen and rejected swapped) with the group's
  ``label_noise`` epsilon_g;
- **filter**: the quality filter keeps a clean pair with ``data.filter_recall`` and a
  flipped one with ``data.filter_false_accept``;
- **reinvestment**: a share ``reinvestment.rate`` of the kept pairs is used for training.

The stages are those of :mod:`.pipeline` (the same functions), drawn from the firm's
preference stream (:data:`~simulator.world.streams.PREFERENCE_STREAM`), so the data
pipeline's own draws are untouched. The pairs held age like the other training data
(multiplied by ``2^(-1 / data_half_life)`` each step).
"""

from __future__ import annotations

import numpy as np

from ..numerics import binomial
from .pipeline import Labelled, PipelineCounts, labels, quality_filter, reinvestment
from .signals import thumbs_signals


def thumbs_of(counts: PipelineCounts) -> np.ndarray:
    """The thumbs signals per group this step: every signal of kind ``thumbs`` in
    ``data.signals``, or without it the one feedback signal (a thumbs signal). The one
    place that says which signals can form pairs."""
    return thumbs_signals(counts)


def build_pairs(
    thumbs: np.ndarray, pair_share: float, label_noise: np.ndarray, recall: float,
    false_accept: float, reinvestment_rate: float, rng: np.random.Generator,
) -> tuple[np.ndarray, Labelled]:  # fmt: skip
    """This step's pairs per group and, of them, the ones used for training (split into
    clean and flipped), drawn in the order of the module docstring."""
    pairs = binomial(rng, thumbs, pair_share)
    labelled = labels(pairs, label_noise, rng)
    kept = quality_filter(labelled, recall, false_accept, rng)
    return pairs, reinvestment(kept, reinvestment_rate, rng)


class PairStore:
    """The training pairs a firm holds, per group: clean and flipped (aged counts)."""

    def __init__(self, n_groups: int, initial: int = 0) -> None:
        self.clean = np.full(n_groups, float(initial))
        """Correctly labelled pairs (``learning.initial_examples`` hand-labelled ones at
        step 0)."""
        self.flipped = np.zeros(n_groups)
        """Pairs whose chosen and rejected responses are swapped."""
        self.formed = np.zeros(n_groups, dtype=np.int64)
        """Pairs formed this step (before the filter)."""

    def age_and_add(self, formed: np.ndarray, used: Labelled, decay: float) -> None:
        """One step: what is held ages by ``decay``; this step's used pairs are added."""
        self.formed = np.asarray(formed, dtype=np.int64)
        self.clean = self.clean * decay + used.clean
        self.flipped = self.flipped * decay + used.wrong

    def age(self, decay: float) -> None:
        """A step without pairs (the firm serves by hand: no pipeline runs)."""
        self.formed = np.zeros_like(self.formed)
        self.clean = self.clean * decay
        self.flipped = self.flipped * decay

    @property
    def held(self) -> np.ndarray:
        """Training pairs held per group."""
        return self.clean + self.flipped


def uses_preference(scenario) -> bool:
    """Whether a firm of ``scenario`` runs the preference learner (the run then has the
    ``preference_pairs`` column)."""
    return any(
        scenario.firm_sections(j)["learning"].kind == "preference"
        for j in range(len(scenario.firm_names))
    )

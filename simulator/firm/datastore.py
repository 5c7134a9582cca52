"""The firm's data store: what it holds, per group and per source, and how the data ages.

Two levels, because the learners need different things:

- **counts** (every learner): training examples held per group, the mislabelled ones
  among them, and every filtered signal collected (used for training or not: a
  hoarder collects without using). Counts age with the half-life
  ``reinvestment.data_half_life`` (each step they are multiplied by
  ``2^(-1 / half_life)``). ``sources`` breaks the training examples down by source
  (:data:`~.sources.SOURCES`: users, curated, synthetic, open, bought, lighthouse),
  each with its mislabelled examples and the mean age of its data (its freshness).
- **points** (estimator learners, :class:`PointStore`): the actual data points of the
  current training set, with the step each was collected or generated at.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import numerics
from ..compiled import jit
from ..compiled import loaded as compiled_loaded
from .sources import SOURCES, GroupTruth, curated_points


def decay_factor(half_life: float | None) -> float:
    """Per-step survival factor of training data with the given half-life (steps)."""
    if half_life is None:
        return 1.0
    return float(numerics.exp2(-1.0 / half_life))


class SourceCounts:
    """One source's training examples per group: how many (aged), how many mislabelled,
    and the weighted sum of their ages (steps), so that ``age_sum / examples`` is the
    mean age of what is held."""

    def __init__(self, n_groups: int) -> None:
        self.examples = np.zeros(n_groups)
        self.wrong = np.zeros(n_groups)
        self.age_sum = np.zeros(n_groups)
        self.held = False
        """Whether anything was ever added: until then every count is 0.0 and ageing
        leaves it 0.0, so :meth:`age` skips the arithmetic (a step's fixed cost)."""

    def age(self, decay: float) -> None:
        """One step older: each example's weight times ``decay``, its age plus one."""
        if not self.held:
            return
        self.age_sum = (self.age_sum + self.examples) * decay
        self.examples = self.examples * decay
        self.wrong = self.wrong * decay

    def add(self, examples: np.ndarray, wrong: np.ndarray) -> None:
        self.held = True
        self.examples = self.examples + examples
        self.wrong = self.wrong + wrong

    def erase(self, keep: np.ndarray) -> None:
        """Keep the share ``keep[g]`` of each group's examples (of every age alike)."""
        self.examples = self.examples * keep
        self.wrong = self.wrong * keep
        self.age_sum = self.age_sum * keep

    @property
    def mean_age(self) -> np.ndarray:
        return np.divide(self.age_sum, self.examples, out=np.full(len(self.examples), np.nan),
                         where=self.examples > 0)  # fmt: skip


class SourceRecords(Mapping):
    """A read-only snapshot of every source's counts, ``name -> (examples, wrong, mean
    age)`` per group: the arrays as they are now (ageing and adding replace them, never
    change them in place), the mean age computed when read (most steps nobody reads it)."""

    def __init__(self, sources: dict[str, SourceCounts]) -> None:
        self._held = {name: (c.examples, c.wrong, c.age_sum) for name, c in sources.items()}

    def __getitem__(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        examples, wrong, age_sum = self._held[name]
        mean_age = np.divide(age_sum, examples, out=np.full(len(examples), np.nan),
                             where=examples > 0)  # fmt: skip
        return examples, wrong, mean_age

    def __iter__(self):
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)


EXCLUSIVE = {"users": True, "curated": True, "synthetic": True, "open": False,
             "bought": False, "lighthouse": True}  # fmt: skip
"""Whether a source's data is the firm's alone (a bought dataset is, if bought
exclusively: :meth:`DataStore.add` takes the purchase's own flag)."""


class DataStore:
    """Counts of training data per group, by source, ageing with the data half-life.

    Parameters
    ----------
    n_groups : int
    initial_examples : int
        Clean curated examples per group at step 0 (``learning.initial_examples``).
    """

    def __init__(self, n_groups: int, initial_examples: int) -> None:
        initial = float(initial_examples)
        self.examples = np.full(n_groups, initial)
        """Training examples held per group (all sources); decays with the half-life."""
        self.wrong_examples = np.zeros(n_groups)
        """Of those, the mislabelled ones."""
        self.collected = np.zeros(n_groups)
        """Filtered signals held per group, used for training or not (ages like training data)."""
        self.sources = {name: SourceCounts(n_groups) for name in SOURCES}
        """Training examples per source (a breakdown of ``examples``; the totals are kept by
        their own recursion, so the breakdown adds up to them to rounding)."""
        self.sources["curated"].examples = np.full(n_groups, initial)
        self.sources["curated"].held = True
        self.shared = np.zeros(n_groups)
        """Of the training examples, those a rival can hold too (open data, datasets not
        bought exclusively), aged like the rest."""
        self.points: PointStore | None = None
        """The data points, for estimator learners (None for the learning curve)."""
        self.pairs = None
        """The preference pairs (:class:`~.pairs.PairStore`), for the preference learner."""
        self.decay = 1.0
        """Per-step survival factor of the data (:func:`decay_factor` of the half-life)."""

    @property
    def by_source(self) -> dict[str, np.ndarray]:
        """Training examples per source and group."""
        return {name: counts.examples for name, counts in self.sources.items()}

    def age_and_add(
        self,
        kept,
        used: np.ndarray,
        used_wrong: np.ndarray,
        source: str = "users",
        lighthouse: np.ndarray | None = None,
    ) -> None:
        """One step: everything held ages by :attr:`decay`; this step's data is added.

        ``kept``: the signals that passed the filter (clean and wrong counts); ``used``:
        the examples used for training, of which ``used_wrong`` are mislabelled; ``source``:
        where they came from (the users' feedback; hand-curated while curating).
        ``lighthouse``: per group, the share of this step's users' feedback that comes from
        a lighthouse customer's users (booked under ``lighthouse``, so its data stays fresh
        while the customer stays and ages once it leaves). The totals are unchanged.
        """
        if lighthouse is None and source == "users" and compiled_loaded():
            self._age_and_add_compiled(kept, used, used_wrong)
            return
        decay = self.decay
        # Added clean then wrong, in this order: the float results depend on it.
        self.collected = self.collected * decay + kept.clean + kept.wrong
        self.examples = self.examples * decay + used
        self.wrong_examples = self.wrong_examples * decay + used_wrong
        self.shared = self.shared * decay
        for counts in self.sources.values():
            counts.age(decay)
        if lighthouse is not None and source == "users":
            self.sources["lighthouse"].add(used * lighthouse, used_wrong * lighthouse)
            used, used_wrong = used * (1 - lighthouse), used_wrong * (1 - lighthouse)
        self.sources[source].add(used, used_wrong)

    def _age_and_add_compiled(self, kept, used: np.ndarray, used_wrong: np.ndarray) -> None:
        """:meth:`age_and_add` of the users' data, the totals and the users' and curated
        sources in one compiled call (the other sources, most often none, as there): the
        same operations in the same order, so the same values; ~4 us against ~12 us for
        its sixteen NumPy calls on two groups. Every array is a new one, as there (the
        step's record keeps the old ones)."""
        users, curated = self.sources["users"], self.sources["curated"]
        table = _age_and_add_users(
            self.decay, self.collected, self.examples, self.wrong_examples, self.shared,
            kept.clean, kept.wrong, used, used_wrong, users.examples, users.wrong,
            users.age_sum, curated.examples, curated.wrong, curated.age_sum,
        )  # fmt: skip
        self.collected, self.examples, self.wrong_examples, self.shared = table[:4]
        users.examples, users.wrong, users.age_sum = table[4:7]
        curated.examples, curated.wrong, curated.age_sum = table[7:]
        users.held = curated.held = True  # added to (users), or aged zeros: the same zeros
        for name, counts in self.sources.items():
            if name != "users" and name != "curated":
                counts.age(self.decay)

    def add(self, source: str, examples: np.ndarray, wrong: np.ndarray,
            exclusive: bool | None = None) -> None:  # fmt: skip
        """Add a block of examples per group (``wrong`` of them mislabelled) from ``source``
        (a tactic: synthetic, open, bought, lighthouse, curated)."""
        examples, wrong = np.asarray(examples, dtype=float), np.asarray(wrong, dtype=float)
        self.collected = self.collected + examples
        self.examples = self.examples + examples
        self.wrong_examples = self.wrong_examples + wrong
        self.sources[source].add(examples, wrong)
        if not (EXCLUSIVE[source] if exclusive is None else exclusive):
            self.shared = self.shared + examples

    def add_selected(self, examples: np.ndarray, wrong: np.ndarray) -> None:
        """``data.top_k``: the users' examples a retrain selected (already counted as
        collected when they passed the filter), added to the training data."""
        self.examples = self.examples + examples
        self.wrong_examples = self.wrong_examples + wrong
        self.sources["users"].add(examples, wrong)

    def erase(self, keep: np.ndarray, source: str | None = None) -> np.ndarray:
        """GDPR erasure: of each group ``g``'s training examples (of ``source``, or of every
        source), only the share ``keep[g]`` stays. Returns the examples erased per group.

        Every count of the erased data goes: the training examples, their mislabelled
        ones, the collected signals and, for open or bought data, the shared ones. The
        mean age of what stays is unchanged (a uniform share of every age is erased).
        """
        keep = np.asarray(keep, dtype=float)
        if source is None:
            before = self.examples
            self.examples = self.examples * keep
            self.wrong_examples = self.wrong_examples * keep
            self.collected = self.collected * keep
            self.shared = self.shared * keep
            for counts in self.sources.values():
                counts.erase(keep)
            return before - self.examples
        counts = self.sources[source]
        erased, erased_wrong = counts.examples * (1.0 - keep), counts.wrong * (1.0 - keep)
        counts.erase(keep)
        self.examples = np.maximum(self.examples - erased, 0.0)
        self.wrong_examples = np.maximum(self.wrong_examples - erased_wrong, 0.0)
        self.collected = np.maximum(self.collected - erased, 0.0)
        if not EXCLUSIVE[source] or source == "bought":
            self.shared = np.maximum(self.shared - np.minimum(self.shared, erased), 0.0)
        return erased

    @property
    def noise_share(self) -> np.ndarray:
        """Share of mislabelled examples in each group's training data."""
        return np.divide(
            self.wrong_examples,
            self.examples,
            out=np.zeros(len(self.examples)),
            where=self.examples > 0,
        )


@jit
def _age_and_add_users(
    decay, collected, examples, wrong, shared, kept_clean, kept_wrong, used, used_wrong,
    users_examples, users_wrong, users_age, curated_examples, curated_wrong, curated_age,
):  # fmt: skip
    """The rows of :meth:`DataStore._age_and_add_compiled`, in a new array: collected,
    examples, wrong and shared examples, then the users' and the curated source's
    examples, wrong ones and age sums, with the NumPy path's operations in its order."""
    out = np.empty((10, len(collected)))
    for g in range(len(collected)):
        out[0, g] = collected[g] * decay + kept_clean[g] + kept_wrong[g]
        out[1, g] = examples[g] * decay + used[g]
        out[2, g] = wrong[g] * decay + used_wrong[g]
        out[3, g] = shared[g] * decay
        out[4, g] = users_examples[g] * decay + used[g]  # aged, then added to
        out[5, g] = users_wrong[g] * decay + used_wrong[g]
        out[6, g] = (users_age[g] + users_examples[g]) * decay
        out[7, g] = curated_examples[g] * decay
        out[8, g] = curated_wrong[g] * decay
        out[9, g] = (curated_age[g] + curated_examples[g]) * decay
    return out


class PointStore:
    """The data points of an estimator learner, group by group.

    ``training[g]`` is the current training set of group ``g`` and ``born[g]`` the step
    each point was collected or generated at; ``fresh[g]`` holds the real points the
    users gave since the last generation. A *generation* (every retrain) builds a
    batch of fresh real points plus synthetic ones sampled from the deployed model and
    either adds it to the training set (``data.policy: accumulate``) or replaces it
    (``replace``).
    """

    def __init__(self, rng: np.random.Generator, truth: GroupTruth, initial_examples: int):
        n_groups = len(truth.means)
        self.training = [curated_points(rng, truth, g, initial_examples) for g in range(n_groups)]
        self.born = [np.zeros(len(points), dtype=np.int64) for points in self.training]
        self.synthetic = np.zeros(n_groups, dtype=np.int64)
        """Per group, how many points of the training set are synthetic."""
        self.fresh: list[list[np.ndarray]] = [[] for _ in range(n_groups)]
        self.fresh_born: list[list[np.ndarray]] = [[] for _ in range(n_groups)]
        self.collections = 0
        """Steps collected so far (= the step number of the latest collection)."""

    def collect(self, rng: np.random.Generator, truth: GroupTruth, clean, wrong) -> None:
        """This step's users' points: ``clean[g]`` and ``wrong[g]`` per group."""
        from .sources import user_points

        self.collections += 1
        for g in range(len(self.training)):
            count = int(clean[g]) + int(wrong[g])
            if count:
                self.fresh[g].append(user_points(rng, truth, g, int(clean[g]), int(wrong[g])))
                self.fresh_born[g].append(np.full(count, self.collections))

    def new_generation(self, step: int, data, sample, rng: np.random.Generator) -> None:
        """Build this generation's batch and add it to (or make it) the training set.

        Per group, the batch holds fresh real points and synthetic points drawn by
        ``sample(n, rng)`` from the deployed model. Without ``data.batch_size``: every
        fresh real point, plus ``round(n_real s / (1 - s))`` synthetic ones, so that a
        share ``s`` of the batch is synthetic. With ``batch_size`` M: ``round(M s)``
        synthetic points and ``M - round(M s)`` real ones, a random subset of the fresh
        points (fewer if fewer were collected; the rest are discarded).
        """
        share, size = data.synthetic_share, data.batch_size
        replace = data.policy == "replace"
        for g in range(len(self.training)):
            real = np.concatenate([np.zeros(0), *self.fresh[g]])
            born = np.concatenate([np.zeros(0, dtype=np.int64), *self.fresh_born[g]])
            self.fresh[g], self.fresh_born[g] = [], []
            if size is None:
                n_synthetic = round_half_up(len(real) * share / (1.0 - share))
            else:
                n_synthetic = round_half_up(size * share)
                n_real = min(size - n_synthetic, len(real))
                if n_real < len(real):
                    keep = np.sort(rng.choice(len(real), n_real, replace=False))
                    real, born = real[keep], born[keep]
            synthetic = sample(n_synthetic, rng)
            batch = np.concatenate([real, synthetic])
            batch_born = np.concatenate([born, np.full(n_synthetic, step)]).astype(np.int64)
            if replace:
                self.training[g], self.born[g] = batch, batch_born
                self.synthetic[g] = n_synthetic
            else:
                self.training[g] = np.concatenate([self.training[g], batch])
                self.born[g] = np.concatenate([self.born[g], batch_born])
                self.synthetic[g] += n_synthetic

    def add(self, step: int, points: list[np.ndarray], synthetic: bool = False) -> None:
        """A tactic's data points per group at ``step``: at step 0 into the training set (the
        first model trains on them), later with the fresh points (the next generation)."""
        for g, values in enumerate(points):
            if len(values) == 0:
                continue
            born = np.full(len(values), step, dtype=np.int64)
            if step == 0:
                self.training[g] = np.concatenate([self.training[g], values])
                self.born[g] = np.concatenate([self.born[g], born])
                if synthetic:
                    self.synthetic[g] += len(values)
            else:
                self.fresh[g].append(values)
                self.fresh_born[g].append(born)

    def training_set(self, step: int, decay: float) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The points to fit at ``step`` and their weights (None: unweighted), or None if
        there is no usable data: no points, or every point's weight has aged to 0."""
        values = np.concatenate(self.training)
        if len(values) == 0:
            return None
        if decay == 1.0:
            return values, None
        # Data ageing: a point's weight halves every half-life.
        weights = numerics.power(decay, step - np.concatenate(self.born))
        if not np.sum(weights) > 0:
            return None
        return values, weights

    @property
    def size(self) -> int:
        return int(sum(len(points) for points in self.training))


def round_half_up(value: float) -> int:
    """Round half up (Python's ``round`` rounds half to even)."""
    return int(np.floor(value + 0.5))

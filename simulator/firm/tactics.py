"""Cold-start tactics that bring data: what each adds to a firm's store, and when.

Each tactic of ``cold_start:`` is off by default. The data ones add a block of examples
at their step (``at``), tagged with their source:

- ``synthetic``: ``examples`` per group, generated for the use case. The learning curve
  counts each as ``weight`` real examples (a quality discount); an estimator learner gets
  points sampled from its deployed model (at step 0, the cold-start model: the collapse
  risk of training on one's own output);
- ``open_data``: a public pool; group ``g`` gets ``round(examples * relevance_g)`` of it,
  a share ``label_noise`` of them mislabelled; never exclusive (any rival can use it);
- ``acquisition``: ``examples`` bought, spread over the groups by population share (or
  all for one ``group``), a share ``label_noise`` mislabelled; exclusive only if bought
  with ``exclusive: true``; its ``price`` is a cost (economics);
- ``lighthouse``: the customer's own history, ``examples`` for its group, added when it
  joins (its users join then too, :meth:`simulator.model.FlywheelModel.run_events`).

Hand-curation (``curation``) is not a block: while the firm has had at most ``users``
users, every interaction is served and labelled by hand, a clean example
(:meth:`Firm.collect <simulator.firm.firm.Firm.collect>`).

Counts are rounded half up, so a tactic's data is the same on every run; only the
estimator learners' data points are drawn (from the firm's pipeline stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datastore import round_half_up


@dataclass(frozen=True)
class DataBlock:
    """Examples a tactic adds at one step, per group."""

    source: str
    examples: np.ndarray
    wrong: np.ndarray
    weight: float = 1.0
    """What one example is worth to the learning curve (synthetic data: its discount)."""
    exclusive: bool | None = None
    """Whether rivals cannot hold it too (None: the source's rule)."""
    cost: float = 0.0


def _rounded(values) -> np.ndarray:
    return np.array([round_half_up(v) for v in np.asarray(values, dtype=float)], dtype=float)


def by_share(total: int, shares: np.ndarray) -> np.ndarray:
    """``total`` examples over groups in proportion to ``shares``, by largest remainder
    (they add up to ``total``; ties to the earlier group)."""
    from ..world.population import group_sizes

    return group_sizes(list(shares), int(total)).astype(float)


def blocks_at(step: int, cold_start, groups) -> list[DataBlock]:
    """The data blocks the firm's tactics add at ``step`` (``groups``: the population's)."""
    names = [group.name for group in groups]
    shares = np.array([group.share for group in groups])
    n = len(names)
    out: list[DataBlock] = []
    synthetic = cold_start.synthetic
    if synthetic.examples and synthetic.at == step:
        out.append(DataBlock("synthetic", np.full(n, float(synthetic.examples)), np.zeros(n),
                             weight=synthetic.weight))  # fmt: skip
    pool = cold_start.open_data
    if pool.examples and pool.at == step:
        relevance = np.array([pool.relevance.get(g, pool.default_relevance) for g in names])
        examples = _rounded(pool.examples * relevance)
        out.append(DataBlock("open", examples, _rounded(examples * pool.label_noise)))
    bought = cold_start.acquisition
    if bought.examples and bought.at == step:
        if bought.group is None:
            examples = by_share(bought.examples, shares)
        else:
            examples = np.zeros(n)
            examples[names.index(bought.group)] = bought.examples
        out.append(DataBlock("bought", examples, _rounded(examples * bought.label_noise),
                             exclusive=bought.exclusive, cost=bought.price))  # fmt: skip
    lighthouse = cold_start.lighthouse
    if lighthouse.users and lighthouse.examples and lighthouse.at == step:  # no customer: off
        examples = np.zeros(n)
        examples[names.index(lighthouse.group) if lighthouse.group else 0] = lighthouse.examples
        out.append(DataBlock("lighthouse", examples, _rounded(examples * lighthouse.label_noise)))
    return out

"""Cohorts: which model each user is served while a firm tests or rolls out a candidate.

A firm testing a candidate (``policy: ab_test``) or rolling it out (``policy: canary``)
serves it to the users with ``bucket(i) < pct`` (:func:`simulator.firm.abtest.traffic_bucket`)
and its deployed model to the others. The step view then carries, instead of one quality
per firm and group, a quality per firm and *row*: with the distinct per cents in force
sorted, ``t_1 < ... < t_K``, a user's cohort class ``c(i)`` is how many of them exceed
``bucket(i)`` (0: served every firm's deployed model), and their row is ``c(i) n_groups +
group(i)``. Row ``c n_groups + g`` of firm ``j`` holds firm ``j``'s candidate quality for
group ``g`` if ``j``'s per cent is among the ``c`` largest, its deployed quality
otherwise. The mechanisms read the quality a user experiences (satisfaction, churn, a
joiner's first satisfaction, switching between firms) at the user's row instead of
their group: only the gather changes, the same in both engines. Without a candidate
served to anyone there are no cohorts (rows are groups) and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Cohorts:
    """This step's rows: per user, and the quality (and risk) per firm and row."""

    row: np.ndarray
    """Every user's row, ``c(i) n_groups + group(i)`` (the module docstring)."""
    quality: np.ndarray
    """Shape (firms, rows): the quality a user of each row experiences on each firm."""
    risk: np.ndarray | None
    """Estimator learners: the served model's risk, shape (firms, rows)."""


def row_index(bucket: np.ndarray, group: np.ndarray, n_groups: int, pcts: tuple[int, ...]):
    """Every user's row for the sorted distinct per cents ``pcts``."""
    below = np.searchsorted(np.asarray(pcts), bucket, side="right")  # pcts <= bucket
    cohort = len(pcts) - below
    return (cohort * n_groups + group).astype(group.dtype)


def table(deployed: np.ndarray, served: list, pcts: tuple[int, ...]) -> np.ndarray:
    """Per firm and row: firm ``j``'s candidate (``served[j]``: (pct, values), or None)
    where the row's class is served it, its ``deployed[j]`` values elsewhere."""
    n_firms, n_groups = deployed.shape
    k = len(pcts)
    out = np.empty((n_firms, (k + 1) * n_groups))
    for j in range(n_firms):
        rank = -1 if served[j] is None else pcts.index(served[j][0])  # 0 = smallest
        for c in range(k + 1):
            treated = rank >= 0 and rank >= k - c
            out[j, c * n_groups : (c + 1) * n_groups] = served[j][1] if treated else deployed[j]
    return out

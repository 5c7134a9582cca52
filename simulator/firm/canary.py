"""A canary rollout (``reinvestment.deployment.policy: canary``): the candidate ships to a
small share of the users, ramps up through stages, and is rolled back if that share fares
worse than the rest.

- **Cohorts.** At a stage of ``pct`` per cent, user ``i`` is served the candidate when
  ``bucket(i) < pct`` (the A/B test's stable hash, :func:`.abtest.traffic_bucket`): the
  cohorts are nested, so a user in the canary stays in it as the rollout widens. The
  canary users experience the candidate's quality (satisfaction, churn, the choice
  between firms), the others the deployed model's.
- **Stages.** ``ramp`` lists the per cents, e.g. ``[5, 25, 50, 100]``. Each stage below
  100 is held ``step_duration`` steps; its observations are the A/B test's
  (:meth:`.abtest.RunningTest.observe`: each of the firm's interactions of group ``g`` is
  a canary interaction with probability ``T_g / A_g`` and satisfies its user with the
  quality of the model the user is served), from the firm's deployment stream.
- **Rollback** at the end of a stage: the one-sided pooled two-proportion z-test that the
  canary is *worse*, ``z < -z_(1 - alpha)`` (the A/B test's statistic, the canary the
  treatment arm). On a rollback every user is back on the deployed model at once.
  Otherwise the next stage starts; reaching 100 the candidate becomes the deployed model.
- **Right or wrong**, as the A/B test's: a promotion is *shipped worse* when the
  candidate is truly worse (true qualities, groups weighted by population share), a
  rollback is *rejected better* when it was truly better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .abtest import RunningTest, critical_z
from .deployment import Deployment, Trained


def rolls_back(z: float, alpha: float) -> bool:
    """Whether the one-sided test at ``alpha`` says the canary is worse: ``z < -z_(1-alpha)``
    (no evidence, ``nan``: it is not rolled back)."""
    return bool(np.isfinite(z) and z < -critical_z(alpha))


@dataclass
class Rollout:
    """A candidate being rolled out: its stages, the stage in force and its observations."""

    candidate: Trained
    stages: tuple[int, ...]
    stage: int
    test: RunningTest
    """This stage's observations (over steps ``ends_at - step_duration + 1 .. ends_at``)."""

    @property
    def pct(self) -> int:
        """The per cent of the users served the candidate now."""
        return self.stages[self.stage]

    def next_stage(self, step: int, step_duration: int) -> bool:
        """Move to the next stage at the end of ``step``; True if it is 100 (deployed)."""
        self.stage += 1
        if self.pct >= 100:
            return True
        self.test = _stage_test(self.candidate, step, step_duration, self.test.trials.shape[1])
        return False


def _stage_test(candidate: Trained, step: int, step_duration: int, n_groups: int) -> RunningTest:
    zeros = np.zeros((2, n_groups), dtype=np.int64)
    return RunningTest(candidate=candidate, ends_at=step + step_duration, trials=zeros,
                       successes=zeros.copy())  # fmt: skip


def start_rollout(deployment: Deployment, step: int, stages: tuple[int, ...],
                  step_duration: int, n_groups: int) -> Rollout | None:  # fmt: skip
    """The rollout of the newest due candidate, its first stage served from step ``step +
    1``; None if no candidate is due."""
    due = deployment.due(step)
    if due is None:
        return None
    return Rollout(due, tuple(stages), 0, _stage_test(due, step, step_duration, n_groups))

"""A real A/B test (``reinvestment.deployment.policy: ab_test``): the candidate serves a
share of the users, the test observes their satisfaction, and a one-sided test decides;
and a shadow test (``policy: shadow``) that scores the candidate on logged traffic.

- **Assignment.** User ``i`` is in the treatment cohort when ``bucket(i) <
  traffic_pct``, ``bucket(i) = floor(100 (2654435761 i mod 2^32) / 2^32)`` (Knuth's
  multiplicative hash of the user's index): stable across steps, the same in both
  engines, about ``traffic_pct`` % of every group.
- **Observation.** For ``duration`` steps after a candidate is due, each of the firm's
  interactions of group ``g`` this step is a treatment interaction with probability
  ``T_g / A_g`` (``T_g`` the firm's active users of the group in the treatment cohort,
  ``A_g`` all its active users of the group) and satisfies its user with probability
  ``Q^cand_g`` (treatment) or ``Q^dep_g`` (control):
  ``n^T_g ~ Binomial(I_g, T_g / A_g)``, ``s^T_g ~ Binomial(n^T_g, Q^cand_g)``,
  ``s^C_g ~ Binomial(I_g - n^T_g, Q^dep_g)``, from the firm's own *deployment* stream.
- **Decision** at the end of the last step observed: the one-sided two-proportion z-test
  of ``H0: p_T <= p_C`` with the pooled proportion,
  ``z = (p_T - p_C) / sqrt(p (1 - p) (1 / n_T + 1 / n_C))``; the candidate ships iff
  ``z > z_(1 - alpha)`` (no treatment or control observation: it does not ship).
- **Right or wrong.** A decision is judged against the perfect gate (true qualities,
  groups weighted by population share): *shipped worse* when the candidate ships and is
  truly worse, *rejected better* when it does not ship and is truly better.

- **Exposure.** While the test runs, the treatment cohort's users experience the
  candidate's quality for their group (satisfaction, churn, the choice between firms:
  :class:`simulator.engines.cohorts.Cohorts`); the other users the deployed model's.
- **Shadow** (``policy: shadow``): no user is exposed. For ``duration`` steps every
  interaction the firm logs is scored offline with both models against its logged
  feedback label, which is wrong with the group's label noise ``eps_g``: the candidate
  scores a success with probability ``eps_g + (1 - 2 eps_g) Q^cand_g``, the deployed
  model with ``eps_g + (1 - 2 eps_g) Q^dep_g`` (``s^cand_g ~ Binomial(I_g, .)``, then
  ``s^dep_g ~ Binomial(I_g, .)``, from the deployment stream), so the noise shrinks the
  difference by ``1 - 2 eps``. The same one-sided z-test (each arm ``sum_g I_g`` trials)
  decides at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from ..numerics import binomial
from .deployment import Deployment, Trained

HASH_MULTIPLIER = 2654435761
"""Knuth's multiplicative hash constant (2^32 / golden ratio, odd)."""


def traffic_bucket(n_users: int) -> np.ndarray:
    """``bucket(i) = floor(100 (2654435761 i mod 2^32) / 2^32)`` for users ``0 .. n - 1``:
    a stable pseudo-random bucket in 0..99 per user (no random stream)."""
    index = np.arange(n_users, dtype=np.uint64)
    hashed = (index * np.uint64(HASH_MULTIPLIER)) & np.uint64(0xFFFFFFFF)
    return ((hashed * np.uint64(100)) >> np.uint64(32)).astype(np.int64)


def one_sided_z(successes_t: int, trials_t: int, successes_c: int, trials_c: int) -> float:
    """The two-proportion z statistic with the pooled proportion (``nan`` when undefined:
    no trials in an arm, or a pooled proportion of 0 or 1)."""
    if trials_t == 0 or trials_c == 0:
        return float("nan")
    pooled = (successes_t + successes_c) / (trials_t + trials_c)
    if pooled <= 0.0 or pooled >= 1.0:
        return float("nan")
    difference = successes_t / trials_t - successes_c / trials_c
    return difference / float(np.sqrt(pooled * (1.0 - pooled) * (1.0 / trials_t + 1.0 / trials_c)))


def critical_z(alpha: float) -> float:
    """``z_(1-alpha)``, the standard normal's upper ``alpha`` quantile: what
    ``scipy.stats.norm.isf(alpha)`` returns (the same function, ``-ndtri``), without
    importing ``scipy.stats`` (most of a run's start-up time when it runs no test)."""
    return 0.0 - float(ndtri(alpha))


def promotes(z: float, alpha: float) -> bool:
    """Whether the one-sided test at ``alpha`` rejects ``p_T <= p_C``: ``z > z_(1-alpha)``."""
    return bool(np.isfinite(z) and z > critical_z(alpha))


@dataclass
class RunningTest:
    """A candidate under test: its observations so far."""

    candidate: Trained
    ends_at: int
    trials: np.ndarray
    """Per arm (treatment, control) and group: interactions observed."""
    successes: np.ndarray

    def observe(self, traffic, candidate_quality, deployed_quality, rng) -> None:
        """One step's observations (the module docstring's draws, in this order)."""
        interactions, treated, active = (np.asarray(x, dtype=np.int64) for x in traffic)
        share = np.divide(treated, active, out=np.zeros(len(active)), where=active > 0)
        n_treatment = binomial(rng, interactions, share)
        n_control = interactions - n_treatment
        s_treatment = binomial(rng, n_treatment, np.clip(candidate_quality, 0.0, 1.0))
        s_control = binomial(rng, n_control, np.clip(deployed_quality, 0.0, 1.0))
        self.trials += np.stack([n_treatment, n_control])
        self.successes += np.stack([s_treatment, s_control])

    def observe_logged(self, interactions, label_noise, candidate_quality, deployed_quality,
                       rng) -> None:  # fmt: skip
        """Shadow: one step's logged interactions scored by both models (the module
        docstring's draws, candidate first)."""
        interactions = np.asarray(interactions, dtype=np.int64)
        noise = np.asarray(label_noise, dtype=float)
        scored = [noise + (1.0 - 2.0 * noise) * np.clip(q, 0.0, 1.0)
                  for q in (candidate_quality, deployed_quality)]  # fmt: skip
        s_candidate = binomial(rng, interactions, scored[0])
        s_deployed = binomial(rng, interactions, scored[1])
        self.trials += np.stack([interactions, interactions])
        self.successes += np.stack([s_candidate, s_deployed])

    def z(self) -> float:
        trials, successes = self.trials.sum(axis=1), self.successes.sum(axis=1)
        return one_sided_z(int(successes[0]), int(trials[0]), int(successes[1]), int(trials[1]))


@dataclass
class TestLedger:
    """The decisions of a firm's A/B tests so far."""

    tests: int = 0
    promoted: int = 0
    shipped_worse: int = 0
    rejected_better: int = 0
    rollouts: int = 0
    """canary: rollouts started."""
    rollbacks: int = 0
    """canary: rollouts rolled back."""
    running: RunningTest | None = field(default=None, repr=False)
    rollout: object | None = field(default=None, repr=False)
    """canary: the rollout in progress (:class:`simulator.firm.canary.Rollout`)."""
    kind: str | None = None
    """The policy that started what is running (a change of policy drops it)."""


def start_test(deployment: Deployment, step: int, duration: int, n_groups: int):
    """The test of the newest due candidate, observed over steps ``step + 1 .. step +
    duration``; None if no candidate is due."""
    due = deployment.due(step)
    if due is None:
        return None
    zeros = np.zeros((2, n_groups), dtype=np.int64)
    return RunningTest(candidate=due, ends_at=step + duration, trials=zeros,
                       successes=zeros.copy())  # fmt: skip


TESTED = ("ab_test", "shadow", "canary")
"""The policies whose decisions are recorded (columns ab_tests, ...)."""


def uses_ab_test(scenario) -> bool:
    """Whether the run has the A/B-test columns: a firm's policy is tested (``ab_test``,
    ``shadow``, ``canary``) at step 0,
    or an intervention sets a deployment key (its columns are then in the timeseries from
    the start; read from the keys, without validating the later states, which would
    recurse through the highlight check)."""
    for j in range(len(scenario.firm_names)):
        policy = scenario.firm_sections(j)["reinvestment"].deployment
        if policy is not None and policy.policy in TESTED:
            return True
    return any(_mentions_deployment(key, value) for intervention in scenario.interventions
               for key, value in intervention.set.items())  # fmt: skip


def uses_canary(scenario) -> bool:
    """Whether the run has the canary columns: a firm's policy is ``canary`` at step 0, or
    an intervention sets a deployment key to canary or a canary key."""
    for j in range(len(scenario.firm_names)):
        policy = scenario.firm_sections(j)["reinvestment"].deployment
        if policy is not None and policy.policy == "canary":
            return True
    return any(_mentions_canary(key, value) for intervention in scenario.interventions
               for key, value in intervention.set.items())  # fmt: skip


def _mentions(key: str, value, hit) -> bool:
    """Whether ``hit(key, value)`` holds for the dotted key or any key or value nested in
    ``value`` (mappings and lists, as an intervention's ``set`` may hold them)."""
    if hit(key, value):
        return True
    if isinstance(value, dict):
        return any(_mentions(str(k), v, hit) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions("", v, hit) for v in value)
    return False


def _mentions_canary(key: str, value) -> bool:
    from ..scenario.deployment import CANARY_KEYS

    return _mentions(key, value, lambda k, v: k.split(".")[-1] in CANARY_KEYS or v == "canary")


def _mentions_deployment(key: str, value) -> bool:
    return _mentions(key, value, lambda k, v: "deployment" in k.split("."))


def deployment_summary(timeseries) -> dict | None:
    """summary.json's ``deployment`` block (tested policies only): the decisions of the run
    (and with a canary its rollouts and rollbacks)."""
    if "ab_tests" not in timeseries:
        return None
    last = timeseries.iloc[-1]
    tests = int(last["ab_tests"])
    worse, better = int(last["ab_shipped_worse"]), int(last["ab_rejected_better"])

    def share(count: int) -> float | None:
        return count / tests if tests else None

    block = {
        "tests": tests, "promoted": int(last["ab_promoted"]), "shipped_worse": worse,
        "rejected_better": better, "shipped_worse_share": share(worse),
        "rejected_better_share": share(better), "wrong_share": share(worse + better),
    }  # fmt: skip
    if "canary_rollouts" in timeseries:
        block |= {"rollouts": int(last["canary_rollouts"]),
                  "rollbacks": int(last["canary_rollbacks"])}  # fmt: skip
    return block

"""Validation: federated learning (FedAvg, McMahan et al. 2017) against centralised training.

Every case runs the simulator's own estimator learner (``EstimatorLearner.fit`` with
``privacy.federated: true``, :mod:`simulator.firm.federated`) on a fixed data set held
by a point store; replicates differ only in the federated stream (client sampling,
shuffles, DP noise), seeds 0, 1, ..., R - 1.

1. **IID, full participation** (every client in every round): FedAvg is deterministic
   and converges to the centralised fit. For the mean and the Gaussian (moments) the
   local model is quadratic: ``theta_R - y = (1 - rho)^R (theta_0 - y)``, ``rho = 1 - (1 -
   eta)^E``, so after enough rounds the federated fit equals the centralised one to
   floating-point tolerance (1e-10). For the logistic classifier the clients' Newton
   steps have different curvatures, so FedAvg's fixed point is near, not at, the
   centralised ``w``: the check is statistical, the difference must be under a tenth of
   ``w``'s own standard error ``1 / sqrt(n I(w))`` (``I`` the Fisher information per
   point), i.e. invisible beside what the data can tell.
2. **Non-IID groups, partial participation** (the mean): the excess error over the
   centralised mean has the closed form ``(1 - rho)^(2R) (theta_0 - y)^2 + A (1 - m/N)
   S_b^2 / m``, ``A = rho (1 - (1 - rho)^(2R)) / (2 - rho)``, ``S_b^2`` the between-client
   variance of the client means (sampling ``m`` of ``N`` equal-sized clients without
   replacement, Cochran 1977 Theorem 2.2; derivation in simulator/firm/federated.py).
   It is larger than the IID (shuffled) clients' error at the same participation.
3. **DP-FedAvg**: with ``rho = 1``, full participation and one round (the clients' updates
   well inside the clip), the model is the clients' mean plus the round's noise, so the
   excess error is ``sigma^2``, ``sigma = sqrt(2 ln(1.25 R / delta)) 2 S R / (m
   epsilon)``. Over ``R`` rounds with ``rho < 1`` the noise, added to the model itself,
   weighs ``sum_j (1 - rho)^(2j) = A / rho^2``: the excess error is ``A sigma^2 / rho^2``
   plus the start's ``((1 - rho)^R y)^2``.

**Tolerance, from theory.** The squared excess errors of R independent replicates have a
mean whose standard error is ``sd / sqrt(R)`` (estimated from the replicates); the check
allows ``z * se``, ``z`` the two-sided normal critical value at alpha = 0.001,
Bonferroni-corrected over the three comparisons (z = 3.59) (docs/validation.md, "How tolerances are
set"). Reduced: R = 2,000 (about 8 % of the excess error for near-normal errors); slow:
R = 40,000 (about 2 %).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import norm

from simulator.firm.federated import (
    CurveFederation,
    contraction,
    mean_excess_error,
    round_sigma,
    sampled_clients,
    variance_factor,
)
from simulator.firm.learners.curve import CurveLearner
from simulator.firm.learners.estimators import EstimatorLearner
from simulator.scenario.regulation import Privacy

ALPHA = 0.001
COMPARISONS = 3  # the non-IID excess error, DP-FedAvg in one round, and over rounds
MEANS, SPREADS = np.array([-1.0, 0.0, 1.5]), np.array([0.5, 0.5, 0.5])
PER_GROUP = 600  # points per group; 10 clients per group hold 60 each


def data_set(seed: int = 2024) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(m, s, PER_GROUP) for m, s in zip(MEANS, SPREADS, strict=True)]


def store_of(training: list[np.ndarray]):
    """A point store with ``training`` per group, all collected at step 0 (no ageing)."""
    points = SimpleNamespace(training=training,
                             born=[np.zeros(len(v), dtype=np.int64) for v in training])  # fmt: skip
    return SimpleNamespace(points=points, decay=1.0)


def learner(estimator: str, privacy: Privacy, seed: int) -> EstimatorLearner:
    return EstimatorLearner(estimator, "erm", 1.0, MEANS, SPREADS, privacy=privacy,
                            privacy_rng=np.random.default_rng(seed))  # fmt: skip


def centralised(estimator: str, training: list[np.ndarray]) -> np.ndarray:
    plain = EstimatorLearner(estimator, "erm", 1.0, MEANS, SPREADS)
    return plain.fit_params(np.concatenate(training))


def client_means(training: list[np.ndarray], clients: int) -> np.ndarray:
    """The round-robin split of ``split: group``: point i of group g to client i mod K."""
    return np.array([v[k::clients].mean() for v in training for k in range(clients)])


# -- 1. IID, full participation: the centralised fit ------------------------------------


@pytest.mark.parametrize("estimator", ["mean", "gaussian"])
def test_full_participation_equals_centralised_training(estimator):
    training = data_set()
    privacy = Privacy(federated=True, clients=10, participation=1.0, rounds=40,
                      local_steps=2, learning_rate=0.5, split="shuffle")  # fmt: skip
    fed = learner(estimator, privacy, 0).fit(store_of(training), 1)
    central = centralised(estimator, training)
    # rho = 1 - 0.5^2 = 0.75: the start's error shrinks by 0.25^40 ~ 1e-24
    np.testing.assert_allclose(fed.params[0], central[0], rtol=0, atol=1e-10)
    if estimator == "gaussian":
        np.testing.assert_allclose(fed.params[1], central[1], rtol=0, atol=1e-10)
        np.testing.assert_allclose(fed.risk, EstimatorLearner(
            "gaussian", "erm", 1.0, MEANS, SPREADS).risk(central), atol=1e-9)  # fmt: skip


def test_full_participation_logistic_is_within_a_tenth_of_a_standard_error():
    # Logistic data: z = y x with x | y ~ N(y mean_g, s^2), so z ~ N(mean_g, s^2).
    training = data_set()
    privacy = Privacy(federated=True, clients=10, participation=1.0, rounds=60,
                      local_steps=3, learning_rate=1.0, split="shuffle")  # fmt: skip
    fed = float(learner("logistic", privacy, 0).fit(store_of(training), 1).params[0])
    w = float(centralised("logistic", training)[0])
    z = np.concatenate(training)
    sig = 1.0 / (1.0 + np.exp(-w * z))
    information = float(np.mean(z * z * sig * (1.0 - sig)))
    standard_error = 1.0 / np.sqrt(len(z) * information)
    assert abs(fed - w) < 0.1 * standard_error, (fed, w, standard_error)


# -- 2. Non-IID, partial participation: the closed form ----------------------------------


def excess_errors(training, privacy: Privacy, replicates: int) -> np.ndarray:
    store, y = store_of(training), float(np.concatenate(training).mean())
    errors = np.empty(replicates)
    for seed in range(replicates):
        errors[seed] = learner("mean", privacy, seed).fit(store, 1).params[0] - y
    return errors * errors


NON_IID = dict(federated=True, clients=10, participation=0.2, rounds=5, local_steps=2,
               learning_rate=0.5, split="group")  # fmt: skip


def check_non_iid(replicates: int, comparisons: int) -> dict:
    training = data_set()
    privacy = Privacy(**NON_IID)
    squares = excess_errors(training, privacy, replicates)
    rho = contraction(privacy.learning_rate, privacy.local_steps)
    m = sampled_clients(3 * privacy.clients, privacy.participation)
    theory = mean_excess_error(client_means(training, privacy.clients), m, rho, privacy.rounds)
    measured, se = float(squares.mean()), float(squares.std(ddof=1) / np.sqrt(replicates))
    z = float(norm.isf(ALPHA / (2 * comparisons)))
    assert abs(measured - theory) <= z * se, (measured, theory, se)
    iid = excess_errors(training, Privacy(**(NON_IID | {"split": "shuffle"})), replicates // 4)
    assert measured > 5 * float(iid.mean()), (measured, float(iid.mean()))  # drift costs
    return {"measured": measured, "theory": theory, "allowed": z * se, "iid": float(iid.mean())}


def test_non_iid_partial_participation_numbers_by_hand():
    # N = 30 clients, q = 0.2: m = 6, f = 0.2; rho = 1 - 0.5^2 = 0.75; R = 5
    assert sampled_clients(30, 0.2) == 6
    rho = contraction(0.5, 2)
    assert rho == 0.75
    a = variance_factor(rho, 5)  # 0.75 (1 - 0.25^10) / 1.25
    assert a == pytest.approx(0.75 * (1 - 0.25**10) / 1.25, rel=1e-15)
    # two equal clients' means -1 and 1, one sampled of two, start at the pooled mean 0:
    # S_b^2 = 2, (1 - 1/2) 2 / 1 = 1, times A
    assert mean_excess_error(np.array([-1.0, 1.0]), 1, rho, 5) == pytest.approx(a)


def test_non_iid_excess_error_matches_closed_form_reduced():
    check_non_iid(replicates=2000, comparisons=COMPARISONS)


@pytest.mark.slow
def test_non_iid_excess_error_matches_closed_form_full():
    result = check_non_iid(replicates=40_000, comparisons=COMPARISONS)
    print(f"\nnon-IID excess error {result['measured']:.6g}, theory {result['theory']:.6g}, "
          f"allowed +-{result['allowed']:.3g}; IID {result['iid']:.3g}")  # fmt: skip


# -- 3. DP-FedAvg: the noise's variance --------------------------------------------------


DP_ONE_ROUND = dict(federated=True, epsilon=2.0, delta=1e-5, clip=3.0, clients=10,
                    participation=1.0, rounds=1, local_steps=1, learning_rate=1.0,
                    split="shuffle")  # fmt: skip
DP_ROUNDS = DP_ONE_ROUND | dict(epsilon=20.0, rounds=6, local_steps=2, learning_rate=0.5)
"""rho = 0.75 over six rounds: the noise, added to the model, weighs sum_j 0.25^(2j) =
(1 - 0.25^12) / (1 - 0.25^2) = A / rho^2; the updates (under 1) stay inside the clip."""


def check_dp(replicates: int, comparisons: int, keys: dict = DP_ONE_ROUND) -> dict:
    training = data_set()
    privacy = Privacy(**keys)
    squares = np.empty(replicates)
    for seed in range(replicates):
        # shuffled clients' means differ by seed: compare with this replicate's own
        fed = learner("mean", privacy, seed).fit(store_of(training), 1).params[0]
        squares[seed] = (fed - float(np.concatenate(training).mean())) ** 2
    rho = contraction(privacy.learning_rate, privacy.local_steps)
    weight = variance_factor(rho, privacy.rounds) / rho**2  # 1 for one round at rho = 1
    y = float(np.concatenate(training).mean())
    theory = weight * round_sigma(privacy, 30) ** 2 + ((1 - rho) ** privacy.rounds * y) ** 2
    measured, se = float(squares.mean()), float(squares.std(ddof=1) / np.sqrt(replicates))
    z = float(norm.isf(ALPHA / (2 * comparisons)))
    assert abs(measured - theory) <= z * se, (measured, theory, se)
    return {"measured": measured, "theory": theory, "allowed": z * se}


def test_dp_fedavg_sigma_by_hand():
    # k = sqrt(2 ln(1.25 * 3 / 1e-5)) = 5.0689; sigma = k 2 S R / (m epsilon)
    privacy = Privacy(federated=True, epsilon=2.0, clip=3.0, rounds=3)
    k = np.sqrt(2 * np.log(1.25 * 3 / 1e-5))
    assert round_sigma(privacy, 30) == pytest.approx(k * 2 * 3.0 * 3 / (30 * 2.0), rel=1e-12)


def test_dp_fedavg_error_is_the_noise_reduced():
    check_dp(replicates=2000, comparisons=COMPARISONS)


def test_dp_fedavg_noise_over_rounds_weighs_a_over_rho_squared_reduced():
    check_dp(replicates=1000, comparisons=COMPARISONS, keys=DP_ROUNDS)


@pytest.mark.slow
def test_dp_fedavg_error_is_the_noise_full():
    result = check_dp(replicates=40_000, comparisons=COMPARISONS)
    print(f"\nDP-FedAvg excess error {result['measured']:.6g}, sigma^2 {result['theory']:.6g}, "
          f"allowed +-{result['allowed']:.3g}")  # fmt: skip


# -- the learning curve's equivalent ----------------------------------------------------


def groups(means):
    return [SimpleNamespace(data_mean=m, data_spread=0.5) for m in means]


def test_curve_sees_the_sampled_share_of_the_data():
    # IID, no DP: no extra variance; N = 20, m = 4, R = 10: seen = 1 - 0.8^10
    privacy = Privacy(federated=True, clients=10, participation=0.2, rounds=10, split="shuffle")
    federation = CurveFederation.of(privacy, groups([0.0, 0.0]))
    assert federation.seen == pytest.approx(1 - 0.8**10, rel=1e-15)
    assert federation.constant == (np.inf, np.inf)
    examples, wrong = federation.examples(np.array([1000.0, 0.0]), np.array([100.0, 0.0]))
    np.testing.assert_allclose(examples, [1000 * (1 - 0.8**10), 0.0])
    np.testing.assert_allclose(wrong, [100 * (1 - 0.8**10), 0.0])


def test_curve_dp_penalty_is_the_noise_over_rounds():
    # IID, DP: D = (A / rho^2) (sigma_u s)^2, c = s^2 / D = rho^2 / (A sigma_u^2)
    privacy = Privacy(federated=True, clients=100, participation=0.5, rounds=4,
                      split="shuffle", epsilon=4.0, clip=0.5)  # fmt: skip
    federation = CurveFederation.of(privacy, groups([0.0, 3.0]))
    rho = contraction(0.5, 5)
    sigma = round_sigma(privacy, 100)
    expected = rho**2 / (variance_factor(rho, 4) * sigma**2)
    np.testing.assert_allclose(federation.constant, [expected, expected], rtol=1e-12)


def test_curve_drift_penalty_is_the_mean_estimators_variance():
    # Non-IID groups with means -0.5 and 0.5, 10 clients each: S_b^2 = 0.25 * 20 / 19;
    # D = A (1 - m/N) S_b^2 / m; c_g = s^2 / D and n_eff = n c / (n + c).
    privacy = Privacy(federated=True, clients=10, participation=0.2, rounds=10)
    federation = CurveFederation.of(privacy, groups([-0.5, 0.5]))
    a = variance_factor(contraction(0.5, 5), 10)
    d = a * (1 - 4 / 20) * (0.25 * 20 / 19) / 4
    np.testing.assert_allclose(federation.constant, [0.25 / d, 0.25 / d], rtol=1e-12)
    n = 1000 * federation.seen
    c = 0.25 / d
    examples, _ = federation.examples(np.array([1000.0, 1000.0]), np.zeros(2))
    np.testing.assert_allclose(examples, [n * c / (n + c)] * 2, rtol=1e-12)
    # and the curve learns less from the same data than centralised training
    curve = CurveLearner(0.5, 0.05, 0.3, 2000.0, 0.0, 0.0, federated=federation)
    plain = CurveLearner(0.5, 0.05, 0.3, 2000.0, 0.0, 0.0)
    fed_q = curve.quality_for(np.array([1000.0, 1000.0]), np.zeros(2))
    assert np.all(fed_q < plain.quality_for(np.array([1000.0, 1000.0]), np.zeros(2)))

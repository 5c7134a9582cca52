"""Federated learning (``privacy.federated: true``): FedAvg, with DP-FedAvg under ``epsilon``.

The users' data stays on their devices. The users of each group are split into
``clients`` clients per group; each point the store holds (the store here stands for
the clients' devices: the firm never fits the pooled points) belongs to one client:

- ``split: group`` (non-IID): a client holds points of one group only; group ``g``'s
  points are dealt to its ``K`` clients in turn (point ``i`` to client ``i mod K``);
- ``split: shuffle`` (IID): every point goes to one of the ``G K`` clients at random
  (a fresh shuffle at each retrain, from the federated stream).

**FedAvg** (McMahan et al. 2017 [McMahan17]_). Each retrain starts from the cold-start
model ``theta_0`` and runs ``R = rounds`` rounds. In a round the server samples
``m = max(1, round(q N))`` of the ``N = G K`` clients without replacement (``q =
participation``); each sampled client ``k`` starts from the global model ``theta``, takes
``E = local_steps`` damped Newton steps of size ``eta = learning_rate`` on the average
loss of its own points, and sends the difference ``Delta_k = theta_k - theta``; the
server adds the average of the differences weighted by the clients' data ``n_k`` (the
sum of their points' weights): ``theta <- theta + sum_S n_k Delta_k / sum_S n_k``.

- ``mean``: ``theta`` is the location; the loss is squared, its Newton step is exact, so a
  client moves the share ``rho = 1 - (1 - eta)^E`` of the way to its own mean ``y_k``:
  ``Delta_k = rho (y_k - theta)``, and a round gives ``theta' = (1 - rho) theta + rho
  y_S``, ``y_S`` the sampled clients' pooled mean.
- ``gaussian``: the same on the moments ``(E[y], E[y^2])`` (the maximum-likelihood fit of
  a normal matches them): location ``m_1``, scale ``sqrt(m_2 - m_1^2)``.
- ``logistic``: ``w``; each local step is the centralised fit's damped Newton step on the
  client's average log loss plus the ridge penalty ``w^2 / (2 n)`` (``n`` all the points'
  weight, as centralised).

``median`` (no smooth loss: an average of local medians is not the median) and
``group_dro`` (a worst case over the pooled losses) are not supported.

**The mean's error, in closed form.** Unrolling the rounds, ``theta_R = (1 - rho)^R
theta_0 + rho sum_(r=1..R) (1 - rho)^(R-r) y_S(r)``. With equal client sizes, ``y_S`` is
the mean of ``m`` client means drawn without replacement from ``N``: unbiased for the
pooled mean ``y``, variance ``(1 - m/N) S_b^2 / m`` (Cochran 1977, Theorem 2.2
[Cochran77]_), ``S_b^2 = sum_k (y_k - y)^2 / (N - 1)`` the *between-client variance*.
Rounds sample independently, so the excess error over centralised training is

    E[(theta_R - y)^2] = (1 - rho)^(2R) (theta_0 - y)^2 + A (1 - m/N) S_b^2 / m,
    A = rho (1 - (1 - rho)^(2R)) / (2 - rho)

(:func:`mean_excess_error`). With full participation (``m = N``) the variance term is
zero and FedAvg converges to the centralised mean. On shuffled (IID) clients ``S_b^2``
is the sampling noise ``s^2 N / n`` only; on non-IID clients it also holds the spread
of the groups' means, ``sum_g w_g (mu_g - mu)^2``: *client drift*, which partial
participation turns into error.

**DP-FedAvg** (McMahan et al. 2018 [McMahan18]_), with ``privacy.epsilon``: each client's
update is clipped to L2 norm ``S = privacy.clip``; the server averages the ``m`` sampled
updates with equal weights (a fixed denominator ``m``) and adds ``N(0, sigma^2)`` noise
per coordinate. Replacing one client's data changes the sum by at most ``2 S`` in L2
norm, so the average's sensitivity is ``2 S / m`` per client (client-level privacy: a
user's whole contribution is protected). The budget of one retrain is split over its
rounds (basic composition, Dwork and Roth 2014, Theorem 3.16): each round is the
Gaussian mechanism at ``(epsilon / R, delta / R)``, ``sigma = sqrt(2 ln(1.25 R / delta))
2 S R / (m epsilon)``. As for the centralised mechanism, composition over retrains is
not tracked.

**The learning curve** has no points: it takes the equivalent counts
(:class:`CurveFederation`). A client is in at least one of the ``R`` rounds with
probability ``1 - (1 - m/N)^R``: that share of each group's examples reaches the model.
The federated average then has the extra error variance ``D = A ((1 - m/N) B^2 / m +
(sigma_u / rho)^2)`` of the mean's closed form above: ``B^2`` the between-client variance
of the groups' data means (``split: group``; 0 for ``shuffle``), ``sigma_u`` the DP-FedAvg
noise with ``S`` in units of each group's ``data_spread`` (the noise is added to the model
itself, not shrunk by ``rho`` like the clients' updates: its weight over the rounds is
``sum_j (1 - rho)^(2j) = A / rho^2``). As for the centralised privacy
penalty, a group of spread ``s_g`` learning from ``n`` seen examples has the error of
``n_eff`` examples, ``s_g^2 / n_eff = s_g^2 / n + D``:

    n_eff = n c_g / (n + c_g),   c_g = s_g^2 / D

so the examples saturate at ``c_g``: drift and client-level noise do not average away
with more data, only with more clients per round.

References
----------
.. [McMahan17] McMahan, B., Moore, E., Ramage, D., Hampson, S. and Aguera y Arcas, B.
   (2017). Communication-efficient learning of deep networks from decentralized data.
   AISTATS, PMLR 54, 1273-1282.
.. [McMahan18] McMahan, B., Ramage, D., Talwar, K. and Zhang, L. (2018). Learning
   differentially private recurrent language models. ICLR.
.. [Cochran77] Cochran, W. G. (1977). Sampling techniques, 3rd ed. Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import numerics
from ..scenario.regulation import FEDERATED_KEYS
from .privacy import noise_multiplier

SUPPORTED = ("mean", "gaussian", "logistic")
"""The estimators FedAvg trains here."""


def sampled_clients(n_clients: int, participation: float) -> int:
    """``m = max(1, round(q N))``: the clients sampled per round (half rounds up)."""
    return max(1, min(n_clients, int(np.floor(participation * n_clients + 0.5))))


def contraction(learning_rate: float, local_steps: int) -> float:
    """``rho = 1 - (1 - eta)^E``: how far a client's local training moves a quadratic
    model toward its own optimum."""
    return 1.0 - (1.0 - learning_rate) ** local_steps


def variance_factor(rho: float, rounds: int) -> float:
    """``A = rho (1 - (1 - rho)^(2R)) / (2 - rho)``: the weight of one round's sampling
    variance in the final model (``rho^2 sum_j (1 - rho)^(2j)``, ``j < R``)."""
    return rho * (1.0 - (1.0 - rho) ** (2 * rounds)) / (2.0 - rho)


def round_sigma(privacy, n_sampled: int) -> float:
    """DP-FedAvg's noise per coordinate of the averaged update: ``sqrt(2 ln(1.25 R /
    delta)) 2 S R / (m epsilon)`` (each round at ``(epsilon / R, delta / R)``)."""
    rounds = privacy.rounds
    k = noise_multiplier(privacy.delta / rounds)
    return k * 2.0 * privacy.clip * rounds / (n_sampled * privacy.epsilon)


def mean_excess_error(
    client_means: np.ndarray, n_sampled: int, rho: float, rounds: int, start: float = 0.0
) -> float:
    """The closed form of the module docstring: ``E[(theta_R - y)^2]`` for equal-sized
    clients with means ``client_means`` (``y`` their mean)."""
    means = np.asarray(client_means, dtype=float)
    n_clients = len(means)
    pooled = float(np.mean(means))
    between = float(np.var(means, ddof=1)) if n_clients > 1 else 0.0
    sampling = (1.0 - n_sampled / n_clients) * between / n_sampled
    bias = (1.0 - rho) ** rounds * (start - pooled)
    return bias * bias + variance_factor(rho, rounds) * sampling


# -- the clients -------------------------------------------------------------------------


@dataclass(frozen=True)
class Clients:
    """Every point the clients hold, its weight (data ageing) and its client (``owner``),
    sorted by client: client ``k`` holds ``values[bounds[k]:bounds[k + 1]]``."""

    values: np.ndarray
    weights: np.ndarray
    owner: np.ndarray
    count: int

    @property
    def bounds(self) -> np.ndarray:
        return np.searchsorted(self.owner, np.arange(self.count + 1))

    @property
    def sizes(self) -> np.ndarray:
        """``n_k``: each client's data (the sum of its points' weights)."""
        return np.bincount(self.owner, weights=self.weights, minlength=self.count)

    def moments(self, estimator: str) -> np.ndarray:
        """Each client's optimum of the quadratic (moment) losses, (clients, d): its
        weighted ``E[y]`` (mean), and ``E[y^2]`` (gaussian); 0 for an empty client."""
        sizes = self.sizes
        columns = [self.values] if estimator == "mean" else [self.values, self.values**2]
        sums = np.stack([np.bincount(self.owner, weights=self.weights * c,
                                     minlength=self.count) for c in columns], axis=1)  # fmt: skip
        return np.divide(sums, sizes[:, None], out=np.zeros_like(sums), where=sizes[:, None] > 0)


def client_data(points, step: int, decay: float, privacy, rng: np.random.Generator) -> Clients:
    """The clients' data: ``G K`` clients in group order (module docstring: ``split``)."""
    per_group = privacy.clients
    groups = len(points.training)
    values = np.concatenate([np.zeros(0), *points.training]).astype(float)
    born = np.concatenate([np.zeros(0, dtype=np.int64), *points.born])
    weights = numerics.power(decay, step - born) if decay != 1.0 else np.ones(len(values))
    count = groups * per_group
    if privacy.split == "group":
        owner = np.concatenate([np.zeros(0, dtype=np.int64)] + [
            g * per_group + np.arange(len(v)) % per_group
            for g, v in enumerate(points.training)])  # fmt: skip
    else:
        owner = rng.permutation(len(values)) % count
    order = np.argsort(owner, kind="stable")
    return Clients(values[order], np.asarray(weights, dtype=float)[order],
                   owner[order].astype(np.int64), count)  # fmt: skip


# -- local training --------------------------------------------------------------------


def logistic_update(theta: np.ndarray, values, weights, privacy, penalty: float) -> np.ndarray:
    """A client's ``Delta_k = w_k - w`` after ``local_steps`` damped Newton steps on its
    average log loss plus ``penalty w^2 / 2``."""
    eta = privacy.learning_rate
    p = weights / np.sum(weights)
    w = float(theta[0])
    for _ in range(privacy.local_steps):
        sig = 0.5 * (1.0 + np.tanh(0.5 * w * values))
        gradient = -float(numerics.dot(p, values * (1.0 - sig))) + penalty * w
        curvature = float(numerics.dot(p, values * values * sig * (1.0 - sig))) + penalty
        w -= eta * gradient / curvature
    return np.array([w - float(theta[0])])


def start_params(estimator: str) -> np.ndarray:
    """``theta_0``, the cold-start model: location 0 (gaussian: moments of N(0, 1)), w 0."""
    return np.array([0.0, 1.0]) if estimator == "gaussian" else np.zeros(1)


def params_of(estimator: str, theta: np.ndarray) -> np.ndarray:
    """The learner's ``(location, scale)`` (logistic: ``(w, 0)``) from FedAvg's ``theta``;
    the mean's scale is 0 (the squared loss's risk does not read it)."""
    if estimator == "gaussian":
        m1, m2 = float(theta[0]), float(theta[1])
        return np.array([m1, float(np.sqrt(max(m2 - m1 * m1, 0.0)))])
    return np.array([float(theta[0]), 0.0])


def fedavg(estimator: str, clients: Clients, privacy, rng: np.random.Generator,
           theta: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """FedAvg (DP-FedAvg with ``privacy.epsilon``) over ``clients``; returns the final
    ``theta`` (module docstring). The quadratic losses' Newton step is exact, so a
    client's local training is ``rho (moments_k - theta)``, its moments computed once."""
    theta = start_params(estimator) if theta is None else np.asarray(theta, dtype=float)
    sizes, n = clients.sizes, clients.count
    m = sampled_clients(n, privacy.participation)
    private = privacy.epsilon is not None
    sigma = round_sigma(privacy, m) if private else 0.0
    quadratic = estimator != "logistic"
    if quadratic:
        moments = clients.moments(estimator)
        rho = contraction(privacy.learning_rate, privacy.local_steps)
    else:
        bounds = clients.bounds
        penalty = 1.0 / max(len(clients.values), 1)
    for _ in range(privacy.rounds):
        chosen = np.sort(rng.choice(n, m, replace=False)) if m < n else np.arange(n)
        held = sizes[chosen]
        if quadratic:
            updates = rho * (moments[chosen] - theta) * (held > 0)[:, None]
        else:
            updates = np.zeros((m, len(theta)))
            for i, k in enumerate(chosen):
                if held[i] > 0:
                    part = slice(bounds[k], bounds[k + 1])
                    values, weights = clients.values[part], clients.weights[part]
                    updates[i] = logistic_update(theta, values, weights, privacy, penalty)
        if private:
            norms = np.linalg.norm(updates, axis=1)
            scale = np.minimum(1.0, np.divide(privacy.clip, norms, out=np.ones_like(norms),
                                              where=norms > 0))  # fmt: skip
            theta = theta + (updates * scale[:, None]).mean(axis=0) + (
                sigma * rng.standard_normal(len(theta)))  # fmt: skip
        elif held.sum() > 0:
            theta = theta + numerics.dot(held, updates) / held.sum()
    return theta


def federated_params(learner, store, step: int) -> np.ndarray | None:
    """The estimator learner's parameters trained by FedAvg on the store's points (the
    clients' data), or None when no client holds usable data."""
    privacy, rng = learner.privacy, learner.privacy_rng
    clients = client_data(store.points, step, store.decay, privacy, rng)
    if not float(np.sum(clients.weights)) > 0:
        return None
    return params_of(learner.estimator, fedavg(learner.estimator, clients, privacy, rng))


# -- the learning curve's equivalent ---------------------------------------------------


@dataclass(frozen=True)
class CurveFederation:
    """The learning curve under FedAvg: the seen share of examples and ``c_g`` per group
    (module docstring)."""

    seen: float
    constant: tuple[float, ...]
    """``c_g = s_g^2 / D`` (inf: no saturation)."""

    @classmethod
    def of(cls, privacy, groups) -> CurveFederation:
        n_clients = len(groups) * privacy.clients
        m = sampled_clients(n_clients, privacy.participation)
        f = m / n_clients
        seen = 1.0 - (1.0 - f) ** privacy.rounds
        rho = contraction(privacy.learning_rate, privacy.local_steps)
        a = variance_factor(rho, privacy.rounds)
        spreads = np.array([g.data_spread for g in groups], dtype=float)
        drift = 0.0
        if privacy.split == "group":
            means = np.repeat([g.data_mean for g in groups], privacy.clients)
            drift = float(np.var(means, ddof=1)) if n_clients > 1 else 0.0
        sigma = round_sigma(privacy, m) if privacy.epsilon is not None else 0.0
        extra = a * ((1.0 - f) * drift / m + (sigma * spreads / rho) ** 2)
        constant = np.divide(spreads**2, extra, out=np.full(len(spreads), np.inf),
                             where=extra > 0)  # fmt: skip
        return cls(seen=float(seen), constant=tuple(float(c) for c in constant))

    def examples(self, examples, wrong_examples):
        """``n_eff = n c / (n + c)`` of the seen ``n``, the mislabelled ones scaled alike."""
        n = np.asarray(examples, dtype=float) * self.seen
        c = np.asarray(self.constant, dtype=float)
        finite = np.isfinite(c)
        safe = np.where(finite, c, 1.0)
        effective = np.where(finite, np.divide(n * safe, n + safe, out=np.zeros_like(n),
                                               where=n + safe > 0), n)  # fmt: skip
        ratio = np.divide(effective, np.asarray(examples, dtype=float),
                          out=np.zeros_like(n), where=np.asarray(examples) > 0)  # fmt: skip
        return effective, np.asarray(wrong_examples, dtype=float) * ratio


# -- the scenario's rules ----------------------------------------------------------------


def check(privacy, learnings: list[tuple[str, object]]) -> list[tuple[tuple, str, str | None]]:
    """Bad input: federated keys without ``federated: true``; an estimator or objective
    FedAvg does not train here. ``learnings``: (firm name, learning section) per firm."""
    issues = []
    if not privacy.federated:
        for key in FEDERATED_KEYS:
            if key in privacy.model_fields_set:
                message = "is a federated-learning key: set privacy.federated: true to use it"
                issues.append((("privacy", key), message, repr(getattr(privacy, key))))
        return issues
    for name, learning in learnings:
        if learning.kind not in ("curve", "estimator"):
            message = (f"federated learning trains the learning curve or the "
                       f"{', '.join(SUPPORTED)} estimators; {name!r} uses learning.kind "
                       f"{learning.kind}")  # fmt: skip
            issues.append((("privacy", "federated"), message, repr(learning.kind)))
            continue
        if learning.kind != "estimator":
            continue
        if learning.estimator not in SUPPORTED:
            message = (f"federated learning trains the {', '.join(SUPPORTED)} estimators (or "
                       f"the learning curve); {name!r} fits a {learning.estimator}, whose "
                       "average of local fits is not its fit")  # fmt: skip
            issues.append((("privacy", "federated"), message, repr(learning.estimator)))
        elif learning.objective != "erm":
            message = "needs learning.objective: erm (FedAvg averages the clients' ERM updates)"
            issues.append((("privacy", "federated"), message, repr(learning.objective)))
    return issues

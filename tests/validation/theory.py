"""The published results the validation cases compare the simulator with.

Every function here is a formula from the cited paper (or a standard statistical
interval); none of them runs or re-implements the simulator. The tests compare these
numbers with what the model produces from the scenario files in
``scenarios/validation/``.

References
----------
.. [Bass69] Bass, F. M. (1969). A new product growth for model consumer durables.
   Management Science 15(5), 215-227.
.. [Watts02] Watts, D. J. (2002). A simple model of global cascades on random
   networks. PNAS 99(9), 5766-5771.
.. [NSW01] Newman, M. E. J., Strogatz, S. H. and Watts, D. J. (2001). Random graphs
   with arbitrary degree distributions and their applications. Phys. Rev. E 64, 026118.
.. [Hestness17] Hestness, J. et al. (2017). Deep learning scaling is predictable,
   empirically. arXiv:1712.00409.
.. [vanKampen] van Kampen, N. G. (2007). Stochastic Processes in Physics and
   Chemistry, 3rd ed., ch. X (the linear noise approximation).
.. [BradleyTerry52] Bradley, R. A. and Terry, M. E. (1952). Rank analysis of incomplete
   block designs: I. The method of paired comparisons. Biometrika 39, 324-345.
.. [White82] White, H. (1982). Maximum likelihood estimation of misspecified models.
   Econometrica 50(1), 1-25 (the sandwich covariance of a misspecified fit).
.. [Wilson27] Wilson, E. B. (1927). Probable inference, the law of succession, and
   statistical inference. JASA 22(158), 209-212.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

# -- Bass (1969) ------------------------------------------------------------------------


def effective_imitation(imitation: float, size: int) -> float:
    """q' = q N / (N - 1): the word-of-mouth rate on a complete graph of N users.

    A potential user's ``frac`` is A / (N - 1) (all A adopters are among its N - 1
    neighbours), so its hazard p + q A / (N - 1) = p + q' F with F = A / N.
    """
    return imitation * size / (size - 1)


def bass_share(t, p: float, q: float):
    """Bass's closed form F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}), F(0) = 0."""
    decay = np.exp(-(p + q) * np.asarray(t, dtype=float))
    return (1.0 - decay) / (1.0 + (q / p) * decay)


def bass_rate(t, p: float, q: float):
    """dF/dt = (1 - F)(p + q F) along the closed form (the adoption rate per user)."""
    share = bass_share(t, p, q)
    return (1.0 - share) * (p + q * share)


def bass_peak_time(p: float, q: float) -> float:
    """t* = ln(q/p) / (p + q), where the adoption rate dF/dt peaks [Bass69]_."""
    return float(np.log(q / p) / (p + q))


def bass_half_time(p: float, q: float) -> float:
    """t_1/2 = ln(2 + q/p) / (p + q), solving F(t) = 1/2 in the closed form."""
    return float(np.log(2.0 + q / p) / (p + q))


def bass_recursion(p: float, q: float, dt: float, steps: int) -> np.ndarray:
    """Expected adopted share after each synchronous step of length ``dt`` (mean field).

    In a step every potential user adopts independently when either exponential clock
    fires: P = 1 - exp(-(p + q F) dt) with F held at its start-of-step value. Hence
    E[F_k | F_{k-1}] = F_{k-1} + (1 - F_{k-1}) (1 - exp(-(p + q F_{k-1}) dt)) exactly on
    a complete graph; iterating it on the mean ignores only the O(1/N) covariance term.
    Returns F_0 .. F_steps (F_0 = 0).
    """
    share = np.zeros(steps + 1)
    for k in range(1, steps + 1):
        before = share[k - 1]
        share[k] = before + (1.0 - before) * -np.expm1(-(p + q * before) * dt)
    return share


def bass_recursion_sd(p: float, q: float, dt: float, steps: int, size: int) -> np.ndarray:
    """Standard deviation of one replicate's adopted share, by the linear noise approximation.

    Linearising F_k = g(F_{k-1}) + noise around the mean path, with
    g(F) = F + (1 - F) pi(F), pi = 1 - e^{-(p+qF) dt}, and the binomial noise of the
    step's adoptions, Var = (1 - F) pi (1 - pi) / N, gives
    V_k = g'(F_{k-1})^2 V_{k-1} + (1 - F_{k-1}) pi (1 - pi) / N  [vanKampen]_.
    Early fluctuations are carried forward (g' > 1 while word of mouth accelerates), so
    the sd is about twice the binomial sqrt(F (1 - F) / N) near the peak.
    """
    share = bass_recursion(p, q, dt, steps)
    variance = np.zeros(steps + 1)
    for k in range(1, steps + 1):
        f = share[k - 1]
        pi = -np.expm1(-(p + q * f) * dt)
        slope = 1.0 - pi + (1.0 - f) * (1.0 - pi) * q * dt  # g'(F)
        variance[k] = slope**2 * variance[k - 1] + (1.0 - f) * pi * (1.0 - pi) / size
    return np.sqrt(variance)


# -- Watts (2002) ------------------------------------------------------------------------


def vulnerable_degrees(threshold: float, max_degree: int) -> np.ndarray:
    """rho_k: 1 if a node of degree k adopts after one active neighbour, else 0.

    The simulator's rule is frac >= phi with frac > 0, so a node of degree k >= 1 is
    vulnerable iff 1/k >= phi (k <= floor(1/phi)); k = 0 never adopts.
    """
    k = np.arange(max_degree + 1)
    rho = np.zeros(max_degree + 1)
    rho[1:] = 1.0 / k[1:] >= threshold
    return rho


def _poisson(z: float) -> tuple[np.ndarray, np.ndarray]:
    k_max = int(z + 20 * np.sqrt(z) + 40)
    k = np.arange(k_max + 1)
    return k, stats.poisson.pmf(k, z)


def cascade_condition(z: float, threshold: float) -> float:
    """Watts's cascade condition as a ratio: sum_k k (k - 1) rho_k p_k / z.

    Global cascades are possible when it exceeds 1 [Watts02]_ (the vulnerable vertices
    percolate; equivalently G_0''(1) > z for G_0(x) = sum rho_k p_k x^k), p_k Poisson(z)
    for an Erdős–Rényi graph of mean degree z.
    """
    k, p = _poisson(z)
    rho = vulnerable_degrees(threshold, k[-1])
    return float(np.sum(k * (k - 1) * rho * p) / z)


def cascade_window(threshold: float) -> tuple[float, float]:
    """The mean degrees z at which the cascade condition is exactly 1 (lower, upper).

    With rho_k = 1 for 1 <= k <= K = floor(1/phi), sum_k k(k-1) p_k = z^2 P(Poisson(z) <= K-2),
    so the boundary solves z P(Poisson(z) <= K - 2) = 1 (Watts's z Q(K* - 1, z) = 1).
    """
    inside = optimize.minimize_scalar(
        lambda z: -cascade_condition(z, threshold), bounds=(1.0, 10.0), method="bounded"
    ).x
    if cascade_condition(inside, threshold) <= 1.0:
        raise ValueError(f"no cascade window at threshold {threshold}")

    def excess(z: float) -> float:
        return cascade_condition(z, threshold) - 1.0

    return optimize.brentq(excess, 0.5, inside), optimize.brentq(excess, inside, 60.0)


@dataclass(frozen=True)
class CascadePrediction:
    """The generating-function predictions for one (z, phi) [Watts02]_ [NSW01]_."""

    condition: float
    """sum k(k-1) rho_k p_k / z; > 1 inside the cascade window."""
    u: float
    """Probability that an edge does not lead into the percolating vulnerable cluster."""
    frequency: float
    """Fraction of nodes in the extended vulnerable cluster = P(one random seed cascades)."""
    vulnerable_cluster: float
    """Fraction of nodes in the percolating vulnerable cluster itself."""
    cascade_size: float
    """Size of a global cascade: the giant component S = 1 - e^{-z S}."""


def cascade_prediction(z: float, threshold: float) -> CascadePrediction:
    """Solve the generating-function fixed point for the extended vulnerable cluster.

    With G_1(x) = sum_k k rho_k p_k x^{k-1} / z (an edge reaches a vulnerable node of
    degree k, whose k - 1 other edges lead on), the probability u that an edge does *not*
    lead into the infinite vulnerable cluster solves u = 1 - G_1(1) + G_1(u). A random
    seed (of any degree) triggers a global cascade iff one of its edges leads into that
    cluster: frequency = 1 - sum_k p_k u^k, the fractional size of Watts's "extended
    vulnerable cluster" (the vulnerable cluster plus its neighbours). Outside the window
    the only root in [0, 1] is u = 1 and the frequency is 0. A global cascade then
    spreads over the giant connected component, S = 1 - exp(-z S) [NSW01]_.
    """
    k, p = _poisson(z)
    rho = vulnerable_degrees(threshold, k[-1])
    weights = k * rho * p / z  # coefficients of G_1

    def g1(x: float) -> float:
        return float(np.sum(weights[1:] * x ** (k[1:] - 1)))

    condition = cascade_condition(z, threshold)
    u = 1.0
    if condition > 1.0:
        # The non-trivial root lies strictly below 1: f(0) = 1 - G_1(1) + rho_1 p_1/z >= 0
        # and f'(1) = G_1'(1) - 1 = condition - 1 > 0 make f negative just below 1.
        def f(x: float) -> float:
            return 1.0 - g1(1.0) + g1(x) - x

        upper = 1.0 - 1e-12
        while f(upper) >= 0:  # step down until below the root
            upper = 1.0 - 2 * (1.0 - upper)
        u = optimize.brentq(f, 0.0, upper, xtol=1e-14) if f(0.0) > 0 else 0.0
    frequency = vulnerable = 0.0
    if u < 1.0:
        frequency = float(1.0 - np.sum(p * u**k))
        vulnerable = float(np.sum(rho * p * (1.0 - u**k)))
    size = 0.0
    if z > 1.0:
        size = optimize.brentq(lambda s: s - (1.0 - np.exp(-z * s)), 1e-12, 1.0)
    return CascadePrediction(condition, u, frequency, vulnerable, size)


# -- learning curve (Hestness et al. 2017) -------------------------------------------------


def learning_curve_error(data, initial_error, floor_error, exponent, scale):
    """e(D) = e_inf + (e_0 - e_inf)(1 + D / D_c)^(-alpha) [Hestness17]_ (no noise penalty).

    So log(e - e_inf) = log(e_0 - e_inf) - alpha log(1 + D / D_c): a straight line of
    slope -alpha on log-log axes.
    """
    return floor_error + (initial_error - floor_error) * (1.0 + np.asarray(data) / scale) ** (
        -exponent
    )


# -- Bradley-Terry preferences (Bradley and Terry 1952) ---------------------------------

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(200)
_GH_WEIGHTS = _GH_WEIGHTS / np.sqrt(2.0 * np.pi)  # E[f(Z)], Z ~ N(0, 1)


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t, dtype=float)))


def noisy_preference(t, beta: float, flip: float):
    """p = eps + (1 - 2 eps) sigma(beta t): the chance a pair with utility gap t is
    recorded in the true order, Bradley-Terry [BradleyTerry52]_ then flipped with eps."""
    return flip + (1.0 - 2.0 * flip) * _sigmoid(beta * np.asarray(t, dtype=float))


def bradley_terry_optimum(beta: float, flip: float) -> float:
    """E[max(p, 1 - p)]: the best possible accuracy on noisy labels, reached by ordering
    every pair by its true utility gap t = w . (a - b) ~ N(0, 2) (|w| = 1, a, b ~ N(0, I))."""
    p = noisy_preference(np.sqrt(2.0) * _GH_NODES, beta, flip)
    return float(np.maximum(p, 1.0 - p) @ _GH_WEIGHTS)


def accuracy_at_angle(angle: float, beta: float, flip: float) -> float:
    """Accuracy on noisy labels of a direction at ``angle`` from the true w: with
    t = w . dx and v the perpendicular part (both N(0, 2), independent), it predicts
    sign(t cos + v sin): E[1/2 + (p(t) - 1/2) sign(t) sign(t cos + v sin)], where the
    inner expectation over v is P(sign agrees) = Phi(|t| cos / (sqrt(2) sin))."""
    t = np.sqrt(2.0) * _GH_NODES
    p = noisy_preference(t, beta, flip)
    agree = 1.0 if angle == 0 else stats.norm.cdf(np.abs(t) / np.tan(angle) / np.sqrt(2.0))
    gain = np.abs(p - 0.5) * (2.0 * agree - 1.0)
    return float((0.5 + gain) @ _GH_WEIGHTS)


def excess_bound(angle: float, beta: float, flip: float) -> float:
    """An upper bound on E[max(p, 1 - p)] minus the accuracy at ``angle``:
    (1 - 2 eps) beta tan^2(angle) / (2 sqrt(pi)).

    Ordering a pair against its true gap t costs 2 |p - 1/2| = (1 - 2 eps) |2 sigma(beta t)
    - 1| <= (1 - 2 eps) beta |t| / 2, and it happens when |t| < |v| tan(angle); with the
    density of t at most 1 / sqrt(4 pi), E[|t| 1{|t| < |v| tan}] <= tan^2 E[v^2] / sqrt(4 pi)
    = tan^2 / sqrt(pi). Second order in the angle: O(d / n) for an angle O(sqrt(d / n)).
    """
    return (1.0 - 2.0 * flip) * beta * np.tan(angle) ** 2 / (2.0 * np.sqrt(np.pi))


@dataclass(frozen=True)
class LogisticLimit:
    """The noisy Bradley-Terry logistic fit as n grows (misspecified when eps > 0)."""

    scale: float
    """c: the fit converges to c w (by symmetry a multiple of the true direction)."""
    angle_variance: float
    """V: n E[angle^2] -> (d - 1) V; n angle^2 / V is asymptotically chi-square(d - 1)."""


def logistic_limit(beta: float, flip: float) -> LogisticLimit:
    """The population minimiser c of E[log(1 + exp(-c s t))] (labels s recorded with
    p(t)) solves E[(p(t) - sigma(c t)) t] = 0, t ~ N(0, 2); the sandwich covariance
    [White82]_ of each of the d - 1 perpendicular coordinates (z_perp ~ N(0, 2),
    independent of t) is J / (n H^2) with J = 2 E[(y - sigma(c t))^2] =
    2 E[p - 2 p sigma + sigma^2] and H = 2 E[sigma'(c t)]; the angle is |w_perp| / c."""
    t = np.sqrt(2.0) * _GH_NODES
    p = noisy_preference(t, beta, flip)
    c = optimize.brentq(lambda c: float(((p - _sigmoid(c * t)) * t) @ _GH_WEIGHTS),
                        1e-6, 100.0)  # fmt: skip
    sig = _sigmoid(c * t)
    score = 2.0 * float((p - 2.0 * p * sig + sig * sig) @ _GH_WEIGHTS)
    curvature = 2.0 * float((sig * (1.0 - sig)) @ _GH_WEIGHTS)
    return LogisticLimit(scale=float(c), angle_variance=score / (curvature**2 * c * c))


# -- statistics ------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion [Wilson27]_."""
    if trials == 0:
        return 0.0, 1.0
    z = stats.norm.isf((1.0 - confidence) / 2.0)
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    half /= 1 + z * z / trials
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def t_critical(alpha: float, replicates: int, comparisons: int = 1) -> float:
    """Two-sided Student-t critical value for ``comparisons`` tests at family-wise ``alpha``.

    Bonferroni: each comparison at alpha / comparisons; R - 1 degrees of freedom because
    the standard error is estimated from R replicates.
    """
    return float(stats.t.isf(alpha / (2 * comparisons), replicates - 1))

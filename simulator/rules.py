"""The flywheel's dynamics as pure functions.

Every function here accepts Python/NumPy scalars *or* NumPy arrays and uses only
NumPy ufuncs and IEEE arithmetic, so the agent engine (one call per user) and the
array engine (one call per step, over all users) compute bit-identical numbers.
``math.exp`` and ``numpy.exp`` differ in the last bit for a few per cent of
inputs on this hardware; never use ``math`` here.

Events with a hazard ``h`` (per unit time) happen within a step of length ``dt``
with probability ``1 - exp(-h dt)``. We decide them with a unit exponential draw
``E``: the event fires iff ``h * dt > E``, which has exactly that probability and
needs no transcendental function per user.

References
----------
.. [Bass69] Bass, F. M. (1969). A new product growth for model consumer durables.
   Management Science 15(5), 215-227.
.. [Watts02] Watts, D. J. (2002). A simple model of global cascades on random
   networks. PNAS 99(9), 5766-5771.
.. [Hestness17] Hestness, J. et al. (2017). Deep learning scaling is predictable,
   empirically. arXiv:1712.00409.
.. [Hashimoto18] Hashimoto, T. et al. (2018). Fairness without demographics in
   repeated loss minimization. ICML.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def fires(hazard: ArrayLike, dt: float, exponential_draw: ArrayLike) -> np.ndarray | bool:
    """Whether an event with ``hazard`` (per unit time) happens within one step.

    Parameters
    ----------
    hazard : float or array
        Event rate per unit time, >= 0.
    dt : float
        Step length in rate units.
    exponential_draw : float or array
        A standard exponential variate per user, drawn once per step.

    Returns
    -------
    bool or bool array
        ``hazard * dt > exponential_draw``; true with probability ``1 - exp(-hazard dt)``.
    """
    return hazard * dt > exponential_draw


def market_baseline(step: ArrayLike, start: float, ceiling: float, time_constant: float | None):
    """Quality users can get elsewhere at ``step`` (an improving commodity model).

    ``B(t) = b0 + (b_inf - b0) (1 - exp(-t / T_b))``; ``time_constant=None`` keeps
    the baseline at ``start`` forever.
    """
    if time_constant is None:
        return np.multiply(np.ones_like(step, dtype=float), start)
    return start + (ceiling - start) * (1.0 - np.exp(-np.divide(step, time_constant)))


def attractiveness(group_quality: ArrayLike, reference_quality: float, sensitivity: float):
    """Multiplier of adoption hazards from product quality: ``A = exp(kappa (Q_g - Q_ref))``.

    ``sensitivity`` (kappa) = 0 gives 1: adoption ignores quality (plain Bass).
    """
    return np.exp(sensitivity * np.subtract(group_quality, reference_quality))


def adopted_neighbour_share(active_neighbours, degree):
    """Share of a user's neighbours who are active users (``frac``); 0 for isolated users."""
    if isinstance(degree, np.ndarray):
        out = np.zeros(degree.shape, dtype=float)
        return np.divide(active_neighbours, degree, out=out, where=degree > 0)
    return active_neighbours / degree if degree > 0 else 0.0


def adoption_events(
    rule: str,
    share: ArrayLike,
    attract: ArrayLike,
    innovation: float,
    imitation: float,
    threshold: float,
    dt: float,
    spontaneous_draw: ArrayLike,
    word_of_mouth_draw: ArrayLike,
):
    """Which potential users adopt this step, and which of them by word of mouth.

    Two competing clocks: a spontaneous one with hazard ``p A`` and a word-of-mouth
    one. Under ``bass`` the word-of-mouth hazard is ``q frac A`` [Bass69]_: the
    union of the two clocks has hazard ``(p + q frac) A``, so the adoption
    probability is exactly Bass's. Under ``threshold`` word of mouth is
    deterministic: it fires when ``frac >= phi`` [Watts02]_. An adoption counts
    as word of mouth when that clock fires first.

    Parameters
    ----------
    rule : {"bass", "threshold"}
    share : float or array
        Share of the user's neighbours who are active (``frac``).
    attract : float or array
        Attractiveness ``A`` of the product for the user's group.
    innovation, imitation, threshold : float
        ``p``, ``q`` (per unit time) and ``phi``.
    dt : float
        Step length.
    spontaneous_draw, word_of_mouth_draw : float or array
        Standard exponential draws, one of each per user per step.

    Returns
    -------
    adopts, by_word_of_mouth : bool or bool arrays
    """
    # Plain operators, not ufunc calls: IEEE arithmetic gives the same bits on
    # Python floats and on arrays, and the agent engine calls this once per user.
    spontaneous_rate = innovation * attract
    spontaneous = fires(spontaneous_rate, dt, spontaneous_draw)
    if rule == "bass":
        social_rate = imitation * share * attract
        social = fires(social_rate, dt, word_of_mouth_draw)
        # Both clocks fired: word of mouth wins if its event time E_w / r_w is earlier,
        # i.e. E_w * r_s < E_s * r_w (no division, so no special case for zero rates).
        social_first = word_of_mouth_draw * spontaneous_rate < spontaneous_draw * social_rate
        by_word_of_mouth = social & (social_first | np.logical_not(spontaneous))
    elif rule == "threshold":
        # share > 0: an isolated user (share 0) never adopts by contagion, even at phi = 0.
        by_word_of_mouth = (share >= threshold) & (share > 0.0)
    else:  # pragma: no cover - the scenario schema rejects other rules
        raise ValueError(f"unknown adoption rule {rule!r}")
    return spontaneous | by_word_of_mouth, by_word_of_mouth


def lock_in_factor(tenure: ArrayLike, lock_in: float, lock_in_time: float):
    """Churn multiplier from switching costs: ``1 - l (1 - exp(-tenure / T_l))``.

    Starts at 1 for a new user and falls to ``1 - l`` as tenure (steps) grows.
    """
    return 1.0 - lock_in * (1.0 - np.exp(-(tenure / lock_in_time)))


def churn_hazard(
    satisfaction: ArrayLike,
    reference_quality: float,
    tenure: ArrayLike,
    base_rate: float,
    sensitivity: float,
    lock_in: float,
    lock_in_time: float,
):
    """Churn hazard per unit time of an active user.

    ``c = c0 exp(-beta (s - Q_ref)) (1 - l (1 - exp(-tenure / T_l)))``: users
    leave faster when the product satisfies them less than the outside option,
    and slower the longer they have been locked in.
    """
    factor = lock_in_factor(tenure, lock_in, lock_in_time)
    return churn_hazard_locked(satisfaction, reference_quality, base_rate, sensitivity, factor)


def churn_hazard_locked(
    satisfaction: ArrayLike,
    reference_quality: float,
    base_rate: float,
    sensitivity: float,
    lock_in: ArrayLike,
):
    """:func:`churn_hazard` with the lock-in factor already computed (``lock_in``).

    The array engine looks the factor up in a table by tenure (see
    :func:`lock_in_table`) instead of computing an exponential per user.
    """
    relative = satisfaction - reference_quality
    return base_rate * np.exp(-sensitivity * relative) * lock_in


def lock_in_table(length: int, lock_in: float, lock_in_time: float) -> np.ndarray:
    """:func:`lock_in_factor` for tenures ``0 .. length - 1``, to index by tenure.

    Elementwise the same arithmetic on the same integers, so ``table[tenure]`` has
    the bits of ``lock_in_factor(tenure, ...)``.
    """
    return lock_in_factor(np.arange(length), lock_in, lock_in_time)


def updated_satisfaction(satisfaction: ArrayLike, experienced_quality: ArrayLike, rate: float):
    """Satisfaction moves towards experienced quality: ``s + mu (Q_g - s)``."""
    return satisfaction + rate * (experienced_quality - satisfaction)


def decay_factor(half_life: float | None) -> float:
    """Per-step survival factor of training data with the given half-life (steps)."""
    if half_life is None:
        return 1.0
    return float(np.exp2(-1.0 / half_life))


def effective_data(data: np.ndarray, transfer: float) -> np.ndarray:
    """Data each group's model effectively learns from: ``E_g = D_g + tau sum_{h != g} D_h``.

    ``transfer`` (tau) = 1 pools all data (one model serves everyone equally well);
    0 means each group learns only from its own data.
    """
    data = np.asarray(data, dtype=float)
    total = sum_in_order(data)
    return data + transfer * (total - data)


def sum_in_order(values: np.ndarray) -> float:
    """Left-to-right sum over a short vector (groups).

    ``numpy.sum`` uses pairwise summation; engines that must agree bit for bit use
    this one fixed order instead.
    """
    total = 0.0
    for value in np.asarray(values, dtype=float).tolist():
        total += value
    return total


def learning_curve_error(
    effective: ArrayLike,
    noise_share: ArrayLike,
    initial_error: float,
    floor_error: float,
    exponent: float,
    scale: float,
    noise_penalty: float,
):
    """Model error from data, in the power-law form of [Hestness17]_.

    ``e = e_inf + (e_0 - e_inf) (1 + E / D_c)^(-alpha) + lambda eta``, with ``E``
    the effective training examples and ``eta`` the share of wrong labels in them.
    """
    learnable = (initial_error - floor_error) * np.power(
        1.0 + np.divide(effective, scale), -exponent
    )
    return floor_error + learnable + noise_penalty * np.asarray(noise_share, dtype=float)


def quality_from_error(error: ArrayLike):
    """Quality seen by users: ``Q = 1 - e`` clipped to [0, 1]."""
    return np.clip(1.0 - np.asarray(error, dtype=float), 0.0, 1.0)


# -- arrivals and risk-driven retention (Hashimoto et al. 2018) ------------------------


def choose_arrivals(
    eligible: np.ndarray, group: np.ndarray, clock: np.ndarray, arrivals: np.ndarray
) -> np.ndarray:
    """Which users join this step under ``adoption.rule: arrivals``.

    Group ``g`` gains ``arrivals[g]`` users per step [Hashimoto18]_: the eligible
    (not active) users of the group with the smallest ``clock`` draws, ties to the
    lower user index; all of them if the group has fewer. The draws are i.i.d.
    per user, so this is a uniformly random choice, and it depends only on
    arrays both engines hold, so they choose the same users.

    Returns
    -------
    bool array
        True for the users who arrive.
    """
    candidates = np.flatnonzero(eligible)
    groups = np.asarray(group)[candidates]
    # Sort by group, then clock, then index (lexsort: last key is the primary one).
    order = np.lexsort((candidates, np.asarray(clock)[candidates], groups))
    ranked, ranked_groups = candidates[order], groups[order]
    starts = np.searchsorted(ranked_groups, np.arange(len(arrivals)))
    rank = np.arange(len(ranked)) - starts[ranked_groups]
    chosen = np.zeros(len(eligible), dtype=bool)
    chosen[ranked[rank < np.asarray(arrivals)[ranked_groups]]] = True
    return chosen


def quality_from_risk(risk: ArrayLike):
    """Quality of an estimator for a group: ``Q = exp(-R)`` clipped to [0, 1].

    ``exp(-R)`` is also the stay probability ``nu(R)`` of Hashimoto et al.'s
    retention model [Hashimoto18]_, so quality reads as "the share of users the
    model keeps per step". Risks are >= 0 for every estimator (absolute and
    squared loss, and the Gaussian's excess log loss), so the clip is a guard.
    """
    return np.clip(np.exp(-np.asarray(risk, dtype=float)), 0.0, 1.0)

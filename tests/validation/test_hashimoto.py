"""Validation: disparity amplification under repeated loss minimisation (Hashimoto et al. 2018).

Runs ``scenarios/validation/hashimoto.yaml``: the median-estimation setting of the public
``whynot`` repeated-classification experiment (two groups N(-1, 0.2^2) and N(1, 0.2^2),
b = (1000, 500) arrivals per step, absolute loss, retention nu(R) = exp(-R)), with the
simulator's own estimator learner, arrivals rule and risk retention.

Theory (Hashimoto et al. 2018, section 3: the expected group sizes follow
``lambda_g(t+1) = lambda_g(t) nu(R_g(theta(t))) + b_g``). At a fixed point
``lambda_g* = b_g / (1 - nu(R_g(theta*)))`` where ``theta*`` is the model the
objective fits to the population mixture weighted by ``lambda*``:

- ERM under absolute loss: ``theta*`` is the mixture's median,
  ``sum_g lambda_g* (Phi((theta* - mu_g) / sigma_g) - 1/2) = 0``, with
  ``R_g(theta) = E|Y_g - theta|`` in closed form; solved with ``scipy.optimize.brentq``.
  Starting from the majority's side, the minority's share
  ``lambda_m* / (lambda_m* + lambda_M*)`` falls from 1/3 to about 0.078.
- DRO (chi-square ball, alpha_min = 0.3): the population objective
  ``min_(theta, eta) C sqrt(E[(|Y - theta| - eta)_+^2]) + eta`` on the lambda*-mixture,
  computed here by quadrature (an implementation independent of the simulator's, which
  works on data points), iterated to its fixed point: the share stays near 1/3.

The simulation has an extra one-step lag (the model trained on a step's data serves from
the next step), which does not move fixed points. Tolerance: the share averaged over the
second half of each run, mean over R replicates, must be within
``t_{0.999, R-1} SE + 0.003`` of theory: the first term is a 99.9 % two-sided interval
for the replicate mean; the second allows for the finite-population effects the
deterministic fixed point ignores (Poisson data and binomial retention make R_g a
random, convex function of theta: an O(1/n) bias, measured < 0.001 at full size).
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import ndtr

from simulator.reporting.plots import PALETTE, STYLE
from simulator.simulation import run

from .helpers import SCENARIOS, comparison_figure, mean_and_se, replicate, save_plot

MEANS, SPREADS = np.array([-1.0, 1.0]), np.array([0.2, 0.2])
ALLOWANCE = 0.003  # finite-population bias allowance on the share (see module docstring)


# -- theory -------------------------------------------------------------------------------


def absolute_risk(theta: float) -> np.ndarray:
    """E|Y_g - theta| for Y_g ~ N(mu_g, sigma_g^2) (folded-normal mean)."""
    d, s = theta - MEANS, SPREADS
    return s * np.sqrt(2 / np.pi) * np.exp(-(d**2) / (2 * s**2)) + d * (1 - 2 * ndtr(-d / s))


def sizes(theta: float, arrivals: np.ndarray) -> np.ndarray:
    """lambda_g = b_g / (1 - exp(-R_g(theta))): the stationary group sizes for a fixed model."""
    return arrivals / (1 - np.exp(-absolute_risk(theta)))


def erm_fixed_point(arrivals: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(theta*, minority share*) of ERM: theta* is the median of the lambda*(theta*)-mixture."""

    def excess_below(theta: float) -> float:
        return float(np.sum(sizes(theta, arrivals) * (ndtr((theta - MEANS) / SPREADS) - 0.5)))

    # The fixed point reached from the majority's side (the run starts with the majority
    # twice the minority): a sign change between the majority's mean and the midpoint.
    theta = optimize.brentq(excess_below, -1.5, 0.0, xtol=1e-14)
    lam = sizes(theta, arrivals)
    return theta, float(lam[1] / lam.sum()), lam


def dro_fixed_point(arrivals: np.ndarray, alpha_min: float) -> tuple[float, float, np.ndarray]:
    """(theta*, minority share*) of chi-square DRO on the population mixture, by quadrature."""
    c = np.sqrt(2 * (1 / alpha_min - 1) ** 2 + 1)
    z = np.linspace(-8, 8, 1601)
    density = stats.norm.pdf(z) * (z[1] - z[0])
    points = np.concatenate([MEANS[g] + SPREADS[g] * z for g in range(2)])

    def theta_of(lam: np.ndarray) -> float:
        weights = np.concatenate([lam[g] * density for g in range(2)])
        weights /= weights.sum()

        def robust(theta: float) -> float:
            loss = np.abs(points - theta)

            def dual(eta: float) -> float:
                return c * np.sqrt(np.sum(weights * np.maximum(loss - eta, 0) ** 2)) + eta

            return optimize.minimize_scalar(dual, bounds=(-5, 5), method="bounded").fun

        return optimize.minimize_scalar(robust, bounds=(-1.5, 1.5), method="bounded").x

    lam = arrivals.astype(float)
    for _ in range(60):  # damped iteration of lambda <- b / (1 - nu(R(theta(lambda))))
        lam = 0.5 * lam + 0.5 * sizes(theta_of(lam), arrivals)
    theta = theta_of(lam)
    lam = sizes(theta, arrivals)
    return float(theta), float(lam[1] / lam.sum()), lam


# -- simulation ----------------------------------------------------------------------------


def shares(objective: str, overrides: dict, seed: int) -> np.ndarray:
    """The minority's share of active users, then each group's active users, at every step."""
    result = run(SCENARIOS / "hashimoto.yaml", seed=seed,
                 overrides={"learning.objective": objective, **overrides})  # fmt: skip
    columns = ["share[minority]", "active_users[majority]", "active_users[minority]"]
    return result.timeseries[columns].to_numpy().T


def measure(objective: str, overrides: dict, replicates: int, parallel: bool) -> dict:
    runs = np.array(replicate(shares, [(objective, overrides, seed) for seed in range(replicates)],
                              parallel=parallel))  # fmt: skip
    half = runs.shape[2] // 2
    late, se = mean_and_se(runs[:, :, half:].mean(axis=2))  # per quantity
    return {"runs": runs[:, 0], "late": float(late[0]), "se": float(se[0]),
            "sizes": late[1:], "sizes_se": se[1:], "replicates": replicates}  # fmt: skip


def tolerance(measured: dict, se: float | np.ndarray | None = None, allowance=ALLOWANCE):
    """t_{0.999, R-1} standard errors plus the finite-population allowance."""
    se = measured["se"] if se is None else se
    return stats.t.ppf(1 - 0.001 / 2, measured["replicates"] - 1) * se + allowance


REDUCED = {"population.size": 1250, "steps": 80,
           "population.groups.majority.arrivals": 100,
           "population.groups.minority.arrivals": 50}  # fmt: skip


def check(overrides: dict, replicates: int, parallel: bool = False) -> dict:
    arrivals = np.array([1000, 500]) if "steps" not in overrides else np.array([100, 50])
    _, erm_share, erm_sizes = erm_fixed_point(arrivals)
    _, dro_share, dro_sizes = dro_fixed_point(arrivals, alpha_min=0.3)
    erm = measure("erm", overrides, replicates, parallel)
    dro = measure("group_dro", overrides, replicates, parallel)
    assert abs(erm["late"] - erm_share) <= tolerance(erm), (erm["late"], erm_share, erm["se"])
    # The group sizes themselves, lambda_g* (allowance: 1 % of lambda_g*, same reason).
    for found, expected in ((erm, erm_sizes), (dro, dro_sizes)):
        gap = np.abs(found["sizes"] - expected)
        assert np.all(gap <= tolerance(found, found["sizes_se"], 0.01 * expected)), (
            found["sizes"], expected)  # fmt: skip
    # Under DRO the share stays near its start (1/3) and at DRO's own fixed point.
    assert abs(dro["late"] - dro_share) <= tolerance(dro), (dro["late"], dro_share, dro["se"])
    assert abs(dro["late"] - 1 / 3) < 0.03
    return {"erm": erm, "dro": dro, "erm_theory": erm_share, "dro_theory": dro_share,
            "erm_sizes": erm_sizes, "dro_sizes": dro_sizes}  # fmt: skip


def test_theory_erm_fixed_point_shrinks_the_minority():
    theta, share, _ = erm_fixed_point(np.array([1000, 500]))
    assert -1.0 < theta < -0.9 and 0.07 < share < 0.09  # from 1/3 to under a tenth
    # The fixed point does not depend on the scale of the arrivals (the reduced case).
    assert erm_fixed_point(np.array([100, 50]))[1] == pytest.approx(share, rel=1e-9)


def test_reduced_erm_shrinks_the_minority_and_dro_keeps_it():
    check(REDUCED, replicates=10)


@pytest.mark.slow
def test_full_size_hashimoto():
    found = check({}, replicates=8, parallel=True)
    plot(found)
    print(found["erm"]["sizes"], found["erm_sizes"], found["dro"]["sizes"], found["dro_sizes"])
    print(f"ERM share {found['erm']['late']:.4f} +- {found['erm']['se']:.4f} "
          f"(theory {found['erm_theory']:.4f}); DRO {found['dro']['late']:.4f} +- "
          f"{found['dro']['se']:.4f} (theory {found['dro_theory']:.4f})")  # fmt: skip


def plot(found: dict) -> None:
    with mpl.rc_context(STYLE):
        fig, (ax,) = comparison_figure(
            "Hashimoto et al. (2018): minority share under ERM and DRO", (1, 1), (9, 5.5)
        )
        for key, colour, label in (("erm", PALETTE[0], "ERM"), ("dro", PALETTE[1], "DRO")):
            runs = found[key]["runs"]
            steps = np.arange(runs.shape[1])
            ax.plot(steps, runs.mean(axis=0), color=colour, label=f"{label}: simulated mean")
            ax.axhline(found[f"{key}_theory"], color=colour, linestyle="--",
                       label=f"{label}: fixed point (theory)")  # fmt: skip
        ax.set_xlabel("step")
        ax.set_ylabel("minority share of active users")
        ax.set_ylim(0, 0.45)
        ax.legend(fontsize=11)
        save_plot(fig, "hashimoto")

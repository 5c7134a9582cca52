"""Validation: model collapse (Shumailov et al. 2024) and how accumulation or fresh real
data prevents it (Gerstgrasser et al. 2024).

Runs ``scenarios/validation/shumailov.yaml``: a Gaussian density model (maximum
likelihood: mean, and variance with divisor M) fitted at generation 0 to M clean
points of N(mu, sigma^2) = N(0, 1), then refitted every generation (step) to a batch of
M points sampled from the previous generation's model.

Theory. Write mu_t, s2_t for generation t's fitted mean and variance,
m_t = E(mu_t - mu)^2 (the mean's drift) and v_t = E s2_t. For a training set of N
points, ``s2 = (1/N) sum (x - mu)^2 - (xbar - mu)^2`` exactly, and a point sampled
from generation t-1's model has ``E[(x - mu)^2] = v_{t-1} + m_{t-1}``. That gives an
exact linear recursion for (m_t, v_t) for any batch (n_real fresh real points,
n_syn synthetic ones) and either data policy:

- replace (train on the batch only, N_t = n_real + n_syn):
  ``m_t = (n_syn^2 m_{t-1} + n_real sigma^2 + n_syn v_{t-1}) / N_t^2``,
  ``v_t = (n_real sigma^2 + n_syn (v_{t-1} + m_{t-1})) / N_t - m_t``;
- accumulate (keep every batch, N_t = N_{t-1} + n_real + n_syn, S_t = E sum (x - mu)^2):
  ``m_t = ((N_{t-1} + n_syn)^2 m_{t-1} + n_real sigma^2 + n_syn v_{t-1}) / N_t^2``,
  ``S_t = S_{t-1} + n_real sigma^2 + n_syn (v_{t-1} + m_{t-1})``, ``v_t = S_t / N_t - m_t``;

from m_0 = sigma^2 / M, v_0 = sigma^2 (M - 1) / M. Special cases, the published ones:

- Shumailov et al. (2024), purely synthetic, replace: ``v_t = sigma^2 ((M-1)/M)^(t+1)``
  (their variance collapse, for the divisor-M estimator; with the unbiased divisor M - 1
  the expectation stays at sigma^2 while the variance still collapses almost surely), and
  ``m_t = sigma^2 (1 - ((M-1)/M)^(t+1))``: the mean performs a random walk whose squared
  error grows towards sigma^2. Almost surely, ``s2_t = sigma^2 prod chi2_{M-1} / M``, so
  ``E log s2_t = log sigma^2 + (t + 1)(psi((M-1)/2) + log(2/M))`` with variance
  ``(t + 1) psi'((M-1)/2)``: the typical variance decays geometrically.
- Gerstgrasser et al. (2024), accumulate: the mean moves by e_t / (t + 1) per generation,
  so ``m_t <= (sigma^2 / M) sum_k 1/k^2 -> (pi^2 / 6) sigma^2 / M``: bounded.
- A fixed share (1 - s) of fresh real data under replace: the recursion is a contraction
  (factor s^2 on m, s on v), so (m_t, v_t) tend to a fixed point near (sigma^2 / M, sigma^2).

Tolerance: each compared mean over R replicates must lie within ``t_{1 - 0.001/(2k), R-1}``
standard errors of theory (k comparisons per case: a Bonferroni family-wise 99.9 %
interval), the standard error estimated from the replicates; for E log s2 the exact
theoretical standard deviation is used instead (normal quantile).
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
from scipy import special, stats

from simulator.reporting.plots import PALETTE, STYLE
from simulator.simulation import run

from .helpers import SCENARIOS, comparison_figure, mean_and_se, replicate, save_plot

SIGMA2 = 1.0
ALPHA = 0.001


# -- theory --------------------------------------------------------------------------------


def expected_moments(generations: int, batch: int, share: float, policy: str):
    """Exact (m_t, v_t) for t = 0..generations (module docstring)."""
    n_syn = int(np.floor(batch * share + 0.5))
    n_real = batch - n_syn
    m, v = SIGMA2 / batch, SIGMA2 * (batch - 1) / batch
    total, squares = batch, batch * SIGMA2
    ms, vs = [m], [v]
    for _ in range(generations):
        if policy == "replace":
            size = n_real + n_syn
            m_next = (n_syn**2 * m + n_real * SIGMA2 + n_syn * v) / size**2
            v = (n_real * SIGMA2 + n_syn * (v + m)) / size - m_next
        else:
            size = total + n_real + n_syn
            m_next = ((total + n_syn) ** 2 * m + n_real * SIGMA2 + n_syn * v) / size**2
            squares += n_real * SIGMA2 + n_syn * (v + m)
            v, total = squares / size - m_next, size
        m = m_next
        ms.append(m)
        vs.append(v)
    return np.array(ms), np.array(vs)


def expected_log_variance(generations: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of log s2_t under pure synthetic replace (product of chi2_{M-1}/M)."""
    t1 = np.arange(generations + 1) + 1
    half = (batch - 1) / 2
    mean = np.log(SIGMA2) + t1 * (special.digamma(half) + np.log(2 / batch))
    return mean, np.sqrt(t1 * special.polygamma(1, half))


# -- simulation ---------------------------------------------------------------------------


def generations(overrides: dict, seed: int) -> np.ndarray:
    """(model_mean, model_spread^2) of every generation of one run."""
    ts = run(SCENARIOS / "shumailov.yaml", seed=seed, overrides=overrides).timeseries
    return np.stack([ts["model_mean"].to_numpy(), ts["model_spread"].to_numpy() ** 2])


VARIANTS = {
    "replace": {},
    "accumulate": {"data.policy": "accumulate"},
    "fresh": {"data.synthetic_share": 0.9},
}


def check(batch: int, steps: int, replicates: int, parallel: bool = False) -> dict:
    sizes = {"data.batch_size": batch, "learning.initial_examples": batch, "steps": steps}
    checkpoints = np.unique(np.linspace(0, steps, 5).astype(int))
    found = {}
    for name, overrides in VARIANTS.items():
        calls = [({**sizes, **overrides}, seed) for seed in range(replicates)]
        runs = np.array(replicate(generations, calls, parallel=parallel))  # (R, 2, T)
        share = 0.9 if name == "fresh" else 1.0
        policy = overrides.get("data.policy", "replace")
        m, v = expected_moments(steps, batch, share, policy)
        drift, drift_se = mean_and_se(runs[:, 0, :] ** 2)  # mu = 0
        var, var_se = mean_and_se(runs[:, 1, :])
        crit = stats.t.ppf(1 - ALPHA / (2 * 2 * len(checkpoints)), replicates - 1)
        for t in checkpoints:
            assert abs(drift[t] - m[t]) <= crit * drift_se[t], (name, t, drift[t], m[t])
            assert abs(var[t] - v[t]) <= crit * var_se[t], (name, t, var[t], v[t])
        found[name] = {"runs": runs, "m": m, "v": v, "drift": drift, "drift_se": drift_se,
                       "var": var, "var_se": var_se, "crit": crit}  # fmt: skip
    # Shumailov: the typical variance collapses at the predicted geometric rate.
    logs = np.log(found["replace"]["runs"][:, 1, :])
    log_mean, log_sd = expected_log_variance(steps, batch)
    z = stats.norm.ppf(1 - ALPHA / 2)
    last = logs[:, -1].mean()
    assert abs(last - log_mean[-1]) <= z * log_sd[-1] / np.sqrt(replicates), (last, log_mean[-1])
    # The remedies, in the simulated runs (one-sided, each within the same Bonferroni
    # allowance of crit standard errors): accumulation keeps the drift within
    # Gerstgrasser's pi^2/6 sigma^2 / M bound at every generation and the variance near
    # sigma^2; a fixed share of fresh real data bounds both too; replacing collapses.
    acc, fresh, rep = found["accumulate"], found["fresh"], found["replace"]
    slack = {name: case["crit"] for name, case in found.items()}
    bound = np.pi**2 / 6 * SIGMA2 / batch
    assert np.all(acc["drift"] <= bound + slack["accumulate"] * acc["drift_se"])
    assert np.all(acc["var"] >= 0.9 * SIGMA2 - slack["accumulate"] * acc["var_se"])
    assert np.all(fresh["var"] >= 0.75 * SIGMA2 - slack["fresh"] * fresh["var_se"])
    assert np.all(fresh["drift"] <= 0.25 * SIGMA2 + slack["fresh"] * fresh["drift_se"])
    assert rep["var"][-1] <= 0.35 * SIGMA2 + slack["replace"] * rep["var_se"][-1]  # collapsed
    return found


def test_theory_special_cases():
    m, v = expected_moments(50, 100, 1.0, "replace")
    rho = 0.99 ** (np.arange(51) + 1)
    np.testing.assert_allclose(v, rho, rtol=1e-12)  # Shumailov's collapse rate
    np.testing.assert_allclose(m, 1 - rho, rtol=1e-9)
    m, v = expected_moments(2000, 100, 1.0, "accumulate")
    assert m.max() < np.pi**2 / 6 / 100  # Gerstgrasser et al.'s bound
    assert v.min() > 0.9
    m, v = expected_moments(200, 100, 0.9, "replace")  # 10 % fresh data: a fixed point
    assert abs(v[-1] - v[-2]) < 1e-3 * v[-1] and v.min() > 0.75 and m.max() < 0.25


def test_reduced_collapse_and_its_remedies():
    check(batch=20, steps=30, replicates=200)


@pytest.mark.slow
def test_full_size_shumailov():
    found = check(batch=100, steps=200, replicates=400, parallel=True)
    plot(found, batch=100)


def plot(found: dict, batch: int) -> None:
    labels = {"replace": "replace, 100 % synthetic (collapse)",
              "accumulate": "accumulate, 100 % synthetic",
              "fresh": "replace, 10 % fresh real data"}  # fmt: skip
    with mpl.rc_context(STYLE):
        fig, axes = comparison_figure(
            f"Model collapse: Gaussian refitted to its own samples (M = {batch})", (1, 2), (13, 5.5)
        )
        for colour, (name, case) in zip(PALETTE, found.items(), strict=False):
            steps = np.arange(case["runs"].shape[2])
            axes[0].plot(steps, case["runs"][:, 1, :].mean(axis=0), color=colour,
                         label=labels[name])  # fmt: skip
            axes[0].plot(steps, case["v"], color=colour, linestyle="--")
            axes[1].plot(steps, (case["runs"][:, 0, :] ** 2).mean(axis=0), color=colour)
            axes[1].plot(steps, case["m"], color=colour, linestyle="--")
        runs = found["replace"]["runs"]
        log_mean, _ = expected_log_variance(runs.shape[2] - 1, batch)
        steps = np.arange(runs.shape[2])
        axes[0].plot(steps, np.exp(np.log(runs[:, 1, :]).mean(axis=0)), color=PALETTE[0],
                     linewidth=1.2, label="replace: geometric mean (typical run)")  # fmt: skip
        axes[0].plot(steps, np.exp(log_mean), color=PALETTE[0], linewidth=1.2, linestyle=":")
        axes[0].set_yscale("log")
        axes[0].set_ylabel("fitted variance (mean over runs)")
        axes[1].set_ylabel("squared error of the fitted mean")
        for ax in axes:
            ax.set_xlabel("generation")
        axes[0].legend(fontsize=10, title="solid: simulated, dashed: theory", title_fontsize=10)
        save_plot(fig, "shumailov")

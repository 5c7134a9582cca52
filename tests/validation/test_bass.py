"""Validation case 1: the adoption rule reduces to Bass (1969).

Runs ``scenarios/validation/bass.yaml`` (complete graph, p = 0.03, q = 0.38, quality,
churn and initial adopters switched off) and compares replicate means with

* the closed form F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}), the peak time
  t* = ln(q/p)/(p+q) and the half-adoption time ln(2 + q/p)/(p+q) [Bass 1969];
* with dt = 1, the discrete recursion F_k = F_{k-1} + (1 - F_{k-1})(1 - e^{-(p + q' F_{k-1}) dt});
* the exact one-step law: given the state, a step's adoptions are binomial with
  P = 1 - e^{-(p + q A/(N-1)) dt}, and a share q frac / (p + q frac) of them come by
  word of mouth (competing exponential clocks);
* on sparser graphs, slower diffusion in the order of density.

On a complete graph frac = A/(N-1), so the hazard is p + q' F with q' = q N/(N-1);
all theory below uses q'. Tolerances (see docs/validation.md): the expected value
(the recursion at the run's dt) plus a Student-t multiple of the standard error over
replicates, Bonferroni-corrected over the compared times, at family-wise alpha = 0.001;
the comparison with the continuous closed form adds the discretisation bias, computed
from the recursion. The full-size case is ``slow`` and draws docs/validation/bass.png;
the default suite runs a reduced one (N = 500) with the same checks.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
from scipy import stats

from simulator.reporting.plots import (
    BLACK,
    BLUE,
    LINESTYLES,
    ORANGE,
    PALETTE,
    SKY,
    STYLE,
    VERMILLION,
)

from . import theory
from .helpers import (
    comparison_figure,
    crossing_time,
    diffusion_run,
    jackknife_se,
    mean_and_se,
    peak_time,
    replicate,
    save_plot,
)

P, Q = 0.03, 0.38
ALPHA = 0.001  # family-wise false-failure rate of each check
COMPARE_UNTIL = 20.0  # compare F(t) at t = 1, 2, ..., 20 (F(20) = 0.9996)
PEAK_WINDOW = 2.0  # half-width of the parabola fitted around the peak adoption rate

FULL = {"size": 2000, "dt": 0.05, "steps": 500, "replicates": 40, "parallel": True}
REDUCED = {"size": 500, "dt": 0.1, "steps": 200, "replicates": 30}
FULL_DT1 = {"size": 2000, "dt": 1.0, "steps": 30, "replicates": 30, "parallel": True}
# The density order needs many more replicates than the closed-form checks: complete vs
# ER z=50 differ by only ~0.06 in half-adoption time (6.59 vs 6.65 at t units), with a
# paired sd of ~0.14 (measured over 120 replicates: paired effect size d = 0.43). The
# one-sided paired t test at alpha = 0.001 / 5 pairs needs t >= ~3.6; with R = 250,
# E[t] = d sqrt(R) = 6.9, so a correct model fails it with probability < 1e-3.
DENSITY = {**FULL, "replicates": 250}
REDUCED_DT1 = {"size": 500, "dt": 1.0, "steps": 30, "replicates": 30}

GRAPHS = {  # label: network overrides, densest first
    "complete": {},
    "ER z=50": {"network.kind": "erdos_renyi", "network.mean_degree": 50},
    "ER z=10": {"network.kind": "erdos_renyi", "network.mean_degree": 10},
    "ER z=4": {"network.kind": "erdos_renyi", "network.mean_degree": 4},
    "ring k=4": {"network.kind": "watts_strogatz", "network.mean_degree": 4, "network.rewire": 0.0},
    "ring k=2": {"network.kind": "watts_strogatz", "network.mean_degree": 2, "network.rewire": 0.0},
}
REDUCED_GRAPHS = ("complete", "ER z=10", "ring k=2")


# -- running ---------------------------------------------------------------------------------


def bass_runs(config: dict, network: dict | None = None) -> dict[str, np.ndarray]:
    """Replicates (seeds 0 .. R-1) of bass.yaml at ``config``'s size, dt and steps."""
    overrides = {
        "population.size": config["size"],
        "dt": config["dt"],
        "steps": config["steps"],
        **(network or {}),
    }
    calls = [("bass", overrides, seed) for seed in range(config["replicates"])]
    runs = replicate(diffusion_run, calls, parallel=config.get("parallel", False))
    stacked = {key: np.stack([run[key] for run in runs]) for key in runs[0] if key != "size"}
    stacked["share"] = 1.0 - stacked["potential_users"] / config["size"]  # no churn
    stacked["time"] = stacked["time"][0]
    return stacked


# -- checks (shared by the reduced and the full-size tests) ----------------------------------------


def one_step_law(runs: dict, config: dict) -> dict[str, float]:
    """z-scores of all adoptions, and of word-of-mouth ones, against their exact one-step law.

    Given the start-of-step state (potential users n, active users A), each potential user
    adopts with P = 1 - e^{-(p + q A/(N-1)) dt}, and by word of mouth (its clock first)
    with P * r_w / (r_s + r_w), r_s = p, r_w = q A/(N-1). Summed over every step of every
    replicate, (observed - expected) / sqrt(sum of binomial variances) is a martingale
    sum: N(0, 1) if the rule is right, whatever the path.
    """
    size, dt = config["size"], config["dt"]
    n = runs["potential_users"][:, :-1].astype(float)
    frac = runs["active_users"][:, :-1] / (size - 1)
    word_of_mouth = Q * frac
    adopt = -np.expm1(-(P + word_of_mouth) * dt)
    organic = adopt * word_of_mouth / (P + word_of_mouth)
    observed, observed_organic = runs["adoptions"][:, 1:], runs["organic_adoptions"][:, 1:]
    return {
        "z_adoptions": float(
            np.sum(observed - n * adopt) / np.sqrt(np.sum(n * adopt * (1 - adopt)))
        ),
        "z_word_of_mouth": float(
            np.sum(observed_organic - n * organic) / np.sqrt(np.sum(n * organic * (1 - organic)))
        ),
    }


def recursion_deviation(mean: np.ndarray, se: np.ndarray, expected: np.ndarray) -> dict:
    """How far the replicate means lie from the recursion: at most, and in standard errors."""
    return {
        "max_dev_recursion": float(np.max(np.abs(mean - expected))),
        "max_dev_recursion_in_se": float(np.max(np.abs(mean - expected) / se)),
        "max_se": float(se.max()),
    }


def one_step_law_failures(numbers: dict, label: str) -> list[str]:
    """Both one-step-law z-scores must lie within the two-sided normal bound at ALPHA."""
    z = stats.norm.isf(ALPHA / 2)
    return [
        f"{label}: {key} = {numbers[key]:.2f} (|z| > {z:.2f})"
        for key in ("z_adoptions", "z_word_of_mouth")
        if not abs(numbers[key]) <= z
    ]


def closed_form_checks(runs: dict, config: dict) -> tuple[dict, list[str]]:
    """Compare the replicates with Bass's closed form (and the recursion at the run's dt)."""
    size, dt, replicates = config["size"], config["dt"], config["replicates"]
    q = theory.effective_imitation(Q, size)
    times, share = runs["time"], runs["share"]
    recursion = theory.bass_recursion(P, q, dt, config["steps"])
    rows = np.round(np.arange(1.0, COMPARE_UNTIL + 0.5) / dt).astype(int)
    mean, se = mean_and_se(share[:, rows])
    closed = theory.bass_share(times[rows], P, q)
    crit_path = theory.t_critical(ALPHA, replicates, comparisons=len(rows))
    crit = theory.t_critical(ALPHA, replicates)
    bias = float(np.max(np.abs(recursion[rows] - closed)))  # discretisation: O(dt)

    half = np.array([crossing_time(times, row, 0.5) for row in share])
    half_mean, half_se = mean_and_se(half)
    half_theory = theory.bass_half_time(P, q)
    half_recursion = crossing_time(times, recursion, 0.5)

    mids = times[1:] - dt / 2  # adoptions of row k happen in ((k-1) dt, k dt]
    rates = runs["adoptions"][:, 1:] / (size * dt)

    def peak(rate: np.ndarray) -> float:
        return peak_time(mids, rate, PEAK_WINDOW)

    peak_sim = peak(rates.mean(axis=0))
    peak_se = jackknife_se(peak, rates)
    peak_theory = theory.bass_peak_time(P, q)
    peak_recursion = peak(np.diff(recursion) / dt)

    numbers = {
        "replicates": replicates,
        **recursion_deviation(mean, se, recursion[rows]),
        "max_dev_closed_form": float(np.max(np.abs(mean - closed))),
        "discretisation_bias": bias,
        "crit_path": crit_path,
        "max_sd": float(se.max() * np.sqrt(replicates)),
        "half_time": float(half_mean),
        "half_time_se": float(half_se),
        "half_time_theory": half_theory,
        "half_time_recursion": half_recursion,
        "peak_time": peak_sim,
        "peak_time_se": peak_se,
        "peak_time_theory": peak_theory,
        "peak_time_recursion": peak_recursion,
        "crit": crit,
        **one_step_law(runs, config),
    }
    failures = []
    if not np.all(np.abs(mean - recursion[rows]) <= crit_path * se):
        failures.append(
            f"mean share deviates from the recursion by {numbers['max_dev_recursion_in_se']:.2f}"
            f" SE (> {crit_path:.2f})"
        )
    if not np.all(np.abs(mean - closed) <= bias + crit_path * se):
        failures.append(
            f"mean share deviates from the closed form by {numbers['max_dev_closed_form']:.4f}"
            f" (> bias {bias:.4f} + {crit_path:.2f} SE)"
        )
    tolerance = abs(half_recursion - half_theory) + crit * half_se
    if not abs(half_mean - half_theory) <= tolerance:  # NaN fails
        failures.append(
            f"half-adoption time {half_mean:.3f} vs {half_theory:.3f} (tolerance {tolerance:.3f})"
        )
    tolerance = abs(peak_recursion - peak_theory) + crit * peak_se
    if not abs(peak_sim - peak_theory) <= tolerance:
        failures.append(f"peak time {peak_sim:.3f} vs {peak_theory:.3f} (tol {tolerance:.3f})")
    return numbers, failures + one_step_law_failures(numbers, "one-step law")


def recursion_checks(runs: dict, config: dict) -> tuple[dict, list[str]]:
    """dt = 1: replicate means against the discrete recursion, step by step."""
    size, replicates = config["size"], config["replicates"]
    q = theory.effective_imitation(Q, size)
    recursion = theory.bass_recursion(P, q, config["dt"], config["steps"])
    rows = np.arange(1, config["steps"] + 1)
    mean, se = mean_and_se(runs["share"][:, rows])
    # Near saturation every replicate can sit on the same value (all N adopted), so
    # the sample SE is 0 although the true one is not: floor it at the share's
    # resolution, one user in N, averaged over the replicates.
    se = np.maximum(se, 1.0 / (size * np.sqrt(replicates)))
    closed = theory.bass_share(runs["time"][rows], P, q)
    crit = theory.t_critical(ALPHA, replicates, comparisons=len(rows))
    numbers = {
        "replicates": replicates,
        **recursion_deviation(mean, se, recursion[rows]),
        "recursion_vs_closed_form": float(np.max(np.abs(recursion[rows] - closed))),
        "crit": crit,
        **one_step_law(runs, config),
    }
    failures = []
    if not np.all(np.abs(mean - recursion[rows]) <= crit * se):
        failures.append(
            f"dt = 1: mean share deviates from the recursion by "
            f"{numbers['max_dev_recursion_in_se']:.2f} SE (> {crit:.2f})"
        )
    return numbers, failures + one_step_law_failures(numbers, "dt = 1 one-step law")


def density_checks(half_times: dict[str, np.ndarray]) -> tuple[dict, list[str]]:
    """Half-adoption times must increase from the densest graph to the sparsest.

    Replicate r of every graph uses seed r, so all graphs draw the same per-user clocks
    every step (common random numbers; the word-of-mouth clocks are drawn only for the
    potential users, so they stay common only while the graphs' adopters coincide). The
    paired differences are tested: one-sided paired t, Bonferroni over the consecutive
    pairs, family-wise alpha.
    """
    labels = list(half_times)
    pairs = list(zip(labels, labels[1:], strict=False))
    replicates = len(half_times[labels[0]])
    crit = float(stats.t.isf(ALPHA / len(pairs), replicates - 1))
    numbers: dict = {"crit": crit}
    failures = []
    for label in labels:
        mean, se = mean_and_se(half_times[label])
        numbers[label] = (float(mean), float(se))
    for denser, sparser in pairs:
        difference = half_times[sparser] - half_times[denser]
        mean, se = mean_and_se(difference)
        numbers[f"{sparser} - {denser}"] = (float(mean), float(mean / se))
        if not mean / se >= crit:
            failures.append(
                f"{sparser} is not slower than {denser}: +{mean:.3f}"
                f" (t = {mean / se:.2f} < {crit:.2f})"
            )
    return numbers, failures


def half_times_by_graph(config: dict, labels) -> dict:
    """Per-replicate half-adoption times on each graph."""
    out = {}
    for label in labels:
        runs = bass_runs(config, GRAPHS[label])
        out[label] = np.array([crossing_time(runs["time"], row, 0.5) for row in runs["share"]])
    return out


def _report(numbers: dict, failures: list[str]) -> None:
    for key, value in numbers.items():
        print(f"  {key}: {value}")
    assert not failures, "\n".join(failures)


# -- reduced versions (default suite) ----------------------------------------------------------


def test_bass_closed_form_reduced():
    numbers, failures = closed_form_checks(bass_runs(REDUCED), REDUCED)
    _report(numbers, failures)


def test_bass_discrete_recursion_dt1_reduced():
    numbers, failures = recursion_checks(bass_runs(REDUCED_DT1), REDUCED_DT1)
    # the check can tell the discrete recursion from the continuous curve
    assert numbers["recursion_vs_closed_form"] > 2 * numbers["crit"] * numbers["max_se"]
    _report(numbers, failures)


def test_bass_sparser_graphs_diffuse_slower_reduced():
    config = {**REDUCED, "replicates": 20}
    _report(*density_checks(half_times_by_graph(config, REDUCED_GRAPHS)))


# -- full size (make validate) -------------------------------------------------------------------


@pytest.mark.slow
def test_bass_full():
    runs = bass_runs(FULL)
    runs_dt1 = bass_runs(FULL_DT1)
    closed, failures = closed_form_checks(runs, FULL)
    recursion, more = recursion_checks(runs_dt1, FULL_DT1)
    failures += more
    half_times = half_times_by_graph(DENSITY, GRAPHS)
    density, more = density_checks(half_times)
    failures += more

    # The replicate sd follows the linear noise approximation (it sets the tolerances).
    q = theory.effective_imitation(Q, FULL["size"])
    lna = theory.bass_recursion_sd(P, q, FULL["dt"], FULL["steps"], FULL["size"])
    sd = runs["share"].std(axis=0, ddof=1)
    ratio = float(np.sqrt(np.mean(sd[1:] ** 2) / np.mean(lna[1:] ** 2)))
    closed["sd_over_lna_sd"] = ratio
    closed["lna_sd_max"] = float(lna.max())
    # An sd from R = 40 runs has a relative sd of 1/sqrt(2 (R - 1)) = 0.11 at one time
    # (less as a root mean square over time): 0.7 .. 1.4 is about 3 of those.
    if not 0.7 < ratio < 1.4:
        failures.append(f"replicate sd / linear-noise sd = {ratio:.2f} (outside 0.7 .. 1.4)")

    save_plot(_bass_figure(runs, runs_dt1, half_times, closed), "bass")
    print("closed form:")
    _report(closed, [])
    print("dt = 1:")
    _report(recursion, [])
    print("graphs:")
    _report(density, failures)


def _bass_figure(runs, runs_dt1, half_times, closed):
    size, dt = FULL["size"], FULL["dt"]
    q = theory.effective_imitation(Q, size)
    with mpl.rc_context(STYLE):
        fig, axes = comparison_figure(
            f"Bass (1969) through the model: p = {P}, q = {Q}, N = {size:,}", (2, 2), (17, 11)
        )
        times = runs["time"]
        fine = np.linspace(0, 20, 401)

        ax = axes[0]
        low, high = np.percentile(runs["share"], [2.5, 97.5], axis=0)
        ax.fill_between(
            times,
            low,
            high,
            color=SKY,
            alpha=0.35,
            lw=0,
            label=f"simulated, 95% of {FULL['replicates']} runs",
        )
        ax.plot(times, runs["share"].mean(axis=0), color=BLUE, label="simulated mean")
        ax.plot(
            fine,
            theory.bass_share(fine, P, q),
            color=BLACK,
            ls="--",
            lw=2.5,
            label="Bass closed form",
        )
        marks = (
            (closed["peak_time_theory"], "t* ", "right"),
            (closed["half_time_theory"], " t½", "left"),
        )
        for value, text, align in marks:
            ax.axvline(value, color="#777777", lw=1.2, ls=":")
            ax.annotate(text, (value, 0.9), ha=align, fontsize=13)
        ax.set(
            xlim=(0, 20),
            ylim=(0, 1),
            xlabel="time t (weeks)",
            ylabel="adopted share F(t)",
            title=f"adopted share (dt = {dt})",
        )
        ax.legend(loc="lower right", fontsize=12)

        ax = axes[1]
        mids = times[1:] - dt / 2
        rate = runs["adoptions"][:, 1:].mean(axis=0) / (size * dt)
        ax.plot(mids, rate, color=BLUE, lw=1.5, label="simulated mean")
        ax.plot(
            fine,
            theory.bass_rate(fine, P, q),
            color=BLACK,
            ls="--",
            lw=2.5,
            label="Bass closed form",
        )
        ax.axvline(closed["peak_time_theory"], color=BLACK, lw=1.5, ls=":")
        ax.axvline(
            closed["peak_time"],
            color=VERMILLION,
            lw=2,
            ls="-.",
            label=f"fitted peak {closed['peak_time']:.2f} ± {closed['peak_time_se']:.2f}"
            f" (t* = {closed['peak_time_theory']:.2f})",
        )
        ax.set(
            xlim=(0, 20),
            xlabel="time t (weeks)",
            ylabel="adoption rate dF/dt",
            title="adoption rate and its peak",
        )
        ax.legend(loc="upper right", fontsize=12)

        ax = axes[2]
        steps = np.arange(FULL_DT1["steps"] + 1)
        mean, se = mean_and_se(runs_dt1["share"])
        ax.errorbar(
            steps,
            mean,
            yerr=1.96 * se,
            fmt="o",
            color=BLUE,
            ms=6,
            lw=1.5,
            label=f"simulated mean ± 95% CI ({FULL_DT1['replicates']} runs)",
        )
        ax.plot(
            steps,
            theory.bass_recursion(P, q, 1.0, FULL_DT1["steps"]),
            color=ORANGE,
            label="discrete recursion (dt = 1)",
        )
        ax.plot(
            fine,
            theory.bass_share(fine, P, q),
            color=BLACK,
            ls="--",
            lw=2.5,
            label="continuous closed form",
        )
        ax.set(
            xlim=(0, 20),
            ylim=(0, 1),
            xlabel="time t = step (dt = 1)",
            ylabel="adopted share F",
            title="dt = 1: the discrete recursion",
        )
        ax.legend(loc="lower right", fontsize=12)

        ax = axes[3]
        labels = list(half_times)
        for i, label in enumerate(labels):
            mean, se = mean_and_se(half_times[label])
            ax.errorbar(
                i,
                mean,
                yerr=1.96 * se,
                fmt="o",
                ms=9,
                lw=2.5,
                capsize=6,
                color=PALETTE[i % len(PALETTE)],
            )
        ax.axhline(
            closed["half_time_theory"],
            color=BLACK,
            ls=LINESTYLES[1],
            lw=2,
            label=f"Bass t½ = {closed['half_time_theory']:.2f} (complete graph)",
        )
        ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set(
            ylabel="half-adoption time (weeks)",
            title="sparser graphs diffuse slower (mean ± 95% CI)",
        )
        ax.legend(loc="upper left", fontsize=12)
    return fig

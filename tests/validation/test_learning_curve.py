"""Validation case 3: the deployed model's error follows the configured learning curve.

Runs ``scenarios/validation/learning_curve.yaml`` (one group, no noise penalty, no data
ageing, every retrain ships, retrain every step with no latency) with the whole flywheel
running, and regresses log(1 - quality - e_inf) on log(1 + D / D_c) over the run's
timeseries, D the training examples of the model deployed at each step. The power law of
Hestness et al. (2017), e(D) = e_inf + (e_0 - e_inf)(1 + D/D_c)^(-alpha), makes this a
straight line of slope -alpha and intercept log(e_0 - e_inf), exactly: the test allows
floating-point error only (1e-9).

Row t of the timeseries is the state after step t; the model trained at step t on the
data held then (row t's ``training_examples``) goes live at the end of step t + latency.
So with latency 0 row t's quality belongs to row t's data, and with latency L to row
t - L's (rows <= L still show the cold-start model, trained on nothing). A one-row offset
breaks the straight line, which the test checks too.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest

from simulator.reporting.plots import LINESTYLES, PALETTE, STYLE
from simulator.simulation import run

from . import theory
from .helpers import SCENARIOS, comparison_figure, save_plot

EXPONENTS = (0.1, 0.3, 0.7)
EXACT = 1e-9  # floating-point tolerance on slope, intercept and residuals
REDUCED = {"population.size": 500, "steps": 52}


def fit(overrides: dict, offset: int | None = None) -> dict:
    """Run the scenario and fit the log-log line; ``offset`` overrides the latency shift."""
    result = run(SCENARIOS / "learning_curve.yaml", overrides=overrides)
    learning = result.scenario.learning
    shift = result.scenario.reinvestment.latency if offset is None else offset
    data = result.timeseries["training_examples"].to_numpy()
    quality = result.timeseries["quality"].to_numpy()
    rows = np.arange(len(data))
    trained_on = data[np.maximum(rows - shift, 0)]  # data of the model live at each row
    x = np.log1p(trained_on / learning.scale)
    y = np.log(1.0 - quality - learning.floor_error)
    slope, intercept = np.polyfit(x, y, 1)
    return {
        "exponent": learning.exponent,
        "slope": float(slope),
        "intercept": float(intercept),
        "intercept_theory": float(np.log(learning.initial_error - learning.floor_error)),
        "max_residual": float(np.max(np.abs(y - (slope * x + intercept)))),
        "decades": float(x.max() / np.log(10)),  # span of 1 + D/D_c
        "data": trained_on,
        "error": 1.0 - quality,
        "learning": learning,
    }


def check(result: dict, decades: float) -> None:
    alpha = result["exponent"]
    assert result["decades"] >= decades, f"data span only {result['decades']:.2f} decades"
    assert result["slope"] == pytest.approx(-alpha, abs=EXACT), result
    assert result["intercept"] == pytest.approx(result["intercept_theory"], abs=EXACT), result
    assert result["max_residual"] <= EXACT, result


def _summary(result: dict) -> str:
    keys = ("exponent", "slope", "intercept", "intercept_theory", "max_residual", "decades")
    text = ", ".join(f"{key} {result[key]:.12g}" for key in keys)
    return f"{text}, |slope + exponent| {abs(result['slope'] + result['exponent']):.2e}"


# -- reduced versions (default suite) ------------------------------------------------------------


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_learning_curve_slope_reduced(exponent):
    result = fit({**REDUCED, "learning.exponent": exponent})
    print(_summary(result))
    check(result, decades=1.0)


def test_learning_curve_latency_offset_reduced():
    """With latency 3 the line holds against the data of 3 rows earlier, and only then."""
    overrides = {**REDUCED, "reinvestment.latency": 3}
    check(fit(overrides), decades=1.0)
    for wrong in (0, 2, 4):
        assert fit(overrides, offset=wrong)["max_residual"] > 1e-4
    assert fit(REDUCED, offset=1)["max_residual"] > 1e-4  # latency 0: same-row data


# -- full size (make validate) -------------------------------------------------------------------


@pytest.mark.slow
def test_learning_curve_full():
    results = [fit({"learning.exponent": exponent}) for exponent in EXPONENTS]
    save_plot(_figure(results), "learning_curve")
    for result in results:
        print(_summary(result))
    for result in results:
        check(result, decades=3.0)


def _figure(results):
    with mpl.rc_context(STYLE):
        fig, axes = comparison_figure(
            "Learning curve through the model (Hestness et al. 2017)",
            (1, 1),
            (10, 6.5),
        )
        ax = axes[0]
        for i, result in enumerate(results):
            learning = result["learning"]
            colour = PALETTE[i]
            x = 1.0 + result["data"] / learning.scale
            y = result["error"] - learning.floor_error
            fine = np.geomspace(1.0, x.max(), 200)
            theory_error = theory.learning_curve_error(
                (fine - 1.0) * learning.scale,
                learning.initial_error,
                learning.floor_error,
                learning.exponent,
                learning.scale,
            )
            ax.plot(
                fine,
                theory_error - learning.floor_error,
                color=colour,
                ls=LINESTYLES[i],
                lw=2.5,
                label=f"power law, α = {learning.exponent:g}",
            )
            ax.plot(
                x[::4],
                y[::4],
                "o",
                color=colour,
                ms=6,
                mfc="white",
                mew=1.8,
                label=f"simulated: fitted slope {result['slope']:.9f}",
            )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="1 + D / D_c  (D = training examples)",
            ylabel="error − floor error",
        )
        ax.legend(loc="lower left", fontsize=12, ncol=1)
    return fig

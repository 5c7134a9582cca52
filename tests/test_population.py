"""Population draws: group sizes and activity multipliers."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import run
from simulator.world.population import activity_multipliers


@pytest.mark.parametrize("cv", [0.0, 5.2e-158, 1e-150])
def test_tiny_activity_cv_gives_finite_multipliers_near_one(cv):
    # 5.2e-158 squared is subnormal, so 1 / cv^2 overflows to inf and gamma(inf, 0) is
    # NaN: found by hypothesis in the engine-equivalence test (a NaN interaction rate).
    multipliers = activity_multipliers(np.random.default_rng(0), 1000, cv)
    assert np.all(np.isfinite(multipliers))
    np.testing.assert_allclose(multipliers, 1.0, rtol=1e-12)


def test_a_run_with_a_subnormal_cv_and_no_activity_runs():
    scenario = {
        "steps": 2,
        "population": {"size": 20, "activity_cv": 5.246641456030195e-158,
                       "groups": [{"name": "g", "share": 1, "activity": 0.0}]},
    }  # fmt: skip
    interactions = run(scenario).timeseries["interactions"]
    assert (interactions == 0).all()


@pytest.mark.parametrize("cv", [0.5, 1.0])
def test_activity_multipliers_have_mean_one_and_the_given_cv(cv):
    # 200,000 gamma draws: the sample mean's SE is cv / sqrt(n) <= 0.0023; the sample
    # cv's SE is below 0.01 for these shapes. Tolerances are 5 of those.
    multipliers = activity_multipliers(np.random.default_rng(1), 200_000, cv)
    assert multipliers.mean() == pytest.approx(1.0, abs=5 * cv / np.sqrt(200_000))
    assert multipliers.std() / multipliers.mean() == pytest.approx(cv, abs=0.05)

"""A market of firms: the monopoly limit, entry, choice, switching and the market metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario, run

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "validation").glob("*.yaml")
)
SINGLE = [path for path in SCENARIOS if not load_scenario(path).firms]
"""The single-company scenarios (the monopoly limit compares each with its one-firm market)."""


@pytest.mark.parametrize("engine", ["agent", "array"])
@pytest.mark.parametrize("path", SINGLE, ids=lambda p: p.stem)
def test_a_monopoly_reproduces_the_single_company_model(path, engine):
    """One firm and no rivals, run through the market machinery (products per user, per-firm
    interactions, choice), gives the single-company run bit for bit on every column they
    share; the market's own columns say it holds the whole market."""
    overrides = {"population.size": 300, "steps": 60, "engine": engine}
    single = run(load_scenario(path, overrides=overrides))
    monopoly = run(load_scenario(path, overrides=overrides | {"firms": [{"name": "solo"}]}))
    shared = list(single.timeseries.columns)
    assert monopoly.timeseries[shared].to_csv() == single.timeseries.to_csv()
    ts = monopoly.timeseries
    np.testing.assert_array_equal(ts["active_users[solo]"], ts["active_users"])
    held = ts["active_users"] > 0
    assert (ts.loc[held, "market_share[solo]"] == 1.0).all()
    assert (ts.loc[held, "hhi"] == 1.0).all()
    np.testing.assert_allclose(ts["moat[solo]"], ts["moat"], atol=1e-12)

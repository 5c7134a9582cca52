"""Validation: emergent specialisation (Dean, Curmei, Ratliff, Morgenstern & Fazel 2024).

Runs ``scenarios/validation/dean.yaml``: groups ``left`` (share 0.6, data N(-1, 1)) and
``right`` (0.4, N(+1, 1)); two firms whose mean estimators refit each week to the data
their own users gave that week; users reconsider at 5 % a week and move to the firm whose
quality ``exp(-R_jg)`` is higher for their group; everyone starts active, split at random.

Theory (Dean et al., AISTATS 2024, Theorems 1-2: with learners that minimise risk on
their users and risk-reducing participation dynamics, the asymptotically stable
allocations are the segmented ones, and total risk decreases along the dynamics). Under
squared loss the firm serving group ``g`` alone fits ``theta = mu_g`` plus the error of a
mean of ``n_g`` points, so the segmented total risk is

``R* = sum_g w_g sigma_g^2 (1 + 1/n_g)``, ``n_g = N w_g activity_g dt`` points a week,

here ``0.6 (1 + 1/600) + 0.4 (1 + 1/400) = 1.002``, against ``1 + 0.6 (0.8)^2 + 0.4 (1.2)^2
= 1.96`` for one model fitted to everyone (``theta = -0.2``). Checks, over R runs:

- every run ends segmented: each group has at least 98 % of its users on one firm, and
  the two groups on different firms (a user who has not reconsidered since the market
  split may still sit on the wrong firm: at 5 % a week after ~150 weeks, about 1 in 1,000);
- the total risk, averaged over the last 20 weeks and over runs, is within
  ``t_{0.999} SE + 0.004`` of ``R*`` (the allowance covers those few stragglers, whose
  points bias their firm's mean by up to ``2 k / n``);
- total risk falls: the last 20 weeks' average is below the first 5 weeks'.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator import load_scenario, run

from .helpers import SCENARIOS, replicate

SHARES, SPREADS, POINTS = np.array([0.6, 0.4]), np.array([1.0, 1.0]), np.array([600, 400])
ALLOWANCE, ALPHA = 0.004, 0.001
FIRMS, GROUPS = ("one", "two"), ("left", "right")


def segmented_risk() -> float:
    return float(np.sum(SHARES * SPREADS**2 * (1 + 1 / POINTS)))


def one_market(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(users per firm and group at the end, total risk per week) of one run."""
    ts = run(SCENARIOS / "dean.yaml", seed=seed).timeseries
    users = np.array([[ts[f"active_users[{f}/{g}]"].iloc[-1] for g in GROUPS] for f in FIRMS])
    total = (
        sum(ts[f"active_users[{f}/{g}]"] * ts[f"risk[{f}/{g}]"] for f in FIRMS for g in GROUPS)
        / ts["active_users"]
    )
    return users, total.to_numpy()


def check(replicates: int, parallel: bool = False) -> dict:
    runs = replicate(one_market, [(seed,) for seed in range(replicates)], parallel)
    late, early = [], []
    for users, total in runs:
        share_of_group = users / users.sum(axis=0)  # (firms, groups)
        serving = share_of_group.argmax(axis=0)
        assert (share_of_group.max(axis=0) >= 0.98).all(), users  # each group on one firm
        assert serving[0] != serving[1], users  # ... and the groups on different firms
        late.append(total[-20:].mean())
        early.append(total[1:6].mean())
    late, early = np.array(late), np.array(early)
    t = stats.t.ppf(1 - ALPHA / 2, replicates - 1)
    se = late.std(ddof=1) / np.sqrt(replicates)
    assert abs(late.mean() - segmented_risk()) <= t * se + ALLOWANCE, (late.mean(), se)
    assert (late < early).all()  # total risk fell in every run
    print(
        f"{replicates} runs, all segmented; total risk over the last 20 weeks "
        f"{late.mean():.4f} +- {se:.4f} (segmented minimum {segmented_risk():.4f}); "
        f"first weeks {early.mean():.3f}"
    )
    return {"runs": runs}


def test_theory_by_hand():
    assert segmented_risk() == pytest.approx(0.6 * (1 + 1 / 600) + 0.4 * (1 + 1 / 400))
    scenario = load_scenario(SCENARIOS / "dean.yaml")
    groups = scenario.population.groups
    assert [g.share for g in groups] == SHARES.tolist()
    assert [scenario.population.size * g.share * g.activity for g in groups] == POINTS.tolist()


def test_dean_specialisation_reduced():
    check(replicates=16)


@pytest.mark.slow
def test_dean_specialisation_full():
    plot(check(replicates=300, parallel=True))


def plot(found: dict) -> None:
    import matplotlib as mpl

    from simulator.reporting.plots import PALETTE, STYLE

    from .helpers import comparison_figure, save_plot

    runs = found["runs"]
    with mpl.rc_context(STYLE):
        fig, (left, right) = comparison_figure(
            "Emergent specialisation (Dean et al. 2024): 300 markets of two firms",
            (1, 2), (13, 5.5),
        )  # fmt: skip
        totals = np.array([total for _, total in runs])
        weeks = np.arange(totals.shape[1])
        for total in totals[:40]:
            left.plot(weeks, total, color=PALETTE[0], alpha=0.15, lw=1)
        left.plot(weeks, totals.mean(axis=0), color=PALETTE[0], lw=3, label="simulated: mean")
        left.axhline(segmented_risk(), color="black", ls="--", label="segmented minimum")
        left.axhline(1.96, color=PALETTE[3], ls=":", label="one model for everyone")
        left.set(xlabel="weeks", ylabel="total risk (users' mean loss)")
        left.legend(fontsize=11)
        majority = np.array([(u / u.sum(axis=0)).max(axis=0) for u, _ in runs])  # per group
        right.hist(majority[:, 0], bins=np.linspace(0.9, 1, 21), color=PALETTE[1],
                   alpha=0.8, label="left: share on its firm")  # fmt: skip
        right.hist(majority[:, 1], bins=np.linspace(0.9, 1, 21), color=PALETTE[2],
                   alpha=0.6, label="right: share on its firm")  # fmt: skip
        right.set(xlabel="share of a group's users on the firm serving it",
                  ylabel="markets")  # fmt: skip
        right.legend(fontsize=11)
        save_plot(fig, "dean")

"""Validation: lock-in by increasing returns (Arthur 1989), in a market of two firms.

Runs ``scenarios/validation/arthur.yaml``: technologies ``a`` and ``b``, R-types (share
``p``) and S-types arriving one per step; payoffs ``1.0`` for the preferred technology and
``0.55`` for the other, plus ``r = 0.1`` per earlier adopter of the same technology; best
response (``choice.rule: best``).

Theory (Arthur 1989, section 3; the gambler's ruin, e.g. Feller, vol. 1, XIV.2-3). With
``d = n_a - n_b``: an R-type picks ``b`` only if ``0.55 + r n_b > 1.0 + r n_a``, i.e.
``d < -4.5``; an S-type picks ``a`` only if ``d > 4.5``. Between the barriers ``d = -5`` and
``d = +5`` each arrival moves ``d`` by +1 (an R-type, probability ``p``) or -1; at a barrier
both types pick the leader from then on: lock-in. Shifting to ``k = d + 5`` on
``0..N = 10``, from ``k = 5``:

- ``P(lock-in to a) = (1 - (q/p)^5) / (1 - (q/p)^10)`` (1/2 when ``p = q = 1/2``);
- ``E[T] = k/(q - p) - (N/(q - p)) (1 - (q/p)^k)/(1 - (q/p)^N)`` arrivals (``k (N - k) = 25``
  when ``p = 1/2``); ``P(T > t)`` decays like ``cos(pi/10)^t``, so every run locks in.

Arrivals are drawn without replacement from 2,000 users, so the type mix drifts from
``p`` by about ``sqrt(t/4)/2000`` (< 0.2 % over the ~50 arrivals a walk takes); the drift is
symmetric, so the win probability's bias is second order, far below the test's tolerance.

Tolerance: with R runs, the observed win share is within ``z SE``, ``SE = sqrt(P(1-P)/R)``,
and the mean lock-in step within ``t SE`` of ``E[T]`` (SE from the runs' own sd), at a
two-sided 99.9 % level Bonferroni-corrected over the four checks. Each run is stepped
until lock-in and then 20 steps more, which must all go to the leader.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator import FlywheelModel, load_scenario

from .helpers import SCENARIOS, replicate

BARRIER, AFTER, ALPHA = 5, 20, 0.001


def ruin(p: float) -> tuple[float, float]:
    """(P(lock-in to a), E[lock-in step]) of the walk between -5 and +5 from 0."""
    q, k, n = 1 - p, BARRIER, 2 * BARRIER
    if p == q:
        return 0.5, float(k * (n - k))
    ratio = q / p
    win = (1 - ratio**k) / (1 - ratio**n)
    return win, k / (q - p) - n / (q - p) * win


def lock_in(share: float, seed: int, horizon: int) -> tuple[int, int, bool]:
    """One market: (+1 locked into a / -1 into b / 0 not locked, the step of lock-in, whether
    every arrival after it went to the leader)."""
    overrides = {
        "population.groups.r_type.share": share, "population.groups.s_type.share": 1 - share,
        "steps": horizon + AFTER,
    }  # fmt: skip
    model = FlywheelModel(load_scenario(SCENARIOS / "arthur.yaml", overrides=overrides), seed=seed)
    d, step = 0, 0
    while abs(d) < BARRIER and step < horizon:
        model.step()
        step += 1
        counts = model.record.firm_counts.sum(axis=1)
        d = int(counts[0] - counts[1])
    if abs(d) < BARRIER:
        return 0, step, False
    winner = 1 if d > 0 else -1
    held = True
    for _ in range(AFTER):
        model.step()
        counts = model.record.firm_counts.sum(axis=1)
        now = int(counts[0] - counts[1])
        held &= now - d == winner
        d = now
    return winner, step, held


def check(share: float, replicates: int, horizon: int, parallel: bool = False) -> dict:
    runs = np.array(
        replicate(lock_in, [(share, seed, horizon) for seed in range(replicates)], parallel)
    )
    winners, steps, held = runs[:, 0], runs[:, 1], runs[:, 2].astype(bool)
    assert (winners != 0).all(), f"{np.count_nonzero(winners == 0)} runs never locked in"
    assert held.all()  # locked in for good: every later arrival joined the leader
    win, expected_t = ruin(share)
    z = stats.norm.ppf(1 - ALPHA / (2 * 4))
    observed = float(np.mean(winners == 1))
    assert abs(observed - win) <= z * np.sqrt(win * (1 - win) / replicates), (observed, win)
    t = stats.t.ppf(1 - ALPHA / (2 * 4), replicates - 1)
    se = steps.std(ddof=1) / np.sqrt(replicates)
    assert abs(steps.mean() - expected_t) <= t * se, (steps.mean(), expected_t, se)
    print(
        f"p = {share}: locked into a in {observed:.3f} of {replicates} runs (theory "
        f"{win:.4f}); mean lock-in step {steps.mean():.2f} +- {se:.2f} (theory {expected_t:.2f})"
    )
    return {"share": share, "win": observed, "theory_win": win, "steps": steps,
            "theory_steps": expected_t}  # fmt: skip


def test_theory_by_hand():
    assert ruin(0.5) == (0.5, 25.0)
    win, expected = ruin(0.6)
    assert win == pytest.approx(1 / (1 + (2 / 3) ** 5))  # 0.8836
    assert expected == pytest.approx(-25 + 50 * win)  # 19.18


@pytest.mark.parametrize("share", [0.5, 0.6])
def test_arthur_lock_in_reduced(share):
    check(share, replicates=120, horizon=200)


@pytest.mark.slow
def test_arthur_lock_in_full():
    found = [check(share, replicates=2000, horizon=300, parallel=True) for share in (0.5, 0.6, 0.7)]
    plot(found)


def survival(p: float, steps: np.ndarray) -> np.ndarray:
    """P(T > t) of the walk from 0 between -5 and +5, by iterating its transition matrix."""
    n = 2 * BARRIER + 1
    move = np.zeros((n, n))
    for k in range(1, n - 1):
        move[k + 1, k], move[k - 1, k] = p, 1 - p
    state = np.zeros(n)
    state[BARRIER] = 1.0
    out = []
    for _ in range(int(steps.max()) + 1):
        out.append(state[1:-1].sum())
        state = move @ state
    return np.array(out)[steps]


def plot(found: list[dict]) -> None:
    import matplotlib as mpl

    from simulator.reporting.plots import PALETTE, STYLE

    from .helpers import comparison_figure, save_plot

    with mpl.rc_context(STYLE):
        fig, (left, right) = comparison_figure(
            "Lock-in by increasing returns (Arthur 1989): 2,000 markets per type mix",
            (1, 2), (13, 5.5),
        )  # fmt: skip
        t = np.arange(0, 121)
        for colour, case in zip(PALETTE, found, strict=False):
            simulated = [(case["steps"] > x).mean() for x in t]
            left.plot(t, simulated, color=colour, label=f"p = {case['share']}: simulated")
            left.plot(t, survival(case["share"], t), color=colour, ls="--", lw=1.8,
                      label=f"p = {case['share']}: gambler's ruin")  # fmt: skip
        left.set(xlabel="arrivals (steps)", ylabel="share of markets not yet locked in",
                 yscale="log", ylim=(1e-3, 1.05))  # fmt: skip
        left.legend(fontsize=10)
        shares = [case["share"] for case in found]
        right.plot(shares, [case["theory_win"] for case in found], color="black", ls="--",
                   marker="o", label="gambler's ruin")  # fmt: skip
        right.plot(shares, [case["win"] for case in found], color=PALETTE[0], marker="s", ls="",
                   markersize=10, label="simulated")  # fmt: skip
        right.set(xlabel="share of R-types among arrivals (p)",
                  ylabel="share of markets locked into a")  # fmt: skip
        right.legend(fontsize=11)
        save_plot(fig, "arthur")

"""The money side of a firm's flywheel: revenue, costs and the running profit.

Per step of ``dt`` weeks (``economics:``; off unless set):

- **revenue** = ``price * dt`` per paying active user (a lighthouse customer's users pay
  ``price (1 - discount)``) + ``free_tier.revenue_per_user * dt`` per free user;
- **costs** = ``cost_per_user * dt`` per active user (free ones too) +
  ``cost_per_retrain`` per retrain + ``cost_per_example`` per training example from the
  users' feedback + ``curation.cost_per_example`` per hand-curated example + the price
  of a dataset bought this step + ``fixed_cost * dt``;
- **profit** = revenue - costs, and **cumulative profit** its running sum. The **cash
  burn** of a run is the deepest the cumulative profit falls below 0; the **payback
  step** the first step at which it is back at 0 or above after first falling below (0
  if it never does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Ledger:
    """A firm's accounts, step by step."""

    revenue: float = 0.0
    cost: float = 0.0
    cumulative: float = 0.0
    """Cumulative profit so far."""
    free_users: int = 0
    """Users on the free tier (the rest of the firm's active users pay)."""

    def book(self, economics, step_revenue: float, step_cost: float) -> None:
        self.revenue, self.cost = step_revenue, step_cost
        self.cumulative = self.cumulative + (step_revenue - step_cost)

    @property
    def profit(self) -> float:
        return self.revenue - self.cost


def step_accounts(
    economics, cold_start, dt: float, active: int, free: int, lighthouse: int,
    retrained: bool, used_from_users: float, curated: float, bought_cost: float,
) -> tuple[float, float]:  # fmt: skip
    """``(revenue, cost)`` of one step (the module docstring's formulas)."""
    if economics is None:
        return 0.0, 0.0
    paying = max(active - free, 0)
    discount = cold_start.lighthouse.discount
    lighthouse = min(lighthouse, paying)
    revenue = economics.price * dt * (paying - lighthouse * discount)
    revenue += cold_start.free_tier.revenue_per_user * dt * free
    cost = economics.cost_per_user * dt * active + economics.fixed_cost * dt
    cost += economics.cost_per_retrain * (1.0 if retrained else 0.0)
    cost += economics.cost_per_example * used_from_users
    cost += cold_start.curation.cost_per_example * curated + bought_cost
    return float(revenue), float(cost)


def burn_and_payback(cumulative: np.ndarray, steps: np.ndarray) -> tuple[float, int | None]:
    """The deepest cumulative loss (>= 0) and the payback step (None if it never pays back;
    0 if it never lost money)."""
    cumulative = np.asarray(cumulative, dtype=float)
    burn = float(max(0.0, -cumulative.min())) if len(cumulative) else 0.0
    below = np.flatnonzero(cumulative < 0)
    if len(below) == 0:
        return burn, 0
    recovered = np.flatnonzero((np.arange(len(cumulative)) > below[0]) & (cumulative >= 0))
    return burn, int(steps[recovered[0]]) if len(recovered) else None

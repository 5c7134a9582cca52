"""The defensibility audit: five moat items scored out of 10, from the end-of-run state."""

from __future__ import annotations

from typing import Any

from ..mechanisms.retention import lock_in_factor
from ..mechanisms.states import ACTIVE
from ..numerics import sum_in_order
from .reporters import noise_share

# The defensibility audit, a score out of 10: (points, threshold) per item.
AUDIT = {
    "data_exclusivity": (3, 0.5),
    "user_lock_in": (2, 0.5),
    "network_density": (2, 0.7),
    "data_quality": (2, 0.95),
    "regulatory_barrier": (1, 0.5),
}


def audit_inputs(record, users: dict, scenario) -> dict[str, float]:
    """The continuous inputs of the defensibility audit, measured at the end of the run.

    - ``data_exclusivity``: share of the training data the (first) firm holds that no rival
      holds: everything but open data and datasets not bought exclusively (1 when all of
      it comes from its own users; a hoarder's unused data counts as exclusive: the audit
      scores it, the moat does not).
    - ``user_lock_in``: mean realised switching cost of active users,
      ``l (1 - exp(-tenure / T_l))`` (the share by which their churn is reduced).
    - ``network_density``: share of active users with at least one active neighbour.
    - ``data_quality``: share of correctly labelled training examples.
    - ``regulatory_barrier``: 1 if the scenario's ``market.regulatory_barrier`` is set.
    """
    active = users["state"] == int(ACTIVE)
    churn = scenario.churn
    lock = 1.0 - lock_in_factor(users["tenure"][active], churn.lock_in, churn.lock_in_time)
    has_data = sum_in_order(record.firm.examples) > 0
    holds_data = sum_in_order(record.firm.collected) > 0
    return {
        "data_exclusivity": _exclusivity(record.firm, has_data, holds_data),
        "user_lock_in": float(lock.mean()) if active.any() else 0.0,
        "network_density": float((users["active_neighbours"][active] > 0).mean())
        if active.any()
        else 0.0,
        "data_quality": 1.0 - noise_share(record) if has_data else 0.0,
        "regulatory_barrier": 1.0 if scenario.market.regulatory_barrier else 0.0,
    }


def _exclusivity(firm, has_data: bool, holds_data: bool) -> float:
    """The share of the firm's training data no rival holds: all of it but open data and
    datasets not bought exclusively (a hoarder's unused data counts as exclusive)."""
    if not has_data:
        return 1.0 if holds_data else 0.0
    shared = 0.0 if firm.shared is None else sum_in_order(firm.shared)
    return 1.0 - shared / sum_in_order(firm.examples)


def defensibility(record, users: dict, scenario) -> dict[str, Any]:
    """Score the defensibility audit out of 10 from :func:`audit_inputs`.

    ``record`` is the last step's record, ``users`` the per-user arrays at the end
    (``FlywheelModel.user_arrays()``), ``scenario`` the scenario in force at the end.
    """
    inputs = audit_inputs(record, users, scenario)
    items = {}
    for name, (points, threshold) in AUDIT.items():
        passed = inputs[name] > threshold
        items[name] = {
            "input": inputs[name],
            "threshold": threshold,
            "points": points if passed else 0,
            "max_points": points,
        }
    return {
        "score": sum(item["points"] for item in items.values()),
        "max_score": sum(points for points, _ in AUDIT.values()),
        "items": items,
    }

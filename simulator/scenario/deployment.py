"""The deployment policy in the scenario format (``reinvestment.deployment``): how a
retrained model is allowed to go live. The test itself is :mod:`simulator.firm.abtest`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """As :class:`simulator.scenario.schema.Section` (kept here: ``schema.py`` imports it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def about(description: str, **constraints) -> Field:
    return Field(description=description, **constraints)


class DeploymentPolicy(Section):
    """How a retrained model goes live: ``perfect`` gate, ``always``, or a real A/B test."""

    policy: Annotated[
        Literal["perfect", "always", "ab_test"],
        about("perfect: ships only if truly better (reinvestment.ab_test: true); always: "
              "every candidate ships; ab_test: a real test on a share of the users decides."),
    ] = "ab_test"  # fmt: skip
    traffic_pct: Annotated[
        int,
        about("ab_test: users served the candidate, per cent: user i is in the test when "
              "hash(i) mod 100 < traffic_pct.", ge=1, le=99),
    ] = 5  # fmt: skip
    duration: Annotated[int, about("ab_test: steps the test observes.", ge=1)] = 4
    alpha: Annotated[
        float, about("ab_test: significance level of the one-sided test.", gt=0, lt=0.5)
    ] = 0.05

"""The deployment policy in the scenario format (``reinvestment.deployment``): how a
retrained model is allowed to go live. The tests themselves are :mod:`simulator.firm.abtest`
(A/B test, shadow) and :mod:`simulator.firm.canary` (canary rollout).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import model_validator

from .section import Section, about

CANARY_KEYS = ("canary_pct", "ramp", "step_duration")
"""Keys of the canary policy only."""

DEFAULT_RAMP = (5, 25, 50, 100)


class DeploymentPolicy(Section):
    """How a retrained model goes live: ``perfect`` gate, ``always``, a real A/B test, a
    shadow test on logged traffic, or a canary rollout."""

    policy: Annotated[
        Literal["perfect", "always", "ab_test", "shadow", "canary"],
        about("perfect: ships only if truly better (reinvestment.ab_test: true); always: "
              "every candidate ships; ab_test: a real test on a share of the users decides; "
              "shadow: the candidate is scored offline on the logged (noisy) feedback of all "
              "interactions, no user exposed; canary: the candidate ships to a share of the "
              "users and ramps up through stages, rolled back if that share fares worse."),
    ] = "ab_test"  # fmt: skip
    traffic_pct: Annotated[
        int,
        about("ab_test: users served the candidate, per cent: user i is in the test when "
              "hash(i) mod 100 < traffic_pct.", ge=1, le=99),
    ] = 5  # fmt: skip
    duration: Annotated[
        int, about("ab_test and shadow: steps the test observes.", ge=1)
    ] = 4  # fmt: skip
    alpha: Annotated[
        float,
        about("ab_test, shadow and canary: significance level of the one-sided test.",
              gt=0, lt=0.5),
    ] = 0.05  # fmt: skip
    canary_pct: Annotated[
        int,
        about("canary: users served the candidate at the first stage, per cent (hash(i) mod "
              "100 < canary_pct); with ramp given, its first stage is the canary.", ge=1, le=99),
    ] = 5  # fmt: skip
    ramp: Annotated[
        list[int] | None,
        about("canary: the stages, per cent of the users served the candidate, strictly "
              "increasing from canary_pct to 100 (100: the candidate is the deployed "
              "model); null = [canary_pct, then those of 25, 50, 100 above it]."),
    ] = None  # fmt: skip
    step_duration: Annotated[
        int, about("canary: steps each stage below 100 is held and observed.", ge=1)
    ] = 2  # fmt: skip

    @model_validator(mode="after")
    def _check_canary(self) -> DeploymentPolicy:
        from .schema import raise_if

        issues = []
        defaults = type(self).model_fields
        if self.policy != "canary":  # set to other than its default (a file round-trips)
            for key in CANARY_KEYS:
                if getattr(self, key) != defaults[key].default:
                    message = f"is a key of policy canary (the policy is {self.policy})"
                    issues.append(((key,), message, repr(getattr(self, key))))
        elif self.ramp is not None:
            ramp = self.ramp
            if not ramp or any(not 1 <= pct <= 100 for pct in ramp):
                issues.append((("ramp",), "must be a list of per cents in [1, 100]", repr(ramp)))
            elif any(b <= a for a, b in zip(ramp, ramp[1:], strict=False)):
                issues.append((("ramp",), "must be strictly increasing", repr(ramp)))
            elif ramp[-1] != 100:
                issues.append((("ramp",), "must end at 100 (the candidate deployed)", repr(ramp)))
            elif len(ramp) < 2:
                issues.append((("ramp",), "must have a canary stage below 100", repr(ramp)))
            elif self.canary_pct != defaults["canary_pct"].default and ramp[0] != self.canary_pct:
                issues.append((("ramp",), f"must start at canary_pct ({self.canary_pct})",
                               repr(ramp)))  # fmt: skip
        raise_if(issues)
        return self

    @property
    def stages(self) -> tuple[int, ...]:
        """canary: the per cents of the stages, the last 100."""
        if self.ramp is not None:
            return tuple(self.ramp)
        return (self.canary_pct, *(pct for pct in DEFAULT_RAMP[1:] if pct > self.canary_pct))

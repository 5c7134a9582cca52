"""The outside option: the quality users can always get elsewhere, for free.

By default a commodity baseline (open base models) that improves on its own,
``B(t) = b0 + (b_inf - b0) (1 - exp(-t / T_b))``; ``time_constant: null`` keeps it
at ``start`` forever. The moat is a product's quality minus this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .. import numerics


def market_baseline(step: ArrayLike, start: float, ceiling: float, time_constant: float | None):
    """Quality users can get elsewhere at ``step`` (an improving commodity model).

    One step (a Python number) is computed in plain floats, with the same operations and
    the same ``exp`` as an array of steps: no NumPy call for the one value a step needs."""
    one = type(step) in (int, float)
    if time_constant is None:
        return float(start) if one else np.multiply(np.ones_like(step, dtype=float), start)
    exp, ratio = (numerics.exp.one, step / time_constant) if one else (
        numerics.exp, np.divide(step, time_constant))  # fmt: skip
    return start + (ceiling - start) * (1.0 - exp(-ratio))


@dataclass(frozen=True)
class OutsideOption:
    """The free open model of ``market.baseline``."""

    start: float
    ceiling: float
    time_constant: float | None

    @classmethod
    def of(cls, scenario) -> OutsideOption:
        baseline = scenario.market.baseline
        return cls(baseline.start, baseline.ceiling, baseline.time_constant)

    def quality(self, step: int) -> float:
        return float(market_baseline(step, self.start, self.ceiling, self.time_constant))

"""Arithmetic that every engine must do in one fixed order, so that results agree bit for bit."""

from __future__ import annotations

import numpy as np


def sum_in_order(values: np.ndarray) -> float:
    """Left-to-right sum over a short vector (groups, firms).

    ``numpy.sum`` uses pairwise summation; engines that must agree bit for bit use
    this one fixed order instead.
    """
    total = 0.0
    for value in np.asarray(values, dtype=float).tolist():
        total += value
    return total

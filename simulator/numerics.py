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


SHORT = 16
"""Arrays up to this length are drawn from element by element by :func:`binomial` and
:func:`poisson`."""


def binomial(rng: np.random.Generator, n, p):
    """``rng.binomial(n, p)``: the same numbers, faster for short arrays (groups, firms).

    NumPy draws an array's elements one after another with the scalar sampler, in C order,
    so drawing them one by one gives the same numbers and leaves ``rng`` in the same state
    (tested); for two groups that costs ~2 us instead of NumPy's ~11 us of broadcasting
    machinery (measured), and a step makes a dozen such calls. Longer or
    multi-dimensional inputs go to NumPy unchanged.
    """
    counts, chances = np.asarray(n), np.asarray(p, dtype=float)
    if counts.ndim + chances.ndim == 0 or counts.ndim > 1 or chances.ndim > 1:
        return rng.binomial(n, p)
    if counts.dtype.kind not in "iu" or max(counts.size, chances.size) > SHORT:
        return rng.binomial(n, p)
    ns, ps = counts.tolist(), chances.tolist()
    if counts.ndim == 0:
        ns = [ns] * len(ps)
    elif chances.ndim == 0:
        ps = [ps] * len(ns)
    if len(ns) != len(ps):
        return rng.binomial(n, p)
    draw = rng.binomial
    return np.array([draw(k, q) for k, q in zip(ns, ps, strict=True)], dtype=np.int64)


def poisson(rng: np.random.Generator, lam):
    """``rng.poisson(lam)``: the same numbers, faster for short arrays (see :func:`binomial`);
    any shape, drawn in C order."""
    rates = np.asarray(lam, dtype=float)
    if rates.ndim == 0 or rates.size > SHORT:
        return rng.poisson(lam)
    draw = rng.poisson
    drawn = [draw(x) for x in rates.ravel().tolist()]
    return np.array(drawn, dtype=np.int64).reshape(rates.shape)

"""The same numbers on every CPU (simulator/numerics.py).

NumPy computes float64 ``exp``, ``log``, ``expm1``, ``exp2``, ``arccos`` and ``power``
with the C library on CPUs without AVX-512 and with its own approximations on CPUs with
it, and OpenBLAS picks its kernels (and so the order in which ``@`` adds products) by
CPU. The simulator's versions must give the C library's results, and products summed
in one fixed order, whatever NumPy and OpenBLAS chose: checked here against ``math``,
and by running the same fits in fresh interpreters told to use other kernels.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import numerics

FUNCTIONS = [
    (numerics.exp, math.exp, (-700.0, 700.0)),
    (numerics.log, math.log, (1e-300, 1e300)),
    (numerics.expm1, math.expm1, (-700.0, 700.0)),
    (numerics.exp2, math.exp2, (-1000.0, 1000.0)),
    (numerics.arccos, math.acos, (-1.0, 1.0)),
]


@pytest.fixture(params=["numpy where it agrees", "math, value by value", "the compiled loop"])
def path(request, monkeypatch):
    """Every way of computing: NumPy's ufunc (where it gives the C library's bits, as on
    CPUs without AVX-512), and the fallback: ``math`` for a few values (or, until Numba
    is loaded, for up to ``MANY``), a compiled loop for more."""
    if request.param != "numpy where it agrees":
        for function, _, _ in FUNCTIONS:
            monkeypatch.setattr(function, "_numpy_agrees", False)
        monkeypatch.setattr(numerics.power, "_numpy_agrees", False)
    if request.param == "math, value by value":
        monkeypatch.setattr(numerics, "FEW", 10**9)
    elif request.param == "the compiled loop":
        monkeypatch.setattr(numerics, "FEW", 0)
        monkeypatch.setattr(numerics, "MANY", 0)
    return request.param


@pytest.mark.parametrize("size", [1, numerics.FEW, numerics.FEW + 1, 20_000])
@pytest.mark.parametrize(
    ("function", "scalar", "bounds"), FUNCTIONS, ids=[f.__name__ for f, _, _ in FUNCTIONS]
)
def test_functions_give_the_c_librarys_bits(path, function, scalar, bounds, size):
    if path == "numpy where it agrees" and not function.numpy_agrees():
        pytest.skip("NumPy's ufunc is not the C library's on this CPU (the fallback runs)")
    low, high = bounds
    rng = np.random.default_rng(size)
    if function is numerics.log:
        values = np.exp(rng.uniform(math.log(low), math.log(high), size))
    else:
        values = rng.uniform(low, high, size)
    expected = np.array([scalar(v) for v in values.tolist()])
    got = function(values)
    assert got.dtype == np.float64 and got.shape == values.shape
    assert got.tobytes() == expected.tobytes()
    grid = function(values.reshape(-1, 1) if size > 1 else values)  # any shape
    assert grid.tobytes() == expected.tobytes()


@settings(max_examples=200, deadline=None)
@given(base=st.floats(1e-6, 1e6), exponent=st.floats(-50.0, 50.0))
def test_power_gives_the_c_librarys_bits(base, exponent):
    expected = math.pow(base, exponent)
    assert numerics.power(base, exponent) == expected
    with pytest.MonkeyPatch.context() as patch:  # the compiled loop, Numba loaded or not
        patch.setattr(numerics.power, "_numpy_agrees", False)
        patch.setattr(numerics, "MANY", 0)
        many = numerics.power(np.full(numerics.FEW + 5, base), exponent)
    assert many.tobytes() == np.full(numerics.FEW + 5, expected).tobytes()


@pytest.mark.parametrize("size", [1, 2, numerics.FEW, numerics.FEW + 1, 5_000])
def test_an_array_to_a_scalar_power(path, size):
    """``power(array, scalar)`` (the learning curve's ``(1 + E / D_c) ** -alpha``) takes no
    broadcasting on the fallback; every element is ``math.pow``'s, a zero base to a
    negative power inf, as NumPy's ufunc gives it."""
    if path == "numpy where it agrees" and not numerics.power.numpy_agrees():
        pytest.skip("NumPy's ufunc is not the C library's on this CPU (the fallback runs)")
    bases = np.random.default_rng(size).uniform(0.0, 50.0, size)
    bases[0] = 0.0
    for exponent in (-0.37, 2, 1.5):
        with np.errstate(divide="ignore"):
            got = numerics.power(bases.reshape(-1, 1), exponent)
        expected = [math.inf if b == 0.0 and exponent < 0 else math.pow(b, exponent)
                    for b in bases.tolist()]  # fmt: skip
        assert got.shape == (size, 1)
        assert got.ravel().tobytes() == np.array(expected).tobytes()


def test_a_run_of_mesa_agents_does_not_import_numba():
    """Until Numba is loaded, even a few hundred values go through ``math`` (a lock-in
    table, in a run of Mesa agents): no ~0.5 s import for them."""
    code = ("import sys, numpy as np; from simulator import numerics; "
            "numerics.exp._numpy_agrees = False; numerics.exp(np.linspace(0, 1, 500)); "
            "print('numba' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    assert done.stdout.strip() == "False"


def test_scalars_and_special_values():
    """A scalar gives a NumPy float (as NumPy's ufunc would); overflow, zero and
    negative arguments give inf, -inf and nan as NumPy does, not an exception."""
    assert type(numerics.exp(0.5)) is np.float64 and numerics.exp(0.5) == math.exp(0.5)
    assert numerics.exp(np.float64(2.0)) == math.exp(2.0)
    with np.errstate(all="ignore"):  # NumPy's path warns as NumPy does
        assert numerics.exp(1000.0) == math.inf and numerics.exp(-1000.0) == 0.0
        assert numerics.log(0.0) == -math.inf and math.isnan(numerics.log(-1.0))
        assert numerics.power(0.0, -1.0) == math.inf
        expected = np.log(np.array([0.0, -1.0, 2.0] * 200))
        got = numerics.log(np.array([0.0, -1.0, 2.0] * 200))
    assert np.array_equal(got, expected, equal_nan=True)


def test_dot_sums_in_a_fixed_order():
    """``dot``: NumPy's pairwise sum of the products along a row, rows added in index
    order; the same as ``@`` up to rounding."""
    rng = np.random.default_rng(1)
    a, b, c, m = rng.random((300, 8)), rng.random(8), rng.random(300), rng.random((8, 3))
    assert numerics.dot(c, c) == np.add.reduce(c * c)
    assert np.array_equal(numerics.dot(a, b), np.add.reduce(a * b, axis=1))
    for got, expected in [
        (numerics.dot(a, b), a @ b),
        (numerics.dot(c, a), c @ a),
        (numerics.dot(a, m), a @ m),
    ]:
        assert got.shape == expected.shape and np.allclose(got, expected, rtol=1e-13)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        numerics.dot(np.zeros((2, 2, 2)), b)


def test_solve_positive_definite():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((50, 6))
    matrix, vector = z.T @ z + np.eye(6), rng.standard_normal(6)
    assert np.allclose(numerics.solve_positive_definite(matrix, vector),
                       np.linalg.solve(matrix, vector), rtol=1e-12)  # fmt: skip
    with pytest.raises(np.linalg.LinAlgError):
        numerics.solve_positive_definite(-np.eye(2), np.ones(2))


FITS = """
import hashlib, json, numpy as np
from simulator import numerics
from simulator.firm.learners.estimators import _logistic_weight
from simulator.firm.learners.preference import fit_bradley_terry, sample_pairs
rng = np.random.default_rng(7)
z = sample_pairs(rng, np.array([0.6, 0.8, 0.0]), 2.0, 400, 30)
values = rng.standard_normal(500)
fits = [_logistic_weight(values, None, objective, alpha) for objective, alpha in
        (("group_dro", 0.3), ("erm", 1.0))]
parts = [fit_bradley_terry(z, 1.0), np.array(fits),
         numerics.exp(np.linspace(-30, 30, 5001)), numerics.power(np.linspace(0.1, 9, 999), 2.7)]
print(json.dumps([hashlib.sha256(np.asarray(p).tobytes()).hexdigest() for p in parts]))
"""


def _fits(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FITS], env=os.environ | env, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_fits_do_not_depend_on_the_kernels_numpy_and_openblas_pick():
    """The Bradley-Terry and logistic fits and the functions above, in fresh interpreters:
    as this CPU's kernels give them, and with NumPy held to AVX2 code and OpenBLAS to its
    Haswell kernels (what an AVX2 machine runs); with AVX-512, also OpenBLAS's SkylakeX
    kernels. The same bits each time."""
    from numpy._core._multiarray_umath import __cpu_features__

    kinds = [{}, {"OPENBLAS_CORETYPE": "Haswell"}]
    if __cpu_features__.get("AVX512_SKX"):
        kinds.append({"OPENBLAS_CORETYPE": "Haswell",
                      "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"})  # fmt: skip
        kinds.append({"OPENBLAS_CORETYPE": "SkylakeX"})
    results = [_fits(env) for env in kinds]
    assert all(result == results[0] for result in results), results

"""Arithmetic that every engine must do in one fixed order, so that results agree bit for bit."""

from __future__ import annotations

import math

import numpy as np

from . import compiled


def sum_in_order(values: np.ndarray) -> float:
    """Left-to-right sum over a short vector (groups, firms).

    ``numpy.sum`` uses pairwise summation; engines that must agree bit for bit use
    this one fixed order instead.
    """
    total = 0.0
    for value in np.asarray(values, dtype=float).tolist():
        total += value
    return total


def total(values: np.ndarray) -> int:
    """The sum of a short integer array (per group) as a Python int: ``int(values.sum())``
    without NumPy's reduction machinery (a few microseconds a call; exact, since Python
    ints do not overflow). Other arrays: ``int(values.sum())``."""
    if values.dtype.kind in "iu" and values.ndim == 1:
        return sum(values.tolist())
    return int(values.sum())


SHORT = 16
"""Arrays up to this length are drawn from element by element by :func:`binomial` and
:func:`poisson`."""


def is_short_counts(n) -> bool:
    """Whether ``n`` is counts per group (or firm) that :func:`binomial` draws one by one:
    a one-dimensional integer array of at most :data:`SHORT` elements."""
    return type(n) is np.ndarray and n.ndim == 1 and len(n) <= SHORT and n.dtype.kind in "iu"


def binomial(rng: np.random.Generator, n, p):
    """``rng.binomial(n, p)``: the same numbers, faster for short arrays (groups, firms).

    NumPy draws an array's elements one after another with the scalar sampler, in C order,
    so drawing them one by one gives the same numbers and leaves ``rng`` in the same state
    (tested); for two groups that costs ~2.5 us instead of NumPy's ~11 us of broadcasting
    machinery (measured), and a step makes a dozen such calls. Other inputs (longer,
    multi-dimensional, broadcast, not integer counts) go to NumPy unchanged.
    """
    if is_short_counts(n):
        draw = rng.binomial
        if isinstance(p, float | int):
            return np.array([draw(k, p) for k in n.tolist()], dtype=np.int64)
        if type(p) is np.ndarray and p.shape == n.shape:
            drawn = [draw(k, q) for k, q in zip(n.tolist(), p.tolist(), strict=True)]
            return np.array(drawn, dtype=np.int64)
    return rng.binomial(n, p)


def poisson(rng: np.random.Generator, lam):
    """``rng.poisson(lam)``: the same numbers, faster for short arrays (see :func:`binomial`);
    any shape, drawn in C order."""
    if type(lam) is not np.ndarray or lam.ndim == 0 or lam.size > SHORT:
        return rng.poisson(lam)
    draw = rng.poisson
    drawn = [draw(x) for x in lam.ravel().tolist()]
    return np.array(drawn, dtype=np.int64).reshape(lam.shape)


# -- exponentials and logarithms: the C library's, on every CPU ---------------------------
#
# NumPy computes float64 exp, log, expm1, exp2, arccos and power with the C library's
# functions on CPUs without AVX-512, and with its own vectorised approximations on CPUs
# with AVX-512 (its "X86_V4" code), which differ from the C library's in the last bit for
# a few arguments in a hundred. A run's numbers must not depend on the CPU it runs on, so
# the simulator calls the functions below instead: NumPy's ufunc where it gives the C
# library's results (checked once per process, on a fixed set of arguments), else the C
# library's function for each element, through ``math`` for a few values and a compiled
# loop for many (Numba's ``math`` functions call the same C library; tested).

FEW = 16
"""Arrays up to this size go through :mod:`math` element by element when NumPy's ufunc
is not the C library's (per group or firm: ~0.3 us a value); larger ones through a
compiled loop (~1 us a call and 10 ns a value; importing Numba, ~0.5 s, once: the array
engine has it loaded). A step's churn candidates at 10^4 users, ~100 values: 12 -> 2 us.
Until Numba is loaded, arrays of up to :data:`MANY` values go through :mod:`math` too, so
that a run of Mesa agents does not import it for a table of a few hundred values."""

MANY = 100_000


_SCALARS = frozenset({float, np.float64, int})


class _CLibraryFunction:
    """``ufunc`` with the C library's results (``scalar``, from :mod:`math`) on any CPU."""

    def __init__(self, name: str, ufunc, scalar, probe) -> None:
        self.__name__ = self.__qualname__ = name
        self.__doc__ = (
            f"``numpy.{ufunc.__name__}`` for float64 values, with the C library's results on "
            "every CPU (see the notes above this function in ``simulator/numerics.py``)."
        )
        self.ufunc, self.scalar, self.probe = ufunc, scalar, probe
        self.binary = ufunc.nin == 2
        self._numpy_agrees: bool | None = None
        self._loop = None

    def numpy_agrees(self) -> bool:
        """Whether NumPy's ufunc gives the C library's bits here (on the probe arguments)."""
        if self._numpy_agrees is None:
            args = self.probe()
            columns = (a.tolist() for a in args)
            expected = np.array([self.scalar(*v) for v in zip(*columns, strict=True)])
            self._numpy_agrees = bool(np.array_equal(self.ufunc(*args), expected))
        return self._numpy_agrees

    def one(self, *values: float) -> float:
        try:
            return self.scalar(*values)
        except (OverflowError, ValueError, ZeroDivisionError):  # inf, -inf or nan: no last bit
            with np.errstate(all="ignore"):
                return float(self.ufunc(*values))

    def __call__(self, *args):
        agrees = self._numpy_agrees
        if agrees or (agrees is None and self.numpy_agrees()):
            return self.ufunc(*args)  # what NumPy does here is the C library's
        first = args[0]
        if type(first) in _SCALARS and (len(args) == 1 or type(args[1]) in _SCALARS):
            return np.float64(self.one(*args))  # a Mesa agent's value: no array made
        contiguous = type(first) is np.ndarray and first.ndim and first.flags.c_contiguous
        if contiguous and first.dtype == np.float64:  # ravel: a view
            if len(args) == 1:
                return self._each([first.reshape(-1)], first.shape)
            if type(args[1]) in _SCALARS:  # an array to a scalar power: no broadcasting
                flat = first.reshape(-1)
                return self._each([flat, np.full(flat.size, float(args[1]))], first.shape)
        arrays = [np.asarray(a, dtype=np.float64) for a in args]
        if all(a.ndim == 0 for a in arrays):
            return np.float64(self.one(*(float(a) for a in arrays)))
        if self.binary:
            arrays = np.broadcast_arrays(*arrays)
        flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
        return self._each(flat, arrays[0].shape)

    def _each(self, flat: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        """The C library's function of each element of the contiguous 1-D ``flat``."""
        size = flat[0].size
        if size <= FEW or (size <= MANY and not compiled.loaded()):
            columns = [f.tolist() for f in flat]
            try:
                values = [self.scalar(*v) for v in zip(*columns, strict=True)]
            except (OverflowError, ValueError, ZeroDivisionError):  # then value by value
                values = [self.one(*v) for v in zip(*columns, strict=True)]
            return np.array(values, dtype=np.float64).reshape(shape)
        out = np.empty(size)
        self.loop()(*flat, out)
        return out.reshape(shape)

    def loop(self):
        if self._loop is None:
            self._loop = compiled.jit(_LOOPS[self.__name__])
        return self._loop


def _exp_loop(x, out):
    for i in range(len(x)):
        out[i] = math.exp(x[i])


def _log_loop(x, out):
    for i in range(len(x)):
        out[i] = math.log(x[i])


def _expm1_loop(x, out):
    for i in range(len(x)):
        out[i] = math.expm1(x[i])


def _exp2_loop(x, out):
    for i in range(len(x)):
        out[i] = math.exp2(x[i])


def _arccos_loop(x, out):
    for i in range(len(x)):
        out[i] = math.acos(x[i])


def _power_loop(x, y, out):
    for i in range(len(x)):
        out[i] = math.pow(x[i], y[i])


_LOOPS = {"exp": _exp_loop, "log": _log_loop, "expm1": _expm1_loop, "exp2": _exp2_loop,
          "arccos": _arccos_loop, "power": _power_loop}  # fmt: skip


def _spread(low: float, high: float) -> tuple[np.ndarray]:
    """Probe arguments: an even grid and as many pseudo-random points (fixed) in range."""
    grid = np.linspace(low, high, 8001)
    scattered = low + (high - low) * np.random.default_rng(0).random(8000)
    return (np.concatenate([grid, scattered]),)


def _powers() -> tuple[np.ndarray, np.ndarray]:
    bases, exponents = np.meshgrid(np.geomspace(1e-3, 1e3, 127), np.linspace(-8, 8, 127))
    return bases.ravel(), exponents.ravel()


exp = _CLibraryFunction("exp", np.exp, math.exp, lambda: _spread(-60.0, 60.0))
log = _CLibraryFunction("log", np.log, math.log, lambda: (np.geomspace(1e-12, 1e12, 16001),))
expm1 = _CLibraryFunction("expm1", np.expm1, math.expm1, lambda: _spread(-30.0, 30.0))
exp2 = _CLibraryFunction("exp2", np.exp2, math.exp2, lambda: _spread(-60.0, 60.0))
arccos = _CLibraryFunction("arccos", np.arccos, math.acos, lambda: _spread(-1.0, 1.0))
power = _CLibraryFunction("power", np.power, math.pow, _powers)


# -- products summed in a fixed order ------------------------------------------------------


def dot(a, b):
    """``a @ b`` for 1-D and 2-D float arrays, summed in one fixed order on every CPU.

    ``@`` hands the sums to BLAS (OpenBLAS in NumPy's and SciPy's wheels), whose kernels
    are chosen for the CPU at start-up and add the products in orders that differ between
    CPUs (an AVX-512 machine's kernel against an AVX2 machine's), so the last bits of a
    fitted model would depend on the machine. Here the products are formed elementwise
    and added by NumPy's reductions: pairwise along a row, in index order across rows.
    Meant for the learners' small products (a few thousand terms), not for linear
    algebra at scale.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim == 1 and b.ndim == 1:
        return np.float64(np.add.reduce(a * b))
    if a.ndim == 2 and b.ndim == 1:
        return np.add.reduce(a * b, axis=1)
    if a.ndim == 1 and b.ndim == 2:
        return np.add.reduce(a[:, None] * b, axis=0)
    if a.ndim == 2 and b.ndim == 2:
        return np.add.reduce(a[:, :, None] * b[None, :, :], axis=1)
    raise ValueError(f"dot: 1-D or 2-D operands only; got shapes {a.shape} and {b.shape}")


def solve_positive_definite(matrix, vector) -> np.ndarray:
    """``x`` with ``matrix @ x = vector`` for a small symmetric positive definite matrix, by
    Cholesky factorisation in plain loops (a fixed order of operations on every CPU,
    unlike LAPACK's kernels)."""
    m = np.array(matrix, dtype=np.float64)
    n = len(m)
    low = np.zeros((n, n))
    for j in range(n):
        diagonal = m[j, j] - sum_in_order(low[j, :j] * low[j, :j])
        if not diagonal > 0.0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        low[j, j] = math.sqrt(diagonal)
        for i in range(j + 1, n):
            low[i, j] = (m[i, j] - sum_in_order(low[i, :j] * low[j, :j])) / low[j, j]
    y = np.zeros(n)
    for i in range(n):
        y[i] = (vector[i] - sum_in_order(low[i, :i] * y[:i])) / low[i, i]
    x = np.zeros(n)
    for i in reversed(range(n)):
        x[i] = (y[i] - sum_in_order(low[i + 1 :, i] * x[i + 1 :])) / low[i, i]
    return x

"""Compiled loops for the array engine's hot paths (Numba), compiled on first use.

A mechanism's vector kernel may run one pass of a compiled loop over its users instead
of a dozen whole-array NumPy operations: at 10^6 users the array engine is bound by
memory traffic (each NumPy operation reads and writes whole arrays), and a loop that
reads each user's fields once and skips the users its clocks rule out moves a tenth of
the bytes. The loops use only IEEE arithmetic in the order the room's formula writes it
(no ``fastmath``, no contraction into fused multiply-adds), so they give the same bits as
the NumPy expressions and the scalar kernels; ``tests/test_mechanisms.py`` checks it.

Numba is imported, and each loop compiled (or loaded from Numba's on-disk cache), the
first time a loop is called, so commands that never run the array engine do not pay for
it.
"""

from __future__ import annotations

import ctypes
import functools
import inspect
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

_OPTIONS = {"nogil": True, "error_model": "numpy"}


def jit(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` compiled with Numba (``njit``, cached on disk) when first called.

    The plain Python function stays available as ``.python`` (for reading and debugging;
    ``NUMBA_DISABLE_JIT=1`` runs every loop as Python). A compiled loop may call another
    one of the same module (compiled into it); not one of another module, whose changes
    Numba's on-disk cache of the caller would not notice.
    """
    dispatcher = None

    @functools.wraps(function)
    def call(*args):
        nonlocal dispatcher
        if dispatcher is None:
            numba = _numba()
            dispatcher = numba.njit(cache=True, **_OPTIONS)(function)
        return dispatcher(*args)

    call.python = function  # type: ignore[attr-defined]
    with _PENDING_LOCK:
        _PENDING.append((call, function))
    return call


_PENDING: list[tuple[Callable[..., Any], Callable[..., Any]]] = []
"""Loops not yet made callable from compiled code (done when Numba is first needed)."""
_PENDING_LOCK = threading.Lock()


def _numba():
    """Numba, imported, with every loop defined so far callable from compiled loops."""
    import numba
    from numba.extending import overload

    from . import _numba_generator  # noqa: F401 - compiles generator_at

    with _PENDING_LOCK:
        for call, function in _PENDING:

            def typing(*args, function=function, **kwargs):
                return function

            typing.__signature__ = inspect.signature(function)  # Numba matches it
            overload(call, jit_options=_OPTIONS)(typing)
        _PENDING.clear()
    return numba


def loaded() -> bool:
    """Whether Numba is imported already: a code path with a NumPy twin may then use its
    compiled loop at no start-up cost (importing Numba for one small loop costs ~0.5 s)."""
    return "numba" in sys.modules


def worth_compiling(size: int, from_size: int) -> bool:
    """Whether a code path with a NumPy twin runs its compiled loop for ``size`` users:
    from ``from_size`` users (where the loop saves more than Numba's import costs), and at
    any size once Numba is loaded."""
    return size >= from_size or loaded()


_HANDLES: OrderedDict[int, tuple[np.random.Generator, np.ndarray]] = OrderedDict()
_KEPT_HANDLES = 64
"""Generators whose handles are kept (the most recently made: a run uses a few)."""
_HANDLES_LOCK = threading.Lock()  # the explorer may step models from several threads


def generator_handle(rng: np.random.Generator) -> np.ndarray:
    """The handle a compiled loop takes instead of ``rng``: what Numba reads from a
    generator to draw from it (the bit generator's state and functions' addresses).

    Handing a ``Generator`` itself to a compiled loop costs ~14 us a call; its handle
    ~0.3 us. The loop calls :func:`generator_at` on it and draws with Numba's methods,
    which give NumPy's numbers and advance ``rng`` itself. Computed once per generator
    (~7 us); the generator is kept with it, so the addresses stay valid and its ``id``
    is not reused while the handle is cached.
    """
    key = id(rng)
    kept = _HANDLES.get(key)  # one lookup (atomic) for the generators of a running step
    if kept is not None and kept[0] is rng:
        return kept[1]
    interface = rng.bit_generator.ctypes

    def address(function) -> int:
        return ctypes.cast(function, ctypes.c_void_p).value

    handle = np.array(
        [
            interface.state_address, interface.state.value, address(interface.next_uint64),
            address(interface.next_uint32), address(interface.next_double),
            interface.bit_generator.value,
        ],
        dtype=np.uint64,
    )  # fmt: skip
    with _HANDLES_LOCK:
        _HANDLES[key] = (rng, handle)
        while len(_HANDLES) > _KEPT_HANDLES:
            _HANDLES.popitem(last=False)
    return handle


def generator_at(handle: np.ndarray) -> np.random.Generator:
    """The generator whose :func:`generator_handle` is ``handle``.

    In compiled code, Numba's generator value for it (``_numba_generator``); as plain
    Python (``NUMBA_DISABLE_JIT=1``, a loop's ``.python``), the generator itself.
    """
    with _HANDLES_LOCK:
        held = list(_HANDLES.values())
    for rng, kept in reversed(held):
        if kept is handle or np.array_equal(kept, handle):
            return rng
    raise LookupError("no generator with this handle: take it from generator_handle(rng)")

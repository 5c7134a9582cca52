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

import functools
import sys
from collections.abc import Callable
from typing import Any


def jit(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` compiled with Numba (``njit``, cached on disk) when first called.

    The plain Python function stays available as ``.python`` (for reading and debugging;
    ``NUMBA_DISABLE_JIT=1`` runs every loop as Python).
    """
    dispatcher = None

    @functools.wraps(function)
    def call(*args):
        nonlocal dispatcher
        if dispatcher is None:
            import numba

            dispatcher = numba.njit(cache=True, nogil=True, error_model="numpy")(function)
        return dispatcher(*args)

    call.python = function  # type: ignore[attr-defined]
    return call


def loaded() -> bool:
    """Whether Numba is imported already: a code path with a NumPy twin may then use its
    compiled loop at no start-up cost (importing Numba for one small loop costs ~0.5 s)."""
    return "numba" in sys.modules

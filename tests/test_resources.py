"""The allocator setting that keeps the array engine's per-step temporaries in the heap."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from simulator.world.resources import ALLOCATOR_ENV, tune_allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_tune_allocator_takes_on_glibc():
    # mallopt returns 0 for a value glibc rejects (e.g. an mmap threshold above its
    # 32 MiB maximum), so True means every setting was accepted.
    assert tune_allocator() is True


def test_sweep_workers_get_the_same_settings_as_environment_variables():
    """glibc reads MALLOC_*_ variables at start-up (and silently ignores bad ones), so check
    that the workers' environment carries them with values glibc accepts."""
    from simulator.experiment.executors import _WORKER_ENV

    assert ALLOCATOR_ENV.items() <= _WORKER_ENV.items()
    values = {name: int(value) for name, value in ALLOCATOR_ENV.items()}  # decimal integers
    assert 0 < values["MALLOC_MMAP_THRESHOLD_"] <= 32 * 2**20  # glibc's 64-bit maximum
    assert values["MALLOC_TRIM_THRESHOLD_"] >= values["MALLOC_MMAP_THRESHOLD_"]
    assert values["MALLOC_MMAP_MAX_"] == 0  # no block mapped on its own


_MAPPED_BLOCKS = """
import ctypes, sys
import numpy as np
from simulator.world.resources import tune_allocator

class Info(ctypes.Structure):  # glibc's struct mallinfo2
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    assert tune_allocator()
before = libc.mallinfo2().hblks
big = np.ones(10_000_000)  # 80 MB: a per-user array at 10^7 users
print(libc.mallinfo2().hblks - before)  # blocks mapped for it
"""


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_large_arrays_come_from_the_heap_once_tuned():
    """Beyond glibc's largest mmap threshold (32 MB) a block is mapped on its own, and
    faulted in afresh each time it is allocated (every step, at 10^7 users); tuned, it
    comes from the heap, where a freed block is reused."""

    def mapped_blocks(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", _MAPPED_BLOCKS, mode], check=True,
                              timeout=60, capture_output=True, text=True)  # fmt: skip
        return int(done.stdout)

    try:
        untuned = mapped_blocks("plain")
    except subprocess.CalledProcessError:
        pytest.skip("no mallinfo2 in this C library (glibc < 2.33)")
    assert untuned == 1
    assert mapped_blocks("tuned") == 0


@pytest.mark.skipif(not GLIBC, reason="MALLOC_* variables are glibc's")
def test_a_worker_process_sees_the_settings():
    names = sorted(ALLOCATOR_ENV)
    code = f"import os, json; print(json.dumps({{k: os.environ[k] for k in {names!r}}}))"
    env = {**os.environ, **ALLOCATOR_ENV}
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60,
                          capture_output=True, text=True)  # fmt: skip
    assert json.loads(done.stdout) == ALLOCATOR_ENV

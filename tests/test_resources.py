"""The allocator setting that keeps the array engine's per-step temporaries in the heap."""

from __future__ import annotations

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


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_sweep_workers_get_the_same_settings_as_environment_variables():
    # glibc reads MALLOC_*_ variables at start-up; a worker started with them must run.
    code = "import numpy; numpy.ones(10**7).sum()"
    env = {**os.environ, **ALLOCATOR_ENV}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert set(ALLOCATOR_ENV) == {
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
        "MALLOC_TOP_PAD_",
    }

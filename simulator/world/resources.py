"""Memory: will a run fit in this machine's memory (refuse early if not), and the allocator."""

from __future__ import annotations

import ctypes
import os
import platform

from simulator.errors import InputError

# Measured on the baseline (benchmarks/README.md), rounded up: bytes per user and
# per edge end (each edge is stored twice in an adjacency).
AGENT_BYTES_PER_USER = 3_000  # Mesa agent + cell + per-user Python state
NETWORKX_BYTES_PER_EDGE_END = 200  # NetworkX adjacency dicts and Mesa cell connections
ARRAY_BYTES_PER_USER = 250  # state arrays, one step's draws and temporaries
CSR_BYTES_PER_EDGE_END = 16  # int32 index + int8 value, plus generation temporaries


def estimated_bytes(scenario, engine: str, uses_networkx: bool) -> int:
    """Approximate peak memory of a run, in bytes."""
    size = scenario.population.size
    if scenario.network.kind == "complete":
        edge_ends = size * (size - 1)
    else:
        edge_ends = int(size * scenario.network.mean_degree)
    total = edge_ends * CSR_BYTES_PER_EDGE_END
    if uses_networkx or engine == "agent":
        total += edge_ends * NETWORKX_BYTES_PER_EDGE_END
    per_user = AGENT_BYTES_PER_USER if engine == "agent" else ARRAY_BYTES_PER_USER
    return total + size * per_user


BYTES_PER_POINT = 48
"""Estimator learners: a data point's value and birth step (16 bytes), and the copies a
generation makes while it concatenates and samples (measured peak, rounded up)."""


def expected_points_per_step(scenario) -> float:
    """Estimator learners: the real data points the users give per step if all were active.

    ``N_g activity_g dt f (r (1 - e_g) + a e_g) rho`` summed over groups: the pipeline's
    expected yield (feedback rate f, filter recall r and false accept a, label noise e_g,
    reinvestment rate rho).
    """
    data, size = scenario.data, scenario.population.size
    total = 0.0
    for group in scenario.population.groups:
        kept = (
            data.filter_recall * (1 - group.label_noise)
            + data.filter_false_accept * group.label_noise
        )
        total += size * group.share * group.activity * scenario.dt * data.feedback_rate * kept
    return total * scenario.reinvestment.rate


def synthetic_points_per_generation(scenario) -> float:
    """Estimator learners: synthetic points one retrain draws, summed over groups.

    With ``data.batch_size`` M: ``M s`` per group. Without: ``s / (1 - s)`` per real point
    collected since the previous retrain (``retrain_every`` steps of
    :func:`expected_points_per_step`).
    """
    share, size = scenario.data.synthetic_share, scenario.data.batch_size
    if share == 0:
        return 0.0
    if size is not None:
        return size * share * len(scenario.population.groups)
    real = expected_points_per_step(scenario) * scenario.reinvestment.retrain_every
    return real * share / (1.0 - share)


def check_training_points(scenario, have: int | None) -> None:
    """Refuse an estimator run whose synthetic data alone would not fit in memory."""
    if scenario.learning.kind != "estimator" or have is None:
        return
    points = synthetic_points_per_generation(scenario)
    need = points * BYTES_PER_POINT
    if need <= 0.9 * have:
        return
    share, size = scenario.data.synthetic_share, scenario.data.batch_size
    if size is None:
        how = (
            f"data.synthetic_share: with a share of {share!r} and no data.batch_size, each "
            f"retrain samples s / (1 - s) = {share / (1 - share):,.4g} synthetic points per real "
            "point collected"
        )
        fix = "set data.batch_size (points per group per generation), or lower data.synthetic_share"
    else:
        how = (
            f"data.batch_size: {size:,} points per group per generation with data.synthetic_share "
            f"{share!r}"
        )
        fix = "lower data.batch_size"
    raise InputError(
        f"{how}: about {points:,.4g} points needing {need / 2**30:,.1f} GiB of memory at each "
        f"retrain; this machine has {have / 2**30:.1f} GiB available. To fit: {fix}."
    )


def available_bytes() -> int | None:
    """Memory available to a new process (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(scenario, engine: str, uses_networkx: bool) -> None:
    """Raise InputError if the run would need more than 90% of the available memory."""
    need, have = estimated_bytes(scenario, engine, uses_networkx), available_bytes()
    check_training_points(scenario, have)
    if have is None or need <= 0.9 * have:
        return
    options = ["use engine: array"] if engine == "agent" else []
    if scenario.network.kind == "complete":
        options.append("choose a sparser network.kind")
    options.append("lower population.size")
    raise InputError(
        f"population.size: a run of {scenario.population.size:,} users on the {engine} engine "
        f"with network.kind {scenario.network.kind} needs about {need / 2**30:.1f} GiB of "
        f"memory; this machine has {have / 2**30:.1f} GiB available. "
        f"To fit: {'; or '.join(options)}."
    )


# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -2, -3, -4


def tune_allocator() -> bool:
    """Let glibc keep freed memory for reuse instead of returning it to the system.

    The array engine allocates and frees temporaries of N doubles every step. With
    glibc's defaults, freed memory at the top of the heap is often trimmed and then
    faulted in again page by page on the next step: at 10^5 users this made the same
    run take 0.24 s or 0.38 s at random (benchmarks/README.md). Raising the mmap and
    trim thresholds keeps the temporaries in the heap: runs are steady at the fast
    time, for up to ~200 MB more resident memory at 10^6 users. Blocks above glibc's
    largest mmap threshold (32 MB: a per-user array from 4 x 10^6 users) would still be
    mapped and faulted in afresh at every allocation, so mmap is not used at all
    (``M_MMAP_MAX = 0``): at 10^7 users x 520 steps that took 71 s down to 57 s, for
    ~140 MB more at the peak (benchmarks/README.md).

    Process-wide, so only what owns the process calls it: the ``flywheel`` command
    and the benchmarks. Returns whether the setting took (False off glibc).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    options = (_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX)
    settings = zip(options, _ALLOCATOR.values(), strict=True)
    return all(libc.mallopt(option, value) == 1 for option, value in settings)


_ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": 32 * 2**20,  # glibc's maximum on 64-bit
    "MALLOC_TRIM_THRESHOLD_": 128 * 2**20,
    "MALLOC_TOP_PAD_": 64 * 2**20,
    "MALLOC_MMAP_MAX_": 0,  # no block mapped on its own: large ones come from the heap too
}
ALLOCATOR_ENV = {name: str(value) for name, value in _ALLOCATOR.items()}
"""The same settings as environment variables, for worker processes flywheel starts."""

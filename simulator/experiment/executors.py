"""Where a sweep's runs execute: one ``concurrent.futures.Executor`` interface for all.

- ``serial``: in this process, one run after another (the default; easiest to debug).
- ``processes``: ``workers`` local processes from loky, which starts fresh interpreters
  instead of forking this one. That makes it safe in Jupyter notebooks and at the Python
  prompt (no fork of a threaded process, no ``if __name__ == "__main__"`` guard, and no
  pickling of functions defined in ``__main__``), the usual reasons local sweeps hang.
  The pool is reused by later sweeps of the same session and stops when idle.
- ``dask``: a Dask distributed cluster, local (``dask="local"``, a ``LocalCluster`` of
  ``workers`` single-threaded processes) or existing (``dask="tcp://host:8786"``). The
  workers write their results straight into the results folder, which must therefore be
  on a filesystem they share with this process.

Results never depend on the executor: every run is seeded on its own and the tables are
merged in ``run_id`` order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass

from simulator.engines.prefetch import THREADS_ENV
from simulator.errors import InputError
from simulator.world.resources import ALLOCATOR_ENV

__all__ = ["ExecutorInfo", "SerialExecutor", "open_executor"]

# Each run is single-threaded NumPy/SciPy work: one BLAS/OpenMP thread per worker
# process avoids oversubscribing the cores (parallel efficiency), and so does no thread
# drawing the next step's clocks (engines/prefetch.py): the workers fill the cores.
_WORKER_ENV = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        THREADS_ENV,
    )
} | ALLOCATOR_ENV  # and keep per-step temporaries in the heap (resources.tune_allocator)


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process; returns a finished future."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future


@dataclass(frozen=True)
class ExecutorInfo:
    """An open executor, how many runs it executes at once, and a description."""

    executor: Executor
    workers: int
    kind: str
    """``serial``, ``processes``, ``dask-local`` or ``dask``."""
    description: str


@contextmanager
def open_executor(workers: int | None = None, dask: str | None = None) -> Iterator[ExecutorInfo]:
    """Open the executor for a sweep and close it afterwards.

    Parameters
    ----------
    workers : int, optional
        Local worker processes (>= 1). None without ``dask``: run serially in this process.
        With ``dask="local"``: the number of Dask worker processes (default: CPU count).
    dask : str, optional
        ``"local"`` starts a Dask ``LocalCluster``; an address (``tcp://host:8786``)
        connects to a running scheduler.
    """
    if workers is not None and workers < 1:
        raise InputError(f"--workers: must be an integer >= 1; got {workers}")
    if dask is None:
        if workers is None:
            yield ExecutorInfo(SerialExecutor(), 1, "serial", "serially in this process")
        else:
            yield _local_processes(workers)
    elif dask == "local":
        with _dask_local(workers or os.cpu_count() or 1) as info:
            yield info
    else:
        if workers is not None:
            raise InputError("--workers: not with --address; the cluster has its own workers")
        with _dask_cluster(dask) as info:
            yield info


def _local_processes(workers: int) -> ExecutorInfo:
    from loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=workers, timeout=60, env=_WORKER_ENV)
    return ExecutorInfo(executor, workers, "processes", f"with {workers} local worker process(es)")


@contextmanager
def _dask_local(workers: int) -> Iterator[ExecutorInfo]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env=_WORKER_ENV,
    )
    try:
        with Client(cluster) as client, client.get_executor(pure=False) as executor:
            description = f"on a local Dask cluster of {workers} worker process(es)"
            yield ExecutorInfo(executor, workers, "dask-local", description)
    finally:
        cluster.close()


@contextmanager
def _dask_cluster(address: str) -> Iterator[ExecutorInfo]:
    from distributed import Client

    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"--address: cannot reach a Dask scheduler at {address!r} ({exc})"
        ) from None
    try:
        threads = sum(client.nthreads().values()) or 1
        with client.get_executor(pure=False) as executor:
            description = f"on the Dask cluster at {address} ({threads} worker thread(s))"
            yield ExecutorInfo(executor, threads, "dask", description)
    finally:
        client.close()

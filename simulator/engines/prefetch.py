"""The next step's clocks, drawn on a second core while this step runs.

A step's first draws are one standard exponential per user (``StepDraws.clock``),
whatever the users' states; at 10^6 users they are about half of a step's work once
most users are active. Only :func:`~.draws.draw_step` draws from the steps stream, and
it draws in a fixed order: the clocks, the word-of-mouth clocks of the potential users,
the interactions per group. So as soon as one step's draws are done, the next step's
clocks can be drawn, from the same generator, by a worker thread (the compiled loop
releases the GIL) while this step's users decide, its pipeline runs and its reporters
record. The numbers are the same ones in the same order: only *when* they are drawn
changes, and results stay byte-identical whether or not a run prefetches.

A run prefetches from :data:`PREFETCH_FROM` users when the process may use two cores or
more: the CPU affinity of the process, or ``FLYWHEEL_THREADS`` (``1``: never). In a
market, the worker also draws the step's picks (the market stream) while the step's own
draws are made (:meth:`ClockPrefetch.beside`). Sweep workers are started with
``FLYWHEEL_THREADS=1``, since their processes already fill the cores.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..compiled import generator_handle
from ..errors import InputError
from .draws import _fill_exponentials

THREADS_ENV = "FLYWHEEL_THREADS"
"""Environment variable: how many threads a run may use (an integer >= 1; ``1`` turns
prefetching off). Unset: the CPUs this process may run on."""

PREFETCH_FROM = 100_000
"""Users from which a run draws the next step's clocks in the background: below, a
step's clocks take under ~0.5 ms and handing them to a thread costs a good part of that
(measured in ``benchmarks/README.md``)."""


def usable_threads() -> int:
    """Threads a run may use: ``$FLYWHEEL_THREADS``, else the CPUs this process may run on."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            threads = int(raw)
        except ValueError:
            threads = 0
        if threads < 1:
            raise InputError(
                f"environment variable {THREADS_ENV}: must be an integer >= 1 "
                f"(1: no background thread); got {raw!r}"
            )
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class ClockPrefetch:
    """The next step's clocks of one run, drawn in the background.

    :meth:`start` (at the end of a step's draws) hands the drawing of ``size`` standard
    exponentials from ``rng`` to the worker thread; :meth:`take` (at the start of the
    next step's draws) waits for them. If the next step asks for other clocks (another
    generator, another number of users), the generator is put back in the state it had
    before the drawing, as if it never happened, and the caller draws them itself.

    Nothing may draw from ``rng`` between :meth:`start` and :meth:`take`.
    """

    def __init__(self) -> None:
        self._pending: tuple[np.random.Generator, dict, np.ndarray, Future] | None = None

    @classmethod
    def for_run(cls, size: int) -> ClockPrefetch | None:
        """A prefetcher for a run of ``size`` users, or None where it does not pay."""
        if usable_threads() < 2 or size < PREFETCH_FROM:  # the variable checked at any size
            return None
        return cls()

    def start(self, rng: np.random.Generator, size: int) -> None:
        """Begin drawing the next step's ``size`` clocks from ``rng``."""
        self.take(None, -1)  # never two drawings at once: put back any not taken
        saved = rng.bit_generator.state
        clock = np.empty(size)
        future = _worker().submit(_fill_exponentials, generator_handle(rng), clock)
        self._pending = (rng, saved, clock, future)

    def beside(self, function, *args) -> Future:
        """``function(*args)`` on the worker thread, beside the caller's work: for draws
        from another stream than the steps stream (a market's picks), made while the
        step's own draws are (the same numbers: each stream draws in its own order)."""
        return _worker().submit(function, *args)

    def take(self, rng: np.random.Generator | None, size: int) -> np.ndarray | None:
        """The ``size`` clocks drawn from ``rng`` since :meth:`start`, or None (none were,
        or others were: then ``rng`` is as before them)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        drawn_from, saved, clock, future = pending
        future.result()  # waits; re-raises what the worker raised
        if drawn_from is rng and len(clock) == size:
            return clock
        drawn_from.bit_generator.state = saved
        return None


_WORKER: tuple[int, ThreadPoolExecutor] | None = None
_WORKER_LOCK = threading.Lock()


def _worker() -> ThreadPoolExecutor:
    """The process's one worker thread (made at the first use, and again in a child
    process forked from this one, where the parent's thread does not run)."""
    global _WORKER
    with _WORKER_LOCK:
        if _WORKER is None or _WORKER[0] != os.getpid():
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flywheel-clocks")
            _WORKER = (os.getpid(), executor)
        return _WORKER[1]

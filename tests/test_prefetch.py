"""The next step's clocks (and a market's picks) drawn on a second thread
(simulator/engines/prefetch.py): the same numbers, so the same runs, on either engine,
with one firm or a market."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simulator import run
from simulator.cli import app
from simulator.engines import prefetch as prefetch_module
from simulator.engines.draws import GroupOrder, draw_step
from simulator.engines.prefetch import THREADS_ENV, ClockPrefetch, usable_threads
from simulator.errors import InputError
from simulator.model import FlywheelModel

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
MARKET = ROOT / "scenarios" / "incumbent_vs_entrant.yaml"


def _prefetching_from(monkeypatch, size: int, threads: str = "2") -> None:
    monkeypatch.setattr(prefetch_module, "PREFETCH_FROM", size)
    monkeypatch.setenv(THREADS_ENV, threads)


@pytest.mark.parametrize(
    ("scenario", "engine", "size", "steps"),
    [(BASELINE, "array", 3_000, 40), (BASELINE, "agent", 800, 40), (MARKET, "array", 2_000, 80)],
    ids=["baseline-array", "baseline-agent", "market-entrant-array"],
)
def test_a_run_is_the_same_with_the_clocks_drawn_in_the_background(
    scenario, engine, size, steps, monkeypatch
):
    """Every column to the bit, with and without the background thread: the worker draws
    the numbers the step would have drawn, from the same generator, in the same order."""
    options = dict(overrides={"population.size": size}, steps=steps, engine=engine)
    _prefetching_from(monkeypatch, 0)
    assert FlywheelModel(scenario, engine=engine).clock_prefetch is not None
    background = run(scenario, **options).timeseries
    _prefetching_from(monkeypatch, 0, threads="1")
    assert FlywheelModel(scenario, engine=engine).clock_prefetch is None
    serial = run(scenario, **options).timeseries
    assert background.equals(serial)
    assert serial["adoptions"].sum() > 0 and serial["churns"].sum() > 0
    if scenario == MARKET:  # the picks drawn beside, switchers among them
        assert serial["switches"].sum() > 0


def test_a_step_draws_the_same_numbers_and_leaves_the_stream_alike():
    """draw_step with a prefetcher, step after step: the same clocks and interactions as
    without; after the last step the stream is one step's clocks ahead, and taking clocks
    of another size puts it back where it was."""
    size, groups = 2_000, 3
    group = np.random.default_rng(1).integers(0, groups, size)
    order = GroupOrder.of(group, groups)
    rates = np.random.default_rng(2).uniform(0.1, 2.0, size)[order.order]
    states = np.random.default_rng(3).integers(0, 3, (5, size)).astype(np.int8)
    fetched, plain = np.random.default_rng(7), np.random.default_rng(7)
    prefetch = ClockPrefetch()
    for state in states:
        got = draw_step(fetched, state, order, rates, prefetch=prefetch)
        expected = draw_step(plain, state, order, rates)
        for name in ("clock", "potential", "word_of_mouth", "interactions"):
            assert np.array_equal(getattr(got, name), getattr(expected, name)), name
    # (the state is not read while the worker may be drawing from the generator)
    assert np.array_equal(prefetch.take(fetched, size), plain.standard_exponential(size))
    assert fetched.bit_generator.state == plain.bit_generator.state
    prefetch.start(fetched, size)
    assert prefetch.take(fetched, size + 1) is None  # not these: as if never drawn
    assert fetched.bit_generator.state == plain.bit_generator.state
    other = np.random.default_rng(8)
    prefetch.start(fetched, size)
    assert prefetch.take(other, size) is None  # another generator's clocks
    assert fetched.bit_generator.state == plain.bit_generator.state
    assert prefetch.take(fetched, size) is None  # nothing pending


def test_which_runs_prefetch(monkeypatch):
    """From PREFETCH_FROM users with two threads or more; never with one."""
    monkeypatch.setenv(THREADS_ENV, "2")
    assert ClockPrefetch.for_run(prefetch_module.PREFETCH_FROM) is not None
    assert ClockPrefetch.for_run(prefetch_module.PREFETCH_FROM - 1) is None
    monkeypatch.setenv(THREADS_ENV, "1")
    assert ClockPrefetch.for_run(10**7) is None
    monkeypatch.delenv(THREADS_ENV)
    assert usable_threads() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_count_is_named_at_any_size(value, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(InputError, match=rf"{THREADS_ENV}: must be an integer >= 1.*{value!r}"):
        ClockPrefetch.for_run(10)


def test_the_command_rejects_a_bad_thread_count_with_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv(THREADS_ENV, "many")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(BASELINE), "--set", "population.size=300", "--steps", "3", "--out",
              str(out)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert THREADS_ENV in result.output and "'many'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_sweep_workers_do_not_prefetch():
    """Their processes fill the cores already."""
    from simulator.experiment.executors import _WORKER_ENV

    assert _WORKER_ENV[THREADS_ENV] == "1"


def test_a_forked_process_gets_a_worker_of_its_own(monkeypatch):
    """The parent's worker thread does not run in a child forked from it."""
    monkeypatch.setattr(prefetch_module, "_WORKER", None)  # the process's own comes back after
    parent = prefetch_module._worker()
    monkeypatch.setattr(prefetch_module.os, "getpid", lambda: -1)
    child = prefetch_module._worker()
    assert child is not parent
    assert child.submit(lambda: 42).result() == 42
    for executor in (parent, child):
        executor.shutdown()

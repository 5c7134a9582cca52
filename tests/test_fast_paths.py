"""Fast paths that must draw exactly the numbers of the plain NumPy calls they replace.

Each is chosen by size alone (short arrays, many users), so a scenario's results may not
depend on which one ran: the draws, the generator's state afterwards and a whole run are
compared with the fast path forced on and off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import run
from simulator.engines import draws as draws_module
from simulator.engines.draws import GroupOrder, draw_clocks
from simulator.numerics import SHORT, binomial, poisson

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"

chances = st.one_of(
    st.sampled_from([0.0, 1.0, 0.5, 1e-12, 0.999999]), st.floats(0.0, 1.0, allow_nan=False)
)


def _numpy_draws(monkeypatch) -> None:
    """The step's draws as NumPy calls at every size, Numba loaded or not."""
    monkeypatch.setattr(draws_module, "_compiled_draws", lambda size: False)


def _same_stream(a: np.random.Generator, b: np.random.Generator) -> bool:
    return a.bit_generator.state == b.bit_generator.state


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10**8), min_size=0, max_size=SHORT + 2),
    chance=st.one_of(chances, st.lists(chances, min_size=0, max_size=SHORT + 2)),
    seed=st.integers(0, 2**32 - 1),
)
def test_binomial_draws_what_numpy_draws(counts, chance, seed):
    """Element by element, ``binomial`` gives NumPy's numbers, dtype and shape, and leaves
    the stream where NumPy does (BTPE above n p = 30, inversion below, p > 0.5 mirrored:
    every branch of NumPy's sampler is reached by these counts and chances)."""
    n = np.asarray(counts, dtype=np.int64)
    if isinstance(chance, list) and len(chance) not in (len(counts), 1):
        chance = chance[: len(counts)] + [0.5] * (len(counts) - len(chance))
    expected_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = expected_rng.binomial(n, chance)
    got = binomial(rng, n, chance)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert _same_stream(rng, expected_rng)


@settings(max_examples=300, deadline=None)
@given(
    rates=st.lists(st.floats(0.0, 1e7, allow_nan=False), min_size=0, max_size=SHORT + 2),
    two_dimensional=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_poisson_draws_what_numpy_draws(rates, two_dimensional, seed):
    """Small means (inversion), large ones (PTRS, from 10), zero, and a (firms, groups)
    table: NumPy's numbers in C order, and the stream left where NumPy leaves it."""
    lam = np.asarray(rates, dtype=float)
    if two_dimensional and len(lam) % 2 == 0:
        lam = lam.reshape(2, -1)
    expected_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
    expected = expected_rng.poisson(lam)
    got = poisson(rng, lam)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert _same_stream(rng, expected_rng)


def test_short_draws_reject_what_numpy_rejects():
    with pytest.raises(ValueError):
        binomial(np.random.default_rng(0), np.array([3, -1]), 0.5)
    with pytest.raises(ValueError):
        binomial(np.random.default_rng(0), np.array([3, 4]), 1.5)
    with pytest.raises(ValueError):
        poisson(np.random.default_rng(0), np.array([1.0, -2.0]))


@pytest.mark.parametrize("size", [0, 1, 7, 2_049, 100_000])
@pytest.mark.parametrize("mix", ["random", "all potential", "none potential", "few potential"])
def test_compiled_clocks_draw_what_numpy_draws(size, mix):
    """The compiled loop (Numba's generator methods) gives NumPy's clocks, the same list of
    potential users and the same word-of-mouth clocks, and leaves the stream in NumPy's
    state: the ziggurat's rare tail draws included (100,000 users x 2 draws reach it).
    "few potential": most words of eight states hold none, which the loop skips."""
    state = np.random.default_rng(size).integers(0, 3, size).astype(np.int8)
    if mix == "few potential":
        state = np.where(np.random.default_rng(size).random(size) < 0.01, 0, 2).astype(np.int8)
    elif mix != "random":
        state[:] = 0 if mix == "all potential" else 1
    expected_rng, rng = np.random.default_rng(size + 1), np.random.default_rng(size + 1)
    expected = draw_clocks(expected_rng, state, compiled=False)
    got = draw_clocks(rng, state, compiled=True)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == e.dtype and np.array_equal(g, e)
    assert _same_stream(rng, expected_rng)


def test_a_run_does_not_depend_on_which_clocks_ran(monkeypatch):
    """The baseline with the compiled clocks at every size and with NumPy's at every size:
    the same table to the bit."""
    options = dict(overrides={"population.size": 3_000}, steps=60, engine="array")
    monkeypatch.setattr(draws_module, "COMPILED_DRAWS_FROM", 0)
    compiled = run(BASELINE, **options).timeseries
    _numpy_draws(monkeypatch)
    plain = run(BASELINE, **options).timeseries
    assert compiled.equals(plain)
    assert compiled["active_users"].iloc[-1] > 0


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 2_000),
    n_groups=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    moving_share=st.sampled_from([0.2, 0.002]),
)
def test_active_rates_kept_by_numpy_are_the_compiled_values(size, n_groups, seed, moving_share):
    """The active users' rates kept from step to step (the step's interactions are drawn
    from their sums) are the same values by NumPy (a run of Mesa agents, which does not
    import Numba) as by the compiled loops, over steps of random state changes (many, or
    so few that most words of eight states are unchanged, which the loop skips) and a
    change of the rates (an intervention), and are ``rate * (state == ACTIVE)``."""
    rng = np.random.default_rng(seed)
    groups = GroupOrder.of(rng.integers(0, n_groups, size).astype(np.int16), n_groups)
    kept = {True: draws_module.ActiveRates(groups), False: draws_module.ActiveRates(groups)}
    rates = rng.gamma(4.0, 0.75, size)
    state = rng.integers(0, 3, size).astype(np.int8)
    for step in range(6):
        if step == 3:
            rates = rates * 1.5  # a new array: computed afresh
        moving = rng.random(size) < moving_share
        state[moving] = rng.integers(0, 3, int(moving.sum()))
        values = {}
        for compiled, active_rates in kept.items():
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(draws_module, "_compiled_draws", lambda n, c=compiled: c)
                values[compiled] = active_rates.update(state, rates).copy()
        assert values[True].tobytes() == values[False].tobytes()
        expected = np.where(state[groups.order] == 1, rates, 0.0)
        assert values[False].tobytes() == expected.tobytes()


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(1, 3_000),
    n_groups=st.integers(1, 4),
    n_firms=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_expected_interactions_per_product_are_the_same_sums(size, n_groups, n_firms, seed):
    """The compiled pass in user order and the weighted bincount in group order add each
    firm's and group's rates in the same order, so the sums are the same to the bit."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, size).astype(np.int16)
    state = rng.integers(0, 3, size).astype(np.int8)
    product = np.where(state == 1, rng.integers(0, n_firms, size), -1).astype(np.int8)
    groups = GroupOrder.of(group, n_groups)
    rate = rng.gamma(4.0, 0.75, size)  # activity x multiplier, as a model's rates
    args = (state, groups, rate[groups.order], product, n_firms)
    compiled = draws_module._expected_by_product(*args, compiled=True)
    plain = draws_module._expected_by_product(*args, compiled=False)
    assert compiled.shape == plain.shape == (n_firms, n_groups)
    assert np.array_equal(compiled, plain)
    assert np.array_equal(draws_module._expected_by_product(*args, rate, compiled=True), plain)


@pytest.mark.parametrize("size", [10, 30_000, 100_000])
def test_compiled_picks_draw_what_numpy_draws(size, monkeypatch):
    """A market's uniforms for the users not active: the compiled pass (with Numba loaded,
    as here, or from 20,000 users) and NumPy's call give the same numbers in the same
    places and leave the stream alike."""
    state = np.random.default_rng(size).integers(0, 3, size).astype(np.int8)
    got_rng, expected_rng = np.random.default_rng(7), np.random.default_rng(7)
    got, _ = draws_module.draw_market(got_rng, state, 0.1)
    _numpy_draws(monkeypatch)
    expected, _ = draws_module.draw_market(expected_rng, state, 0.1)
    assert np.array_equal(got, expected, equal_nan=True)
    assert not np.isnan(got[state != 1]).any()  # (some active users reconsider too)
    assert _same_stream(got_rng, expected_rng)


@settings(max_examples=500, deadline=None)
@given(
    satisfaction=st.floats(-2.0, 3.0),
    reference=st.floats(0.0, 1.0),
    base_rate=st.floats(0.0, 5.0),
    sensitivity=st.floats(0.0, 400.0),
    factor=st.one_of(st.just(1.0), st.floats(0.0, 1.0)),
    dt=st.sampled_from([0.5, 1.0, 3.0]),
    ratio=st.one_of(st.floats(0.99, 1.01), st.floats(0.0, 3.0)),
)
def test_agent_churn_shortcut_only_rules_out_what_the_hazard_rules_out(
    satisfaction, reference, base_rate, sensitivity, factor, dt, ratio
):
    """The agent engine skips the exact hazard when the clock is above the hazard at no
    lock-in: whenever it does, the exact hazard (NumPy's exp, any lock-in factor <= 1)
    does not fire either. The clock is drawn around that hazard (``ratio`` near 1 most
    often), where a wrong bound would be caught."""
    from simulator.mechanisms.base import fires
    from simulator.mechanisms.retention import (
        RetentionParams,
        _cannot_churn,
        churn_hazard_locked,
    )

    with np.errstate(over="ignore", invalid="ignore"):  # exp(400 x 3): inf, skipped below
        unlocked = float(churn_hazard_locked(satisfaction, reference, base_rate, sensitivity, 1.0))
        clock = ratio * unlocked * dt
    if not np.isfinite(clock):
        return
    params = RetentionParams(
        dt=dt, quality=[0.5], satisfaction_rate=0.3, reference_quality=reference,
        base_rate=base_rate, sensitivity=sensitivity, lock_in=0.5, lock_in_time=26.0,
        risk=None,
    )  # fmt: skip
    if _cannot_churn(satisfaction, params, clock):
        hazard = churn_hazard_locked(satisfaction, reference, base_rate, sensitivity, factor)
        assert not fires(hazard, dt, clock)


def test_agent_churn_shortcut_leaves_overflow_and_nan_to_the_exact_hazard():
    from simulator.mechanisms.retention import RetentionParams, _cannot_churn

    params = RetentionParams(
        dt=1.0, quality=[0.5], satisfaction_rate=0.3, reference_quality=0.9, base_rate=0.01,
        sensitivity=1e4, lock_in=0.5, lock_in_time=26.0, risk=None,
    )  # fmt: skip
    assert not _cannot_churn(0.0, params, 5.0)  # exp(9000) would overflow math.exp
    assert not _cannot_churn(float("nan"), params, 5.0)


def test_a_generator_handle_is_kept_and_leads_back_to_its_generator():
    """The handle is computed once per generator and kept with it (so its addresses stay
    valid); plain Python (a loop's ``.python``) finds the generator from it."""
    from simulator import compiled

    rng = np.random.default_rng(3)
    handle = compiled.generator_handle(rng)
    assert compiled.generator_handle(rng) is handle and handle.dtype == np.uint64
    assert compiled.generator_at(handle) is rng
    others = [np.random.default_rng(k) for k in range(2 * compiled._KEPT_HANDLES)]
    for other in others:
        compiled.generator_handle(other)
    assert len(compiled._HANDLES) == compiled._KEPT_HANDLES  # the oldest are let go
    with pytest.raises(LookupError):
        compiled.generator_at(handle)
    assert np.array_equal(compiled.generator_handle(rng), handle)  # the same addresses


def test_compiled_and_python_loops_draw_alike_from_a_handle():
    """A loop as plain Python draws from the generator itself; compiled, from Numba's value
    built from the handle: the same numbers, and both advance the generator alike."""
    from simulator.compiled import generator_handle

    state = np.random.default_rng(0).integers(0, 3, 500).astype(np.int8)
    results, generators = [], []
    for loop in (draws_module._draw_clocks, draws_module._draw_clocks.python):
        rng = np.random.default_rng(11)
        clock, potential = np.empty(500), np.empty(500, dtype=np.intp)
        with np.errstate(over="ignore"):  # as Python, the word test's uint64 wraps around
            word_of_mouth = loop(generator_handle(rng), state, clock, potential)
        results.append((clock, potential[: len(word_of_mouth)], word_of_mouth))
        generators.append(rng)
    for compiled_values, python_values in zip(*results, strict=True):
        assert np.array_equal(compiled_values, python_values)
    assert _same_stream(*generators)


noises = st.lists(chances, min_size=1, max_size=SHORT)


@settings(max_examples=300, deadline=None)
@given(
    interactions=st.lists(st.integers(0, 10**7), min_size=1, max_size=SHORT),
    feedback=chances, noise=noises, recall=chances, false_accept=chances, rate=chances,
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_compiled_pipeline_draws_what_numpy_draws(
    interactions, feedback, noise, recall, false_accept, rate, seed
):
    """The four stages in one compiled loop (Numba's binomial) and as NumPy calls: the same
    counts, kept and used signals, and the stream left in the same state. Chances of 0 and
    1 (no draw taken) and counts from 0 to 10^7 (both samplers) are reached."""
    from simulator.firm.pipeline import Pipeline

    n = np.asarray(interactions, dtype=np.int64)
    label_noise = np.resize(np.asarray(noise, dtype=float), len(n))
    pipeline = Pipeline(feedback, label_noise, recall, false_accept, rate)
    compiled_rng, numpy_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    compiled = pipeline._run_compiled(n, compiled_rng)
    plain = _numpy_pipeline(pipeline, n, numpy_rng)
    for c, p in zip(compiled, plain, strict=True):
        for name in ("signals", "wrong_signals", "kept", "new_examples", "new_wrong_examples",
                     "clean", "wrong"):  # fmt: skip
            if hasattr(p, name):
                assert np.array_equal(getattr(c, name), getattr(p, name)), name
                assert getattr(c, name).dtype == np.int64
    assert _same_stream(compiled_rng, numpy_rng)


def _numpy_pipeline(pipeline, interactions, rng):
    from simulator.firm import pipeline as pipeline_module

    loaded = pipeline_module.compiled_loaded
    pipeline_module.compiled_loaded = lambda: False
    try:
        return pipeline.run(interactions, rng)
    finally:
        pipeline_module.compiled_loaded = loaded


def test_a_run_does_not_depend_on_which_pipeline_ran(monkeypatch):
    """A half-life, a hoarder's zero reinvestment and the baseline's stages: the compiled
    pipeline and NumPy's give the same table to the bit."""
    from simulator.firm import pipeline as pipeline_module

    options = dict(
        overrides={"population.size": 2_000, "reinvestment.rate": 0.6}, steps=50,
        engine="array",
    )  # fmt: skip
    compiled = run(BASELINE, **options).timeseries
    monkeypatch.setattr(pipeline_module, "compiled_loaded", lambda: False)
    plain = run(BASELINE, **options).timeseries
    assert compiled.equals(plain)
    assert compiled["new_examples"].sum() > 0


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 80), n_groups=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
    with_rows=st.booleans(),
)  # fmt: skip
def test_one_product_commit_is_the_engines_methods_and_the_tallys_counts(
    n, n_groups, seed, with_rows
):
    """The array engine commits one product's moves in one compiled call: the states,
    tenure, joiners' satisfaction and neighbour counts are what ``ArrayUsers``' own methods
    give (keep_tenure, restart_tenure, tell_neighbours), and the per-group counts it hands
    to the tally are the tally's own count of the moves, also with a group nobody is in
    and with rows that are not the groups (a candidate served to some users)."""
    import scipy.sparse

    from simulator.engines.array import ArrayUsers
    from simulator.engines.step import StepMoves, StepTally
    from simulator.mechanisms import Move
    from simulator.mechanisms.states import ACTIVE_CODE, CHURNED_CODE, POTENTIAL_CODE, commit_all

    rng = np.random.default_rng(seed)
    upper = scipy.sparse.random(n, n, density=0.2, random_state=rng, format="csr")
    adjacency = ((upper + upper.T) > 0).astype(np.int8)
    adjacency.setdiag(0)
    adjacency = scipy.sparse.csr_array(adjacency)
    adjacency.eliminate_zeros()
    group = rng.integers(0, n_groups, n).astype(np.int16)  # the last group may be empty
    quality = rng.random(n_groups)
    users = ArrayUsers(adjacency, group, np.zeros(0, dtype=np.intp), quality)
    users.state[:] = rng.integers(0, 3, n).astype(np.int8)
    users._steps = 40
    users.tenure = rng.integers(0, 40, n)
    users.active_neighbours = rng.integers(0, 5, n).astype(np.int32)
    users.satisfaction = rng.random(n)
    users.next_satisfaction = users.satisfaction
    table = quality
    if with_rows:  # two rows per group: group g's users in row 2 g or 2 g + 1
        users.row = (2 * group + rng.integers(0, 2, n)).astype(np.int64)
        table = rng.random(2 * n_groups)
    by_state = {code: np.flatnonzero(users.state == code)
                for code in (POTENTIAL_CODE, ACTIVE_CODE, CHURNED_CODE)}  # fmt: skip
    potential = rng.permutation(by_state[POTENTIAL_CODE])
    third = len(potential) // 3
    churned = rng.permutation(by_state[CHURNED_CODE])
    moves = {
        Move.ADOPT: np.sort(potential[:third]),
        Move.ADOPT_WOM: np.sort(potential[third : 2 * third]),
        Move.CHURN: by_state[ACTIVE_CODE][rng.random(len(by_state[ACTIVE_CODE])) < 0.3],
        Move.REJOIN: np.sort(churned[: len(churned) // 2]),
        Move.RETURN: np.sort(churned[len(churned) // 2 :][:2]),
    }
    moves = {move: users_of.astype(np.intp) for move, users_of in moves.items()}

    expected = {"state": users.state.copy(), "joined": users.joined.copy(),
                "kept_tenure": users.kept_tenure.copy(),
                "active_neighbours": users.active_neighbours.copy(),
                "satisfaction": users.satisfaction.copy()}  # fmt: skip
    reference = ArrayUsers(adjacency, group, np.zeros(0, dtype=np.intp), quality)
    for name, values in expected.items():
        setattr(reference, name, values)
    reference._steps = users._steps
    joiners = np.concatenate([moves[Move.ADOPT], moves[Move.ADOPT_WOM], moves[Move.RETURN]])
    reference.keep_tenure(moves[Move.CHURN])
    reference.restart_tenure(joiners)
    reference.state[moves[Move.CHURN]] = CHURNED_CODE
    reference.state[moves[Move.REJOIN]] = POTENTIAL_CODE
    reference.state[joiners] = ACTIVE_CODE
    reference.satisfaction[joiners] = table[users.row[joiners]]
    reference.tell_neighbours(moves[Move.CHURN], -1)
    reference.tell_neighbours(joiners, 1)

    counts = commit_all(users, moves, {}, [table.tolist()])
    for name in expected:
        assert np.array_equal(getattr(users, name), getattr(reference, name)), name
    draws = type("Draws", (), {"interactions": np.zeros(n_groups, dtype=np.int64)})()
    counted = StepTally.of(StepMoves(moves=moves), group, n_groups, draws)
    given_counts = StepTally.of(StepMoves(moves=moves, counts=counts), group, n_groups, draws)
    for field in ("adoptions", "churns", "rejoins"):
        assert np.array_equal(getattr(given_counts, field), getattr(counted, field)), field
        assert getattr(given_counts, field).dtype == getattr(counted, field).dtype


@settings(max_examples=200, deadline=None)
@given(
    n_groups=st.integers(1, 4), seed=st.integers(0, 2**32 - 1),
    decay=st.one_of(st.just(1.0), st.floats(0.5, 1.0)),
    holding=st.lists(st.booleans(), min_size=6, max_size=6),
)  # fmt: skip
def test_the_stores_compiled_step_is_its_numpy_step(n_groups, seed, decay, holding):
    """The data store ages and adds a step of the users' data in one compiled call when
    Numba is loaded: every count, of the totals and of every source, is the NumPy path's
    to the bit, whichever sources hold data, and the arrays it changes are new ones (a
    step's record keeps the old ones)."""
    import copy

    from simulator.firm import datastore
    from simulator.firm.pipeline import Labelled

    rng = np.random.default_rng(seed)
    store = datastore.DataStore(n_groups, int(rng.integers(0, 500)))
    store.decay = decay
    for (name, counts), holds in zip(store.sources.items(), holding, strict=True):
        if holds and name != "curated":  # some sources hold data (a tactic's), others none
            counts.add(rng.random(n_groups) * 100, rng.random(n_groups) * 10)
            counts.age_sum = rng.random(n_groups) * 1e3
    for field in ("collected", "examples", "wrong_examples", "shared"):
        setattr(store, field, rng.random(n_groups) * rng.choice([0.0, 1.0, 1e6]))
    kept = Labelled(clean=rng.integers(0, 10**6, n_groups), wrong=rng.integers(0, 10**5, n_groups))
    used, used_wrong = rng.integers(0, 10**6, n_groups), rng.integers(0, 10**5, n_groups)

    fast, plain = copy.deepcopy(store), copy.deepcopy(store)
    before = [fast.collected, fast.examples, fast.wrong_examples, fast.shared] + [
        getattr(fast.sources[name], field)
        for name in ("users", "curated") for field in ("examples", "wrong", "age_sum")
    ]  # fmt: skip
    kept_before = [a.copy() for a in before]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datastore, "compiled_loaded", lambda: True)
        fast.age_and_add(kept, used, used_wrong)
        patch.setattr(datastore, "compiled_loaded", lambda: False)
        plain.age_and_add(kept, used, used_wrong)
    for field in ("collected", "examples", "wrong_examples", "shared"):
        assert np.array_equal(getattr(fast, field), getattr(plain, field)), field
        assert getattr(fast, field).dtype == np.float64
    for name in store.sources:
        for field in ("examples", "wrong", "age_sum"):
            got, want = getattr(fast.sources[name], field), getattr(plain.sources[name], field)
            assert np.array_equal(got, want), (name, field)
        assert fast.sources[name].held == plain.sources[name].held, name
    for old, copied in zip(before, kept_before, strict=True):  # the old arrays untouched
        assert np.array_equal(old, copied)


@settings(max_examples=300, deadline=None)
@given(
    examples=st.lists(st.one_of(st.just(0.0), st.floats(0.0, 1e9)), min_size=1, max_size=5),
    wrong_share=st.floats(0.0, 1.0), transfer=st.one_of(st.sampled_from([0.0, 1.0]),
                                                          st.floats(0.0, 1.0)),
    initial_error=st.floats(0.0, 1.0), floor_error=st.floats(0.0, 1.0),
    exponent=st.one_of(st.sampled_from([0.5, 1.0, 2.0]), st.floats(0.01, 3.0)),
    scale=st.floats(1.0, 1e5), noise_penalty=st.floats(0.0, 3.0),
)  # fmt: skip
def test_the_learning_curves_compiled_quality_is_its_numpy_quality(
    examples, wrong_share, transfer, initial_error, floor_error, exponent, scale, noise_penalty
):
    """With Numba loaded the learning curve computes a fit's quality in one compiled call:
    to the bit the NumPy path's, for any data, transfer and curve (the clip included)."""
    from simulator.firm.learners import curve

    learner = curve.CurveLearner(initial_error=initial_error, floor_error=floor_error,
                                 exponent=exponent, scale=scale, transfer=transfer,
                                 noise_penalty=noise_penalty)  # fmt: skip
    examples = np.asarray(examples)
    wrong = examples * wrong_share
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(curve, "compiled_loaded", lambda: True)
        fast = learner.quality_for(examples, wrong)
        patch.setattr(curve, "compiled_loaded", lambda: False)
        plain = learner.quality_for(examples, wrong)
    assert fast.dtype == plain.dtype == np.float64
    assert np.array_equal(fast, plain), (fast, plain)

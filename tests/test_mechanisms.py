"""The user-side mechanisms: formulas against values computed by hand, and each
mechanism's scalar kernel (Mesa agent) against its vector kernel (arrays)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.mechanisms import fires
from simulator.mechanisms.adoption import adopted_neighbour_share, adoption_events, attractiveness
from simulator.mechanisms.retention import churn_hazard, lock_in_factor, updated_satisfaction


def test_fires_compares_hazard_times_dt_with_the_exponential_draw():
    assert fires(0.5, 2.0, 0.99)  # 1.0 > 0.99
    assert not fires(0.5, 2.0, 1.01)
    assert not fires(0.0, 1.0, 0.0)  # a zero hazard never fires


def test_fires_has_the_hazard_probability():
    # P(h dt > E) = 1 - exp(-h dt) for E ~ Exp(1). With n = 200_000 draws the
    # standard error of the frequency is sqrt(p(1-p)/n) ~ 0.0011; allow 5 s.e.
    rng = np.random.default_rng(1)
    draws = rng.standard_exponential(200_000)
    p = 1 - math.exp(-0.3 * 1.5)
    freq = fires(0.3, 1.5, draws).mean()
    assert abs(freq - p) < 5 * math.sqrt(p * (1 - p) / draws.size)


def test_attractiveness_by_hand():
    assert attractiveness(0.7, 0.5, 4.0) == pytest.approx(math.exp(0.8))
    assert attractiveness(0.2, 0.9, 0.0) == 1.0  # kappa = 0: plain Bass


def test_attractiveness_of_a_list_is_the_arrays():
    """Per-group qualities as a list (a step's parameters) give the array formula's bits;
    a huge exponent gives inf, as NumPy's exp does, not an error."""
    quality = np.random.default_rng(3).random(500)
    for reference, sensitivity in ((0.5, 4.0), (0.93, 12.5), (0.1, 0.0), (0.0, 1000.0)):
        with np.errstate(over="ignore"):
            expected = attractiveness(quality, reference, sensitivity)
        got = attractiveness(quality.tolist(), reference, sensitivity)
        assert np.array(got).tobytes() == np.asarray(expected, dtype=float).tobytes()


def test_adopted_neighbour_share_handles_isolated_users():
    assert adopted_neighbour_share(2, 8) == 0.25
    assert adopted_neighbour_share(0, 0) == 0.0
    out = adopted_neighbour_share(np.array([2, 0]), np.array([8, 0]))
    assert out.tolist() == [0.25, 0.0]


def test_bass_adoption_by_hand():
    # p A dt = 0.01 * 2 * 1 = 0.02; q frac A dt = 0.3 * 0.5 * 2 = 0.3
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.5, 0.2)
    assert adopt and wom  # only the word-of-mouth clock fired (0.3 > 0.2, 0.02 < 0.5)
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.01, 0.5)
    assert adopt and not wom  # only the spontaneous clock fired
    # both fired: event times 0.01/0.02 = 0.5 (spontaneous) vs 0.1/0.3 = 0.33 (social)
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.01, 0.1)
    assert adopt and wom
    adopt, wom = adoption_events("bass", 0.5, 2.0, 0.01, 0.3, 0.18, 1.0, 0.5, 0.5)
    assert not adopt and not wom


def test_bass_adoption_probability_is_bass_hazard():
    # Two competing clocks give P(adopt) = 1 - exp(-(p + q frac) A dt).
    rng = np.random.default_rng(2)
    n = 200_000
    adopt, wom = adoption_events(
        "bass", np.full(n, 0.4), 1.5, 0.05, 0.4, 0.0, 1.0,
        rng.standard_exponential(n), rng.standard_exponential(n),
    )  # fmt: skip
    p = 1 - math.exp(-(0.05 + 0.4 * 0.4) * 1.5)
    assert abs(adopt.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    # Share won by word of mouth among adopters = q frac / (p + q frac) = 0.16 / 0.21
    share = wom.sum() / adopt.sum()
    assert abs(share - 0.16 / 0.21) < 5 * math.sqrt(0.25 / adopt.sum())


def test_threshold_adoption_by_hand():
    adopt, wom = adoption_events("threshold", 0.2, 1.0, 0.0, 0.0, 0.18, 1.0, 1.0, 1.0)
    assert adopt and wom
    adopt, wom = adoption_events("threshold", 0.1, 1.0, 0.0, 0.0, 0.18, 1.0, 1.0, 1.0)
    assert not adopt
    # an isolated user (share 0) never cascades, even with threshold 0
    adopt, _ = adoption_events("threshold", 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0)
    assert not adopt


def test_churn_hazard_by_hand():
    # c0 exp(-beta (s - Qref)) (1 - l (1 - e^{-tau/T}))
    expected = 0.01 * math.exp(-5 * (0.6 - 0.5)) * (1 - 0.5 * (1 - math.exp(-26 / 26)))
    assert churn_hazard(0.6, 0.5, 26, 0.01, 5.0, 0.5, 26) == pytest.approx(expected)
    # a brand-new user has no lock-in
    assert lock_in_factor(0, 0.5, 26) == 1.0


def test_satisfaction_moves_towards_quality():
    assert updated_satisfaction(0.4, 0.8, 0.25) == pytest.approx(0.5)


@given(
    satisfaction=st.floats(0, 1),
    reference=st.floats(0, 1),
    tenure=st.integers(0, 500),
)
def test_rules_give_the_same_bits_on_scalars_and_arrays(satisfaction, reference, tenure):
    """The agent engine calls the rules per user, the array engine on arrays."""
    args = (0.01, 5.0, 0.5, 26.0)
    scalar = churn_hazard(satisfaction, reference, tenure, *args)
    array = churn_hazard(np.array([satisfaction]), reference, np.array([tenure]), *args)
    assert float(scalar) == float(array[0])


# -- every mechanism's two kernels agree -------------------------------------------------

from dataclasses import replace  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import scipy.sparse  # noqa: E402

from simulator import load_scenario  # noqa: E402
from simulator.engines.agent import UserDraws  # noqa: E402
from simulator.engines.array import ArrayUsers  # noqa: E402
from simulator.engines.draws import GroupOrder, draw_market, draw_step  # noqa: E402
from simulator.engines.step import StepView  # noqa: E402
from simulator.mechanisms import (  # noqa: E402
    USER_MECHANISMS,
    Members,
    Move,
    UserState,
    choice,  # noqa: E402
)
from simulator.mechanisms.choice import MarketView  # noqa: E402


@st.composite
def situations(draw, market: bool = False):
    """Random users (states, tenure, satisfaction, neighbours), a scenario and a step view;
    ``market``: several firms with products, network effects, tastes and switching."""
    n = draw(st.integers(1, 60))
    n_groups = draw(st.integers(1, 3))
    n_firms = draw(st.integers(1, 3)) if market else 1
    rule = draw(st.sampled_from(["bass", "threshold", "arrivals"]))
    retention = draw(st.sampled_from(["hazard", "risk"]))
    groups = [{"name": f"g{i}", "share": 1 / n_groups,
               **({"arrivals": draw(st.integers(0, 5))} if rule == "arrivals" else {})}
              for i in range(n_groups)]  # fmt: skip
    scenario = load_scenario({
        "population": {"size": max(n, 2), "groups": groups},
        "network": {"kind": "complete"},
        "dt": draw(st.sampled_from([0.5, 1.0, 3.0])),
        "adoption": {"rule": rule, "innovation": draw(st.floats(0, 2)),
                     "imitation": draw(st.floats(0, 5)), "threshold": draw(st.floats(0, 1)),
                     "quality_sensitivity": draw(st.floats(0, 10)), "initial_adopters": 0},
        "churn": {"base_rate": draw(st.floats(0, 2)), "sensitivity": draw(st.floats(0, 10)),
                  "satisfaction_rate": draw(st.floats(0, 1)), "lock_in": draw(st.floats(0, 1)),
                  "lock_in_time": draw(st.floats(0.5, 50)), "rejoin_rate": draw(st.floats(0, 3)),
                  "retention": retention},
        "learning": {"kind": "estimator"} if retention == "risk" else {},
        **(_market(draw, n_firms, [g["name"] for g in groups]) if market else {}),
    })  # fmt: skip
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    group = rng.integers(0, n_groups, n).astype(np.int16)
    degree = rng.integers(0, 8, n)
    state = rng.integers(0, 3, n).astype(np.int8)
    tenure = rng.integers(0, 300, n).astype(np.int32)
    # A star-free random adjacency is not needed: the kernels read degree and counts only.
    adjacency = scipy.sparse.csr_array((n, n), dtype=np.int8)
    users = ArrayUsers(adjacency, group, np.zeros(0, dtype=np.intp), np.zeros(n_groups),
                       n_firms if market else None)  # fmt: skip
    users.degree = degree.astype(np.int32)
    users.active_neighbours = (rng.random(n) * (degree + 1)).astype(np.int32).clip(max=degree)
    if market:  # split each user's active neighbours between the products
        users.neighbours_on = np.zeros((n_firms, n), dtype=np.int32)
        for i, count in enumerate(users.active_neighbours.tolist()):
            users.neighbours_on[:, i] = rng.multinomial(count, np.ones(n_firms) / n_firms)
        users.product[:] = np.where(state == 1, rng.integers(0, n_firms, n), -1)
    users.state[:] = state
    users._steps = 300  # the engine's invariant: no tenure exceeds the steps taken
    users.tenure = tenure
    users.satisfaction = rng.random(n)
    users.next_satisfaction = users.satisfaction
    rates = rng.exponential(3.0, n)
    order = GroupOrder.of(group, n_groups)
    draws = draw_step(rng, users.state, order, rates[order.order],
                      users.product if market else None, n_firms)  # fmt: skip
    firm_quality = rng.random((n_firms, n_groups))
    firm_risk = rng.exponential(0.3, (n_firms, n_groups))
    view = StepView(
        step=draw(st.integers(1, 100)), scenario=scenario, quality=firm_quality[0],
        risk=firm_risk[0], reference_quality=float(rng.random()),
        user_state=users.state, user_group=group, draws=draws, firm_quality=firm_quality,
        firm_risk=firm_risk, on_offer=rng.random(n_firms) < 0.8,
        installed=rng.integers(0, 50, n_firms),
    )  # fmt: skip
    if market:
        pick, reconsider = draw_market(rng, users.state, float(rng.random()))
        view = replace(view, draws=replace(draws, pick=pick, reconsider_mask=reconsider))
        view = replace(view, market=MarketView.of(view))
    return users, view


def _market(draw, n_firms: int, groups: list[str]) -> dict:
    firms = [f"f{j}" for j in range(n_firms)]
    return {
        "firms": [{"name": f, "initial_adopters": 0} for f in firms],
        "choice": {
            "rule": draw(st.sampled_from(["logit", "best"])),
            "quality_weight": draw(st.floats(0, 20)),
            "local_network_effect": draw(st.floats(0, 5)),
            "global_network_effect": draw(st.floats(0, 0.1)),
            "preferences": {g: {f: draw(st.floats(-3, 3)) for f in firms} for g in groups},
            "reconsider_rate": draw(st.floats(0, 2)),
            "switching_cost": draw(st.floats(0, 3)),
        },
    }


def _agents(users: ArrayUsers) -> list[SimpleNamespace]:
    market = users.product is not None
    tenure = users.tenure
    return [
        SimpleNamespace(node=i, group=int(users.group[i]), row=int(users.row[i]),
                        state=UserState(int(users.state[i])),
                        satisfaction=float(users.satisfaction[i]), tenure=int(tenure[i]),
                        active_neighbours=int(users.active_neighbours[i]),
                        degree=int(users.degree[i]), next_satisfaction=None,
                        product=int(users.product[i]) if market else 0, next_product=0,
                        neighbours_on=users.neighbours_on[:, i].tolist() if market else [])
        for i in range(len(users.state))
    ]  # fmt: skip


@pytest.mark.parametrize("market", [False, True], ids=["one-product", "market"])
@pytest.mark.parametrize("mechanism", USER_MECHANISMS, ids=lambda m: m.name)
@settings(deadline=None)  # the first example may compile the kernel's loop (Numba)
@given(data=st.data(), subset=st.booleans())
def test_scalar_and_vector_kernels_agree(mechanism, market, data, subset):
    """The Mesa agent's kernel (one call per user) and the array kernel (one call for all)
    give every user the same move, product and satisfaction, bit for bit; ``subset`` also
    checks the kernels on members left over by an earlier mechanism."""
    users, view = data.draw(situations(market))
    params = mechanism.prepare(view)
    if params is None:
        return  # not in force under this scenario
    draws = view.draws
    per_user = UserDraws(
        draws.clock.tolist(), draws.word_of_mouth_by_user().tolist(),
        None if draws.pick is None else draws.pick.tolist(),
        None if draws.reconsider_mask is None else draws.reconsider_mask.tolist(),
    )  # fmt: skip
    agents = _agents(users)
    for state in mechanism.states:
        everyone = (
            draws.potential
            if state is UserState.POTENTIAL
            else np.flatnonzero(users.state == state)
        )
        members = everyone[::2] if subset else everyone
        vector = mechanism.decide_all(
            users, Members(state, users.state, members, whole=not subset), params, draws
        )
        from_vector = {
            int(u): (move, int(vector.products[move][k]) if move in vector.products else 0)
            for move, idx in vector.moves.items()
            for k, u in enumerate(idx)
        }
        from_scalar = {}
        for node in members.tolist():
            agents[node].next_product = 0
            move = mechanism.decide(agents[node], params, per_user)
            if move is not Move.STAY:
                from_scalar[node] = (move, agents[node].next_product)
        assert from_vector == from_scalar
        assert vector.organic == sum(m is Move.ADOPT_WOM for m, _ in from_scalar.values())
        if vector.satisfaction is not None:
            for node in members.tolist():
                assert vector.satisfaction[node] == agents[node].next_satisfaction


@given(data=st.data())
def test_choice_arithmetic_is_the_same_bits_in_both_kernels(data):
    """Utilities, attractions and picks of one user (scalar) equal the columns of the
    vector kernel's, bit for bit: decisions are thresholds on these numbers, so a
    last-bit difference would flip a rare decision and part the engines' runs."""
    users, view = data.draw(situations(market=True))
    market = view.market
    n = len(users.state)
    everyone = np.arange(n)
    shares = users.shares_on(everyone)
    u = choice.utilities_all(market, users.group, shares)
    a = choice.attractions_all(market, u)
    uniform = np.random.default_rng(data.draw(st.integers(0, 2**32))).random(n)
    exclude = users.product.astype(np.int64) if data.draw(st.booleans()) else None
    picked = choice.pick_all(market, a, u, uniform, exclude=exclude)
    for i in range(n):
        s = shares[:, i].tolist()
        scalar_u = [
            choice.utility(market, j, int(users.group[i]), s[j]) for j in range(market.n_firms)
        ]
        assert scalar_u == u[:, i].tolist()
        assert choice.attractions(market, int(users.group[i]), s) == a[:, i].tolist()
        skip = -1 if exclude is None else int(exclude[i])
        assert choice.pick(market, a[:, i].tolist(), scalar_u, float(uniform[i]), skip) == picked[i]

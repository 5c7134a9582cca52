"""Preference pairs and the Bradley-Terry learner (``learning.kind: preference``).

Hand-computed stages and sizes, the no-usable-data rule, behaviours a strategist
recognises (more pairs help, flip noise hurts, a pooled reward model serves a minority
with a different taste worse), the scenario keys' checks at the boundary, and the
stream's promise that the pairs leave every other draw alone. The statistics of the fit
are validated in tests/validation/test_bradley_terry.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simulator import load_scenario, run
from simulator.cli import app
from simulator.firm.learners import PreferenceLearner
from simulator.firm.learners.preference import taste_directions
from simulator.firm.pairs import PairStore, build_pairs, thumbs_of
from simulator.firm.pipeline import Labelled, PipelineCounts
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"population": {"size": 400}, "steps": 30, "adoption": {"innovation": 0.02}}
PREFERENCE = {"kind": "preference"}


def problems_of(raw) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(raw)
    return str(info.value)


def learner(angles=(0.0,), seed=0, max_pairs=20000, features=8) -> PreferenceLearner:
    return PreferenceLearner(
        directions=taste_directions(angles, features), beta=1.0, ridge=1.0,
        max_pairs=max_pairs, initial_error=0.5, floor_error=0.05,
        rng=np.random.default_rng(seed),
    )  # fmt: skip


def store_of(clean, flipped) -> SimpleNamespace:
    pairs = PairStore(len(clean))
    pairs.clean, pairs.flipped = np.asarray(clean, float), np.asarray(flipped, float)
    return SimpleNamespace(pairs=pairs)


# -- the pairs, by hand -------------------------------------------------------------------


def test_thumbs_are_todays_signals_and_pairs_follow_the_stages():
    counts = PipelineCounts(*(np.array([7, 3]),) * 5)
    np.testing.assert_array_equal(thumbs_of(counts), [7, 3])
    rng = np.random.default_rng(0)
    # every session gives a pair, none flipped, the filter and reinvestment keep all
    formed, used = build_pairs(np.array([7, 3]), 1.0, np.zeros(2), 1.0, 0.0, 1.0, rng)
    np.testing.assert_array_equal(formed, [7, 3])
    np.testing.assert_array_equal(used.clean, [7, 3])
    np.testing.assert_array_equal(used.wrong, [0, 0])
    # every pair flipped and the filter lets none of the flipped ones through
    formed, used = build_pairs(np.array([7, 3]), 1.0, np.ones(2), 1.0, 0.0, 1.0, rng)
    np.testing.assert_array_equal(used.total, [0, 0])
    # no pair share: nothing
    formed, used = build_pairs(np.array([7, 3]), 0.0, np.zeros(2), 1.0, 1.0, 1.0, rng)
    np.testing.assert_array_equal(formed, [0, 0])


def test_pairs_age_like_the_data():
    pairs = PairStore(2, initial=100)
    pairs.age_and_add(np.array([10, 4]), Labelled(np.array([8, 4]), np.array([2, 0])), 0.5)
    np.testing.assert_allclose(pairs.clean, [58.0, 54.0])  # 100 * 0.5 + 8, 100 * 0.5 + 4
    np.testing.assert_allclose(pairs.flipped, [2.0, 0.0])
    pairs.age(0.5)
    np.testing.assert_allclose(pairs.held, [30.0, 27.0])


def test_sample_sizes_keep_each_groups_share_under_the_cap():
    # held 3000 + 1000 pairs, cap 2000: scale 1/2; group 0 has 10 % flipped
    size, flipped = learner((0.0, 0.0), max_pairs=2000).sample_sizes(
        store_of([2700, 1000], [300, 0])
    )
    np.testing.assert_array_equal(size, [1500, 500])
    np.testing.assert_array_equal(flipped, [150, 0])


def test_no_pairs_is_no_usable_data_and_the_coin_flip_is_the_cold_start():
    model = learner((0.0, 60.0))
    assert model.fit(store_of([0, 0], [0, 0]), 4) is None
    cold = model.cold_start(store_of([0, 0], [0, 0]))
    np.testing.assert_allclose(cold.quality, [0.5, 0.5])  # 1 - e_0
    # quality by hand: a fit along the reference orders the 60-degree group's pairs right
    # 1 - 60/180 = 2/3 of the time: Q = 0.5 + 0.45 (2 * 2/3 - 1) = 0.65; the reference 0.95
    scored = model.evaluate_params(np.array([3.0, 0, 0, 0, 0, 0, 0, 0]))
    np.testing.assert_allclose(scored.quality, [0.95, 0.65])


def test_the_firm_keeps_its_model_without_pairs():
    raw = SMALL | {"learning": PREFERENCE | {"pair_share": 0.0}}
    series = run(load_scenario(raw), seed=1).timeseries
    assert (series["preference_pairs"] == 0).all()
    assert (series["quality"] == 0.5).all()


# -- behaviours a strategist recognises ------------------------------------------------------


def mean_quality(clean, flipped, angles=(0.0,), seeds=range(20)) -> np.ndarray:
    return np.mean([learner(angles, seed).fit(store_of(clean, flipped), 4).quality
                    for seed in seeds], axis=0)  # fmt: skip


def test_more_pairs_make_a_better_reward_model():
    """Theory (tests/validation): the angle of the fit falls like sqrt(d / n), so the
    pairwise accuracy 1 - angle / pi rises from about 0.91 (200 pairs) through 0.96
    (1,000) to 0.98 (5,000); the seeds' spread is a few thousandths at these sizes."""
    qualities = [mean_quality([n], [0])[0] for n in (200, 1000, 5000)]
    assert qualities[0] < qualities[1] - 0.02 < qualities[2] - 0.03


def test_more_flip_noise_makes_a_worse_reward_model():
    """At 2,000 pairs, flipping 0 %, 20 % and 40 % of them: the flips shrink the signal,
    and the fit's angle variance grows (about 2.8, 9 and 100 in theory.logistic_limit)."""
    qualities = [mean_quality([2000 - k], [k])[0] for k in (0, 400, 800)]
    assert qualities[0] > qualities[1] + 0.01 > qualities[2] + 0.05


def test_a_pooled_reward_model_serves_a_minority_with_another_taste_worse():
    """Majority (80 % of 10,000 pairs) and a minority whose true reward direction is
    rotated by 90 degrees: the pooled fit points mostly the majority's way. A minority
    with the majority's taste is served exactly as well; a model fitted to the minority's
    2,000 pairs alone serves the minority better than the pooled one on five times the
    data."""
    pooled = mean_quality([8000, 2000], [0, 0], angles=(0.0, 90.0))
    assert pooled[1] < pooled[0] - 0.2
    same_taste = mean_quality([8000, 2000], [0, 0], angles=(0.0, 0.0))
    assert same_taste[0] == same_taste[1] and same_taste[1] > pooled[1] + 0.2
    own = mean_quality([0, 2000], [0, 0], angles=(0.0, 90.0))
    assert own[1] > pooled[1] + 0.2


# -- the scenario keys, at the boundary --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"learning": {"pair_share": 0.2}},
         "learning.pair_share: is only used by the preference learner"),
        ({"learning": {"kind": "estimator", "features": 4}},
         "learning.features: is only used by the preference learner"),
        ({"learning": PREFERENCE | {"features": 1}}, "learning.features: must be in [2, 64]"),
        ({"learning": PREFERENCE | {"ridge": 0}}, "learning.ridge: must be > 0"),
        ({"learning": PREFERENCE | {"max_pairs": 0}}, "learning.max_pairs: must be >= 1"),
        ({"learning": PREFERENCE | {"pair_share": 1.5}}, "learning.pair_share: must be"),
        ({"population": {"size": 400, "groups": [
            {"name": "a", "share": 0.5}, {"name": "b", "share": 0.5, "taste_angle": 30}]}},
         "population.groups.1.taste_angle: is only used by the preference learner"),
        ({"learning": PREFERENCE, "privacy": {"epsilon": 1.0}},
         "privacy: is not available for the preference learner"),
        ({"learning": PREFERENCE, "interventions": [{"at": 3, "delete": {"share": 0.5}}]},
         "interventions.0.delete: is available for the learning curve"),
        ({"firms": [{"name": "a"}, {"name": "b", "learning": {"beta": 2.0}}]},
         "firms.1.learning.beta: is only used by the preference learner"),
        ({"learning": PREFERENCE, "data": {"signals": [{"name": "dwell", "kind": "dwell"}]}},
         "learning.kind: the preference learner builds its pairs from thumbs signals"),
        ({"data": {"signals": [{"name": "copy", "kind": "copy"}]},
          "firms": [{"name": "a"}, {"name": "b", "learning": PREFERENCE}]},
         "firms.1.learning.kind: the preference learner builds its pairs from thumbs"),
    ],
)  # fmt: skip
def test_bad_preference_keys_are_named(raw, expected):
    assert expected in problems_of(SMALL | raw)


def test_a_firm_may_run_the_preference_learner_and_taste_angles_are_then_allowed():
    raw = SMALL | {
        "population": {"size": 400, "groups": [
            {"name": "a", "share": 0.7}, {"name": "b", "share": 0.3, "taste_angle": 45}]},
        "firms": [{"name": "thumbs"}, {"name": "pairs", "learning": PREFERENCE}],
    }  # fmt: skip
    assert load_scenario(raw).firm_sections(1)["learning"].kind == "preference"


def test_bad_preference_key_exits_2_from_the_command_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(SMALL | {"learning": {"max_pairs": 100}}))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "learning.max_pairs: is only used by the preference learner" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


# -- streams and columns -------------------------------------------------------------------


def test_pairs_draw_from_their_own_stream():
    """The curve (no curated data: e_0) and the preference learner (no pairs: a coin flip)
    both serve quality 1 - e_0 = 0.5 until the first retrained preference model goes live:
    until then users and the data pipeline draw exactly the same, because the pairs and
    their features come from a stream of their own."""
    curve = run(load_scenario(SMALL), seed=5).timeseries
    pairs = run(load_scenario(SMALL | {"learning": PREFERENCE}), seed=5).timeseries
    assert "preference_pairs" not in curve and pairs["preference_pairs"].iloc[-1] > 0
    same = curve.columns.intersection(pairs.columns)
    first_live = int(pairs.index[pairs["model_version"] > 0][0])
    assert first_live >= 4 and pairs["signals"].iloc[:first_live].sum() > 0
    assert curve[same].iloc[:first_live].equals(pairs[same].iloc[:first_live])
    # the live model's step itself: the users' draws came before it, so they still agree
    users = ["active_users", "signals", "wrong_signals", "kept_signals", "new_examples"]
    assert curve[users].iloc[: first_live + 1].equals(pairs[users].iloc[: first_live + 1])


def test_the_rlhf_scenario_shows_the_lead_and_the_minority_left_behind():
    """rlhf.yaml at 1,500 users for a year: the pairs firm's reward model beats the thumbs
    firm's learning curve for the majority and wins the market, while the minority (taste
    60 degrees away) is served far worse by the pooled reward model. A reward model along
    the majority's taste would give the minority 1 - 60/180 = 2/3 accuracy, quality
    0.5 + 0.45/3 = 0.65: the pooled fit leans only a little its way."""
    scenario = load_scenario(ROOT / "scenarios/rlhf.yaml",
                             overrides={"population.size": 1500, "steps": 52})  # fmt: skip
    final = run(scenario, seed=42).timeseries.iloc[-1]
    assert final["quality[rlhf/majority]"] > final["quality[thumbs]"] + 0.2
    assert final["market_share[rlhf]"] > 0.8
    assert 0.65 < final["quality[rlhf/minority]"] < final["quality[rlhf/majority]"] - 0.15


def test_pairs_come_from_the_thumbs_signals_only():
    """With typed signals, pairs form from the signals of kind thumbs only: many dwell
    signals and no thumbs give no pair; forbidding the thumbs signal stops new pairs."""
    signals = [{"name": "up_down", "kind": "thumbs", "rate": 0.3},
               {"name": "dwell", "kind": "dwell"}]  # fmt: skip
    raw = SMALL | {"learning": PREFERENCE, "data": {"signals": signals},
                   "reinvestment": {"data_half_life": None}}  # fmt: skip
    pairs = run(load_scenario(raw)).timeseries["preference_pairs"]
    assert pairs.iloc[-1] > 0
    forbidden = raw | {"interventions": [{"at": 10, "forbid": {"signal": "up_down"}}]}
    after = run(load_scenario(forbidden)).timeseries["preference_pairs"]
    assert after.iloc[9] == pairs.iloc[9]  # the same run until the forbid
    assert after.iloc[10:].nunique() == 1  # no new pair from week 10 on
    assert after.iloc[-1] < pairs.iloc[-1]

"""Takeoff: the first step from which data-driven quality gains and user growth reinforce
each other (docs/model.md, "Takeoff"); the word-of-mouth crossover has its own field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import run
from simulator.metrics import takeoff_step, word_of_mouth_step
from simulator.metrics.health import TAKEOFF_MIN_GAIN, window_steps

ROOT = Path(__file__).resolve().parents[1]


def loop(steps: int = 60, release: int = 10, gain: float = 0.05) -> pd.DataFrame:
    """A run whose first data-trained model goes live at ``release`` and users keep growing."""
    step = np.arange(steps + 1)
    live = step >= release
    return pd.DataFrame(
        {
            "step": step,
            "quality": np.where(live, 0.5 * (1 + gain) + 0.001 * (step - release), 0.5),
            "model_version": np.where(live, 1 + (step - release) // 4, 0),
            "active_users": 10 + 5 * step,
            "training_examples": 20.0 * step,
            "organic_adoptions": np.full(steps + 1, 3),
            "spontaneous_adoptions": np.full(steps + 1, 2),
        }
    )


def test_takeoff_is_the_first_release_that_keeps_the_loop_turning():
    assert takeoff_step(loop(release=10)) == 10
    assert takeoff_step(loop(release=17)) == 17


def test_no_takeoff_without_a_better_model():
    assert takeoff_step(loop().assign(quality=0.5, model_version=0)) is None
    # a model goes live but is not materially better than the cold-start one
    tiny = loop(gain=TAKEOFF_MIN_GAIN / 2).assign(quality=lambda t: t.quality.clip(upper=0.5024))
    assert takeoff_step(tiny) is None


def test_no_takeoff_while_users_shrink_or_data_stalls():
    ts = loop()
    assert takeoff_step(ts.assign(active_users=1000 - 5 * ts.step)) is None
    assert takeoff_step(ts.assign(training_examples=100.0)) is None


def test_a_quality_gain_must_last_a_quarter():
    ts = loop(release=10)
    dip = ts.step.between(15, 16)  # the gain lost for two weeks: takeoff waits for it
    later = takeoff_step(ts.assign(quality=ts.quality.where(~dip, 0.5)))
    assert later == 17


def test_synthetic_points_are_not_users_data():
    ts = loop().assign(training_set=20, synthetic_examples=20)
    assert takeoff_step(ts) is None
    assert takeoff_step(ts.assign(synthetic_examples=0, training_set=ts.step * 10)) == 10


def test_the_window_is_a_quarter_in_steps():
    assert window_steps(1.0) == 13 and window_steps(0.5) == 26 and window_steps(52) == 1
    short = loop(steps=12, release=2)
    assert takeoff_step(short) is None  # the quarter after any step lies beyond the run


def test_word_of_mouth_step_compares_running_totals():
    ts = loop()
    ts["organic_adoptions"] = [0, 2, 0, 0, 4, 4, *[4] * (len(ts) - 6)]
    ts["spontaneous_adoptions"] = [0, 3, 3, 3, 1, 1, *[1] * (len(ts) - 6)]
    # week 4 alone has more word of mouth (4 > 1), but the totals cross only at week 6
    assert word_of_mouth_step(ts) == 6


@pytest.fixture(scope="module")
def runs():
    overrides = {"population.size": 3000, "steps": 80}
    return {
        name: run(ROOT / "scenarios" / f"{name}.yaml", overrides=overrides, engine="array")
        for name in ("baseline", "data_hoarding", "model_collapse")
    }


def test_the_baseline_takes_off_and_the_hoarder_does_not(runs):
    base, hoard = runs["baseline"].summary, runs["data_hoarding"].summary
    assert base["takeoff_step"] is not None and 1 <= base["takeoff_step"] <= 26
    assert hoard["takeoff_step"] is None
    # the hoarder's word of mouth still overtakes marketing: that is not a takeoff
    assert hoard["word_of_mouth_step"] is not None


def test_a_model_trained_on_its_own_output_does_not_take_off(runs):
    assert runs["model_collapse"].summary["takeoff_step"] is None
    assert runs["model_collapse"].summary["word_of_mouth_step"] is not None

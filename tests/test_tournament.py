"""`flywheel tournament`: strategies played in situations, the table, the verdicts."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.experiment.tournament import (
    TournamentError,
    TournamentSpec,
    load_tournament,
    run_tournament,
    verdicts,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")


def tiny(**changes) -> dict:
    block = {
        "name": "tiny",
        "seed": 7,
        "replicates": 2,
        "overrides": {
            "population.size": 150,
            "steps": 16,
            "economics.price": 1.0,
            "reinvestment.ab_test": False,
        },
        "outcomes": ["final.moat", "final.active_users", "final.model_version"],
        "situations": {
            "slow": {
                "scenario": BASELINE,
                "recommended": "fast",
                "overrides": {"reinvestment.retrain_every": 8},
            },
            "private": {"scenario": BASELINE, "recommended": "private"},
        },  # fmt: skip
        "strategies": {
            "none": {},
            "fast": {"set": {"reinvestment.retrain_every": 1}},
            "private": {"missing": ["differential privacy"]},
        },
    }
    return {"tournament": block | changes}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_every_playable_strategy_in_every_situation_with_intervals(tmp_path):
    tournament = load_tournament(write(tmp_path, tiny()))
    assert tournament.played == ["none", "fast"] and tournament.n_runs == 2 * 2 * 2
    result = run_tournament(tournament, tmp_path / "out")
    table = result["table"]
    # 2 situations x 3 strategies x 3 outcomes, the unplayed strategy with n = 0
    assert len(table) == 2 * 3 * 3
    played = table[table["strategy"] != "private"]
    assert (played["n"] == 2).all() and played["ci_low"].le(played["mean"]).all()
    assert (table[table["strategy"] == "private"]["n"] == 0).all()
    runs = result["runs"]
    for (situation, strategy), group in runs.groupby(["situation", "strategy"]):
        row = table[(table["situation"] == situation) & (table["strategy"] == strategy)
                    & (table["outcome"] == "final.moat")].iloc[0]  # fmt: skip
        assert row["mean"] == pytest.approx(group["final.moat"].mean())
    # the bundle reached the runs: the slow situation retrains every 8 weeks without it
    slow = runs[runs["situation"] == "slow"].groupby("strategy")["final.model_version"]
    assert slow.max()["none"] <= 2 < 10 <= slow.min()["fast"]
    judged = result["verdicts"].set_index("situation")
    assert judged.loc["private", "verdict"] == "missing"
    assert judged.loc["private", "missing"] == "differential privacy"
    assert judged.loc["slow", "verdict"] in ("agrees", "disagrees")
    for name in ("table.csv", "verdicts.csv", "tournament.json", "tournament.png",
                 "tournament.svg"):  # fmt: skip
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "not played" in result["report"] and "differential privacy" in result["report"]


def test_same_file_same_table_and_a_rerun_resumes(tmp_path):
    path = write(tmp_path, tiny())
    first = run_tournament(load_tournament(path), tmp_path / "a")["table"]
    again = run_tournament(load_tournament(path), tmp_path / "a")  # resumes: nothing left to run
    other = run_tournament(load_tournament(path), tmp_path / "b", workers=2)["table"]
    pd.testing.assert_frame_equal(first, again["table"])
    pd.testing.assert_frame_equal(first, other)


def _table(rows):
    return pd.DataFrame(
        [
            {
                "situation": s,
                "strategy": k,
                "outcome": "final.moat",
                "n": 4,
                "mean": m,
                "std": 0.0,
                "ci_low": m - h,
                "ci_high": m + h,
            }
            for s, k, m, h in rows
        ]  # fmt: skip
    )


def test_verdicts_agree_when_the_recommended_is_best_or_tied_and_disagree_otherwise():
    spec = TournamentSpec.model_validate(
        {
            "situations": {
                "a": {"scenario": "x", "recommended": "good"},
                "b": {"scenario": "x", "recommended": "good"},
                "c": {"scenario": "x", "recommended": "good"},
                "d": {"scenario": "x"},
            },
            "strategies": {"good": {"set": {"steps": 1}}, "other": {}},
            "overrides": {},
        }
    )
    table = _table([
        ("a", "good", 0.10, 0.01), ("a", "other", 0.05, 0.01),   # best: agrees
        ("b", "good", 0.10, 0.02), ("b", "other", 0.12, 0.02),   # intervals overlap: agrees
        ("c", "good", 0.10, 0.01), ("c", "other", 0.20, 0.01),   # other wholly above: disagrees
        ("d", "good", 0.10, 0.01), ("d", "other", 0.20, 0.01),
    ])  # fmt: skip
    judged = verdicts(table, spec).set_index("situation")
    assert judged.loc["a", ["verdict", "best"]].tolist() == ["agrees", "good"]
    assert judged.loc["b", ["verdict", "best"]].tolist() == ["agrees", "other"]
    assert judged.loc["c", ["verdict", "best"]].tolist() == ["disagrees", "other"]
    assert math.isclose(judged.loc["c", "gap"], 0.10)
    assert judged.loc[["a", "b", "c"], "rank"].tolist() == [1, 2, 2]
    assert judged.loc["d", "verdict"] == "no recommendation"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"situations": {"s": {"scenario": BASELINE, "recommended": "nope"}}},
            "tournament.situations.s.recommended: names no strategy",
        ),
        (
            {"strategies": {"a": {}, "b": {"set": {"population.size": 10}}}},
            "tournament.strategies.b.set.population.size: is fixed for every situation",
        ),
        (
            {
                "strategies": {
                    "none": {},
                    "fast": {"set": {"reinvestment.retrain_evry": 1}},
                    "private": {"missing": ["dp"]},
                }
            },
            "did you mean 'reinvestment.retrain_every'",
        ),
        ({"situations": {"s": {"scenario": "missing.yaml"}}}, "missing.yaml"),
        ({"replicates": 1}, "tournament.replicates: must be >= 2"),
        ({"outcome": "final.users"}, "tournament.outcome: must be one of tournament.outcomes"),
        ({"colour": "red"}, "tournament.colour: unknown key"),
    ],
)
def test_bad_tournament_files_name_the_key(tmp_path, change, message):
    with pytest.raises(TournamentError) as info:
        load_tournament(write(tmp_path, tiny(**change)))
    assert message in str(info.value)


def test_cli_exits_2_on_a_bad_file_and_writes_nothing(tmp_path):
    path = write(tmp_path, tiny(replicates=1))
    result = CliRunner().invoke(app, ["tournament", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "replicates" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_the_shipped_decision_table_loads_with_every_situation_and_strategy():
    tournament = load_tournament(ROOT / "scenarios" / "tournaments" / "decision_table.yaml")
    spec = tournament.spec
    assert list(spec.situations) == ["cold_start", "growing", "scale", "sensitive",
                                     "specialised", "generic"]  # fmt: skip
    assert all(s.recommended in spec.strategies for s in spec.situations.values())
    # every strategy is played: each of its levers is a mechanism of the simulator
    assert tournament.played == list(spec.strategies)
    assert not any(strategy.missing for strategy in spec.strategies.values())
    growing = spec.strategies["growing"].set
    assert [s["kind"] for s in growing["data.signals"]] == ["thumbs", "dwell", "copy"]
    assert growing["reinvestment.deployment"]["policy"] == "ab_test"
    assert spec.strategies["scale"].set["learning.kind"] == "preference"
    assert spec.strategies["sensitive"].set["privacy"]["federated"] is True

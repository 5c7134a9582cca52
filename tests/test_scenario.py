"""Scenario schema: defaults, loading, error messages, overrides, interventions, round trips."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
import yaml

from simulator.errors import InputError
from simulator.scenario import (
    Problem,
    Report,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_keys,
    validate_file,
)

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "good" / "reference.yaml"
BAD_FILES = sorted((DATA / "bad").glob("*.yaml"))


def expectations(path: Path) -> list[str]:
    """The ``# expect: <text>`` lines at the top of a bad file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("# expect:", 1)[1].strip() for line in lines if line.startswith("# expect:")]


def problems_of(source, overrides=None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, overrides)
    return str(info.value)


# --- the baseline -------------------------------------------------------------------------


def test_reference_file_is_the_default_scenario():
    assert load_scenario(REFERENCE) == Scenario()
    assert validate_file(REFERENCE) == []


def test_baseline_file_is_the_default_scenario():
    """scenarios/baseline.yaml documents every default: it must load to ``Scenario()``,
    but for its ``report`` (its own key metrics and things to notice; none by default)."""
    baseline = load_scenario(Path(__file__).parents[1] / "scenarios" / "baseline.yaml")
    assert baseline.report.highlight and baseline.report.notice
    assert baseline.model_copy(update={"report": Report()}) == Scenario()


def test_every_reference_key_is_a_scenario_key():
    def leaves(node, prefix=""):
        if isinstance(node, dict) and node:
            for key, value in node.items():
                yield from leaves(value, f"{prefix}{key}.")
        elif isinstance(node, list) and node and prefix != "interventions.":
            for i, value in enumerate(node):
                yield from leaves(value, f"{prefix}{i}.")
        else:
            yield prefix[:-1]

    reference = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    keys = set(scenario_keys())
    assert set(leaves(reference)) <= keys
    assert {"population.activity_cv", "market.regulatory_barrier"} <= keys


def test_empty_mapping_is_the_baseline():
    assert load_scenario({}) == Scenario()


# --- bad files ----------------------------------------------------------------------------


def test_there_are_enough_bad_files():
    assert len(BAD_FILES) >= 15
    for path in BAD_FILES:
        assert expectations(path), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_file_is_rejected_with_key_and_line(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the unsafe-tag file would create its marker here
    message = problems_of(path)
    assert message.startswith(f"Invalid scenario {path}:")
    assert re.search(r"line \d+", message)
    for expected in expectations(path):
        assert expected in message
    assert not (tmp_path / "flywheel-unsafe-tag-marker").exists()


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_validate_file_returns_the_same_problems(path):
    problems = validate_file(path)
    assert problems
    assert all(isinstance(problem, Problem) and problem.file == str(path) for problem in problems)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == problems


def test_three_problems_are_listed_at_once():
    problems = validate_file(DATA / "bad" / "three_problems.yaml")
    assert [(p.key, p.line) for p in problems] == [
        ("adoption.innovation", 8),
        ("reinvestment.retrain_every", 10),
        ("churn.lock_in", 12),
    ]


def test_unsafe_tag_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = DATA / "bad" / "unsafe_tag.yaml"
    problems = validate_file(source)
    assert problems[0].line == 4
    assert "python/object/apply" in problems[0].message
    assert not (tmp_path / "flywheel-unsafe-tag-marker").exists()


def test_problem_formatting():
    problem = Problem("scenarios/x.yaml", 12, "adoption.innovation", "must be >= 0", "-0.1")
    assert str(problem) == "scenarios/x.yaml, line 12: adoption.innovation: must be >= 0; got -0.1"
    assert str(Problem(None, None, "seed", "must be >= 0", "-1")) == "seed: must be >= 0; got -1"


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert validate_file(missing) == [Problem(str(missing), None, "", "file not found")]
    with pytest.raises(InputError, match="file not found"):
        load_scenario(missing)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "got an empty file"), ("42\n", "got a int"), ("a: [1\n", "YAML syntax error")],
)
def test_unusual_files(tmp_path, text, expected):
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    assert expected in problems_of(path)


def test_unknown_key_without_close_match_has_no_suggestion():
    message = problems_of({"churn": {"zzzzzz": 1}})
    assert "churn.zzzzzz: unknown key" in message
    assert "did you mean" not in message


def test_exponent_notation_is_a_number(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("adoption:\n  innovation: 1e-3\n", encoding="utf-8")
    assert load_scenario(path).adoption.innovation == 0.001


def test_integers_are_accepted_for_floats_but_not_floats_for_integers():
    scenario = load_scenario({"churn": {"lock_in": 1}, "dt": 2})
    assert scenario.churn.lock_in == 1.0 and isinstance(scenario.churn.lock_in, float)
    assert "steps: must be an integer; got 10.0" in problems_of({"steps": 10.0})


def test_error_pickles():
    error = ScenarioError([Problem("x.yaml", 3, "seed", "must be >= 0", "-1")])
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


# --- network files ------------------------------------------------------------------------


def test_network_path_is_resolved_relative_to_the_scenario(tmp_path):
    (tmp_path / "graphs").mkdir()
    (tmp_path / "graphs" / "edges.csv").write_text("0,1\n", encoding="utf-8")
    scenario_file = tmp_path / "sc.yaml"
    scenario_file.write_text(
        "population: {size: 2}\nadoption: {initial_adopters: 1}\n"
        "network:\n  kind: file\n  path: graphs/edges.csv\n",
        encoding="utf-8",
    )
    scenario = load_scenario(scenario_file)
    assert scenario.network.path == str((tmp_path / "graphs" / "edges.csv").resolve())
    assert load_scenario(yaml.safe_load(scenario.to_yaml())) == scenario


# --- overrides ----------------------------------------------------------------------------


def test_overrides_are_applied_before_validation():
    scenario = load_scenario(REFERENCE, {"population.size": 2000, "reinvestment.retrain_every": 1})
    assert scenario.population.size == 2000
    assert scenario.reinvestment.retrain_every == 1


def test_override_groups_by_name_and_by_index():
    by_name = load_scenario(REFERENCE, {"population.groups.minority.label_noise": 0.3})
    by_index = load_scenario(REFERENCE, {"population.groups.1.label_noise": 0.3})
    assert by_name == by_index
    assert by_name.population.groups[1].label_noise == 0.3
    assert by_name.population.groups[0].label_noise == 0.1


def test_override_groups_when_the_file_has_none():
    scenario = load_scenario({"name": "x"}, {"population.groups.majority.activity": 5})
    assert [g.activity for g in scenario.population.groups] == [5.0, 3.0]


def test_invalid_override_value_names_the_key_without_a_file_line():
    with pytest.raises(ScenarioError) as info:
        load_scenario(REFERENCE, {"adoption.innovation": -1})
    [problem] = info.value.problems
    assert (problem.key, problem.line, problem.value) == ("adoption.innovation", None, "-1")
    assert "must be >= 0" in problem.message


def test_unknown_override_key_suggests():
    message = problems_of(REFERENCE, {"reinvestment.retrain_evry": 1})
    assert "did you mean 'reinvestment.retrain_every'?" in message
    assert "no group 'nobody'" in problems_of(REFERENCE, {"population.groups.nobody.share": 1})


def test_override_of_a_section_merges():
    scenario = load_scenario(REFERENCE, {"market.baseline": {"ceiling": 0.9}})
    assert scenario.market.baseline.ceiling == 0.9
    assert scenario.market.baseline.start == 0.5


def test_overrides_do_not_mutate_the_input():
    raw = {"population": {"size": 100, "groups": [{"name": "all", "share": 1.0}]}}
    load_scenario(raw, {"population.groups.all.activity": 1.0, "population.size": 50})
    assert raw == {"population": {"size": 100, "groups": [{"name": "all", "share": 1.0}]}}


def test_with_overrides():
    base = Scenario()
    changed = base.with_overrides(
        {
            "churn.lock_in": 0.9,
            "population.groups.majority.share": 0.5,
            "population.groups.minority.share": 0.5,
        }
    )
    assert changed.churn.lock_in == 0.9
    assert base.churn.lock_in == 0.5
    assert [g.share for g in changed.population.groups] == [0.5, 0.5]
    with pytest.raises(ScenarioError, match="population.groups: group shares must sum to 1"):
        base.with_overrides({"population.groups.0.share": 0.5})
    with pytest.raises(ScenarioError, match="did you mean 'churn.lock_in'"):
        base.with_overrides({"churn.lockin": 0.9})


# --- interventions ------------------------------------------------------------------------


def test_interventions_apply_cumulatively_in_time_order():
    changes = [
        {"at": 60, "set": {"learning.floor_error": 0.25}},
        {"at": 50, "set": {"learning.initial_error": 0.3}},
    ]
    scenario = load_scenario({"interventions": changes})
    later = scenario.with_overrides(changes[1]["set"]).with_overrides(changes[0]["set"])
    assert (later.learning.initial_error, later.learning.floor_error) == (0.3, 0.25)
    # At step 50 the initial error drops to 0.2, so the floor set at step 60 is too high,
    # although the list gives the step-60 change first.
    changes[1]["set"]["learning.initial_error"] = 0.2
    message = problems_of({"interventions": changes})
    assert "interventions.0.set.learning.floor_error: must be < learning.initial_error" in message


def test_intervention_on_a_group_by_name():
    scenario = load_scenario(
        {"interventions": [{"at": 5, "set": {"population.groups.minority.label_noise": 0.4}}]}
    )
    assert (
        scenario.with_overrides(scenario.interventions[0].set).population.groups[1].label_noise
        == 0.4
    )
    structural = {"interventions": [{"at": 5, "set": {"population.groups.minority.share": 0.4}}]}
    assert "interventions.0.set.population.groups.minority.share: is structural" in problems_of(
        structural
    )


@pytest.mark.parametrize("key", ["network.kind", "seed", "network", "population", "learning.kind"])
def test_structural_keys_are_refused(key):
    message = problems_of({"interventions": [{"at": 5, "set": {key: 1}}]})
    assert f"interventions.0.set.{key}: is structural" in message


def test_empty_intervention_is_refused():
    assert "interventions.0.set: must not be empty" in problems_of(
        {"interventions": [{"at": 1, "set": {}}]}
    )


# --- round trips and keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "network.kind": "watts_strogatz",
            "network.mean_degree": 4,
            "reinvestment.data_half_life": None,
        },
        {"market.regulatory_barrier": True, "population.activity_cv": 0.0},
        {"interventions": [{"at": 52, "set": {"reinvestment.retrain_every": 1}}]},
    ],
)
def test_yaml_round_trip(overrides):
    scenario = Scenario().with_overrides(overrides)
    assert load_scenario(yaml.safe_load(scenario.to_yaml())) == scenario
    assert load_scenario(scenario.to_dict()) == scenario


def test_scenario_is_frozen():
    with pytest.raises(ValueError, match="frozen"):
        Scenario().seed = 3  # type: ignore[misc]


def test_scenario_keys_can_all_be_overridden():
    keys = scenario_keys()
    assert "population.groups.1.label_noise" in keys and "interventions" in keys
    assert len(keys) == len(set(keys))
    defaults = Scenario().to_dict()
    for key in keys:
        value = defaults
        for part in key.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        assert Scenario().with_overrides({key: value}) == Scenario()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"population": None}, "population: must be a mapping of keys; got None"),
        ({"interventions": [{"set": {"churn.lock_in": 0.2}}]}, "interventions.0.at: is required"),
        ({"interventions": [{"at": 3, "set": {1: 2}}]}, "interventions.0.set.1: keys must be"),
        ({"adoption": {"innovation": float("nan")}}, "must be a finite number; got nan"),
        ({"population": {"groups": []}}, "population.groups: must not be empty"),
        ({"market": {"baseline": {"time_constant": 0}}}, "time_constant: must be > 0; got 0"),
        ({"learning": {"initial_error": 0}}, "learning.initial_error: must be in (0, 1]; got 0"),
    ],
)
def test_mapping_problems(raw, expected):
    assert expected in problems_of(raw)


def test_scenario_keys_follow_the_groups():
    three = Scenario().with_overrides(
        {"population.groups": [{"name": n, "share": 0.25 if n != "c" else 0.5} for n in "abc"]}
    )
    keys = scenario_keys(three)
    assert "population.groups.2.activity" in keys and "population.groups.3.name" not in keys

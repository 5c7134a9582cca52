"""Sweep files and designs: sizes, bounds, seeds, and bad input reported like scenarios."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.experiment import SweepError, load_experiment
from simulator.experiment.design import grid_design, plan_runs, run_seeds, sampled_design
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
TINY = {"population.size": 300, "steps": 20}


def write_sweep(tmp_path, sweep, name="sweep.yaml", extra=None):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**(extra or {}), "sweep": sweep}, sort_keys=False))
    return path


def sweep_block(**changes):
    block = {
        "scenario": BASELINE,
        "seed": 3,
        "overrides": dict(TINY),
        "parameters": {"reinvestment.retrain_every": {"values": [1, 4]}},
    }
    return block | changes


def problems(tmp_path, **changes):
    with pytest.raises(SweepError) as info:
        load_experiment(write_sweep(tmp_path, sweep_block(**changes)))
    return str(info.value)


# -- the shipped sweep files ------------------------------------------------------------


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_shipped_sweep_files_load(path):
    experiment = load_experiment(path)
    assert experiment.name == path.stem
    assert (
        experiment.n_runs
        == len(experiment.runs)
        == experiment.design.n_points * (experiment.replicates)
    )


def test_shipped_sweep_sizes():
    by_name = {path.stem: load_experiment(path) for path in SWEEPS}
    grid = by_name["reinvestment_x_density"]
    assert grid.design.kind == "grid" and grid.n_runs == 6 * 6 * 3
    assert grid.scenario.population.size == 10_000 and grid.scenario.steps == 104
    assert grid.scenario.engine == "array"
    bias = by_name["bias_transfer"]
    assert bias.design.parameters["learning.transfer"]["values"] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert bias.scenario.name == "bias_amplification"
    sobol = by_name["sensitivity"]
    assert sobol.design.kind == "sobol" and len(sobol.design.names) == 5
    assert sobol.design.n_points == 64 * (5 + 2)
    assert sobol.design.problem["names"] == sobol.design.names


# -- designs ----------------------------------------------------------------------------


def test_grid_is_the_full_product_first_parameter_slowest():
    design = grid_design({"a": [1, 2], "b": [0.1, 0.2, 0.3]})
    assert design.n_points == 6 and design.problem is None
    assert design.points[:4] == [
        {"a": 1, "b": 0.1},
        {"a": 1, "b": 0.2},
        {"a": 1, "b": 0.3},
        {"a": 2, "b": 0.1},
    ]


BOUNDS = {"x": (0.0, 1.0), "n": (1, 26), "y": (-3.0, 5.0)}


@pytest.mark.parametrize(
    ("kind", "samples", "options", "size"),
    [
        ("lhs", 50, {}, 50),
        ("sobol", 16, {}, 16 * (3 + 2)),
        ("sobol", 16, {"second_order": True}, 16 * (2 * 3 + 2)),
        ("morris", 10, {}, 10 * (3 + 1)),
        ("morris", 10, {"levels": 6}, 10 * (3 + 1)),
    ],
)
def test_sampled_design_sizes_bounds_and_integer_rounding(kind, samples, options, size):
    design = sampled_design(kind, BOUNDS, samples, root_seed=5, integer={"n"}, **options)
    assert design.n_points == size == design.matrix.shape[0]
    assert design.problem == {
        "num_vars": 3,
        "names": ["x", "n", "y"],
        "bounds": [[0.0, 1.0], [1, 26], [-3.0, 5.0]],
    }
    for name, (low, high) in BOUNDS.items():
        values = np.array([point[name] for point in design.points])
        assert values.min() >= low and values.max() <= high
    assert all(isinstance(point["n"], int) for point in design.points)
    assert all(isinstance(point["x"], float) for point in design.points)
    # the raw matrix is kept; rounding only touches integer keys
    assert [point["n"] for point in design.points] == list(np.rint(design.matrix[:, 1]).astype(int))
    np.testing.assert_array_equal([point["x"] for point in design.points], design.matrix[:, 0])
    again = sampled_design(kind, BOUNDS, samples, root_seed=5, integer={"n"}, **options)
    assert again.points == design.points
    other = sampled_design(kind, BOUNDS, samples, root_seed=6, integer={"n"}, **options)
    assert other.points != design.points


def test_lhs_puts_one_point_in_each_stratum():
    design = sampled_design("lhs", {"x": (0.0, 10.0), "y": (0.0, 1.0)}, 20, root_seed=1)
    for column, width in zip(design.matrix.T, (10.0, 1.0), strict=True):
        strata = np.floor(column / width * 20).astype(int)
        assert sorted(strata) == list(range(20))


def test_sobol_design_matches_salib_sample():
    from SALib.sample import sobol

    design = sampled_design("sobol", {"x": (0.0, 1.0), "y": (2.0, 4.0)}, 8, root_seed=9)
    seed = int(np.random.SeedSequence([9, 1]).generate_state(1, dtype=np.uint32)[0])
    expected = sobol.sample(design.problem, 8, calc_second_order=False, seed=seed)
    np.testing.assert_array_equal(design.matrix, expected)


# -- seeds ------------------------------------------------------------------------------


def test_run_seeds_are_spawned_from_the_root_seed():
    children = np.random.SeedSequence(2026).spawn(12)
    expected = [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]
    assert run_seeds(2026, 12) == expected
    assert len(set(expected)) == 12
    assert run_seeds(2026, 20)[:12] == expected  # a run's seed does not depend on the total
    assert run_seeds(2027, 12) != expected


def test_run_plan_order_ids_and_seeds():
    design = grid_design({"a": [1, 2, 3]})
    runs = plan_runs(design, replicates=4, root_seed=11)
    assert [run.run_id for run in runs] == list(range(12))
    assert all(run.run_id == run.point * 4 + run.replicate for run in runs)
    assert [run.seed for run in runs] == run_seeds(11, 12)
    assert runs[5].values == {"a": 2}


def test_sweep_in_a_file_gives_the_same_runs_every_time(tmp_path):
    block = sweep_block(
        design="lhs", samples=8, parameters={"learning.transfer": {"min": 0, "max": 1}}
    )
    first = load_experiment(write_sweep(tmp_path, block))
    second = load_experiment(write_sweep(tmp_path, block, name="again.yaml"))
    assert first.runs == second.runs and first.hash == second.hash


# -- the format ---------------------------------------------------------------------------


def test_first_step_last_ranges():
    path = ROOT / "scenarios/sweeps/reinvestment_x_density.yaml"
    experiment = load_experiment(path)
    assert experiment.design.parameters["network.mean_degree"] == {"values": [2, 4, 6, 8, 10, 12]}


def test_sweep_block_inside_a_scenario_file(tmp_path):
    scenario = yaml.safe_load(Path(BASELINE).read_text())
    scenario["population"]["size"] = 300
    block = {"parameters": {"learning.transfer": {"values": [0.1, 0.9]}}, "replicates": 2}
    experiment = load_experiment(write_sweep(tmp_path, block, name="inline.yaml", extra=scenario))
    assert experiment.scenario.population.size == 300 and experiment.n_runs == 4
    assert experiment.name == "inline"


def test_mapping_source_and_defaults():
    experiment = load_experiment({"sweep": sweep_block()})
    assert experiment.name == "sweep" and experiment.spec.design == "grid"
    assert experiment.outcomes == ["final.moat", "final.active_users", "takeoff_step",
                                   "defensibility.score"]  # fmt: skip


def test_integer_parameter_is_rounded_in_sampled_designs(tmp_path):
    block = sweep_block(
        design="lhs", samples=10, parameters={"reinvestment.retrain_every": {"min": 1, "max": 26}}
    )
    experiment = load_experiment(write_sweep(tmp_path, block))
    values = [run.values["reinvestment.retrain_every"] for run in experiment.runs]
    assert all(isinstance(v, int) and 1 <= v <= 26 for v in values)


# -- bad input: every problem at once, with the file and line ---------------------------


def test_unknown_parameter_key_with_did_you_mean_and_line(tmp_path):
    text = problems(tmp_path, parameters={"reinvestment.retrain_evry": {"values": [1, 2]}})
    assert "line" in text and "reinvestment.retrain_evry" in text
    assert "did you mean 'reinvestment.retrain_every'" in text


def test_unknown_sweep_key_with_did_you_mean(tmp_path):
    text = problems(tmp_path, replicate=3)
    assert "sweep.replicate: unknown key; did you mean 'replicates'" in text


def test_unknown_key_inside_a_parameter(tmp_path):
    text = problems(tmp_path, parameters={"learning.transfer": {"valuse": [0.1]}})
    assert "unknown key" in text and "valuse" in text


def test_grid_needs_values_and_sampled_designs_need_bounds(tmp_path):
    assert "design grid needs values" in problems(
        tmp_path, parameters={"learning.transfer": {"min": 0, "max": 1}}
    )
    text = problems(tmp_path, design="lhs", samples=8)
    assert "give min/max, not values" in text


def test_design_option_rules(tmp_path):
    bounds = {"learning.transfer": {"min": 0, "max": 1}}
    assert "power of 2" in problems(tmp_path, design="sobol", samples=10, parameters=bounds)
    assert "is required for design lhs" in problems(tmp_path, design="lhs", parameters=bounds)
    assert "is for lhs, sobol and morris" in problems(tmp_path, samples=8)
    assert "for design morris only" in problems(tmp_path, levels=4)
    text = problems(
        tmp_path, design="lhs", samples=4, parameters={"network.kind": {"min": 0, "max": 1}}
    )
    assert "is not a number" in text


def test_bad_ranges(tmp_path):
    assert "whole number of steps" in problems(
        tmp_path, parameters={"learning.transfer": {"first": 0, "step": 0.3, "last": 1}}
    )
    assert "must not be 0" in problems(
        tmp_path, parameters={"learning.transfer": {"first": 0, "step": 0, "last": 1}}
    )
    assert "must be > min" in problems(
        tmp_path, design="lhs", samples=4, parameters={"learning.transfer": {"min": 1, "max": 0}}
    )
    assert "give exactly one of" in problems(
        tmp_path, parameters={"learning.transfer": {"values": [0.1], "min": 0, "max": 1}}
    )


def test_every_invalid_design_point_is_reported_with_its_values(tmp_path):
    text = problems(
        tmp_path,
        parameters={
            "network.mean_degree": {"values": [4, 400, 500]},
            "learning.transfer": {"values": [0.5, 2.0]},
        },
    )
    assert "design point 2 (network.mean_degree=400, learning.transfer=0.5)" in text
    assert "must be < population.size (300)" in text
    assert "design point 1 (network.mean_degree=4, learning.transfer=2.0)" in text
    assert "learning.transfer: must be in [0, 1]" in text


def test_bad_overrides_point_at_the_sweep_file(tmp_path):
    text = problems(tmp_path, overrides={"population.size": -1, "adoption.imitaton": 0.1})
    assert "sweep.yaml, line" in text
    assert "population.size: must be >= 1" in text
    assert "did you mean 'adoption.imitation'" in text


def test_seed_cannot_be_swept_or_fixed(tmp_path):
    assert "spawned from sweep.seed" in problems(tmp_path, overrides={"seed": 3})


def test_bad_outcomes(tmp_path):
    text = problems(tmp_path, outcomes={"summary": ["final.mote", "defensibility", "runtime_s"]})
    assert "did you mean 'final.moat'" in text
    assert "is a group of values" in text
    assert "measures the machine" in text
    text = problems(tmp_path, outcomes={"timeseries": {"every": 2, "columns": ["moats"]}})
    assert "did you mean 'moat'" in text


def test_missing_scenario_and_bad_scenario_file(tmp_path):
    text = problems(tmp_path, scenario=None)
    assert "sweep.scenario: is required" in text
    with pytest.raises(ScenarioError, match="file not found"):
        load_experiment(write_sweep(tmp_path, sweep_block(scenario="nowhere.yaml")))


def test_yaml_errors_and_missing_block(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sweep:\n  seed: [1, 2\n")
    with pytest.raises(SweepError, match="line"):
        load_experiment(bad)
    with pytest.raises(SweepError, match="needs a `sweep:` mapping"):
        load_experiment(write_sweep(tmp_path, None))


def test_cli_exits_2_on_a_bad_sweep_and_writes_nothing(tmp_path):
    path = write_sweep(tmp_path, sweep_block(replicates=0))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert "sweep.replicates: must be >= 1" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_replicates_only_sweep_for_seed_robustness():
    experiment = load_experiment({"sweep": {"scenario": BASELINE, "replicates": 5,
                                            "overrides": TINY}})  # fmt: skip
    assert experiment.design.n_points == 1 and experiment.n_runs == 5
    assert len({run.seed for run in experiment.runs}) == 5
    with pytest.raises(SweepError, match="needs parameters to vary"):
        load_experiment({"sweep": {"scenario": BASELINE, "design": "lhs", "samples": 4}})


def test_problems_of_an_inline_scenario_have_their_lines(tmp_path):
    path = tmp_path / "inline.yaml"
    path.write_text(
        "name: inline\npopulation:\n  size: -5\nsweep:\n"
        "  parameters:\n    learning.transfer: {values: [0.1]}\n"
    )
    with pytest.raises(ScenarioError, match=r"inline.yaml, line 3: population.size: must be >= 1"):
        load_experiment(path)


def test_out_folder_that_is_not_a_sweep_is_refused(tmp_path):
    path = write_sweep(tmp_path, sweep_block())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "busy")])
    assert result.exit_code == 2 and "not a sweep's results folder" in result.output
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]


# -- variants: named bundles of overrides ---------------------------------------------------


def test_variants_cross_the_grid_and_expand_into_each_runs_overrides(tmp_path):
    from simulator.experiment.loader import expand

    variants = {"tactic": {"none": {}, "bought": {"cold_start.acquisition.examples": 500}}}
    experiment = load_experiment(write_sweep(tmp_path, sweep_block(variants=variants)))
    assert experiment.n_runs == 4  # 2 retrain values x 2 tactics x 1 replicate
    points = experiment.design.points
    assert sorted((p["reinvestment.retrain_every"], p["tactic"]) for p in points) == [
        (1, "bought"),
        (1, "none"),
        (4, "bought"),
        (4, "none"),
    ]
    bought = next(p for p in points if p["tactic"] == "bought")
    assert expand(bought, variants) == {
        "reinvestment.retrain_every": bought["reinvestment.retrain_every"],
        "cold_start.acquisition.examples": 500,
    }


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        ({"tactic": {}}, "needs at least one level"),
        ({"reinvestment.retrain_every": {"a": {}}}, "names must use only lowercase letters"),
        ({"tactic": {"bad": {"cold_start.acquisition.examples": -1}}}, "examples"),
        ({"tactic": {"typo": {"cold_start.aquisition.examples": 1}}}, "cold_start.aquisition"),
    ],
)
def test_bad_variants_are_reported_with_their_keys(tmp_path, variants, message):
    assert message in problems(tmp_path, variants=variants)


def test_a_variant_named_like_a_parameter_is_refused(tmp_path):
    block = sweep_block(parameters={"steps": {"values": [10, 20]}},
                        variants={"steps": {"short": {}}})  # fmt: skip
    with pytest.raises(SweepError, match="is also a parameter"):
        load_experiment(write_sweep(tmp_path, block))


def test_variants_need_a_grid(tmp_path):
    block = sweep_block(design="lhs", samples=4, variants={"tactic": {"none": {}}},
                        parameters={"learning.transfer": {"min": 0, "max": 1}})  # fmt: skip
    with pytest.raises(SweepError, match="variants are levels of a grid"):
        load_experiment(write_sweep(tmp_path, block))


def test_the_cold_start_sweep_has_one_level_per_tactic():
    experiment = load_experiment(ROOT / "scenarios/sweeps/cold_start_tactics.yaml")
    tactics = experiment.spec.variants["tactic"]
    assert list(tactics) == ["none", "curation", "synthetic", "open_data", "acquisition",
                             "lighthouse", "free_tier"]  # fmt: skip
    assert experiment.n_runs == 7 * 8

"""The course helpers (``simulator.lessons``): sizes, running and comparing at a lesson's
size, predictions and their reveal, tables over seeds, figures and exports, the
instructor's notes and notebook outputs. The notebooks themselves: tests/test_course.py.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator import InputError, lessons
from simulator.lessons import Lesson

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "notebooks" / "course"


@pytest.fixture
def lesson(tmp_path, monkeypatch) -> Lesson:
    monkeypatch.setenv(lessons.OUT_VARIABLE, str(tmp_path))
    return Lesson("00_test", size="test")


# -- sizes --------------------------------------------------------------------------------


def test_the_size_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(lessons.SIZE_VARIABLE, raising=False)
    assert lessons.lesson_size().name == "classroom"
    monkeypatch.setenv(lessons.SIZE_VARIABLE, "test")
    assert lessons.lesson_size().name == "test"
    monkeypatch.setenv(lessons.SIZE_VARIABLE, " Classroom ")
    assert lessons.lesson_size().name == "classroom"


def test_an_unknown_size_is_refused_with_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv(lessons.SIZE_VARIABLE, "huge")
    with pytest.raises(InputError, match=r"FLYWHEEL_LESSON_SIZE: must be one of classroom, test"):
        lessons.lesson_size()


def test_test_size_caps_seeds_and_population_classroom_size_keeps_them():
    test, classroom = lessons.SIZES["test"], lessons.SIZES["classroom"]
    assert test.seeds(5) == lessons.TEST_SEEDS and test.seeds(1) == 1
    assert classroom.seeds(5) == 5
    assert test.overrides() == {"population.size": lessons.TEST_POPULATION}
    assert classroom.overrides() == {}
    with pytest.raises(InputError, match="seeds"):
        classroom.seeds(0)


def test_a_lesson_s_scenario_is_shrunk_at_test_size_only(tmp_path, monkeypatch):
    monkeypatch.setenv(lessons.OUT_VARIABLE, str(tmp_path))
    small = Lesson("00_test", size="test").scenario("incumbent_vs_entrant")
    full = Lesson("00_test", size="classroom").scenario("incumbent_vs_entrant")
    assert small.population.size == lessons.TEST_POPULATION
    assert full.population.size == 5000
    assert small.steps == full.steps == 208  # the story's weeks are kept: entry at week 52


# -- finding and running scenarios -----------------------------------------------------------


def test_scenarios_are_found_by_name_file_or_sweep_path():
    assert lessons.scenario_path("baseline") == ROOT / "scenarios" / "baseline.yaml"
    assert lessons.scenario_path("baseline.yaml") == ROOT / "scenarios" / "baseline.yaml"
    sweep = lessons.scenario_path("sweeps/entrant_phase.yaml")
    assert sweep == ROOT / "scenarios" / "sweeps" / "entrant_phase.yaml"
    with pytest.raises(InputError, match=r"'basline'.*known: .*baseline"):
        lessons.scenario_path("basline")


def test_the_project_root_is_found_from_a_notebook_folder():
    assert lessons.project_root(COURSE) == ROOT
    assert lessons.project_root(ROOT / "notebooks") == ROOT


def test_a_run_has_the_lesson_s_population_and_is_labelled_by_its_overrides(lesson):
    result = lesson.run("baseline", {"reinvestment.rate": 0.0}, seed=3)
    assert result.summary["population"] == lessons.TEST_POPULATION
    assert result.summary["seed"] == 3
    assert result.summary["overrides"] == {"reinvestment.rate": 0.0}
    assert (result.timeseries["training_examples"] == 0).all()  # the override took effect


def test_compare_runs_paired_variants_with_capped_seeds(lesson):
    comparison = lesson.compare(
        {"whole loop": "baseline", "hoarding": ("baseline", {"reinvestment.rate": 0.0})},
        seeds=5,
    )
    assert [one.label for one in comparison.runs] == ["whole loop", "hoarding"]
    assert [one.seeds for one in comparison.runs] == [[42, 43], [42, 43]]  # paired, capped
    assert f"population.size={lessons.TEST_POPULATION}" in comparison.note
    hoarding = comparison.runs[1]
    assert all((ts["training_examples"] == 0).all() for ts in hoarding.timeseries)
    assert comparison.figure.axes  # drawn by compare_runs


def test_overrides_a_lesson_cannot_pass_are_refused(lesson):
    with pytest.raises(InputError, match="single value"):
        lesson.compare({"x": ("baseline", {"population.groups": [1, 2]})})
    with pytest.raises(InputError, match="comma"):
        lesson.compare({"x": ("baseline", {"name": "a,b"})})
    with pytest.raises(InputError, match="at least one run"):
        lesson.compare({})


def test_a_lesson_name_must_be_a_folder_name(tmp_path, monkeypatch):
    monkeypatch.setenv(lessons.OUT_VARIABLE, str(tmp_path))
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(InputError, match="lesson name"):
            Lesson(bad)


# -- predictions ----------------------------------------------------------------------------


def test_a_prediction_is_recorded_and_revealed_against_the_result(lesson, capsys):
    prediction = lesson.predict("the takeoff week", 20, "week", class_guesses=[5, 10, 30])
    assert "week 20" in capsys.readouterr().out
    fig = lesson.reveal(prediction, 17)
    out = capsys.readouterr().out
    assert "the simulation gave week 17" in out
    assert "You predicted week 20: 3 above" in out
    assert "median guess was week 10; 2 of 3 guessed lower" in out
    saved = json.loads((lesson.folder / "predictions.json").read_text())
    assert saved == [
        {"question": "the takeoff week", "unit": "week", "guess": 20.0,
         "class_guesses": [5.0, 10.0, 30.0], "result": 17.0}
    ]  # fmt: skip
    texts = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "your guess: 20" in texts and "the simulation: 17" in texts


def test_large_results_read_as_counts_not_in_scientific_notation(lesson, capsys):
    lesson.reveal(lesson.predict("users after three years", 2500, "users"), 1173.4)
    out = capsys.readouterr().out
    assert "gave 1,173 users" in out and "You predicted 2,500 users: 1,327 above" in out


def test_asking_again_replaces_the_earlier_guess(lesson):
    lesson.predict("moat", 0.1)
    lesson.predict("moat", 0.2)
    lesson.predict("users", 1000)
    assert [(p.question, p.guess) for p in lesson.predictions] == [("moat", 0.2), ("users", 1000)]


def test_no_guess_yet_still_reveals_the_result(lesson, capsys):
    prediction = lesson.predict("the moat", None)
    assert "none yet" in capsys.readouterr().out
    lesson.reveal(prediction, 0.13)
    assert "the simulation gave 0.13" in capsys.readouterr().out
    never = lesson.predict("the takeoff week", None, "week")
    lesson.reveal(never, None)
    assert "gave never" in capsys.readouterr().out


def test_a_guess_that_is_not_a_number_or_a_curve_is_refused(lesson):
    for bad in ("twenty", True, float("nan"), {"a": "b"}):
        with pytest.raises(InputError, match="prediction"):
            lesson.predict("the moat", bad)


def test_a_sketched_curve_is_drawn_against_the_run(lesson):
    prediction = lesson.predict("users", {0: 10, 52: 3000, 156: 4000}, "users")
    assert prediction.is_curve and "week 52: 3,000" in prediction.text()
    result = lesson.run("baseline")
    with pytest.raises(InputError, match="timeseries"):
        lesson.reveal(prediction)
    fig = lesson.reveal(prediction, timeseries=result.timeseries, column="active_users")
    sketch = [line for line in fig.axes[0].lines if line.get_label() == "your sketch"][0]
    assert list(sketch.get_xdata()) == [0.0, 52.0, 156.0]
    assert prediction.result == result.timeseries["active_users"].iloc[-1]
    unsketched = lesson.predict("users", None, "users")
    fig = lesson.reveal(unsketched, timeseries=result.timeseries, column="active_users")
    assert [line.get_label() for line in fig.axes[0].lines] == ["the simulation: active users"]


# -- tables over seeds --------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    return Lesson("00_table", size="test").compare(
        {"loop": "baseline", "hoard": ("baseline", {"reinvestment.rate": 0.0})}, seeds=2
    )


def test_per_seed_reads_summary_fields_final_values_weeks_and_spans(comparison):
    table = lessons.per_seed(
        comparison, ["final.moat", "moat", "moat@52", "moat@0-26", "takeoff_step", "nothing"]
    )
    assert len(table) == 4 and list(table["seed"]) == [42, 43, 42, 43]
    ts = comparison.runs[0].timeseries[1]
    row = table.iloc[1]
    assert row["final.moat"] == row["moat"] == pytest.approx(ts["moat"].iloc[-1])
    assert row["moat@52"] == pytest.approx(ts.loc[ts["time"] == 52, "moat"].iloc[0])
    assert row["moat@0-26"] == pytest.approx(ts["moat"].iloc[:27].mean())
    assert table["nothing"].isna().all()
    assert table.loc[2:, "takeoff_step"].isna().all()  # the hoarder never takes off
    with pytest.raises(InputError, match="moat@52"):
        lessons.per_seed(comparison, ["moat@late"])
    with pytest.raises(InputError, match="no week"):
        lessons.per_seed(comparison, ["moat@500"])


def test_final_numbers_reads_like_a_handout(comparison):
    table = lessons.final_numbers(comparison, ["takeoff_step", "final.training_examples"])
    assert list(table.columns) == ["loop", "hoard"]
    assert table.loc["takeoff", "hoard"] == "never"
    assert re.fullmatch(r"week \d+( \[week \d+ to week \d+\])?", table.loc["takeoff", "loop"])
    assert table.loc["training data used at the end", "hoard"] == "0"
    assert lessons.field_label("moat@0-26") == "moat, weeks 0–26 (mean)"
    assert lessons.field_label("moat@52") == "moat at week 52"


def test_means_average_each_run_over_its_seeds(comparison):
    moats = lessons.means(comparison, "final.moat")
    table = lessons.per_seed(comparison, ["final.moat"])
    assert list(moats) == ["loop", "hoard"]
    assert moats["loop"] == pytest.approx(table.loc[table["run"] == "loop", "final.moat"].mean())
    assert moats["hoard"] < 0 < moats["loop"]
    takeoff = lessons.means(comparison, "takeoff_step")
    assert math.isnan(takeoff["hoard"]) and takeoff["loop"] >= 1
    with pytest.raises(InputError, match="not a number"):
        lessons.means(comparison, "scenario")


def test_final_numbers_counts_categories_and_formats_steps_inside_sections(lesson):
    market = lesson.compare({"entry": "incumbent_vs_entrant"}, seeds=2)
    table = lessons.final_numbers(market, ["market.winner", "market.catch_up_step.entrant"])
    winner = table.loc["the firm with the largest final share", "entry"]
    assert re.fullmatch(r"(entrant|incumbent) \(\d of 2\)(, \w+ \(\d of 2\))?", winner)
    assert table.iloc[1, 0].startswith(("week", "never"))
    counts = lessons.how_often(market, "market.winner", "entrant")
    assert re.fullmatch(r"\d of 2 seeds", counts["entry"])


# -- figures and exports --------------------------------------------------------------------


def test_save_writes_png_and_svg_into_the_lesson_folder(tmp_path, monkeypatch, comparison):
    monkeypatch.setenv(lessons.OUT_VARIABLE, str(tmp_path))
    lesson = Lesson("00_slides", size="classroom")
    paths = lesson.save(comparison.figure, "moat")
    assert paths._ipython_display_() is None  # a notebook does not echo the list
    assert [p.name for p in paths] == ["moat.png", "moat.svg"]
    assert all(p.parent == lesson.folder and p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in paths[1].read_bytes()[:1000]
    with pytest.raises(InputError, match="file name"):
        lesson.save(comparison.figure, "../moat")


def test_at_test_size_a_lesson_saves_a_small_png_only(lesson, comparison):
    from PIL import Image

    (png,) = lesson.save(comparison.figure, "moat")
    assert png.name == "moat.png" and not (lesson.folder / "moat.svg").exists()
    slide = Lesson("00_slides", size="classroom")
    width = Image.open(png).size[0]
    assert width == round(comparison.figure.get_figwidth() * lessons.TEST_DPI)
    assert slide.size.dpi is None and slide.size.formats == ("png", "svg")


def test_compare_metric_draws_the_mean_of_a_compared_run_and_the_reference(comparison):
    fig = lessons.compare_metric(lessons.runs_of(comparison), "moat", "Moat", reference=0.0)
    ax = fig.axes[0]
    loop = [line for line in ax.lines if line.get_label() == "loop"][0]
    expected = np.mean([ts["moat"].to_numpy() for ts in comparison.runs[0].timeseries], axis=0)
    assert np.allclose(loop.get_ydata(), expected)
    assert ax.get_title() == "" and fig.get_suptitle() == "Moat"
    assert any(line.get_ydata()[0] == 0.0 for line in ax.lines if line.get_label() != "loop")


def test_the_grid_outlines_each_row_s_best_even_when_lower_is_better():
    values = pd.DataFrame({"a": [1.0, 5.0], "b": [3.0, 2.0]}, index=["r1", "r2"])
    fig = lessons.grid_figure(values, "Grid", row_notes={"r1": "users"})
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["r1\n(users)", "r2"]
    bold = [t.get_text() for t in fig.axes[0].texts if t.get_fontweight() == "bold"]
    assert bold == ["+3.000", "+5.000"]
    fig = lessons.grid_figure(values, "Grid", higher_is_better=False)
    bold = [t.get_text() for t in fig.axes[0].texts if t.get_fontweight() == "bold"]
    assert bold == ["+1.000", "+2.000"]


def test_a_mystery_card_does_not_give_the_answer_away(lesson):
    result = lesson.run("data_hoarding")
    fig = lessons.mystery_card(result, "C")
    from matplotlib.text import Text

    text = " ".join(t.get_text() for t in fig.findobj(Text)).lower()
    assert "mystery c" in text
    assert "hoard" not in text and "reinvestment" not in text and "scenario" not in text


def test_bars_mark_negative_values_for_greyscale():
    fig = lessons.bars({"up": 0.1, "down": -0.2}, "Moats", "moat", reference=0)
    patches = fig.axes[0].patches
    assert [p.get_hatch() for p in patches] == ["//", None]  # drawn bottom-up: down, then up
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["down", "up"]


def test_a_lesson_sweep_shrinks_at_test_size(lesson):
    result = lesson.sweep(
        "sweeps/entrant_phase.yaml",
        {"firms.entrant.enters_at": [26, 78, 130], "firms.entrant.reinvestment.retrain_every": [1]},
        replicates=3,
    )
    runs = result.runs()
    assert sorted(runs["firms.entrant.enters_at"].unique()) == [26, 130]  # first and last
    assert len(runs) == 2 * lessons.TEST_SEEDS and (runs["status"] == "ok").all()
    assert result.path == lesson.folder / "sweep_entrant_phase"
    again = lesson.sweep(
        "sweeps/entrant_phase.yaml",
        {"firms.entrant.enters_at": [26, 78, 130], "firms.entrant.reinvestment.retrain_every": [1]},
        replicates=3,
    )
    assert again.executed == 0  # a second run of the cell reuses the finished runs


# -- notebooks: instructor's notes and outputs ------------------------------------------------


def _notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_the_student_version_drops_instructor_cells_and_outputs(tmp_path):
    notebook = _notebook([
        {"cell_type": "markdown", "metadata": {}, "source": ["# Lesson"]},
        {"cell_type": "markdown", "metadata": {"tags": ["instructor"]}, "source": ["answer"]},
        {"cell_type": "code", "metadata": {}, "source": ["1"], "execution_count": 3,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1"]}]},
    ])  # fmt: skip
    student = lessons.student_version(notebook)
    assert [c["source"] for c in student["cells"]] == [["# Lesson"], ["1"]]
    assert student["cells"][1]["outputs"] == [] and student["cells"][1]["execution_count"] is None
    assert len(notebook["cells"]) == 3  # the original is left alone
    path = tmp_path / "lesson.ipynb"
    lessons.write_notebook(notebook, path)
    assert lessons.main(["check", str(path)]) == 1
    assert lessons.main(["student", str(path), "--out", str(tmp_path / "out")]) == 0
    written = lessons.read_notebook(tmp_path / "out" / "lesson.ipynb")
    assert not any(lessons.is_instructor_cell(c) for c in written["cells"])
    assert lessons.main(["strip", str(path)]) == 0
    assert lessons.main(["check", str(path)]) == 0
    assert len(lessons.read_notebook(path)["cells"]) == 3  # strip keeps the notes
    assert lessons.main(["check", str(tmp_path / "missing.ipynb")]) == 2


def test_a_test_run_exports_beside_the_classroom_s_figures(monkeypatch):
    monkeypatch.delenv(lessons.OUT_VARIABLE, raising=False)
    assert Lesson("07_x", size="classroom").folder == ROOT / "results" / "lessons" / "07_x"
    assert Lesson("07_x", size="test").folder == ROOT / "results" / "lessons-test" / "07_x"

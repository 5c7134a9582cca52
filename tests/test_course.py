"""The course's notebooks (``notebooks/course/``) as teaching material: enough lessons, each
with the template's sections, its helpers from the package, an exercise whose answer only
the instructor's version keeps, figures exported, no outputs committed, and a place in the
instructor's guide. Executing them is nbmake's job (``make test``, at test size)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator import lessons

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "notebooks" / "course"
GUIDE = ROOT / "docs" / "course.md"
NOTEBOOKS = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))

#: Every lesson's sections, in the template's order (the heading's words).
SECTIONS = ["Predict first", "What to notice", "Things to try", "Exercise", "Debrief"]


def _text(cells, kind=None) -> str:
    return "\n".join("".join(c["source"]) for c in cells if kind is None or c["cell_type"] == kind)


def test_the_course_has_at_least_ten_lessons_numbered_in_order():
    assert len(NOTEBOOKS) >= 10
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_lesson_follows_the_template(path):
    notebook = lessons.read_notebook(path)
    markdown = _text(notebook["cells"], "markdown")
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    positions = []
    for section in SECTIONS:
        found = [i for i, line in enumerate(headings) if section.lower() in line.lower()]
        assert found, f"{path.name}: no heading {section!r}"
        positions.append(found[0])
    assert positions == sorted(positions), f"{path.name}: sections out of order"
    assert re.search(r"^> \*\"", markdown, re.M), f"{path.name}: no founder's dilemma (a quote)"
    assert headings[0].startswith(f"# Lesson {int(path.name[:2])} ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_lesson_predicts_reveals_and_exports_with_the_package_helpers(path):
    notebook = lessons.read_notebook(path)
    code = _text(notebook["cells"], "code")
    assert "from simulator.lessons import" in code
    assert "sys.path" not in code and "import sys" not in code
    assert f'Lesson("{path.stem}")' in code, "the lesson's folder is named after its file"
    assert code.index("lesson.predict(") < code.index("lesson.reveal(")
    assert "lesson.save(" in code
    assert not lessons.has_outputs(notebook), f"{path.name}: outputs committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_exercise_answer_is_for_the_instructor_only(path):
    notebook = lessons.read_notebook(path)
    cells = notebook["cells"]
    notes = [c for c in cells if lessons.is_instructor_cell(c)]
    assert notes and all(c["cell_type"] == "markdown" for c in notes)
    exercise = next(i for i, c in enumerate(cells) if "## " in _text([c]) and "Exercise" in
                    _text([c]))  # fmt: skip
    answers = [i for i, c in enumerate(cells) if lessons.is_instructor_cell(c) and i > exercise]
    assert answers, f"{path.name}: no instructor's answer after the exercise"
    assert "ANSWER" not in _text(notes), "a placeholder left in an answer"
    student = lessons.student_version(notebook)
    assert len(student["cells"]) == len(cells) - len(notes)
    assert "Instructor's note" not in _text(student["cells"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lessons_speak_to_users(path):
    text = _text(lessons.read_notebook(path)["cells"])
    assert not re.search(r"\bthe brief\b|\breference format\b", text, re.I)


def test_the_instructor_s_guide_maps_every_lesson():
    guide = GUIDE.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in guide, f"docs/course.md does not mention {path.name}"
    for heading in ("Syllabus", "Answers", "still missing"):
        assert heading.lower() in guide.lower()

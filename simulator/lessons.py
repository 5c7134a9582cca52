"""Helpers for the course notebooks (``notebooks/course/``): run, compare, predict, export.

Every lesson starts with::

    from simulator.lessons import Lesson
    lesson = Lesson("01_cycle_and_takeoff")

and then, in the order a class meets them:

- :meth:`Lesson.predict` records a student's guess (a number, or a sketched curve as
  ``{week: value}``) before anything runs, and :meth:`Lesson.reveal` later draws it next
  to what the simulation gave (with the whole class's guesses, if the instructor typed
  them in);
- :meth:`Lesson.run` and :meth:`Lesson.compare` run scenarios from ``scenarios/`` with
  overrides, at the lesson's size (below); ``compare`` draws every run on one figure
  with :func:`simulator.reporting.compare.compare_runs`;
- :meth:`Lesson.save` writes a figure as slide-ready PNG and SVG into the lesson's
  folder, ``results/lessons/<lesson>/``.

**Two sizes.** At *classroom* size (the default) a scenario runs as its file says
(5,000 users in most of the library) and a lesson runs its stated number of seeds. The
test suite sets the environment variable ``FLYWHEEL_LESSON_SIZE=test``: populations
shrink to :data:`TEST_POPULATION` users, at most :data:`TEST_SEEDS` seeds run and figures
are exported as small PNGs only (:data:`TEST_DPI`, into ``results/lessons-test/``), so
every lesson executes in seconds (its numbers then differ from the classroom's; the
text of a lesson quotes what the notebook prints, not fixed numbers). Both sizes use the
array engine, which gives the same numbers as the agent engine, faster.

**Instructor's notes.** Cells tagged ``instructor`` hold the answers to the exercises.
The committed notebooks are the instructor's version (those cells are collapsed when
opened); ``python -m simulator.lessons student notebooks/course --out DIR`` (``make
course``) writes the students' version without them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .errors import InputError
from .reporting.compare import Comparison, compare_runs
from .reporting.names import describe, format_value
from .reporting.plots import (
    BLACK,
    ORANGE,
    PALETTE,
    STYLE,
    VERMILLION,
    compare_figure,
    legend_below,
    new_figure,
    save_figure,
    styled,
)
from .reporting.stories import format_number, has_field, summary_number

#: The environment variable that picks the lessons' size: ``classroom`` or ``test``.
SIZE_VARIABLE = "FLYWHEEL_LESSON_SIZE"
#: The environment variable naming the folder lessons export into (default below).
OUT_VARIABLE = "FLYWHEEL_LESSON_OUT"
#: Users per run at test size.
TEST_POPULATION = 400
#: Seeds per comparison at test size, at most.
TEST_SEEDS = 2
#: Resolution of the figures a lesson exports at test size (PNG only: a test checks that
#: the lesson runs; the slide exports themselves are tested at classroom size).
TEST_DPI = 40
#: The tag of a notebook cell that only the instructor's version keeps.
INSTRUCTOR_TAG = "instructor"


@dataclass(frozen=True)
class LessonSize:
    """How big a lesson's runs are.

    ``population`` None keeps each scenario's own population; ``max_seeds`` None runs
    every seed a lesson asks for. ``formats`` and ``dpi`` are what :meth:`Lesson.save`
    writes (``dpi`` None: slide resolution, 150 dpi).
    """

    name: str
    population: int | None
    max_seeds: int | None
    formats: tuple[str, ...] = ("png", "svg")
    dpi: int | None = None

    def seeds(self, wanted: int) -> int:
        """The seeds to run when a lesson asks for ``wanted``."""
        if wanted < 1:
            raise InputError(f"seeds: must be an integer >= 1; got {wanted}")
        return wanted if self.max_seeds is None else min(wanted, self.max_seeds)

    def overrides(self) -> dict[str, Any]:
        """The overrides this size adds to every run (``population.size`` at test size)."""
        return {} if self.population is None else {"population.size": self.population}


SIZES = {
    "classroom": LessonSize("classroom", None, None),
    "test": LessonSize("test", TEST_POPULATION, TEST_SEEDS, ("png",), TEST_DPI),
}


def lesson_size(value: str | None = None) -> LessonSize:
    """The size named by ``value``, or else by ``$FLYWHEEL_LESSON_SIZE`` (default classroom).

    Raises
    ------
    InputError
        For a name that is not a size, naming the variable, the sizes and the value.
    """
    name = value if value is not None else os.environ.get(SIZE_VARIABLE, "") or "classroom"
    key = name.strip().lower()
    if key not in SIZES:
        raise InputError(f"{SIZE_VARIABLE}: must be one of {', '.join(SIZES)}; got {name!r}")
    return SIZES[key]


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The project folder: the first of ``start`` (default: the current folder) and its
    parents that holds ``scenarios/baseline.yaml``, else the folder above the package
    (an editable install). Notebooks in ``notebooks/course/`` find it from there.

    Raises
    ------
    InputError
        If neither holds the scenario library.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in [here, *here.parents, Path(__file__).resolve().parents[1]]:
        if (folder / "scenarios" / "baseline.yaml").is_file():
            return folder
    raise InputError(
        f"scenarios/baseline.yaml: not found in {here} or the folders above it; open the "
        "lesson from inside the Flywheel project folder"
    )


def scenario_path(name: str | os.PathLike) -> Path:
    """A scenario of the library by name: ``"baseline"``, ``"baseline.yaml"`` or
    ``"sweeps/entrant_phase.yaml"`` is looked up in ``scenarios/``; a path to an existing
    file is used as it is.

    Raises
    ------
    InputError
        If there is no such file; the message lists the library's scenarios.
    """
    given = Path(name)
    if given.is_file():
        return given.resolve()
    folder = project_root() / "scenarios"
    for candidate in (folder / given, folder / given.with_suffix(".yaml")):
        if candidate.is_file():
            return candidate
    known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
    raise InputError(f"scenario {os.fspath(name)!r}: no such file in {folder}; known: {known}")


def _source(name: str | os.PathLike, overrides: Mapping[str, Any] | None) -> str:
    """``"path@key=value,…"``: a source for :func:`compare_runs` with overrides of its own."""
    path = str(scenario_path(name))
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping | list | tuple):
            raise InputError(f"{key}: a lesson's override takes a single value; got {value!r}")
        text = format_value(value)
        if "," in str(key) or "," in text:
            raise InputError(f"{key}: a lesson's override cannot contain a comma; got {text!r}")
    sets = ",".join(f"{k}={format_value(v)}" for k, v in (overrides or {}).items())
    return f"{path}@{sets}" if sets else path


class SavedFiles(list):
    """The files :meth:`Lesson.save` wrote; a notebook does not echo them (it printed them)."""

    def _ipython_display_(self) -> None:
        """Nothing to show: the save already said where the files are."""


@dataclass
class Prediction:
    """A guess written down before a run: a number, or a curve ``{week: value}``."""

    question: str
    guess: float | dict[float, float] | None
    unit: str = ""
    class_guesses: list[float] = field(default_factory=list)
    """Every student's number, typed in by the instructor (a show of hands)."""
    result: float | None = None

    @property
    def is_curve(self) -> bool:
        return isinstance(self.guess, dict)

    def text(self) -> str:
        """The guess in words."""
        if self.guess is None:
            return "no prediction written down"
        if self.is_curve:
            points = ", ".join(f"week {w:g}: {v:,g}" for w, v in sorted(self.guess.items()))
            return f"a curve through {points}"
        return _with_unit(self.guess, self.unit)


#: A result as a sentence shows it: thousands without decimals, smaller numbers to 3 digits.
_SHORT = "short"


def _with_unit(value: float, unit: str, digits: str = ",g") -> str:
    """``"week 17"`` for weeks, ``"3,470 users"`` otherwise."""
    if digits == _SHORT:
        digits = ",.0f" if abs(value) >= 100 else ".3g"
    number = format(value, digits)
    if unit == "week":
        return f"week {number}"
    return f"{number} {unit}".strip()


def _check_guess(question: str, guess: Any) -> float | dict[float, float] | None:
    if guess is None or (isinstance(guess, Mapping) and not guess):
        return None
    if isinstance(guess, Mapping):
        try:
            return {float(w): float(v) for w, v in guess.items()}
        except (TypeError, ValueError):
            raise InputError(
                f"prediction {question!r}: a curve is written {{week: value}}, e.g. "
                f"{{0: 10, 52: 3000}}; got {guess!r}"
            ) from None
    if isinstance(guess, bool) or not isinstance(guess, int | float) or not math.isfinite(guess):
        raise InputError(
            f"prediction {question!r}: write a number (or a curve {{week: value}}); got {guess!r}"
        )
    return float(guess)


class Lesson:
    """One lesson of the course: its size, its runs, its predictions and its figures.

    Parameters
    ----------
    name : str
        The lesson's folder name, e.g. ``"01_cycle_and_takeoff"``; its figures go to
        ``results/lessons/<name>/`` (at test size ``results/lessons-test/<name>/``), or
        ``$FLYWHEEL_LESSON_OUT/<name>/``.
    size : str, optional
        ``classroom`` or ``test``; default ``$FLYWHEEL_LESSON_SIZE``, else classroom.
    """

    def __init__(self, name: str, size: str | None = None) -> None:
        if not name or any(ch in name for ch in "/\\") or name.startswith("."):
            raise InputError(f"lesson name: a folder name such as '01_takeoff'; got {name!r}")
        self.name = name
        self.size = lesson_size(size)
        base = os.environ.get(OUT_VARIABLE)
        # A test run never overwrites the figures a classroom run exported.
        folder = "lessons" if self.size.population is None else "lessons-test"
        root = Path(base) if base else project_root() / "results" / folder
        self.folder = root / name
        self.predictions: list[Prediction] = []

    def __repr__(self) -> str:
        return f"Lesson({self.name!r}, size={self.size.name!r}, folder={str(self.folder)!r})"

    def intro(self) -> str:
        """One line saying the size the lesson runs at and where its figures go."""
        how = (
            "classroom size: each scenario at its own population"
            if self.size.population is None
            else f"test size: {self.size.population:,} users, at most {self.size.max_seeds} "
            "seeds (numbers differ from the classroom's)"
        )
        return f"Lesson {self.name}, {how}. Figures go to {self.folder}."

    # -- running -------------------------------------------------------------------------

    def scenario(self, name: str | os.PathLike, overrides: Mapping[str, Any] | None = None):
        """The scenario ``name`` with ``overrides``, at this lesson's size."""
        from .scenario import load_scenario

        return load_scenario(scenario_path(name), overrides=self._overrides(overrides))

    def _overrides(self, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        return dict(overrides or {}) | self.size.overrides()

    def run(
        self,
        name: str | os.PathLike,
        overrides: Mapping[str, Any] | None = None,
        *,
        seed: int | None = None,
    ):
        """Run scenario ``name`` (``"baseline"``, a file in ``scenarios/``) with
        ``overrides`` (dotted keys) at this lesson's size; return its
        :class:`~simulator.Result`. The run is labelled by its overrides only (the size's
        population is said in :meth:`intro`)."""
        from .simulation import run

        result = run(self.scenario(name, overrides), seed=seed, engine="array")
        result.summary["overrides"] = dict(overrides or {})
        return result

    def compare(
        self,
        runs: Mapping[str, str | tuple[str, Mapping[str, Any]]],
        *,
        seeds: int = 1,
    ) -> Comparison:
        """Run several variants and draw them on one figure (``comparison.figure``).

        Parameters
        ----------
        runs : mapping of label to scenario or ``(scenario, overrides)``
            E.g. ``{"baseline": "baseline", "hoarding": ("baseline",
            {"reinvestment.rate": 0})}``. Each override is a single value.
        seeds : int
            Seeds per variant (the same seeds for every variant, so they are paired); at
            test size at most :data:`TEST_SEEDS`. With several, lines are means and
            bands 95 % intervals.

        Returns
        -------
        Comparison
            From :func:`~simulator.reporting.compare.compare_runs`: ``.figure``,
            ``.table``, ``.text_table()``, ``.runs`` (each with its summaries per seed).
        """
        if not runs:
            raise InputError("compare: give at least one run, as {label: scenario}")
        sources = {}
        for label, spec in runs.items():
            name, overrides = (spec, None) if isinstance(spec, str | os.PathLike) else spec
            sources[label] = _source(name, overrides)
        return compare_runs(
            sources,
            overrides=self.size.overrides(),
            seeds=self.size.seeds(seeds),
            engine="array",
        )

    def sweep(
        self,
        file: str | os.PathLike,
        values: Mapping[str, Sequence[Any]],
        *,
        replicates: int = 2,
        population: int | None = None,
    ):
        """Run a smaller version of a sweep file of ``scenarios/sweeps/`` in this lesson.

        Parameters
        ----------
        file : str or path
            E.g. ``"sweeps/entrant_phase.yaml"``.
        values : mapping of parameter to values
            The grid to run, replacing the file's parameters; at test size only the first
            and last value of each.
        replicates : int
            Seeds per point (at test size at most :data:`TEST_SEEDS`).
        population : int, optional
            ``population.size`` of every run (default: the file's); at test size
            :data:`TEST_POPULATION`.

        Returns
        -------
        SweepResult
            Its folder is ``<lesson folder>/sweep_<name>/``; running the cell again reuses
            the finished runs. Analyse it with
            ``simulator.experiment.analysis.analyze(result.path, outcome=...)``.
        """
        import shutil

        import yaml

        from .experiment import load_experiment, run_experiment

        path = scenario_path(file)
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        block = dict(data.get("sweep") or {})
        if not values:
            raise InputError("sweep: give the values of at least one parameter")
        test = self.size.population is not None
        grid = {key: list(vals)[:: max(len(vals) - 1, 1)] if test else list(vals)
                for key, vals in values.items()}  # fmt: skip
        block["parameters"] = {key: {"values": vals} for key, vals in grid.items()}
        block["replicates"] = self.size.seeds(replicates)
        size = self.size.population or population
        if size is not None:
            block["overrides"] = dict(block.get("overrides") or {}) | {"population.size": size}
        experiment = load_experiment({**data, "sweep": block}, base_dir=path.parent)
        out = self.folder / f"sweep_{experiment.name}"
        try:
            return run_experiment(experiment, out)
        except InputError:  # the folder holds an earlier version of this lesson's sweep
            shutil.rmtree(out, ignore_errors=True)
            return run_experiment(experiment, out)

    # -- predicting -----------------------------------------------------------------------

    def predict(
        self,
        question: str,
        guess: float | Mapping[float, float] | None,
        unit: str = "",
        *,
        class_guesses: Iterable[float] = (),
    ) -> Prediction:
        """Write a prediction down before running anything; print it back.

        Parameters
        ----------
        question : str
            What is predicted, e.g. ``"the week the flywheel takes off"``.
        guess : number, ``{week: value}`` or None
            The student's number, or a sketched curve as a few points. None (not yet
            written) is allowed: the reveal then shows the result alone.
        unit : str
            The unit of the number (``"week"``, ``"users"``).
        class_guesses : numbers, optional
            The whole class's numbers, if the instructor collects them.
        """
        prediction = Prediction(question, _check_guess(question, guess), unit)
        prediction.class_guesses = [
            value for value in (_check_guess(question, g) for g in class_guesses)
            if isinstance(value, float)
        ]  # fmt: skip
        self.predictions = [p for p in self.predictions if p.question != question]
        self.predictions.append(prediction)
        if prediction.guess is None:
            print(f"Prediction ({question}): none yet. Write yours in the cell, then run it.")
        else:
            print(f"Prediction recorded ({question}): {prediction.text()}.")
        return prediction

    def reveal(
        self,
        prediction: Prediction,
        result: float | None = None,
        *,
        timeseries: pd.DataFrame | None = None,
        column: str | None = None,
    ) -> Figure:
        """The prediction next to what the simulation gave, as a figure for the slide.

        A number: the guess (and the class's guesses) as dots on a line, the result as a
        vertical line. A curve: the sketched points against ``timeseries[column]``.
        Prints one sentence saying how far the guess was. The prediction and result are
        also written to ``predictions.json`` in the lesson's folder.
        """
        if timeseries is not None or column is not None or prediction.is_curve:
            if timeseries is None or column is None or column not in timeseries:
                raise InputError(
                    f"reveal {prediction.question!r}: a sketched curve is revealed against a "
                    "run's timeseries and one of its columns (timeseries=..., column=...)"
                )
            fig = _curve_figure(prediction, timeseries, column)
            prediction.result = float(timeseries[column].iloc[-1])
            weeks = timeseries["time"] if "time" in timeseries else timeseries["step"]
            print(f"{prediction.question}: at week {float(weeks.iloc[-1]):g} the simulation "
                  f"gave {_with_unit(prediction.result, prediction.unit, _SHORT)}.")  # fmt: skip
        else:
            if result is None or not math.isfinite(float(result)):
                shown = "never" if prediction.unit == "week" else "not defined"
                print(f"{prediction.question}: the simulation gave {shown}.")
                prediction.result = None
            else:
                prediction.result = float(result)
                print(_verdict(prediction))
            fig = _number_figure(prediction)
        self._write_predictions()
        return fig

    def _write_predictions(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = [
            {"question": p.question, "unit": p.unit, "guess": p.guess,
             "class_guesses": p.class_guesses, "result": p.result}
            for p in self.predictions
        ]  # fmt: skip
        text = json.dumps(data, indent=1, default=lambda v: {str(k): x for k, x in v.items()})
        (self.folder / "predictions.json").write_text(text + "\n", encoding="utf-8")

    # -- exporting ------------------------------------------------------------------------

    def save(self, fig: Figure, stem: str) -> SavedFiles:
        """Write ``fig`` as ``<stem>.png`` (150 dpi) and ``<stem>.svg`` into the lesson's
        folder, for slides; return the paths (also printed). At test size only a small PNG
        is written (:data:`TEST_DPI`): exporting is a large part of a lesson's time."""
        if not stem or any(ch in stem for ch in "/\\") or stem.startswith("."):
            raise InputError(f"figure name: a file name without folders; got {stem!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for fmt in self.size.formats:
            path = self.folder / f"{stem}.{fmt}"
            if self.size.dpi is None:
                paths.append(save_figure(fig, path))
            else:
                with mpl.rc_context(STYLE):
                    fig.savefig(path, dpi=self.size.dpi)
                paths.append(path)
        print(f"Saved {' and '.join(p.name for p in paths)} in {self.folder}")
        return SavedFiles(paths)

    def handout(self, comparison: Comparison, stem: str) -> Path:
        """Write ``comparison`` as a comparison folder ``<stem>/`` in the lesson's folder
        and its HTML handout ``<stem>.html`` (as ``flywheel compare`` and
        ``flywheel report`` do); return the handout's path."""
        from .reporting.report import write_report

        folder = self.folder / stem
        comparison.write(folder)
        path = write_report([folder], self.folder / f"{stem}.html", title=f"Lesson {self.name}")
        print(f"Handout: {path}")
        return path


def _verdict(prediction: Prediction) -> str:
    """One sentence: the result, how far the guess was, and where the class stood."""
    result, guess, unit = prediction.result, prediction.guess, prediction.unit
    assert result is not None
    parts = [f"{prediction.question}: the simulation gave {_with_unit(result, unit, _SHORT)}."]
    if isinstance(guess, float):
        if guess == result:
            parts.append("You predicted exactly that.")
        else:
            side = "above" if guess > result else "below"
            gap = format(abs(guess - result), ",.0f" if abs(guess - result) >= 100 else ".3g")
            parts.append(f"You predicted {_with_unit(guess, unit)}: {gap} {side}.")
    if prediction.class_guesses:
        guesses = np.asarray(prediction.class_guesses)
        parts.append(
            f"The class's median guess was {_with_unit(float(np.median(guesses)), unit, _SHORT)}; "
            f"{int(np.sum(guesses < result))} of {len(guesses)} guessed lower."
        )
    return " ".join(parts)


@styled
def _number_figure(prediction: Prediction) -> Figure:
    fig, (ax,) = new_figure(prediction.question[:1].upper() + prediction.question[1:], None,
                            figsize=(10.0, 4.2))  # fmt: skip
    values = [*prediction.class_guesses]
    if prediction.class_guesses:
        ax.scatter(prediction.class_guesses, np.zeros(len(values)), s=140, color=PALETTE[5],
                   alpha=0.7, label="the class's guesses", zorder=3)  # fmt: skip
    if isinstance(prediction.guess, float):
        ax.scatter([prediction.guess], [0], s=260, marker="D", color=ORANGE,
                   label=f"your guess: {prediction.guess:,g}", zorder=4)  # fmt: skip
        values.append(prediction.guess)
    if prediction.result is not None:
        shown = _with_unit(prediction.result, "", _SHORT)
        ax.axvline(prediction.result, color=BLACK, lw=3.5, label=f"the simulation: {shown}")
        values.append(prediction.result)
    else:
        ax.text(0.5, 0.75, "the simulation: never" if prediction.unit == "week"
                else "the simulation: not defined", transform=ax.transAxes, ha="center",
                fontsize=15)  # fmt: skip
    if not values:
        ax.text(0.5, 0.3, "no prediction written down", transform=ax.transAxes, ha="center",
                fontsize=15, color="#555555")  # fmt: skip
        values = [0.0, 1.0]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.15, abs(high) * 0.05, 1e-3)
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(prediction.unit or "value")
    if ax.get_legend_handles_labels()[0]:
        legend_below(ax, ncol=3)
    return fig


@styled
def _curve_figure(prediction: Prediction, timeseries: pd.DataFrame, column: str) -> Figure:
    title, unit = describe(column)
    fig, (ax,) = new_figure(prediction.question[:1].upper() + prediction.question[1:], None)
    weeks = timeseries["time"] if "time" in timeseries else timeseries["step"]
    ax.plot(weeks, timeseries[column], color=PALETTE[0], label=f"the simulation: {title}")
    if prediction.is_curve:
        points = sorted(prediction.guess.items())  # type: ignore[union-attr]
        ax.plot([w for w, _ in points], [v for _, v in points], color=ORANGE, ls="--",
                marker="D", markersize=11, label="your sketch")  # fmt: skip
    else:
        ax.text(0.5, 0.06, "no sketch written down", transform=ax.transAxes, ha="center",
                fontsize=14, color="#555555")  # fmt: skip
    ax.set(xlabel="weeks", ylabel=prediction.unit or unit)
    legend_below(ax, ncol=2)
    return fig


# -- comparing several runs ---------------------------------------------------------------


def per_seed(comparison: Comparison, fields: Sequence[str]) -> pd.DataFrame:
    """One row per run and seed: ``run``, ``seed`` and each field asked for.

    A field is a summary field (``final.moat``, ``takeoff_step``, ``market.winner``), a
    timeseries column's final value by its name (``moat``), a column's value at a given
    week (``moat@52``) or its mean over a span of weeks (``moat@0-26``). A field a run
    lacks is empty.
    """
    rows = []
    for one in comparison.runs:
        for seed, summary, ts in zip(one.seeds, one.summaries, one.timeseries, strict=True):
            row: dict[str, Any] = {"run": one.label, "seed": seed}
            for name in fields:
                row[name] = _field(summary, ts, name)
            rows.append(row)
    return pd.DataFrame(rows, columns=["run", "seed", *fields])


def _weeks_of(name: str) -> tuple[str, int, int] | None:
    """``"moat@52"`` -> ("moat", 52, 52); ``"moat@0-26"`` -> ("moat", 0, 26); else None."""
    column, at, weeks = name.partition("@")
    if not at:
        return None
    first, dash, last = weeks.partition("-")
    try:
        low, high = int(first), int(last) if dash else int(first)
    except ValueError:
        raise InputError(
            f"{name}: a week is written column@week (moat@52) or column@from-to (moat@0-26)"
        ) from None
    if low < 0 or high < low:
        raise InputError(f"{name}: weeks must be >= 0 and in order; got {weeks}")
    return column, low, high


def _field(summary: Mapping[str, Any], ts: pd.DataFrame, name: str) -> Any:
    span = _weeks_of(name)
    if span is None:
        if has_field(summary, name) or has_field(summary, f"final.{name}"):
            return summary_number(summary, name)
        return None
    column, low, high = span
    if column not in ts:
        return None
    weeks = ts["time"] if "time" in ts else ts["step"]
    inside = ts.loc[(weeks >= low) & (weeks <= high), column]
    if inside.empty:
        raise InputError(f"{name}: the run has no week between {low} and {high}")
    return float(inside.mean())


def field_label(name: str) -> str:
    """A field's readable name: ``"moat at week 52"``, ``"moat, weeks 0-26 (mean)"``."""
    span = _weeks_of(name)
    if span is None:
        return describe(name)[0]
    column, low, high = span
    title = describe(column)[0]
    return f"{title} at week {low}" if low == high else f"{title}, weeks {low}–{high} (mean)"


def means(comparison: Comparison, field_name: str) -> dict[str, float]:
    """Per run, the mean of a numeric field over its seeds (as :func:`per_seed` reads it),
    in the comparison's order: ``{"the whole loop": 3469.0, ...}``, for :func:`bars` and
    for revealing a prediction. A run whose seeds all lack the field (a takeoff that never
    came) gives ``nan``; seeds that lack it are left out of the mean."""
    table = per_seed(comparison, [field_name])
    out: dict[str, float] = {}
    for label, rows in table.groupby("run", sort=False):
        values = [v for v in rows[field_name] if v is not None and not _is_nan(v)]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise InputError(f"means: {field_name} is not a number (got {values[:3]!r})")
        out[str(label)] = float(np.mean(values)) if values else math.nan
    return out


def how_often(comparison: Comparison, field_name: str, value: Any) -> pd.Series:
    """Per run, in how many of its seeds ``field_name`` equals ``value``, as text such as
    ``"3 of 3 seeds"`` (``how_often(c, "market.winner", "entrant")``)."""
    table = per_seed(comparison, [field_name])
    counts = {}
    for label, rows in table.groupby("run", sort=False):
        hits = int((rows[field_name] == value).sum())
        counts[label] = f"{hits} of {len(rows)} seed{'s' if len(rows) > 1 else ''}"
    return pd.Series(counts, name=f"{field_name} = {value}")


def final_numbers(comparison: Comparison, fields: Sequence[str]) -> pd.DataFrame:
    """A readable table for the slide: one column per run, one row per field, each cell
    the mean over the seeds as a handout writes it (``week 9``, ``+0.133``, ``3,470``),
    with the range over the seeds in brackets when there are several."""
    table = per_seed(comparison, fields)
    out: dict[str, dict[str, str]] = {}
    for label, rows in table.groupby("run", sort=False):
        column = {}
        for name in fields:
            values = [v for v in rows[name] if v is not None and not _is_nan(v)]
            column[field_label(name)] = _cell(name, values, len(rows))
        out[str(label)] = column
    return pd.DataFrame(out)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _cell(name: str, values: list[Any], n: int) -> str:
    """A table cell: the mean (a week for steps) and the range over the seeds."""
    span = _weeks_of(name)
    if span is not None:
        name = span[0]
    elif any(part.endswith("_step") for part in name.split(".")):
        name = "step_of_" + name.replace(".", "_") + "_step"  # formatted as a week
    step = name.endswith("_step")
    if not values:
        return format_number(name, None)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        counts = pd.Series([str(v) for v in values]).value_counts()
        if n == 1:
            return str(values[0])
        return ", ".join(f"{value} ({count} of {n})" for value, count in counts.items())
    mean = float(np.mean(values))
    text = format_number(name, round(mean) if step else mean)
    if n > 1 and min(values) != max(values):
        text += f" [{format_number(name, min(values))} to {format_number(name, max(values))}]"
    if step and len(values) < n:
        text += f" ({len(values)} of {n} seeds; never in the others)"
    return text


@styled
def compare_metric(
    runs: Mapping[str, Any],
    column: str,
    title: str,
    *,
    ylabel: str | None = None,
    reference: float | None = None,
    reference_label: str = "",
) -> Figure:
    """One line per run of one timeseries ``column`` (mean over seeds), on one slide.

    Parameters
    ----------
    runs : mapping of label to Result, timeseries, or a Comparison's run
        What to draw; a compared run with several seeds is drawn as its mean.
    column : str
        E.g. ``"moat"``, ``"share[minority]"``, ``"market_share[entrant]"``.
    title : str
        The slide's title.
    ylabel : str, optional
        Default: the column's readable unit.
    reference : float, optional
        A level drawn as a thin black line (0 for a moat, a group's population share).
    """
    series = {}
    for label, item in runs.items():
        series[label] = _mean_timeseries(item, column)
    fig = compare_figure(series, column, ylabel or describe(column)[1], title)
    ax = fig.axes[0]
    if reference is not None:
        ax.axhline(reference, color=BLACK, lw=1.6, ls=(0, (6, 3)), zorder=1)
        if reference_label:
            ax.annotate(reference_label, (0.01, reference), (0, 4), color=BLACK, fontsize=13,
                        xycoords=("axes fraction", "data"), textcoords="offset points")  # fmt: skip
    return fig


def _mean_timeseries(item: Any, column: str) -> pd.DataFrame:
    if isinstance(item, pd.DataFrame):
        return item
    if hasattr(item, "timeseries") and isinstance(item.timeseries, pd.DataFrame):
        return item.timeseries  # a Result
    if hasattr(item, "mean") and hasattr(item, "timeseries"):  # a compared run
        weeks, mean, _, _ = item.mean(column)
        return pd.DataFrame({"time": weeks, column: mean})
    raise InputError(f"compare_metric: cannot draw {type(item).__name__}; give a run's result")


def runs_of(comparison: Comparison) -> dict[str, Any]:
    """A comparison's runs by label, for :func:`compare_metric`."""
    return {one.label: one for one in comparison.runs}


@styled
def bars(
    values: Mapping[str, float],
    title: str,
    xlabel: str,
    *,
    reference: float | None = None,
    highlight: str | None = None,
) -> Figure:
    """Horizontal bars, one per label (a final number per variant), for a slide.

    Negative values are drawn in vermillion and hatched, so greyscale prints still show
    the sign; ``highlight`` outlines one bar.
    """
    labels = list(values)[::-1]
    numbers = [float(values[label]) for label in labels]
    fig, (ax,) = new_figure(title, None, figsize=(10.0, 1.0 + 0.75 * max(len(labels), 2)))
    for row, (label, number) in enumerate(zip(labels, numbers, strict=True)):
        negative = number < 0
        ax.barh(row, number, height=0.6, color=VERMILLION if negative else PALETTE[0],
                hatch="//" if negative else None, edgecolor="white",
                linewidth=3 if label == highlight else 0)  # fmt: skip
        ax.annotate(f"{number:+.3g}" if reference == 0 else f"{number:,.3g}", (number, row),
                    (6 if number >= 0 else -6, 0), textcoords="offset points", va="center",
                    ha="left" if number >= 0 else "right", fontsize=14)  # fmt: skip
    ax.set_yticks(range(len(labels)), labels)
    if reference is not None:
        ax.axvline(reference, color=BLACK, lw=1.5)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    low, high = min([*numbers, 0.0]), max([*numbers, 0.0])
    pad = (high - low) * 0.2 or 1.0
    ax.set_xlim(low - (pad if low < 0 else 0), high + pad)
    return fig


@styled
def grid_figure(
    values: pd.DataFrame,
    title: str,
    *,
    row_notes: Mapping[str, str] | None = None,
    number_format: str = "{:+.3f}",
    higher_is_better: bool = True,
) -> Figure:
    """A table of numbers as a slide: one row per situation, one column per strategy.

    Each cell shows its number; its shade ranks it within its row (darkest: the row's
    best), so rows measured in different units can share the figure. The best cell of
    each row is outlined. Colours are cividis (readable with every colour vision and in
    greyscale).

    Parameters
    ----------
    values : pandas.DataFrame
        Rows: situations; columns: strategies; cells: the outcome.
    title : str
        The slide's title.
    row_notes : mapping, optional
        Row label -> what the row measures (written under the label).
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    rows, columns = list(values.index), list(values.columns)
    fig, (ax,) = new_figure(title, None, figsize=(3.0 + 2.5 * len(columns), 1.6 + 1.3 * len(rows)))
    cmap = mpl.colormaps["cividis"]
    for i, row in enumerate(rows):
        numbers = values.loc[row].to_numpy(dtype=float)
        order = numbers if higher_is_better else -numbers
        ranks = pd.Series(order).rank(method="min").to_numpy()
        best = int(np.nanargmax(order))
        for j, number in enumerate(numbers):
            shade = 0.85 - 0.75 * (ranks[j] - 1) / max(len(numbers) - 1, 1)  # best: darkest
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=cmap(shade), edgecolor="white", lw=2))
            ax.text(j + 0.5, i + 0.5, number_format.format(number), ha="center", va="center",
                    fontsize=15, fontweight="bold" if j == best else "normal",
                    color="white" if shade < 0.55 else "black")  # fmt: skip
        ax.add_patch(Rectangle((best + 0.04, i + 0.06), 0.92, 0.88, fill=False, edgecolor=BLACK,
                               lw=3.5))  # fmt: skip
    labels = [f"{row}\n({(row_notes or {}).get(row)})" if (row_notes or {}).get(row) else row
              for row in rows]  # fmt: skip
    ax.set_xlim(0, len(columns))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks(np.arange(len(columns)) + 0.5, columns)
    ax.set_yticks(np.arange(len(rows)) + 0.5, labels)
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("darker: better within the row  ·  outlined: the row's best", fontsize=13)
    return fig


@styled
def mystery_card(result: Any, letter: str) -> Figure:
    """One run as an unlabelled card for a diagnosis game: its users, its quality against
    the market, and the data it collected against the data its model learns from. The
    card names neither the scenario nor its overrides (the usual figures do)."""
    ts = result.timeseries
    weeks = ts["time"]
    fig, axes = new_figure(f"Mystery {letter}", None, (1, 3), figsize=(18.0, 5.8))
    users, quality, data = axes
    users.plot(weeks, ts["active_users"], color=PALETTE[0], label="active")
    users.plot(weeks, ts["churned_users"], color=VERMILLION, ls="-.", label="churned")
    users.set(title="users", xlabel="weeks", ylabel="users")
    quality.plot(weeks, ts["quality"], color=PALETTE[0], label="product")
    quality.plot(weeks, ts["baseline_quality"], color=BLACK, ls="--", lw=2.5, label="open model")
    quality.set(title="quality against the market", xlabel="weeks", ylabel="quality (0–1)")
    if "training_set" in ts:  # an estimator learns from a set of points
        used = ts["training_set"] - ts["synthetic_examples"]
        data.plot(
            weeks, ts["synthetic_examples"], color=ORANGE, ls=":", label="synthetic, in model"
        )
        collected, label = ts["training_examples"], "collected from users"
    else:
        used = ts["training_examples"]
        collected, label = ts["collected_examples"], "collected"
    data.plot(weeks, collected, color=VERMILLION, ls="--", label=label)
    data.plot(weeks, used, color=BLACK, label="users' data the model learns from")
    data.set(title="data", xlabel="weeks", ylabel="examples")
    data.set_yscale("symlog", linthresh=100)
    for ax in axes:
        legend_below(ax, ncol=1 if ax is data else 2)
    return fig


# -- notebooks: instructor's notes, outputs --------------------------------------------------


def read_notebook(path: str | os.PathLike) -> dict[str, Any]:
    """A notebook file as its JSON mapping."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the notebook: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InputError(f"{path}: not a notebook (no list of cells)")
    return data


def is_instructor_cell(cell: Mapping[str, Any]) -> bool:
    """Whether a cell is tagged ``instructor`` (kept in the instructor's version only)."""
    return INSTRUCTOR_TAG in ((cell.get("metadata") or {}).get("tags") or [])


def student_version(notebook: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook without its instructor cells and without outputs."""
    copy = json.loads(json.dumps(notebook))
    copy["cells"] = [strip_cell(c) for c in copy["cells"] if not is_instructor_cell(c)]
    return copy


def strip_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell without outputs and execution count (code cells), as committed."""
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    return cell


def has_outputs(notebook: Mapping[str, Any]) -> list[int]:
    """Indices of the code cells that carry outputs or an execution count."""
    return [
        i for i, cell in enumerate(notebook["cells"])
        if cell.get("cell_type") == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]  # fmt: skip


def write_notebook(notebook: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a notebook as Jupyter does (one-space indent, a final newline)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def _notebooks(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise InputError(f"{given}: not a notebook (.ipynb) or a folder of notebooks")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simulator.lessons student|strip|check NOTEBOOK_OR_FOLDER... [--out DIR]``.

    - ``student``: write the students' version of each notebook (no instructor cells, no
      outputs) into ``--out`` (default ``results/course/student``);
    - ``strip``: remove the outputs of each notebook in place (before a commit);
    - ``check``: exit 1 if a notebook carries outputs (the test suite checks this too).
    """
    parser = argparse.ArgumentParser(prog="python -m simulator.lessons", description=main.__doc__)
    parser.add_argument("command", choices=("student", "strip", "check"))
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    try:
        notebooks = _notebooks(args.paths)
        if args.command == "student":
            out = Path(args.out) if args.out else project_root() / "results" / "course" / "student"
            for path in notebooks:
                written = write_notebook(student_version(read_notebook(path)), out / path.name)
                print(f"{path} -> {written}")
            return 0
        if args.command == "strip":
            for path in notebooks:
                notebook = read_notebook(path)
                notebook["cells"] = [strip_cell(c) for c in notebook["cells"]]
                write_notebook(notebook, path)
            return 0
        dirty = {str(p): has_outputs(read_notebook(p)) for p in notebooks}
        dirty = {p: cells for p, cells in dirty.items() if cells}
        for path, cells in dirty.items():
            print(f"{path}: outputs in code cells {cells}; run python -m simulator.lessons strip")
        return 1 if dirty else 0
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


__all__ = [
    "INSTRUCTOR_TAG",
    "field_label",
    "grid_figure",
    "mystery_card",
    "Lesson",
    "LessonSize",
    "Prediction",
    "bars",
    "compare_metric",
    "final_numbers",
    "how_often",
    "lesson_size",
    "means",
    "per_seed",
    "project_root",
    "runs_of",
    "scenario_path",
    "student_version",
]

if __name__ == "__main__":
    raise SystemExit(main())

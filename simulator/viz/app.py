"""The explorer page: Mesa's SolaraViz around a FlywheelModel, with controls from the schema.

Start it with ``flywheel explore [SCENARIO]`` (or ``solara run simulator.viz.app``).
The sidebar has Mesa's controls (Reset, play, Step, the play and render intervals, the
time), then the scenario picker and seed, the first-screen parameters, every other key
in a collapsible panel, and "save as scenario". The main area has the views of
:mod:`.components` in Mesa's draggable grid.

Changing a control restarts the run at week 0 with the new value (the server keeps
running); an invalid value is not applied: the page lists the problems in the CLI's
words and the last valid run stays on screen. Mesa's Reset rebuilds the run through
:class:`~.adapter.ExplorerModel`'s flat keyword parameters, with the values in force.

Each browser tab (each session) has its own run. The page reads only the scenarios
folder (``$FLYWHEEL_SCENARIOS_DIR``, set by ``flywheel explore``; default
:func:`~.adapter.default_scenarios_dir`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
from mesa.visualization import SolaraViz
from solara.alias import rv

from simulator.errors import InputError

from . import components as views
from .adapter import (
    ExplorerModel,
    default_scenarios_dir,
    list_scenarios,
    problem_lines,
    save_scenario,
)
from .params import Control, controls, first_screen, parse_text, rest

__all__ = ["Page", "build_model", "initial_file", "model_components", "scenarios_dir"]

TITLE = "Flywheel explorer"
SESSIONS: list[weakref.ref] = []
"""The pages' sessions, newest last (weak references: for tests and notebooks)."""


def scenarios_dir() -> Path:
    """The folder the page may read: ``$FLYWHEEL_SCENARIOS_DIR`` or the default."""
    configured = os.environ.get("FLYWHEEL_SCENARIOS_DIR")
    return Path(configured).resolve() if configured else default_scenarios_dir()


def initial_file() -> str:
    """The scenario shown first: ``$FLYWHEEL_EXPLORE_SCENARIO`` or ``baseline.yaml``."""
    return os.environ.get("FLYWHEEL_EXPLORE_SCENARIO", "baseline.yaml")


def build_model(scenario_file: str, overrides: dict[str, Any], root: Path) -> ExplorerModel:
    """The run for these settings (raises :class:`InputError` when they are invalid)."""
    return ExplorerModel(scenario_file=scenario_file, scenarios_dir=str(root), **overrides)


def model_components(model) -> list:
    """The views for ``model``, as SolaraViz takes them: users, quality, the network,
    group shares, the run so far with its audit, and market shares per firm when there
    are several firms."""
    chosen = [views.Users, views.Quality, views.Network, views.Shares, views.Audit]
    if len(getattr(model, "firms", [])) > 1:
        chosen.append(views.FirmShares)
    return [(view, 0) for view in chosen]


@solara.component
def ControlInput(
    item: Control,
    shown: Any,
    on_change: Callable[[str, Any], None],
    slider: bool,
    label: str | None = None,
):
    """One control: a slider (first screen), a switch, a menu or a text box, with its
    key, range and description underneath."""
    key = item.key
    title = label or item.label
    bounds = item.slider if slider else None
    if item.kind == "bool":
        solara.Switch(label=title, value=bool(shown), on_value=lambda v: on_change(key, v))
    elif item.kind == "choice":
        solara.Select(
            label=title,
            value=shown if shown in item.choices else item.choices[0],
            values=list(item.choices),
            on_value=lambda v: on_change(key, v),
        )
    elif bounds is not None and isinstance(shown, int | float) and not isinstance(shown, bool):
        low, high, step = bounds
        value = min(max(shown, low), high)
        cast = int if item.kind == "int" else (lambda v: round(float(v), 10))
        ReleaseSlider(
            f"{title}: {shown:g}", value, low, high, 1 if item.kind == "int" else step,
            lambda v: on_change(key, cast(v)),
        )  # fmt: skip
        if item.nullable:
            solara.Checkbox(
                label="none (null)", value=False, on_value=lambda _: on_change(key, None)
            )
    else:
        text = item.text() if shown == item.value else _as_text(shown)
        solara.InputText(
            label=title,
            value=text,
            on_value=lambda t: on_change(key, parse_text(t or "")),
            dense=True,
        )
        if slider and item.nullable and shown is None:
            solara.Button(
                "set a value",
                text=True,
                on_click=lambda: on_change(key, item.default if item.default is not None else 1),
            )
    hint = f"{key} · {item.range_text} · {item.description}".replace(" ·  · ", " · ")
    solara.Text(hint, style={"font-size": "0.75em", "color": "#555555", "display": "block"})


@solara.component
def ReleaseSlider(label: str, value: float, low: float, high: float, step: float, on_release):
    """Vuetify's slider, reporting its value when it is let go (or moved by a key),
    not on every pixel of a drag: each report restarts the run."""
    slider = rv.Slider(
        v_model=value, label=label, min=low, max=high, step=step, thumb_label=True,
        hide_details=True,
    )  # fmt: skip
    rv.use_event(slider, "change", lambda _widget, _event, data: on_release(data))
    return slider


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


@solara.component
def Problems(lines: list[str]):
    """The validation message, one problem a line, as the CLI prints it."""
    if lines:
        text = "Not applied; the run on screen keeps the last valid values.\n" + "\n".join(
            f"• {line}" for line in lines
        )
        solara.Error(text, text=True, dense=True, style={"white-space": "pre-wrap"})


@solara.component
def SaveScenario(model: ExplorerModel, root: Path):
    """'Save as scenario': writes the values in force to scenarios/saved/<name>.yaml."""
    name, set_name = solara.use_state(model.initial_params.name + "_explored")
    replace, set_replace = solara.use_state(False)
    message, set_message = solara.use_state(("", ""))

    def save():
        try:
            path = save_scenario(model.initial_params, name.strip(), root, overwrite=replace)
        except InputError as exc:
            set_message(("error", "; ".join(problem_lines(exc))))
            return
        set_message(("ok", f"Saved {path.relative_to(root.parent)}"))

    solara.InputText("file name (scenarios/saved/<name>.yaml)", value=name, on_value=set_name)
    solara.Checkbox(label="replace an existing file", value=replace, on_value=set_replace)
    solara.Button("Save as scenario", color="primary", on_click=save)
    kind, text = message
    if kind == "error":
        solara.Error(text, dense=True)
    elif kind == "ok":
        solara.Success(text, dense=True)


class Session:
    """One browser tab's state: the run, the values shown, the problems, and the handlers.

    Made once per page (``use_memo``), so the handlers handed to the controls are the same
    objects on every redraw and the controls are not redrawn when the run steps.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = list_scenarios(root)
        lines: list[str] = []
        try:
            first = build_model(initial_file(), {}, root)
        except InputError as exc:  # a file that went bad since the server started
            lines = problem_lines(exc)
            first = build_model("baseline.yaml", {}, root)
        self.model = solara.reactive(first)
        self.applied: tuple[str, dict[str, Any]] = (first.scenario_file, {})
        """The scenario file and overrides of the run on screen."""
        self.draft = solara.reactive({})
        """The values shown in the controls, valid or not (dotted key -> value)."""
        self.problems = solara.reactive(lines)
        SESSIONS.append(weakref.ref(self))

    def restart(self, scenario_file: str, overrides: dict[str, Any]) -> None:
        """Start a new run with these values, or list why they are invalid."""
        try:
            new = build_model(scenario_file, overrides, self.root)
        except InputError as exc:
            self.problems.set(problem_lines(exc))
            return
        self.problems.set([])
        self.applied = (scenario_file, dict(overrides))
        self.model.set(new)

    def keep_values(self) -> None:
        """After Mesa's Reset: rebuild the run with the values in force if it lost them.

        SolaraViz rebuilds the model from the parameters it was given when it was first
        drawn; the values changed since then live in this session, so a run built without
        them is replaced at once by one with them (same seed, week 0).
        """
        current = self.model.value
        if (current.scenario_file, current.overrides) != self.applied:
            self.restart(*self.applied)

    def change(self, key: str, value: Any) -> None:
        values = {**self.draft.value, key: value}
        self.draft.set(values)
        self.restart(self.model.value.scenario_file, values)

    def pick(self, name: str) -> None:
        self.draft.set({})
        self.restart(name, {})


@solara.component
def ControlsPanel(session: Session):
    """The scenario picker and seed, the first-screen controls, the rest, and saving."""
    current: ExplorerModel = session.model.value
    draft = session.draft.value
    all_controls = solara.use_memo(lambda: controls(current.initial_params), [id(current)])
    seed = next(c for c in all_controls if c.key == "seed")
    shown = {c.key: draft.get(c.key, c.value) for c in all_controls}
    with solara.Column(style={"max-width": "420px"}):
        with solara.Card("Scenario"):
            solara.Select(
                label="scenario file (scenarios/)",
                value=current.scenario_file if current.scenario_file in session.files else None,
                values=session.files,
                on_value=session.pick,
            )
            ControlInput(seed, shown["seed"], session.change, slider=False)
            Problems(session.problems.value)
        with solara.Card("Parameters"):
            for item in first_screen(all_controls):
                ControlInput(item, shown[item.key], session.change, slider=True)
            # Drawn only when open: the page redraws its controls with every step.
            more, set_more = solara.use_state(False)
            solara.Button(
                ("▾ " if more else "▸ ") + f"All other parameters ({len(rest(all_controls)) - 1})",
                text=True,
                on_click=lambda: set_more(not more),
            )
            if more:
                for item in rest(all_controls):
                    if item.key != "seed":
                        ControlInput(item, shown[item.key], session.change, slider=False,
                                     label=f"{item.section} · {item.label}")  # fmt: skip
        with solara.Card("Save as scenario"):
            SaveScenario(current, session.root)


@solara.component
def Page():
    """The explorer: SolaraViz with the flywheel's controls and views."""
    session = solara.use_memo(lambda: Session(scenarios_dir()), [])
    current: ExplorerModel = session.model.value
    solara.use_effect(session.keep_values, [id(current)])
    fixed = {"scenario_file": current.scenario_file, "scenarios_dir": str(session.root)}
    # The controls sit in a column of their own beside the views, not in the sidebar:
    # Mesa's sidebar redraws on every step (its "Time" line), and anything else placed
    # there would be redrawn with it.
    with solara.Columns([1, 3], gutters_dense=True):
        ControlsPanel(session)
        with solara.Column():
            SolaraViz(
                session.model,
                components=model_components(current),
                model_params={**fixed, **current.overrides},
                name=TITLE,
            )


page = Page

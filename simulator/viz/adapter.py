"""The page's model: ``FlywheelModel`` behind flat keyword parameters, confined to scenarios/.

Mesa's SolaraViz rebuilds a model on *Reset* as ``type(model)(**parameters)``, with one
keyword per parameter. :class:`ExplorerModel` takes exactly that: the scenario file's name
inside the scenarios folder and any number of dotted keys as keywords
(``ExplorerModel(scenario_file="baseline.yaml", **{"reinvestment.retrain_every": 1})``).
It *is* a :class:`~simulator.model.FlywheelModel` built from the scenario
``load_scenario(file, overrides)`` gives, so a run in the page and ``flywheel run FILE
--set KEY=VALUE`` give the same numbers for the same seed.

The page reads no file outside its scenarios folder: :func:`resolve_scenario` refuses a
scenario file or a network file (``network.path``, in the file or typed in the page)
that lies outside it (``..``, absolute paths, symbolic links), before anything is
opened, and :func:`problem_lines` never repeats a line of a network file.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.errors import InputError
from simulator.model import FlywheelModel
from simulator.scenario import Problem, Scenario, ScenarioError, load_scenario, read_yaml_file
from simulator.scenario.keys import BadKeyError, apply_key

__all__ = [
    "SCENARIO_SUFFIXES", "ExplorerModel", "default_scenarios_dir", "list_scenarios",
    "problem_lines", "resolve_scenario", "save_scenario", "scenario_path",
]  # fmt: skip

SCENARIO_SUFFIXES = (".yaml", ".yml")
_SAVE_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


def default_scenarios_dir() -> Path:
    """``./scenarios`` if the working folder has one, else the project's own ``scenarios/``."""
    here = Path.cwd() / "scenarios"
    if here.is_dir():
        return here.resolve()
    return (Path(__file__).resolve().parents[2] / "scenarios").resolve()


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symbolic links followed, lies inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def scenario_path(name: str | os.PathLike, root: Path) -> Path:
    """The scenario file ``name`` (relative to ``root``, or absolute inside it).

    Raises
    ------
    InputError
        If the file is outside ``root``, not a ``.yaml`` file or missing. The message names
        the file as given and the folder; it never shows what a file contains.
    """
    text = os.fspath(name)
    candidate = Path(text).expanduser()
    path = candidate if candidate.is_absolute() else root / candidate
    if not _inside(path, root):
        raise InputError(
            f"{text}: the explorer reads scenario files only inside {root}; "
            "copy the file there and pick it again"
        )
    path = path.resolve()
    if path.suffix.lower() not in SCENARIO_SUFFIXES:
        raise InputError(f"{text}: not a scenario file (expected a .yaml file)")
    if not path.is_file():
        raise InputError(f"{text}: scenario file not found in {root}")
    return path


def list_scenarios(root: Path) -> list[str]:
    """Scenario files under ``root`` (relative names, sorted), sweep folders left out."""
    names = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.suffix.lower() not in SCENARIO_SUFFIXES or "sweeps" in relative.parts[:-1]:
            continue
        if path.is_file() and _inside(path, root):
            names.append(relative.as_posix())
    return names


def _network_path_problem(file: Path, data: Any, overrides: Mapping[str, Any], root: Path):
    """A :class:`Problem` if ``network.path``, with the overrides applied, leaves ``root``."""
    merged = copy.deepcopy(data) if isinstance(data, dict) else {}
    for key, value in overrides.items():
        with contextlib.suppress(BadKeyError):  # a bad key: the scenario's validation says so
            apply_key(merged, key, value)
    network = merged.get("network")
    raw = network.get("path") if isinstance(network, dict) else None
    if not isinstance(raw, str):
        return None  # absent, or the wrong type: the scenario's validation reports it
    candidate = Path(raw).expanduser()
    path = candidate if candidate.is_absolute() else file.parent / candidate
    if _inside(path, root):
        return None
    message = f"the explorer reads network files only inside {root}"
    return Problem(os.fspath(file), None, "network.path", message, repr(raw))


def resolve_scenario(
    scenario_file: str | os.PathLike, overrides: Mapping[str, Any], root: Path
) -> Scenario:
    """The validated scenario of ``scenario_file`` (inside ``root``) with ``overrides``.

    Raises
    ------
    InputError
        A file outside ``root`` (scenario or network file), or the scenario's own problems
        (:class:`ScenarioError`, every problem listed), exactly as ``flywheel run`` reports
        them for ``--set``.
    """
    file = scenario_path(scenario_file, root)
    data, _, problems = read_yaml_file(file)
    if data is None:
        raise ScenarioError(problems)
    escape = _network_path_problem(file, data, overrides, root)
    if escape is not None:
        raise ScenarioError([escape])
    return load_scenario(file, overrides=dict(overrides))


# A network file's line, quoted after "got" or inside a parser's message: never shown.
_QUOTED = re.compile(r"(, got .*| \(.*\))$")


def problem_lines(error: InputError) -> list[str]:
    """The lines of a validation message, as the page shows them.

    Each problem of a :class:`ScenarioError` is one line (``key: rule; got value``), as the
    CLI prints them. Messages about a network file's content keep the file, the line number
    and the rule but not the text found there, so the page never shows what a file holds.
    """
    if not isinstance(error, ScenarioError):
        return [_no_content(str(error))]
    lines = []
    for problem in error.problems:
        text = str(problem)
        if problem.key == "network.path":
            text = _no_content(text)
        lines.append(text)
    return lines


def _no_content(text: str) -> str:
    return _QUOTED.sub("", text) if "network.path" in text else text


class ExplorerModel(FlywheelModel):
    """A :class:`~simulator.model.FlywheelModel` built from flat keyword parameters.

    Parameters
    ----------
    scenario_file : str
        A scenario file inside ``scenarios_dir`` (default: ``baseline.yaml``).
    scenarios_dir : str or Path, optional
        The folder the page may read (default: :func:`default_scenarios_dir`).
    **overrides
        Dotted keys to values (``reinvestment.retrain_every=1``, ``seed=7``), applied and
        validated as ``--set`` does.

    Raises
    ------
    InputError
        If the scenario is invalid or a file lies outside ``scenarios_dir``.

    Notes
    -----
    Mesa's *Reset* also passes ``scenario=`` (a ``mesa.experimental.scenarios.Scenario``
    carrying only its random seed) to models that accept keywords; it is ignored: the
    flywheel's seed is the scenario's ``seed`` key. The model stops (``running`` is False)
    after the scenario's ``steps``, so Mesa's play button stops there too.
    """

    def __init__(
        self,
        scenario_file: str = "baseline.yaml",
        scenarios_dir: str | os.PathLike | None = None,
        **overrides: Any,
    ):
        overrides.pop("scenario", None)  # Mesa's own scenario object (see Notes)
        root = Path(scenarios_dir).resolve() if scenarios_dir else default_scenarios_dir()
        scenario = resolve_scenario(scenario_file, overrides, root)
        super().__init__(scenario)
        self.scenario_file = str(scenario_file)
        self.scenarios_dir = root
        self.overrides = dict(overrides)
        """The dotted keys set on top of the file (as ``--set`` would)."""

    def step(self) -> None:
        super().step()
        self.running = self.steps < self.params.steps


def save_scenario(
    scenario: Scenario, name: str, root: Path, *, folder: str = "saved", overwrite: bool = False
) -> Path:
    """Write ``scenario`` as ``root/folder/<name>.yaml``, named ``name``; return the path.

    The file is the resolved scenario (every key, overrides applied), validated by
    loading it back before it takes its place. An existing file is replaced only with
    ``overwrite=True``.

    Raises
    ------
    InputError
        A name that is not lowercase letters, digits, ``_`` or ``-``; an existing file
        (without ``overwrite``); or a scenario that does not load back.
    """
    if not _SAVE_NAME.match(name or ""):
        raise InputError(
            f"scenario name {name!r}: use 1 to 64 lowercase letters, digits, '_' or '-' "
            "(it names the file and the results folder)"
        )
    target_dir = root / folder
    target = target_dir / f"{name}.yaml"
    if not _inside(target, root):
        raise InputError(f"{folder}: not inside {root}")
    if target.exists() and not overwrite:
        raise InputError(
            f"{target.relative_to(root)} exists already; choose another name or tick 'replace'"
        )
    named = scenario.with_overrides({"name": name})
    text = f"# Saved from the Flywheel explorer.\n{named.to_yaml()}"
    target_dir.mkdir(parents=True, exist_ok=True)
    draft = target_dir / f".{name}.yaml.draft"
    draft.write_text(text, encoding="utf-8")
    try:
        load_scenario(draft)  # what is written loads back as a valid scenario
        if overwrite:
            draft.replace(target)
        else:
            with target.open("x", encoding="utf-8") as out:  # "x": never replace a file
                out.write(text)
    except FileExistsError:
        message = f"{target.relative_to(root)} exists already; choose another name"
        raise InputError(message) from None
    finally:
        draft.unlink(missing_ok=True)
    return target

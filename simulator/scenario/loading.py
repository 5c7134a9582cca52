"""Reading scenario files: YAML with lines, overrides, validation, and messages in users' words.

A scenario is read once, at the boundary, and validated with pydantic (unknown keys,
bounds, cross-field rules). Every problem in a file is reported at once, each with the
file, the line, the dotted key (``adoption.innovation``), the rule and the value given.
YAML is read with a safe loader: a scenario file holds plain data and never runs code.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from simulator.errors import InputError

from .keys import BadKeyError, apply_key, schema_at, suggest
from .schema import IssuesError, Scenario, raise_if


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario: where it is, which key, which rule, what was given."""

    file: str | None
    line: int | None
    key: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.file, self.line and f"line {self.line}") if p)
        text = f"{self.key}: {self.message}" if self.key else self.message
        if self.value is not None:
            text += f"; got {self.value}"
        return f"{where}: {text}" if where else text


class ProblemsError(InputError):
    """An invalid file of some :attr:`kind`; ``.problems`` lists every problem found,
    ``str()`` shows them all."""

    kind = "input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        files = [p.file for p in self.problems if p.file]
        where = f" {files[0]}" if files else ""
        lines = [f"Invalid {self.kind}{where}: {len(self.problems)} problem(s)"]
        super().__init__("\n".join(lines + [f"  {problem}" for problem in self.problems]))

    def __reduce__(self) -> tuple:
        return (type(self), (self.problems,))


class ScenarioError(ProblemsError):
    """An invalid scenario; ``.problems`` lists every problem found, ``str()`` shows them all."""

    kind = "scenario"


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _range(loc: tuple, root: type[BaseModel] | None = None) -> str | None:
    """The allowed range of the field at ``loc``, e.g. ``in (0, 1]`` or ``>= 0``."""
    metadata = getattr(schema_at(loc, root)[1], "metadata", [])
    b = {k: f"{getattr(m, k):g}" for m in metadata for k in _BOUNDS if hasattr(m, k)}
    low, high = b.get("ge", b.get("gt")), b.get("le", b.get("lt"))
    if low is not None and high is not None:
        return f"in {'[' if 'ge' in b else '('}{low}, {high}{']' if 'le' in b else ')'}"
    return next((f"{_BOUNDS[k]} {v}" for k, v in b.items()), None)


_MESSAGES = {
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "finite_number": "must be a finite number",
    "string_pattern_mismatch": "must use only lowercase letters, digits, '_' and '-'",
    "model_type": "must be a mapping of keys",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "too_short": "must not be empty",
    "missing": "is required",
    "invalid_key": "keys must be strings",
    "invalid_name": "names must use only lowercase letters, digits, '_' and '-'",
}


def translate(
    exc: ValidationError, root: type[BaseModel] | None = None
) -> list[tuple[tuple, str, str | None]]:
    """Turn pydantic errors into ``(loc, message, value repr)`` in the scenario's words
    (``root``: the schema validated, the scenario by default)."""
    out = []
    for error in exc.errors():
        loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx", {})
        if loc[-1:] == ("[key]",):  # pydantic's marker for a bad mapping key
            loc = loc[:-1]
            kind = "invalid_name" if kind == "string_pattern_mismatch" else "invalid_key"
        value = repr(error["input"]) if "input" in error else None
        if kind == "value_error" and isinstance(ctx.get("error"), IssuesError):
            out += [(loc + sub, message, given) for sub, message, given in ctx["error"].issues]
        elif kind == "extra_forbidden":
            model = schema_at(loc[:-1], root)[0]
            prefix = _dotted(loc[:-1]) + "." if len(loc) > 1 else ""
            candidates = [prefix + name for name in (model.model_fields if model else {})]
            out.append((loc, "unknown key" + suggest(_dotted(loc), candidates), None))
        elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            out.append((loc, f"must be {_range(loc, root) or error['msg']}", value))
        elif kind == "literal_error":
            out.append((loc, f"must be one of {ctx['expected']}", value))
        elif kind == "value_error":
            out.append((loc, str(ctx.get("error", error["msg"])), value))
        else:
            message = _MESSAGES.get(kind, error["msg"])
            out.append((loc, message, None if kind == "missing" else value))
    return out


class _Loader(yaml.SafeLoader):
    """The safe loader, also reading ``1e-3`` as a number (as YAML 1.2 does)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_value(text: str) -> Any:
    """A ``--set`` value parsed as a YAML scalar with the scenario loader's rules.

    ``"0.5"`` gives 0.5, ``"1e-3"`` 0.001, ``"null"`` None, ``"agent"`` the string.
    """
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def _index_lines(node: yaml.Node, path: tuple, lines: dict, duplicates: list) -> None:
    """Record the 1-based line of every mapping key and list item under ``node``."""
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                duplicates.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, path + (key,), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _index_lines(item, path + (i,), lines, duplicates)


def _read_yaml(file: str) -> tuple[Any, dict, list[Problem]]:
    """Read a scenario file safely: ``(data or None if unreadable, key lines, problems)``."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}, [Problem(file, None, "", "file not found")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [Problem(file, None, "", f"cannot read file: {exc}")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        tag = re.search(r"tag '([^']*)'", str(exc.problem))
        if isinstance(exc, yaml.constructor.ConstructorError) and tag:
            message = f"unsupported YAML tag {tag.group(1)!r}: scenario files hold plain data only"
        else:
            message = f"YAML syntax error: {exc.problem or exc.context}"
        return None, {}, [Problem(file, line, "", message)]
    except yaml.YAMLError as exc:
        return None, {}, [Problem(file, None, "", f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        line = node.start_mark.line + 1 if node is not None else None
        message = f"the top level must be a mapping of scenario keys (name:, ...); got {got}"
        return None, {}, [Problem(file, line, "", message)]
    lines: dict[tuple, int] = {}
    duplicates: list[tuple[tuple, int]] = []
    _index_lines(node, (), lines, duplicates)
    problems = [Problem(file, line, _dotted(p), "duplicate key") for p, line in duplicates]
    return data, lines, problems


def _plain(value: Any) -> Any:
    """A mutable deep copy of mappings and lists, so overrides never touch the caller's data."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def collect(
    source: str | os.PathLike | Mapping, overrides: Mapping[str, Any] | None, check_files: bool
) -> tuple[Scenario | None, list[Problem]]:
    """Load, override and validate; return the scenario (None if invalid) and all problems."""
    lines: dict[tuple, int] = {}
    file = base_dir = None
    if isinstance(source, Mapping):
        data, problems = _plain(source), []
    else:
        data, lines, problems = _read_yaml(file := os.fspath(source))
        if data is None:
            return None, problems
        base_dir = Path(file).resolve().parent
    overridden = []
    for key, value in (overrides or {}).items():
        try:
            overridden.append(apply_key(data, key, value))
        except BadKeyError as problem:
            problems.append(Problem(file, None, key, f"in overrides: {problem}"))
    context = {"base_dir": base_dir, "check_files": check_files}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        for loc, message, value in translate(exc):
            # the line of the key, else of its nearest parent; none for overridden values
            found = [lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines]
            if any(loc[: len(path)] == path for path in overridden):
                found = []
            line = found[0] if found else None
            problems.append(Problem(file, line, _dotted(loc), message, value))
        return None, problems
    if scenario.report.highlight:  # names a run will have: known once the scenario is
        from simulator.metrics.columns import highlight_problems

        for loc, message, value in highlight_problems(scenario):
            problems.append(Problem(file, line_of(loc, lines), _dotted(loc), message, value))
    return (None, problems) if problems else (scenario, [])


def load_scenario(
    source: str | os.PathLike | Mapping, overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Load and validate a scenario from a YAML file or a mapping.

    Parameters
    ----------
    source : str, os.PathLike or Mapping
        A scenario file (read with a safe YAML loader; a relative ``network.path`` is
        taken relative to the file's folder) or an already parsed mapping.
    overrides : Mapping[str, Any], optional
        Dotted keys to values, applied to the raw data before validation, so they are
        checked exactly like the file (``{"population.size": 2000}``).

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        Listing every problem found, each with file, line, dotted key, rule and value.
    """
    scenario, problems = collect(source, overrides, check_files=True)
    if scenario is None:
        raise ScenarioError(problems)
    return scenario


def validate_file(path: str | os.PathLike) -> list[Problem]:
    """Check a scenario file without raising.

    Parameters
    ----------
    path : str or os.PathLike
        The scenario file.

    Returns
    -------
    list[Problem]
        Every problem found (unreadable file, YAML error, schema and cross-field rules,
        interventions); empty when the file is a valid scenario.
    """
    return collect(path, None, check_files=True)[1]


# -- helpers for files that embed scenario keys (experiment / sweep files) ----------


def read_yaml_file(file: str | os.PathLike) -> tuple[Any, dict[tuple, int], list[Problem]]:
    """Read a YAML file with the scenario loader's safety and error rules.

    Returns
    -------
    tuple
        ``(data or None if unreadable, {key path: 1-based line}, problems)``; the key paths
        are tuples of mapping keys and list indexes, e.g. ``("sweep", "parameters")``.
    """
    return _read_yaml(os.fspath(file))


def line_of(loc: tuple, lines: Mapping[tuple, int]) -> int | None:
    """The line of the key at ``loc``, else of its nearest parent, else None."""
    return next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)


def validation_problems(
    exc: ValidationError,
    root: type[BaseModel],
    file: str | None = None,
    lines: Mapping[tuple, int] | None = None,
    prefix: tuple = (),
) -> list[Problem]:
    """Pydantic errors of the schema ``root`` as :class:`Problem` s in the scenario's words.

    ``prefix`` is where ``root`` sits in the file (e.g. ``("sweep",)``), for keys and lines.
    """
    return [
        Problem(file, line_of(prefix + loc, lines or {}), _dotted(prefix + loc), message, value)
        for loc, message, value in translate(exc, root)
    ]


def did_you_mean(key: str, candidates: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    return suggest(key, candidates)


def raise_issues(issues: list[tuple[tuple, str, str | None]]) -> None:
    """From a model validator: report ``(relative loc, message, value repr)`` problems, which
    :func:`validation_problems` places at their own keys (not at the validated section)."""
    raise_if(issues)

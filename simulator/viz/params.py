"""The explorer's controls, generated from the scenario schema (never a hand-kept list).

Every value of a scenario has a dotted key (``reinvestment.retrain_every``); the schema
gives its type, its bounds, its default and a description. :func:`controls` turns each
key of a loaded scenario into a :class:`Control` holding all of that, plus the value the
scenario gives it, so the page can draw a slider, a switch, a menu or a text box.
:data:`FIRST_SCREEN` names the keys shown first; their ranges and defaults still come
from the schema.

Items of named lists (the population's groups, and the market's firms once there are
several) are addressed by name (``population.groups.minority.label_noise``), as
``--set`` accepts, so a control keeps its meaning whichever scenario is loaded.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from simulator.scenario import Scenario, parse_value
from simulator.scenario.keys import generic, named_lists, scenario_keys, schema_at
from simulator.scenario.regulation import FEDERATED_KEYS

__all__ = [
    "FIRST_SCREEN", "HIDDEN", "Control", "controls", "first_screen", "parse_text", "rest",
]  # fmt: skip

#: The keys on the first screen, in order; ``*`` stands for every group (one control each).
FIRST_SCREEN: tuple[str, ...] = (
    "reinvestment.retrain_every",
    "reinvestment.latency",
    "reinvestment.rate",
    "population.groups.*.label_noise",
    "learning.transfer",
    "network.mean_degree",
    "network.homophily",
    "adoption.quality_sensitivity",
    "churn.lock_in",
    "market.baseline.time_constant",
)

#: Keys the page does not offer as controls: the name is set when saving; an item's name is
#: its identity (renaming a group would rename its keys); interventions are a list of
#: changes, edited in the scenario file; differential privacy (``privacy:``) is fixed for a
#: run and its epsilon has no default, and the deployment policy
#: (``reinvestment.deployment``) is an optional section, so both are set in the file too.
_DEPLOYMENT = tuple(f"{prefix}reinvestment.deployment.{key}" for prefix in ("", "firms.*.")
                    for key in ("policy", "traffic_pct", "duration", "alpha", "canary_pct",
                                "ramp", "step_duration"))  # fmt: skip
_PRIVACY = ("epsilon", "delta", "clip", "federated", *FEDERATED_KEYS)
HIDDEN: tuple[str, ...] = (
    "name", "description", "interventions", *(f"privacy.{key}" for key in _PRIVACY),
    *_DEPLOYMENT,
)  # fmt: skip

Kind = Literal["int", "float", "bool", "choice", "text"]


@dataclass(frozen=True)
class Control:
    """One scenario value as the page shows it.

    Attributes
    ----------
    key : str
        The dotted key, with list items by name (``population.groups.minority.label_noise``).
    label : str
        A short title in words (``retrain every``, ``label noise: minority``).
    section : str
        The scenario section it belongs to (``reinvestment``, ``population``, ...).
    description : str
        The schema's description of the key.
    kind : {"int", "float", "bool", "choice", "text"}
        What input it takes.
    value : Any
        The value in the loaded scenario (``None`` when the key is unset, e.g. a static market).
    default : Any
        The schema's default.
    low, high : float or None
        The schema's bounds; ``None`` when unbounded.
    low_open, high_open : bool
        Whether the bound itself is excluded (``> 0`` rather than ``>= 0``).
    nullable : bool
        Whether ``null`` (no value) is allowed.
    choices : tuple
        The allowed values of a ``choice``.
    structural : bool
        Whether the key shapes what is built at step 0 (the page restarts the run either way).
    """

    key: str
    label: str
    section: str
    description: str
    kind: Kind
    value: Any
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    nullable: bool = False
    choices: tuple = ()
    structural: bool = False

    @property
    def range_text(self) -> str:
        """The allowed range in the CLI's words: ``in [0, 1]``, ``>= 1``, ``> 0``, or ``""``."""
        low, high = _g(self.low), _g(self.high)
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = f"in {left}{low}, {high}{right}"
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {low}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '<='} {high}"
        elif self.kind == "choice":
            text = "one of " + ", ".join(str(c) for c in self.choices)
        else:
            text = ""
        return f"{text}{'; or empty (null)' if self.nullable else ''}"

    @property
    def slider(self) -> tuple[float, float, float] | None:
        """``(min, max, step)`` for a slider, or None when a slider does not fit.

        The schema's bounds where it has them. An open upper end gets ten times the
        larger of the default and the current value, rounded up to 1, 2 or 5 times a power
        of ten, so the default sits in the first tenth and doubling it is a small move.
        An open bound (``> 0``) starts the slider one step inside it.
        """
        if self.kind not in ("int", "float"):
            return None
        current = self.value if isinstance(self.value, int | float) else None
        scale = max(abs(v) for v in (self.default, current, 1) if isinstance(v, int | float))
        low = self.low if self.low is not None else 0.0
        high = self.high if self.high is not None else _nice_ceiling(10 * scale)
        if current is not None and current > high:
            high = _nice_ceiling(current)
        if high <= low:
            return None
        step = 1 if self.kind == "int" else _nice_step((high - low) / 100)
        if self.low_open:
            low += step
        if self.kind == "int":
            return int(math.ceil(low)), int(high), 1
        return float(low), float(high), float(step)

    def text(self) -> str:
        """The current value as a text box shows it (YAML scalar; empty for null)."""
        if self.value is None:
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, float):
            return f"{self.value:g}" if f"{self.value:g}" == repr(self.value) else repr(self.value)
        return str(self.value)


def _g(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value * (1 - 1e-12))


def _nice_step(value: float) -> float:
    """The largest of 1, 2, 5 x 10^k that is <= ``value``."""
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (5, 2, 1) if m * power <= value * (1 + 1e-12))


def _by_name(key: str, scenario: Scenario) -> str:
    """``population.groups.1.label_noise`` -> ``population.groups.minority.label_noise``."""
    parts = key.split(".")
    data: Any = scenario.to_dict()
    lists = named_lists()
    for i, part in enumerate(parts):
        here = generic(".".join(parts[:i]))
        if i > 0 and here in lists and isinstance(data, list) and part.isdigit():
            item = data[int(part)]
            parts[i] = str(item.get("name", part))
            data = item
        elif isinstance(data, dict):
            data = data.get(part)
    return ".".join(parts)


def _value(scenario: Scenario, key: str) -> Any:
    """The value in force at ``key``; a firm's own section key it does not set shows the
    top-level value it takes."""
    parts = key.split(".")
    if parts[0] == "firms" and len(parts) >= 4:
        value: Any = scenario.firm_sections(int(parts[1]))[parts[2]]
        for part in parts[3:]:
            value = getattr(value, part)
        return value
    data: Any = scenario.to_dict()
    for part in parts:
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _kind(annotation: Any) -> tuple[Kind, bool, tuple]:
    """``(kind, nullable, choices)`` of a field's type annotation."""
    args = get_args(annotation)
    nullable = False
    if get_origin(annotation) in (Union, types.UnionType):
        nullable = type(None) in args
        rest = [a for a in args if a is not type(None)]
        annotation = rest[0] if len(rest) == 1 else annotation
    if get_origin(annotation) is Literal:
        return "choice", nullable, get_args(annotation)
    if annotation is bool:
        return "bool", nullable, ()
    if annotation is int:
        return "int", nullable, ()
    if annotation is float:
        return "float", nullable, ()
    return "text", nullable, ()


def _label(key: str) -> tuple[str, str]:
    """``(section, label)`` in words: ``("reinvestment", "retrain every")``, or for a list
    item ``("population", "label noise: minority")``."""
    parts, pattern = key.split("."), generic(key).split(".")
    field = parts[-1].replace("_", " ")
    items = [parts[i] for i, p in enumerate(pattern) if p == "*"]
    middle = [p.replace("_", " ") for p in pattern[1:-1] if p != "*" and p != parts[0]]
    if items:
        middle = [m for m in middle if m not in ("groups", "firms")]
    label = " ".join([*middle, field]) if middle else field
    if items:
        label = f"{label}: {', '.join(items)}"
    return (parts[0] if len(parts) > 1 else "run"), label


def control(key: str, scenario: Scenario) -> Control:
    """The :class:`Control` of one dotted key of ``scenario``, list items by index
    (``population.groups.1.label_noise``, as :func:`scenario_keys` lists them)."""
    named = _by_name(key, scenario)
    loc = tuple(int(p) if p.isdigit() else p for p in key.split("."))
    info = schema_at(loc)[1]
    kind, nullable, choices = _kind(info.annotation)
    bounds = {type(m).__name__.lower(): m for m in info.metadata}
    low = bounds.get("ge") or bounds.get("gt")
    high = bounds.get("le") or bounds.get("lt")
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    section, label = _label(named)
    default = info.get_default(call_default_factory=True) if not info.is_required() else None
    return Control(
        key=named,
        label=label,
        section=section,
        description=info.description or "",
        kind=kind,
        value=_value(scenario, key),
        default=default,
        low=None if low is None else float(getattr(low, "ge", getattr(low, "gt", 0))),
        high=None if high is None else float(getattr(high, "le", getattr(high, "lt", 0))),
        low_open="gt" in bounds,
        high_open="lt" in bounds,
        nullable=nullable,
        choices=choices,
        structural=bool(extra.get("structural")),
    )


def controls(scenario: Scenario) -> list[Control]:
    """Every key of ``scenario`` the page offers, in schema order (see :data:`HIDDEN`)."""
    out = []
    for key in scenario_keys(scenario):
        pattern = generic(key)
        if pattern in HIDDEN or (pattern.endswith(".*.name") and "*" in pattern):
            continue
        out.append(control(key, scenario))
    return out


def _matches(key: str, pattern: str) -> bool:
    return generic(key) == pattern if "*" in pattern else key == pattern


def first_screen(all_controls: list[Control]) -> list[Control]:
    """The controls of :data:`FIRST_SCREEN`, in its order (one per group for ``*`` keys)."""
    return [c for pattern in FIRST_SCREEN for c in all_controls if _matches(c.key, pattern)]


def rest(all_controls: list[Control]) -> list[Control]:
    """The controls not on the first screen, in schema order."""
    first = {c.key for c in first_screen(all_controls)}
    return [c for c in all_controls if c.key not in first]


def parse_text(text: str) -> Any:
    """A value typed into a text box, read as ``--set`` reads it (a YAML scalar).

    Empty text is ``null``. Text that is not a YAML scalar (``[1``) is kept as a string,
    so the scenario's validation reports it in its own words (``must be a number``).
    """
    if not text.strip():
        return None
    try:
        value = parse_value(text)
    except yaml.YAMLError:
        return text
    return text if isinstance(value, dict | list) else value

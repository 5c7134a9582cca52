"""Scenario files: the typed, validated description of one simulated market.

A scenario is read once, at the boundary, and validated with pydantic (unknown keys,
bounds, cross-field rules). Every problem in a file is reported at once, each with the
file, the line, the dotted key (``adoption.innovation``), the rule and the value given.
``Scenario()`` with no arguments is the baseline of ``shared/scenario-reference.yaml``.

Dotted keys address any value: ``reinvestment.retrain_every``, and inside the group
list either an index or a group name: ``population.groups.1.label_noise`` or
``population.groups.minority.label_noise``. They are used by overrides (``--set``) and
by interventions, which change non-structural keys part-way through a run.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from simulator.errors import InputError

__all__ = [
    "Adoption", "Baseline", "Churn", "Data", "Group", "Intervention", "Learning", "Market",
    "NetworkSpec", "Population", "Problem", "Reinvestment", "Scenario", "ScenarioError",
    "load_scenario", "scenario_keys", "validate_file",
]  # fmt: skip

Unit = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]

# Keys an intervention may not change: they shape what is built at step 0.
_FIXED = (
    "name", "description", "seed", "steps", "dt", "engine", "population.size",
    "population.groups.*.name", "population.groups.*.share", "population.activity_cv",
    "network", "adoption.initial_adopters", "adoption.seeding", "learning.kind", "interventions",
)  # fmt: skip


class _IssuesError(ValueError):
    """Cross-field problems raised from a validator: ``(relative loc, message, value repr)``."""

    def __init__(self, issues: list[tuple[tuple, str, str | None]]) -> None:
        super().__init__("; ".join(message for _, message, _ in issues))
        self.issues = issues


def _raise_if(issues: list[tuple[tuple, str, str | None]]) -> None:
    if issues:
        raise _IssuesError(issues)


class _Section(BaseModel):
    # strict: `true` or "0.3" is not a number; ints are still accepted for floats.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Group(_Section):
    """A user segment: its share of the population, activity and feedback noise."""

    name: Name
    share: Annotated[float, Field(gt=0, le=1)]
    activity: NonNegative = 3.0
    label_noise: Unit = 0.10
    # Estimator learners (learning.kind: estimator): a user's feedback signal is a draw
    # from N(data_mean, data_spread^2); a wrong one (label_noise) has its sign flipped.
    data_mean: float = 0.0
    data_spread: Positive = 1.0
    arrivals: Annotated[int | None, Field(ge=0)] = None  # users joining per step (rule: arrivals)


_DEFAULT_GROUPS = (Group(name="majority", share=0.8), Group(name="minority", share=0.2))


class Population(_Section):
    """The users: how many, which segments, and how unequal their activity is."""

    size: Annotated[int, Field(ge=1)] = 5000
    groups: list[Group] = Field(default_factory=lambda: list(_DEFAULT_GROUPS), min_length=1)
    activity_cv: NonNegative = 0.5  # 0 = every user has exactly the group's mean activity

    @model_validator(mode="after")
    def _check_groups(self) -> Population:
        issues, seen = [], set()
        total = sum(group.share for group in self.groups)
        if abs(total - 1) > 1e-9:
            issues.append((("groups",), "group shares must sum to 1", repr(round(total, 9))))
        for i, group in enumerate(self.groups):
            if group.name in seen:
                issues.append((("groups", i, "name"), "duplicate group name", repr(group.name)))
            seen.add(group.name)
        _raise_if(issues)
        return self


class NetworkSpec(_Section):
    """The social network users adopt through (yaml key ``network``)."""

    kind: Literal[
        "complete", "erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block", "file"
    ] = "barabasi_albert"
    mean_degree: Positive = 6.0
    rewire: Unit = 0.1
    homophily: Unit = 0.0
    path: str | None = None

    @field_validator("path")
    @classmethod
    def _resolve_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        context = info.context or {}
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and context.get("base_dir") is not None:
            path = context["base_dir"] / path
            value = str(path)
        if context.get("check_files") and not path.is_file():
            raise ValueError(f"network file not found: {path}")
        return value

    @model_validator(mode="after")
    def _check_kind(self) -> NetworkSpec:
        issues = []
        if self.kind == "file" and self.path is None:
            issues.append((("path",), "is required when kind is 'file'", None))
        degree = self.mean_degree
        even = degree.is_integer() and degree >= 2 and degree % 2 == 0
        if self.kind == "watts_strogatz" and not even:
            message = "must be an even integer >= 2 when kind is 'watts_strogatz'"
            issues.append((("mean_degree",), message, repr(degree)))
        _raise_if(issues)
        return self


class Adoption(_Section):
    """How potential users become adopters (Bass hazard or neighbour threshold)."""

    rule: Literal["bass", "threshold", "arrivals"] = "bass"  # arrivals: each group's fixed count
    innovation: NonNegative = 0.002
    imitation: NonNegative = 0.3
    threshold: Unit = 0.18
    quality_sensitivity: NonNegative = 4.0
    initial_adopters: Annotated[int, Field(ge=0)] = 10
    seeding: Literal["random", "hubs"] = "random"


class Data(_Section):
    """How interactions turn into feedback signals and filtered training data."""

    feedback_rate: Unit = 0.3
    filter_recall: Unit = 0.9
    filter_false_accept: Unit = 0.3
    # Estimator learners only: each retrain (generation) trains on a batch of fresh real
    # data plus samples from the deployed model (synthetic_share of the batch).
    synthetic_share: Unit = 0.0
    policy: Literal["accumulate", "replace"] = "accumulate"  # keep every batch, or the newest
    batch_size: Annotated[int | None, Field(ge=1)] = None  # points per group per generation

    @model_validator(mode="after")
    def _check_batch(self) -> Data:
        if self.synthetic_share == 1 and self.batch_size is None:
            message = (
                "must be set when data.synthetic_share is 1 (with no real data in the batch, "
                "it sets how many synthetic points each generation draws)"
            )
            _raise_if([(("batch_size",), message, "None")])
        return self


class Learning(_Section):
    """The learner: a learning curve from data counts, or an estimator fitted to data points."""

    kind: Literal["curve", "estimator"] = "curve"
    # estimator learners (see docs/learners.md)
    estimator: Literal["median", "mean", "gaussian", "logistic"] = "median"
    objective: Literal["erm", "group_dro"] = "erm"
    alpha_min: Annotated[float, Field(gt=0, le=1)] = 0.3  # group_dro: smallest protected share
    initial_examples: Annotated[int, Field(ge=0)] = 0  # clean examples per group at step 0
    initial_error: Annotated[float, Field(gt=0, le=1)] = 0.5
    floor_error: NonNegative = 0.05
    exponent: Positive = 0.3
    scale: Positive = 2000.0
    transfer: Unit = 0.5
    noise_penalty: NonNegative = 0.5

    @model_validator(mode="after")
    def _check_floor(self) -> Learning:
        issues = []
        if self.floor_error >= self.initial_error:
            message = f"must be < learning.initial_error ({self.initial_error:g})"
            issues.append((("floor_error",), message, repr(self.floor_error)))
        if self.objective == "group_dro" and self.kind != "estimator":
            message = "is only used by estimator learners (learning.kind: estimator)"
            issues.append((("objective",), message, repr(self.objective)))
        elif self.objective == "group_dro" and self.estimator == "gaussian":
            message = "group_dro is available for the median, mean and logistic estimators"
            issues.append((("objective",), message, repr(self.objective)))
        _raise_if(issues)
        return self


class Reinvestment(_Section):
    """How fast collected data is turned back into a better model."""

    rate: Unit = 1.0
    retrain_every: Annotated[int, Field(ge=1)] = 4
    latency: Annotated[int, Field(ge=0)] = 1
    data_half_life: Annotated[float | None, Field(gt=0)] = 104.0  # None: data never ages
    ab_test: bool = True  # a retrained model goes live only if it beats the deployed one


class Churn(_Section):
    """Why active users leave: base hazard, dissatisfaction, softened by lock-in."""

    base_rate: NonNegative = 0.01
    sensitivity: NonNegative = 5.0
    satisfaction_rate: Unit = 0.3
    lock_in: Unit = 0.5
    lock_in_time: Positive = 26.0
    rejoin_rate: NonNegative = 0.0
    # hazard: the churn hazard above; risk: an active user of group g stays with probability
    # exp(-R_g dt) per step, R_g the deployed estimator's risk (Hashimoto et al. 2018)
    retention: Literal["hazard", "risk"] = "hazard"


class Baseline(_Section):
    """Quality users can get elsewhere, rising from ``start`` towards ``ceiling``."""

    start: Unit = 0.5
    ceiling: Unit = 0.8
    time_constant: Annotated[float | None, Field(gt=0)] = 156.0  # None: stays at start


class Market(_Section):
    """The competitive environment of the product."""

    baseline: Baseline = Baseline()
    regulatory_barrier: bool = False  # regulation protects the incumbent (defensibility input)


class Intervention(_Section):
    """A change of non-structural keys from step ``at`` on: ``set`` maps dotted keys to values."""

    at: Annotated[int, Field(ge=1)]
    set: Annotated[dict[str, Any], Field(min_length=1)]


def _check_network_file(path: str, size: int) -> list[tuple[tuple, str, str | None]]:
    """A network file must parse and have one node per user."""
    from .network import read_network_file  # networkx is only needed for file networks

    if not Path(path).is_file():
        return []  # reported by the path validator
    try:
        nodes, _ = read_network_file(path)
    except InputError as exc:
        return [(("network", "path"), str(exc).removeprefix("network.path: "), None)]
    if nodes != size:
        message = (
            f"file {path!r} has {nodes} nodes but population.size is {size}; "
            f"set population.size: {nodes}"
        )
        return [(("network", "path"), message, None)]
    return []


class Scenario(_Section):
    """One complete, validated scenario; ``Scenario()`` is the baseline."""

    name: Name = "baseline"
    description: str = (
        "One AI product, 5,000 users on a scale-free social network, retraining every "
        "four weeks against an improving open baseline model."
    )
    seed: Annotated[int, Field(ge=0)] = 42
    steps: Annotated[int, Field(ge=1)] = 156
    dt: Positive = 1.0
    engine: Literal["agent", "array", "auto"] = "auto"
    population: Population = Population()
    network: NetworkSpec = NetworkSpec()
    adoption: Adoption = Adoption()
    data: Data = Data()
    learning: Learning = Learning()
    reinvestment: Reinvestment = Reinvestment()
    churn: Churn = Churn()
    market: Market = Market()
    interventions: list[Intervention] = []

    @model_validator(mode="after")
    def _check_scenario(self, info: ValidationInfo) -> Scenario:
        issues = []
        size, seeds = self.population.size, self.adoption.initial_adopters
        if self.network.kind == "file" and (info.context or {}).get("check_files"):
            issues += _check_network_file(self.network.path, size)
        if seeds > size:
            message = f"must be <= population.size ({size})"
            issues.append((("adoption", "initial_adopters"), message, repr(seeds)))
        if self.network.kind not in ("complete", "file") and self.network.mean_degree >= size:
            message = f"must be < population.size ({size})"
            issues.append((("network", "mean_degree"), message, repr(self.network.mean_degree)))
        _raise_if(issues + self._check_estimator_keys() + self._check_interventions())
        return self

    def _check_estimator_keys(self) -> list[tuple[tuple, str, str | None]]:
        """Keys that only mean something with estimator learners or the arrivals rule."""
        issues: list[tuple[tuple, str, str | None]] = []
        arrivals = self.adoption.rule == "arrivals"
        for i, group in enumerate(self.population.groups):
            where = ("population", "groups", i, "arrivals")
            if arrivals and group.arrivals is None:
                issues.append((where, "is required when adoption.rule is 'arrivals'", "None"))
            elif not arrivals and group.arrivals is not None:
                message = "is only used when adoption.rule is 'arrivals'"
                issues.append((where, message, repr(group.arrivals)))
        if self.learning.kind == "estimator":
            if self.learning.estimator == "logistic" and self.data.synthetic_share > 0:
                message = (
                    "needs a generative estimator (median, mean or gaussian): a logistic "
                    "classifier models labels, not the data, so it cannot sample points"
                )
                share = repr(self.data.synthetic_share)
                issues.append((("data", "synthetic_share"), message, share))
            return issues
        only = "is only used by estimator learners (learning.kind: estimator)"
        if self.churn.retention == "risk":
            issues.append((("churn", "retention"), only, "'risk'"))
        data = self.data
        for key, value, default in (("synthetic_share", data.synthetic_share, 0.0),
                                    ("policy", data.policy, "accumulate"),
                                    ("batch_size", data.batch_size, None)):  # fmt: skip
            if value != default:
                issues.append((("data", key), only, repr(value)))
        return issues

    def _check_interventions(self) -> list[tuple[tuple, str, str | None]]:
        """Apply the interventions cumulatively, in ``at`` order; each result must be valid."""
        issues: list[tuple[tuple, str, str | None]] = []
        current = self.to_dict() | {"interventions": []}
        for i in sorted(range(len(self.interventions)), key=lambda i: self.interventions[i].at):
            change, where = self.interventions[i], ("interventions", i)
            # An intervention after the last step is allowed: it never happens in this
            # run, so shortening a run with --steps never invalidates its file.
            trial, paths = copy.deepcopy(current), {}
            for key, value in change.set.items():
                if _is_structural(key):
                    message = "is structural (fixed at step 0) and cannot change in an intervention"
                    issues.append((where + ("set", key), message, repr(value)))
                    continue
                try:
                    paths[key] = _apply(trial, key, value)
                except _BadKeyError as problem:
                    issues.append((where + ("set", key), str(problem), None))
            try:
                Scenario.model_validate(trial)
            except ValidationError as exc:
                for loc, message, value in _translate(exc):
                    key = next((k for k, p in paths.items() if loc[: len(p)] == p), None)
                    rest = (key, *loc[len(paths[key]) :]) if key is not None else loc
                    issues.append((where + ("set", *rest), message, value))
                continue
            if len(paths) == len(change.set):
                current = trial
        return sorted(issues, key=lambda issue: issue[0][1])  # in the file's order

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """Return a new validated scenario with dotted keys set to new values.

        Parameters
        ----------
        overrides : Mapping[str, Any]
            Dotted keys (``reinvestment.retrain_every``, ``population.groups.minority.label_noise``)
            to values.

        Returns
        -------
        Scenario
            The changed scenario; ``self`` is left unchanged.

        Raises
        ------
        ScenarioError
            If a key is unknown or the changed scenario is invalid (all problems listed).
        """
        scenario, problems = _collect(self.to_dict(), overrides, check_files=False)
        if scenario is None:
            raise ScenarioError(problems)
        return scenario

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (lists, dicts, numbers, strings)."""
        return self.model_dump(mode="python")

    def to_yaml(self) -> str:
        """The resolved scenario as YAML text that loads back to an equal scenario."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


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


class ScenarioError(InputError):
    """An invalid scenario; ``.problems`` lists every problem found, ``str()`` shows them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        files = [p.file for p in self.problems if p.file]
        where = f" {files[0]}" if files else ""
        lines = [f"Invalid scenario{where}: {len(self.problems)} problem(s)"]
        super().__init__("\n".join(lines + [f"  {problem}" for problem in self.problems]))

    def __reduce__(self) -> tuple:
        return (type(self), (self.problems,))


class _BadKeyError(ValueError):
    """A dotted key that does not name a value of the scenario."""


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds (directly, as list items or dict values), else None."""
    if get_origin(annotation) in (list, dict):
        annotation = get_args(annotation)[-1]
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def _leaf_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> list[str]:
    keys = []
    for name, info in model.model_fields.items():
        item = _item_model(info.annotation)
        if item is None or item is Intervention:
            keys.append(prefix + name)
        else:
            star = ".*" if get_origin(info.annotation) is list else ""
            keys += _leaf_keys(item, f"{prefix}{name}{star}.")
    return keys


_LEAVES = _leaf_keys()


def scenario_keys(scenario: Scenario | None = None) -> list[str]:
    """Every valid dotted key, with groups as ``population.groups.<index>.<field>``.

    Parameters
    ----------
    scenario : Scenario, optional
        Whose groups to enumerate; the baseline (two groups) by default.

    Returns
    -------
    list[str]
        Leaf keys in schema order, e.g. ``adoption.innovation``.
    """
    count = len((scenario or Scenario()).population.groups)
    keys: list[str] = []
    for key in _LEAVES:
        if "*" not in key:
            keys.append(key)
        elif key.endswith("*.name"):  # the first field of a group: emit every group in turn
            fields = [k for k in _LEAVES if k.startswith(key[: -len("name")])]
            keys += [f.replace("*", str(i)) for i in range(count) for f in fields]
    return keys


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _generic(key: str) -> str:
    """``population.groups.<name or index>.share`` -> ``population.groups.*.share``."""
    parts = key.split(".")
    if parts[:2] == ["population", "groups"] and len(parts) > 2:
        parts[2] = "*"
    return ".".join(parts)


def _is_structural(key: str) -> bool:
    key = _generic(key)
    return any(s == key or s.startswith(key + ".") or key.startswith(s + ".") for s in _FIXED)


def _suggest(key: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _apply(data: dict, key: str, value: Any) -> tuple:
    """Set dotted ``key`` in raw scenario ``data`` (merging mappings); return its path."""
    parts: list[Any] = key.split(".")
    pattern, in_groups = _generic(key), parts[:2] == ["population", "groups"] and len(parts) > 2
    if not any(leaf == pattern or leaf.startswith(pattern + ".") for leaf in _LEAVES):
        token = parts[2] if in_groups else "0"
        candidates = [leaf.replace("*", token) for leaf in _LEAVES]
        raise _BadKeyError("unknown key" + _suggest(key, candidates))
    if in_groups:
        population = data.get("population")
        if not isinstance(population, dict):
            population = data["population"] = {}
        if not isinstance(population.get("groups"), list):
            population["groups"] = [group.model_dump() for group in _DEFAULT_GROUPS]
        groups = population["groups"]
        names = [group.get("name") if isinstance(group, dict) else None for group in groups]
        if parts[2].isdigit() and int(parts[2]) < len(groups):
            parts[2] = int(parts[2])
        elif parts[2] in names:
            parts[2] = names.index(parts[2])
        else:
            raise _BadKeyError(f"no group {parts[2]!r}; groups are {names} (name or index)")
    node = data
    for part in parts[:-1]:
        child = node[part] if isinstance(node, list) else node.get(part)
        if not isinstance(child, dict | list):
            child = node[part] = {}
        node = child
    last = parts[-1]
    old = node[last] if isinstance(node, list) else node.get(last)
    merge = isinstance(old, dict) and isinstance(value, Mapping)
    node[last] = _merge(old, value) if merge else value
    return tuple(parts)


def _merge(old: dict, new: Mapping) -> dict:
    merged = dict(old)
    for key, value in new.items():
        both = isinstance(merged.get(key), dict) and isinstance(value, Mapping)
        merged[key] = _merge(merged[key], value) if both else value
    return merged


def _schema_at(
    loc: tuple, root: type[BaseModel] | None = None
) -> tuple[type[BaseModel] | None, Any]:
    """The section model and the field info reached by following ``loc`` through the schema
    of ``root`` (the scenario by default)."""
    model: type[BaseModel] | None = root or Scenario
    info, in_mapping = None, False
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the item's model was taken from the list field
        if in_mapping:  # a key of a mapping of sections: its model was taken from the field
            in_mapping = False
            continue
        if model is None or part not in model.model_fields:
            return None, None
        info = model.model_fields[part]
        model = _item_model(info.annotation)
        in_mapping = model is not None and get_origin(info.annotation) is dict
    return model, info


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def _range(loc: tuple, root: type[BaseModel] | None = None) -> str | None:
    """The allowed range of the field at ``loc``, e.g. ``in (0, 1]`` or ``>= 0``."""
    metadata = getattr(_schema_at(loc, root)[1], "metadata", [])
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
}


def _translate(
    exc: ValidationError, root: type[BaseModel] | None = None
) -> list[tuple[tuple, str, str | None]]:
    """Turn pydantic errors into ``(loc, message, value repr)`` in the scenario's words
    (``root``: the schema validated, the scenario by default)."""
    out = []
    for error in exc.errors():
        loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx", {})
        if loc[-1:] == ("[key]",):  # pydantic's marker for a bad mapping key
            loc, kind = loc[:-1], "invalid_key"
        value = repr(error["input"]) if "input" in error else None
        if kind == "value_error" and isinstance(ctx.get("error"), _IssuesError):
            out += [(loc + sub, message, given) for sub, message, given in ctx["error"].issues]
        elif kind == "extra_forbidden":
            model = _schema_at(loc[:-1], root)[0]
            prefix = _dotted(loc[:-1]) + "." if len(loc) > 1 else ""
            candidates = [prefix + name for name in (model.model_fields if model else {})]
            out.append((loc, "unknown key" + _suggest(_dotted(loc), candidates), None))
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


def _collect(
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
            overridden.append(_apply(data, key, value))
        except _BadKeyError as problem:
            problems.append(Problem(file, None, key, f"in overrides: {problem}"))
    context = {"base_dir": base_dir, "check_files": check_files}
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        for loc, message, value in _translate(exc):
            # the line of the key, else of its nearest parent; none for overridden values
            found = [lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines]
            if any(loc[: len(path)] == path for path in overridden):
                found = []
            line = found[0] if found else None
            problems.append(Problem(file, line, _dotted(loc), message, value))
        return None, problems
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
    scenario, problems = _collect(source, overrides, check_files=True)
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
    return _collect(path, None, check_files=True)[1]


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
        for loc, message, value in _translate(exc, root)
    ]


def did_you_mean(key: str, candidates: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    return _suggest(key, candidates)


def raise_issues(issues: list[tuple[tuple, str, str | None]]) -> None:
    """From a model validator: report ``(relative loc, message, value repr)`` problems, which
    :func:`validation_problems` places at their own keys (not at the validated section)."""
    _raise_if(issues)


def key_problem(key: str, scenario: Scenario | None = None) -> str | None:
    """Why dotted ``key`` names no single value of ``scenario`` (baseline by default), or None.

    Examples: ``"unknown key; did you mean 'adoption.imitation'?"``, ``"no group 'minorty'; ..."``,
    ``"is a section, not a value; ..."``.
    """
    data = (scenario or Scenario()).to_dict()
    try:
        _apply(data, key, None)
    except _BadKeyError as problem:
        return str(problem)
    generic = _generic(key)
    if generic not in _LEAVES or generic == "interventions":
        inside = [leaf for leaf in _LEAVES if leaf.startswith(generic + ".")]
        return f"is a section, not a value; use one of its keys, e.g. {inside[:3]}"
    return None


def key_annotation(key: str) -> Any:
    """The type annotation of the value at dotted ``key`` (``int``, ``float | None``, ...),
    or None if the key is unknown."""
    parts = tuple(0 if p == "*" else p for p in _generic(key).split("."))
    info = _schema_at(parts)[1]
    return info.annotation if info is not None else None

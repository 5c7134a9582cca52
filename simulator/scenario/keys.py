"""Dotted keys: one name for every value of a scenario, derived from the schema.

``reinvestment.retrain_every`` names a value; inside a *named list* (a list of
sections that have a ``name``: the population's groups, and the market's firms) an
item is addressed by its position or its name: ``population.groups.1.label_noise``
or ``population.groups.minority.label_noise``. Overrides (``--set``), sweeps and
interventions all use these keys.

Everything here is computed from the pydantic schema: the leaf keys, which lists
are named lists, and which keys are *structural* (marked in the schema with
:func:`~simulator.scenario.schema.structural`: they shape what is built at step 0,
so an intervention may not change them).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cache
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from .schema import Intervention, Scenario

__all__ = [
    "BadKeyError", "apply_key", "generic", "is_structural", "key_annotation", "leaf_keys",
    "named_lists", "scenario_keys", "structural_keys", "suggest",
]  # fmt: skip


class BadKeyError(ValueError):
    """A dotted key that does not name a value of the scenario."""


def _unoptional(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (any other annotation as it is)."""
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def item_model(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds (directly, optionally, as list items or dict values),
    else None."""
    annotation = _unoptional(annotation)  # a firm's own list of sections: list[...] | None
    if get_origin(annotation) in (list, dict):
        annotation = get_args(annotation)[-1]
    if get_origin(annotation) in (Union, UnionType):  # Section | None
        models = [arg for arg in get_args(annotation) if arg is not type(None)]
        annotation = models[0] if len(models) == 1 else annotation
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def _walk(model: type[BaseModel], prefix: str = ""):
    """``(generic key, field info, item model or None, is a list)`` for every field, depth first.

    A list of sections contributes ``<key>.*`` to its items' keys. Interventions are a
    leaf: their ``set`` mappings hold dotted keys of their own.
    """
    for name, info in model.model_fields.items():
        item = item_model(info.annotation)
        is_list = get_origin(_unoptional(info.annotation)) is list
        key = prefix + name
        yield key, info, item, is_list
        if item is not None and item is not Intervention:
            yield from _walk(item, f"{key}{'.*' if is_list else ''}.")


@cache
def leaf_keys() -> tuple[str, ...]:
    """Every leaf key in schema order, with ``*`` for an item of a list."""
    return tuple(key for key, _, item, _ in _walk(Scenario) if item is None or item is Intervention)


@cache
def named_lists() -> tuple[str, ...]:
    """The generic keys of lists whose items have a ``name`` (``population.groups``, ...)."""
    return tuple(
        key
        for key, _, item, is_list in _walk(Scenario)
        if is_list and item is not None and "name" in item.model_fields
    )


@cache
def structural_keys() -> tuple[str, ...]:
    """Generic keys marked structural in the schema (a structural section covers its keys)."""
    return tuple(
        key
        for key, info, _, _ in _walk(Scenario)
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("structural")
    )


def _split(key: str) -> list[str]:
    return key.split(".")


def _list_positions(parts: list[str]) -> list[int]:
    """Indexes in ``parts`` that address an item of a named list."""
    positions, lists = [], named_lists()
    generic_parts: list[str] = []
    for i, part in enumerate(parts):
        if ".".join(generic_parts) in lists and i > 0:
            positions.append(i)
            generic_parts.append("*")
        else:
            generic_parts.append(part)
    return positions


def generic(key: str) -> str:
    """``population.groups.<name or index>.share`` -> ``population.groups.*.share``."""
    parts = _split(key)
    for i in _list_positions(parts):
        parts[i] = "*"
    return ".".join(parts)


def is_structural(key: str) -> bool:
    """Whether an intervention may not change ``key`` (or anything inside it)."""
    key = generic(key)
    return any(
        s == key or s.startswith(key + ".") or key.startswith(s + ".") for s in structural_keys()
    )


def suggest(key: str, candidates: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _default_items(list_key: str) -> list[dict]:
    """The default items of a named list (the baseline's groups; no firms), as plain data."""
    model: type[BaseModel] = Scenario
    for part in list_key.split("."):
        info = model.model_fields[part]
        nested = item_model(info.annotation)
        if part == list_key.split(".")[-1]:
            default = info.get_default(call_default_factory=True)
            return [item.model_dump() for item in default or []]
        model = nested  # type: ignore[assignment]
    return []  # pragma: no cover


def _singular(list_key: str) -> str:
    last = list_key.split(".")[-1]
    return last[:-1] if last.endswith("s") else last


def apply_key(data: dict, key: str, value: Any) -> tuple:
    """Set dotted ``key`` in raw scenario ``data`` (merging mappings); return its path.

    An item of a named list is found by name or position; a missing list takes its
    default items first (a file that sets ``population`` but not ``groups`` has the
    two default groups).
    """
    parts: list[Any] = _split(key)
    pattern = generic(key)
    leaves = leaf_keys()
    if not any(leaf == pattern or leaf.startswith(pattern + ".") for leaf in leaves):
        positions = _list_positions(parts)
        candidates = list(leaves)
        for i in positions:  # suggest keys in the user's own list item
            candidates = [c.replace("*", parts[i], 1) for c in candidates]
        candidates = [c.replace("*", "0") for c in candidates]
        raise BadKeyError("unknown key" + suggest(key, candidates))
    positions = set(_list_positions(parts))
    node: Any = data
    i = 0
    while i < len(parts) - 1:
        part = parts[i]
        child = node[part] if isinstance(node, list) else node.get(part)
        if i + 1 not in positions:
            if not isinstance(child, dict | list):
                child = node[part] = {}
            node, i = child, i + 1
            continue
        list_key = generic(".".join(str(p) for p in parts[: i + 1]))
        if not isinstance(child, list):
            child = node[part] = _default_items(list_key)
        names = [item.get("name") if isinstance(item, dict) else None for item in child]
        token = parts[i + 1]
        if token.isdigit() and int(token) < len(child):
            index = int(token)
        elif token in names:
            index = names.index(token)
        else:
            plural = list_key.split(".")[-1]
            raise BadKeyError(
                f"no {_singular(list_key)} {token!r}; {plural} are {names} (name or index)"
            )
        parts[i + 1] = index
        if i + 1 == len(parts) - 1:  # the key names a whole item
            node = child
            break
        if not isinstance(child[index], dict):
            child[index] = {}
        node, i = child[index], i + 2
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


def schema_at(
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
        model = item_model(info.annotation)
        in_mapping = model is not None and get_origin(info.annotation) is dict
    return model, info


def scenario_keys(scenario: Scenario | None = None) -> list[str]:
    """Every valid dotted key, with list items as ``<list>.<index>.<field>``.

    Parameters
    ----------
    scenario : Scenario, optional
        Whose named lists to enumerate (groups, firms); the baseline by default.

    Returns
    -------
    list[str]
        Leaf keys in schema order, e.g. ``adoption.innovation``.
    """
    data = (scenario or Scenario()).to_dict()
    keys: list[str] = []
    for key in leaf_keys():
        if "*" not in key:
            keys.append(key)
            continue
        list_key = key[: key.index(".*")]
        if key != f"{list_key}.*.name":
            continue  # a list item's first field: emit every item's fields in turn
        items = data
        for part in list_key.split("."):
            items = items.get(part) or []
        fields = [k for k in leaf_keys() if k.startswith(f"{list_key}.*.")]
        keys += [f.replace("*", str(i), 1) for i in range(len(items)) for f in fields]
    # A named list inside a list item (a firm's data.signals) is not enumerated.
    return [key for key in keys if "*" not in key and _is_on(data, key)]


def _is_on(data: dict, key: str) -> bool:
    """False for a key inside an optional section that is off (``economics`` when the
    scenario has none, in a firm too unless the firm sets its own)."""
    parts = key.split(".")
    if parts[0] == "firms" and len(parts) > 3:
        own = data["firms"][int(parts[1])].get(parts[2])
        return own is not None or data.get(parts[2]) is not None
    value: Any = data
    for part in parts[:-1]:
        value = value[int(part)] if isinstance(value, list) else value.get(part)
        if value is None:
            return False
    return True


def key_problem(key: str, scenario: Scenario | None = None) -> str | None:
    """Why dotted ``key`` names no single value of ``scenario`` (baseline by default), or None.

    Examples: ``"unknown key; did you mean 'adoption.imitation'?"``, ``"no group 'minorty'; ..."``,
    ``"is a section, not a value; ..."``.
    """
    data = (scenario or Scenario()).to_dict()
    try:
        apply_key(data, key, None)
    except BadKeyError as problem:
        return str(problem)
    pattern = generic(key)
    if pattern not in leaf_keys() or pattern == "interventions":
        inside = [leaf for leaf in leaf_keys() if leaf.startswith(pattern + ".")]
        return f"is a section, not a value; use one of its keys, e.g. {inside[:3]}"
    return None


def key_annotation(key: str) -> Any:
    """The type annotation of the value at dotted ``key`` (``int``, ``float | None``, ...),
    or None if the key is unknown."""
    parts = tuple(0 if p == "*" else p for p in generic(key).split("."))
    info = schema_at(parts)[1]
    return info.annotation if info is not None else None

"""Frozen dataclasses that are quick to make: the step's records, views and parameters.

A step builds a dozen small read-only objects (its view, draws, tally, record, each
firm's record, the mechanisms' parameters, the pipeline's counts). ``dataclass(frozen=True)``
gives them an ``__init__`` that stores each field through ``object.__setattr__``, about
0.25 us a field: 3.7 us for a 13-field record against 1.1 us for the same values
written straight into the instance's ``__dict__`` (measured), some 20-25 us of a small
step's fixed cost in all.

:func:`quick_init` replaces the generated ``__init__`` of a frozen dataclass by one that
writes the fields into ``__dict__``. Nothing else changes: the class is still frozen
(assigning a field raises ``FrozenInstanceError``), and its signature, defaults,
``repr``, equality, hashing, ``dataclasses.replace`` and pickling are the dataclass's.
"""

from __future__ import annotations

import dataclasses

_NO_VALUE = object()

QUICK: list[type] = []
"""Every class given :func:`quick_init` (the tests compare each with its dataclass init)."""


def quick_init[T](cls: type[T]) -> type[T]:
    """Give frozen dataclass ``cls`` an ``__init__`` that writes its fields into the
    instance's ``__dict__`` (the dataclass's own stays as ``cls.__dataclass_init__``).

    Only plain frozen dataclasses qualify: no ``__post_init__``, no ``__slots__``, no
    keyword-only or ``init=False`` fields (``TypeError`` otherwise).
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__}: quick_init is for frozen dataclasses")
    if hasattr(cls, "__post_init__") or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init takes no __post_init__ or __slots__")
    fields = dataclasses.fields(cls)
    if any(not f.init or f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: quick_init takes only plain init fields")
    namespace: dict[str, object] = {"_NO_VALUE": _NO_VALUE}
    arguments, lines = [], ["    fields = self.__dict__"]
    for f in fields:
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            arguments.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            arguments.append(f"{f.name}=_NO_VALUE")
            lines.append(f"    if {f.name} is _NO_VALUE:\n        {f.name} = _factory_{f.name}()")
        else:
            arguments.append(f.name)
        lines.append(f"    fields[{f.name!r}] = {f.name}")
    source = f"def __init__(self, {', '.join(arguments)}):\n" + "\n".join(lines)
    exec(source, namespace)  # noqa: S102 - our own field names, generated as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {f.name: f.type for f in fields} | {"return": None}
    cls.__dataclass_init__ = cls.__init__  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[method-assign]
    QUICK.append(cls)
    return cls

"""Engines: how the users' half of a step is computed.

- ``agent``: every user is a Mesa agent (the readable reference, ``simulator.agents``).
- ``array``: the same rules over NumPy arrays and a sparse adjacency matrix
  (``simulator.engine.array``), for millions of users.

Both consume the same per-step draws and call the same functions of
``simulator.rules``, so they produce identical timeseries.
"""

from __future__ import annotations

from ..errors import InputError

ENGINES = ("agent", "array", "auto")

AUTO_ARRAY_FROM = 20_000
"""``engine: auto`` uses the array engine from this many users on, the agent engine below."""


def resolve_engine(requested: str, population: int) -> str:
    """The engine a run uses, ``agent`` or ``array``, for the requested one and population."""
    if requested not in ENGINES:
        raise InputError(f"engine: must be one of agent, array, auto; got {requested!r}")
    if requested == "auto":
        return "array" if population >= AUTO_ARRAY_FROM else "agent"
    return requested

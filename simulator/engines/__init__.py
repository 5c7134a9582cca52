"""Engines: how the users' half of a step is computed, behind one protocol.

- ``agent``: every user is a Mesa agent (the readable reference, :mod:`.agent`);
- ``array``: the same mechanisms' vector kernels over NumPy arrays and a sparse
  adjacency matrix (:mod:`.array`), for millions of users.

The step order is written once (:mod:`.step`); both engines consume the same draws
(:mod:`.draws`) and call the same mechanisms, so they produce identical timeseries.
"""

from __future__ import annotations

from simulator.errors import InputError

from .agent import AgentEngine
from .array import ArrayUsers

ENGINES = {"agent": AgentEngine, "array": ArrayUsers.build}
"""Engine name -> constructor ``(model, population, quality) -> UserEngine``."""

AUTO_ARRAY_FROM = 20_000
"""``engine: auto`` uses the array engine from this many users on, the agent engine below."""


def resolve_engine(requested: str, population: int) -> str:
    """The engine a run uses, ``agent`` or ``array``, for the requested one and population."""
    if requested not in (*ENGINES, "auto"):
        raise InputError(f"engine: must be one of agent, array, auto; got {requested!r}")
    if requested == "auto":
        return "array" if population >= AUTO_ARRAY_FROM else "agent"
    return requested


def make_engine(name: str, model, population, quality):
    """Build the ``UserEngine`` called ``name`` for ``model``'s initial ``population``."""
    return ENGINES[name](model, population, quality)


def uses_agents(name: str) -> bool:
    """Whether engine ``name`` creates a Mesa agent per user (it then needs a NetworkX graph)."""
    return ENGINES.get(name) is AgentEngine

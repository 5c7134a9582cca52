"""What every section of the scenario format shares: the base class and the ``Field``
metadata of a key (an ordinary key, or a structural one fixed at step 0).

A module of its own, so that the sections kept beside :mod:`.schema` (deployment,
regulation, signals) and the schema itself use one definition.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A block of a scenario file: unknown keys, wrong types and non-finite numbers are errors."""

    # strict: `true` or "0.3" is not a number; ints are still accepted for floats.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def structural(description: str, **constraints: Any) -> Any:
    """``Field`` metadata for a key fixed at step 0: interventions may not change it.

    The mark is also written into the JSON schema (``"structural": true``).
    """
    return Field(description=description, json_schema_extra={"structural": True}, **constraints)


def about(description: str, **constraints: Any) -> Any:
    """``Field`` metadata for an ordinary key: its description and bounds."""
    return Field(description=description, **constraints)

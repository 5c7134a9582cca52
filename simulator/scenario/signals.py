"""Typed feedback signals in the scenario format: ``data.signals`` (a named list) and the
defaults of each kind.

No dynamics here: :mod:`simulator.firm.signals` turns interactions into signals. A signal
left without ``rate``, ``noise`` or ``weight`` takes its kind's default
(:data:`KIND_DEFAULTS`), filled in when the file is read, so that the resolved scenario
shows the values in force.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .section import Section, about

KINDS = ("thumbs", "correction", "dwell", "copy", "share", "edit")
"""The kinds of feedback signal: explicit (thumbs, correction) and implicit (the rest)."""

KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "thumbs": {"rate": 0.05, "noise": None, "weight": 1.0},
    "correction": {"rate": 0.01, "noise": 0.02, "weight": 5.0},
    "dwell": {"rate": 1.0, "noise": None, "weight": 1.0},
    "copy": {"rate": 0.1, "noise": 0.15, "weight": 1.0},
    "share": {"rate": 0.02, "noise": 0.1, "weight": 2.0},
    "edit": {"rate": 0.05, "noise": 0.2, "weight": 1.0},
}
"""Per kind: the share of interactions that yield the signal, its share of wrong labels
(None: the group's ``label_noise``) and the training examples one kept signal is worth."""

DWELL_ONLY = ("threshold", "good_median", "bad_median", "spread")
"""Keys of the dwell-time model, which only a dwell signal has."""


PerGroup = float | dict[str, float]
"""One number for every group, or a mapping ``{group: number}`` (groups left out take the
kind's default; for thumbs noise, the group's label_noise)."""


class Signal(Section):
    """One feedback signal a firm collects from its users' interactions."""

    name: Annotated[
        str,
        Field(pattern=r"^[a-z0-9_-]+$", json_schema_extra={"structural": True},
              description="Signal name, used in columns such as signals[thumbs]."),
    ]  # fmt: skip
    kind: Annotated[
        Literal["thumbs", "correction", "dwell", "copy", "share", "edit"],
        about("thumbs (up/down), correction (a user's manual edit of the answer), dwell (time "
              "spent on the answer), copy, share or edit (implicit)."),
    ]  # fmt: skip
    rate: Annotated[
        float | None,
        about("Share of interactions that yield the signal, in [0, 1] (dwell: whose dwell time "
              "is measured; a signal only when it exceeds the threshold). Default by kind: "
              "thumbs 0.05, correction 0.01, dwell 1, copy 0.1, share 0.02, edit 0.05.",
              ge=0, le=1),
    ] = None  # fmt: skip
    noise: Annotated[
        PerGroup | None,
        about("Share of the signals with a wrong label, in [0, 1]: a number, or per group "
              "{group: noise}; null = the group's label_noise. Default by kind: thumbs null, "
              "correction 0.02, copy 0.15, share 0.1, edit 0.2. Not for dwell (its noise "
              "follows from the threshold and the deployed model's quality)."),
    ] = None  # fmt: skip
    weight: Annotated[
        float | None,
        about("Training examples one kept signal is worth. Default by kind: correction 5, "
              "share 2, the others 1.", gt=0),
    ] = None  # fmt: skip
    threshold: Annotated[
        float | None,
        about("dwell: seconds of dwell time above which the signal is positive (default 30).",
              gt=0),
    ] = None  # fmt: skip
    good_median: Annotated[
        PerGroup | None,
        about("dwell: median dwell time (s) on a good answer, or per group (default 60).")
    ] = None  # fmt: skip
    bad_median: Annotated[
        PerGroup | None,
        about("dwell: median dwell time (s) on a bad answer, or per group (default 12).")
    ] = None  # fmt: skip
    spread: Annotated[
        float | None,
        about("dwell: standard deviation of the log dwell time (log-normal; default 1).", gt=0)
    ] = None  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Fill the kind's defaults (a valid kind only: a bad one is reported by its field)."""
        if not isinstance(data, dict) or data.get("kind") not in KIND_DEFAULTS:
            return data
        kind = data["kind"]
        filled = dict(data)
        for key, value in KIND_DEFAULTS[kind].items():
            if filled.get(key) is None and not (key == "noise" and kind == "dwell"):
                filled[key] = value
        if kind == "dwell":
            for key, value in (("threshold", 30.0), ("good_median", 60.0),
                               ("bad_median", 12.0), ("spread", 1.0)):  # fmt: skip
                if filled.get(key) is None:
                    filled[key] = value
        return filled

    @model_validator(mode="after")
    def _check(self) -> Signal:
        from .schema import raise_if

        issues = []
        if self.kind == "dwell" and self.noise is not None:
            message = (
                "is not set for a dwell signal: its share of wrong labels follows from "
                "threshold, good_median, bad_median, spread and the deployed model's quality"
            )
            issues.append((("noise",), message, repr(self.noise)))
        if self.kind != "dwell":
            for key in DWELL_ONLY:
                if getattr(self, key) is not None:
                    message = f"is only used by a dwell signal (this one is {self.kind!r})"
                    issues.append(((key,), message, repr(getattr(self, key))))
        for key, low, high in (("noise", 0.0, 1.0), ("good_median", 0.0, None),
                               ("bad_median", 0.0, None)):  # fmt: skip
            value = getattr(self, key)
            values = value.items() if isinstance(value, dict) else [(None, value)]
            for group, number in values:
                if number is None:
                    continue
                bad = (
                    number < low
                    or (high is not None and number > high)
                    or (high is None and number <= low)
                )
                if bad:
                    where = (key,) if group is None else (key, group)
                    allowed = f"in [{low:g}, {high:g}]" if high is not None else "> 0"
                    issues.append((where, f"must be {allowed}", repr(number)))
        raise_if(issues)
        return self


def signal_names(signals: list[Signal]) -> list[str]:
    """The names of a firm's signals; without ``data.signals`` the one signal, ``thumbs``."""
    return [signal.name for signal in signals] or ["thumbs"]

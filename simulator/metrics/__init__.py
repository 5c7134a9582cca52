"""Metrics: timeseries reporters over the step record (:mod:`.reporters`), flywheel
health and takeoff from the timeseries (:mod:`.health`), and the defensibility audit
(:mod:`.audit`)."""

from .audit import AUDIT, audit_inputs, defensibility
from .health import (
    add_health_columns,
    flywheel_health,
    half_adoption_step,
    steps_per_year,
    takeoff_step,
    word_of_mouth_step,
)
from .market import economics_summary, market_summary
from .reporters import model_reporters

__all__ = [
    "AUDIT", "add_health_columns", "audit_inputs", "defensibility", "economics_summary",
    "flywheel_health", "half_adoption_step", "market_summary", "model_reporters",
    "steps_per_year", "takeoff_step", "word_of_mouth_step",
]  # fmt: skip

"""The names a run will have, known before it runs: timeseries columns and summary fields.

A scenario's ``report.highlight`` names its key metrics; they are checked against
these names when the scenario is loaded, so a misspelt metric is an error at the
boundary (with a suggestion), not a missing line on a plot.
"""

from __future__ import annotations

from ..scenario.keys import suggest
from .audit import AUDIT
from .reporters import ESTIMATOR_REPORTERS, model_reporters

#: Columns added after the run (:func:`simulator.metrics.health.add_health_columns`).
HEALTH_COLUMNS = (
    "data_growth_rate",
    "model_improvement_rate",
    "user_growth_rate",
    "data_per_user",
    "feedback_rate",
)

#: Summary fields that hold one number (dotted paths into summary.json), besides
#: ``final.<column>``, ``flywheel_health.<metric>`` and the audit's items.
SUMMARY_NUMBERS = (
    "takeoff_step",
    "word_of_mouth_step",
    "half_adoption_step",
    "peak_active_users",
    "defensibility.score",
)


def timeseries_columns(scenario) -> list[str]:
    """Every column of the timeseries a run of ``scenario`` writes, in the file's order."""
    groups = [group.name for group in scenario.population.groups]
    estimator = scenario.learning.kind == "estimator"
    firms = scenario.firm_names if scenario.firms else None
    sections = [scenario.firm_sections(j) for j in range(len(scenario.firm_names))]
    sources = any(s["cold_start"].in_use for s in sections)
    economics = any(s["economics"] is not None for s in sections)
    from ..firm.abtest import uses_ab_test, uses_canary
    from ..firm.pairs import uses_preference
    from .reporters import collected_signals

    reporters = model_reporters(groups, estimator=estimator, firms=firms, sources=sources,
                                economics=economics, ab_test=uses_ab_test(scenario),
                                preference=uses_preference(scenario),
                                signals=collected_signals(scenario),
                                canary=uses_canary(scenario))  # fmt: skip
    return [*reporters, *HEALTH_COLUMNS]


def market_fields(scenario) -> list[str]:
    """The one-number fields of summary.json's ``market`` block (markets of firms only)."""
    if not scenario.firms:
        return []
    per_firm = ("enters_at", "active_users", "market_share", "quality", "moat",
                "peak_market_share")  # fmt: skip
    firms = [f"market.firms.{firm}.{part}" for firm in scenario.firm_names for part in per_firm]
    catch_up = [f"market.catch_up_step.{f.name}" for f in scenario.firms if f.enters_at > 0]
    return ["market.hhi", "market.tipping_step", "market.switches", *catch_up, *firms]


def summary_fields(scenario) -> list[str]:
    """Every one-number field of a run's ``summary.json``, as a dotted path."""
    items = [f"defensibility.items.{item}.{part}" for item in AUDIT for part in ("input", "points")]
    health = [f"flywheel_health.{name}" for name in HEALTH_COLUMNS]
    final = [f"final.{column}" for column in timeseries_columns(scenario)]
    money = []
    if any(scenario.firm_sections(j)["economics"] is not None
           for j in range(len(scenario.firm_names))):  # fmt: skip
        names = ("revenue", "costs", "cumulative_profit", "cash_burn", "payback_step")
        money = [f"economics.{name}" for name in names]
    from ..regulation import regulation_fields

    return [*SUMMARY_NUMBERS, *items, *health, *final, *market_fields(scenario), *money,
            *regulation_fields(scenario), *deployment_fields(scenario)]  # fmt: skip


def deployment_fields(scenario) -> list[str]:
    """The one-number fields of summary.json's ``deployment`` block (A/B tests only)."""
    from ..firm.abtest import uses_ab_test, uses_canary

    if not uses_ab_test(scenario):
        return []
    canary = ("rollouts", "rollbacks") if uses_canary(scenario) else ()
    return [f"deployment.{name}" for name in (
        "tests", "promoted", "shipped_worse", "rejected_better", "shipped_worse_share",
        "rejected_better_share", "wrong_share", *canary)]  # fmt: skip


def highlight_problems(scenario) -> list[tuple[tuple, str, str]]:
    """``(location, message, value)`` for every ``report.highlight`` a run cannot have."""
    columns = timeseries_columns(scenario)
    known = set(columns) | set(summary_fields(scenario))
    problems = []
    for i, name in enumerate(scenario.report.highlight):
        if name in known:
            continue
        if scenario.learning.kind != "estimator" and name in ESTIMATOR_REPORTERS:
            message = "is a column of estimator learners only (learning.kind: estimator)"
            problems.append((("report", "highlight", i), message, repr(name)))
            continue
        examples = ["moat", "active_users", *[c for c in columns if c.startswith("share[")][:2]]
        message = (
            f"unknown metric{suggest(name, sorted(known))}; a highlight must name a "
            f"timeseries column of this scenario (such as {', '.join(examples)}; every "
            "column is in docs/outputs.md) or a summary field (takeoff_step, "
            "word_of_mouth_step, half_adoption_step, peak_active_users, defensibility.score, "
            "defensibility.items.<item>.input, flywheel_health.<metric>, final.<column>)"
        )
        problems.append((("report", "highlight", i), message, repr(name)))
    return problems

"""Words for what a run measures and what a scenario sets: titles, units and run labels.

Figures, tables and handouts speak to instructors and students, so a column such as
``share[minority]`` is shown as "minority's share of active users", a scenario key
such as ``reinvestment.retrain_every`` as "steps between retrains", and a run made with
``--set`` is labelled by its scenario *and* its overrides, never by the scenario alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

#: Column or summary field -> (readable name, unit). Group columns use ``<g>``.
METRICS: dict[str, tuple[str, str]] = {
    "step": ("step", "steps"),
    "time": ("time", "weeks"),
    "potential_users": ("potential users", "users"),
    "active_users": ("active users", "users"),
    "churned_users": ("churned users", "users"),
    "adoptions": ("adoptions", "users per step"),
    "organic_adoptions": ("word-of-mouth adoptions", "users per step"),
    "spontaneous_adoptions": ("spontaneous adoptions", "users per step"),
    "churns": ("churns", "users per step"),
    "rejoins": ("rejoins", "users per step"),
    "interactions": ("interactions", "interactions per step"),
    "signals": ("feedback signals", "signals per step"),
    "wrong_signals": ("wrong feedback signals", "signals per step"),
    "kept_signals": ("signals kept by the filter", "signals per step"),
    "new_examples": ("new training examples", "examples per step"),
    "training_examples": ("training data used", "examples"),
    "collected_examples": ("data collected", "examples"),
    "noise_share": ("wrong labels in the training data", "share, 0–1"),
    "model_version": ("models deployed", "models"),
    "quality": ("model quality", "quality, 0–1"),
    "baseline_quality": ("market baseline quality", "quality, 0–1"),
    "moat": ("moat", "quality − market baseline"),
    "quality_gap": ("quality gap between groups", "quality difference, 0–1"),
    "synthetic_examples": ("synthetic points in the training set", "points"),
    "training_set": ("points in the training set", "points"),
    "model_mean": ("model's mean", "data units"),
    "model_spread": ("model's spread", "data units (sd)"),
    "data_growth_rate": ("data growth", "ratio vs a year earlier"),
    "model_improvement_rate": ("model improvement", "ratio vs a year earlier"),
    "user_growth_rate": ("user growth", "× users a year earlier"),
    "data_per_user": ("data per user", "examples per active user"),
    "feedback_rate": ("feedback rate", "share of interactions, 0–1"),
    "takeoff_step": ("takeoff", "step"),
    "word_of_mouth_step": ("word of mouth overtakes marketing", "step"),
    "half_adoption_step": ("half the market adopted", "step"),
    "peak_active_users": ("peak active users", "users"),
    "defensibility.score": ("defensibility score", "points out of 10"),
    "takeoff_share": ("runs that took off", "share of replicates, 0–1"),
    "runtime_s": ("run time", "s"),
    # per group, <g> = the group's name
    "active_users[<g>]": ("active users: <g>", "users"),
    "quality[<g>]": ("model quality for <g>", "quality, 0–1"),
    "share[<g>]": ("<g>'s share of active users", "share, 0–1"),
    "training_examples[<g>]": ("training data from <g>", "examples"),
    "risk[<g>]": ("model's risk for <g>", "loss"),
    # a market of firms: <g> is then a firm (or firm/group)
    "market_share[<g>]": ("<g>'s market share", "share of the firms' users, 0–1"),
    "moat[<g>]": ("<g>'s moat", "quality lead over the best alternative"),
    "model_version[<g>]": ("models <g> deployed", "models"),
    "hhi": ("market concentration (HHI)", "0–1"),
    "switches": ("users switching firms", "users per step"),
    "market.hhi": ("market concentration (HHI) at the end", "0–1"),
    "market.winner": ("the firm with the largest final share", ""),
    "market.tipping_step": ("the market tips", "step"),
    "market.switches": ("switches between firms", "users"),
}

#: The audit's items, as a strategist would name them.
AUDIT_ITEMS = {
    "data_exclusivity": "exclusive data",
    "user_lock_in": "user lock-in",
    "network_density": "network density",
    "data_quality": "data quality",
    "regulatory_barrier": "regulatory barrier",
}

#: Scenario keys (generic: groups as ``*``) -> (readable name, unit).
KEYS: dict[str, tuple[str, str]] = {
    "seed": ("seed", ""),
    "steps": ("steps simulated", "steps"),
    "dt": ("length of a step", "weeks"),
    "population.size": ("users in the market", "users"),
    "population.activity_cv": ("spread of users' activity", "coefficient of variation"),
    "population.groups.*.share": ("<g>'s share of the population", "share, 0–1"),
    "population.groups.*.activity": ("<g>'s interactions per week", "per user per week"),
    "population.groups.*.label_noise": ("<g>'s wrong feedback", "share, 0–1"),
    "network.mean_degree": ("contacts per user", "mean degree"),
    "network.rewire": ("ties rewired", "probability"),
    "network.homophily": ("homophily", "0–1"),
    "adoption.innovation": ("spontaneous adoption", "hazard per week"),
    "adoption.imitation": ("word of mouth", "hazard per week"),
    "adoption.threshold": ("adoption threshold", "share of contacts, 0–1"),
    "adoption.quality_sensitivity": ("adoption's sensitivity to quality", "per unit quality"),
    "adoption.initial_adopters": ("initial adopters", "users"),
    "data.feedback_rate": ("feedback rate", "share of interactions, 0–1"),
    "data.filter_recall": ("filter keeps good signals", "share, 0–1"),
    "data.filter_false_accept": ("filter lets wrong signals through", "share, 0–1"),
    "data.synthetic_share": ("synthetic share of each batch", "share, 0–1"),
    "learning.scale": ("learning-curve scale", "examples"),
    "learning.exponent": ("learning-curve exponent", ""),
    "learning.transfer": ("transfer between groups", "0–1"),
    "learning.noise_penalty": ("noise penalty", "error per unit noise share"),
    "learning.initial_examples": ("curated cold-start examples", "examples per group"),
    "reinvestment.rate": ("share of data used for training", "share, 0–1"),
    "reinvestment.retrain_every": ("steps between retrains", "steps"),
    "reinvestment.latency": ("steps from training to deployment", "steps"),
    "reinvestment.data_half_life": ("data half-life", "steps"),
    "churn.base_rate": ("base churn", "hazard per week"),
    "churn.sensitivity": ("churn's sensitivity to quality", "per unit quality"),
    "churn.lock_in": ("lock-in", "share of churn removed, 0–1"),
    "churn.lock_in_time": ("time to lock in", "steps"),
    "churn.rejoin_rate": ("rejoining", "hazard per week"),
    "market.baseline.start": ("market baseline at the start", "quality, 0–1"),
    "market.baseline.ceiling": ("market baseline ceiling", "quality, 0–1"),
    "market.baseline.time_constant": ("market baseline's time constant", "steps"),
    "firms.*.enters_at": ("<g>'s entry week", "weeks"),
    "firms.*.initial_adopters": ("<g>'s first users", "users"),
    "choice.quality_weight": ("utility per unit of quality", "utility"),
    "choice.local_network_effect": ("local network effect", "utility"),
    "choice.global_network_effect": ("global network effect", "utility per user"),
    "choice.reconsider_rate": ("users reconsidering", "hazard per week"),
    "choice.switching_cost": ("switching cost", "utility"),
}

_GROUP = re.compile(r"^(?P<metric>[a-z_]+)\[(?P<group>.+)\]$")


def _metric(name: str) -> tuple[str, str] | None:
    if name in METRICS:
        return METRICS[name]
    match = _GROUP.match(name)
    if match and f"{match['metric']}[<g>]" in METRICS:
        title, unit = METRICS[f"{match['metric']}[<g>]"]
        return title.replace("<g>", match["group"]), unit
    return None


def describe(name: str) -> tuple[str, str]:
    """``(readable name, unit)`` of a column, a summary field or a scenario key.

    Parameters
    ----------
    name : str
        A timeseries column (``share[minority]``), a dotted summary field (``final.moat``,
        ``flywheel_health.user_growth_rate``, ``defensibility.items.user_lock_in.input``)
        or a scenario key (``reinvestment.retrain_every``, ``population.groups.1.share``).

    Returns
    -------
    tuple of str
        E.g. ``("moat at the end", "quality − market baseline")``. A name this module
        does not know is returned with its underscores as spaces and no unit.
    """
    name = str(name)
    if found := _metric(name):
        return found
    head, _, rest = name.partition(".")
    if head == "final" and (found := _metric(rest)):
        return f"{found[0]} at the end", found[1]
    if head == "flywheel_health" and (found := _metric(rest)):
        return f"{found[0]} at the end", found[1]
    if match := re.match(r"^defensibility\.items\.(\w+)\.(input|points)$", name):
        item = AUDIT_ITEMS.get(match[1], match[1].replace("_", " "))
        return (f"audit: {item}", "0–1") if match[2] == "input" else (f"audit: {item}", "points")
    parts = name.split(".")
    if len(parts) > 3 and parts[:2] == ["population", "groups"]:
        generic = ".".join(["population", "groups", "*", *parts[3:]])
        if generic in KEYS:
            title, unit = KEYS[generic]
            group = f"group {parts[2]}" if parts[2].isdigit() else parts[2]
            return title.replace("<g>", group), unit
    if len(parts) > 2 and parts[0] == "firms":  # a firm's own key
        firm = f"firm {parts[1]}" if parts[1].isdigit() else parts[1]
        generic = ".".join(["firms", "*", *parts[2:]])
        if generic in KEYS:
            title, unit = KEYS[generic]
            return title.replace("<g>", firm), unit
        inner = ".".join(parts[2:])
        if inner in KEYS:
            title, unit = KEYS[inner]
            return f"{firm}: {title}", unit
    if head == "market" and len(parts) == 3 and parts[1] == "catch_up_step":
        return f"{parts[2]} catches up", "step"
    if head == "market" and len(parts) == 4 and parts[1] == "firms":
        found = _metric(f"{parts[3]}[{parts[2]}]") or (parts[3].replace("_", " "), "")
        return f"{found[0]} at the end", found[1]
    if name in KEYS:
        return KEYS[name]
    return parts[-1].replace("_", " "), ""


def axis_label(name: str) -> str:
    """``"readable name (unit)"``, e.g. ``"steps between retrains (steps)"``."""
    title, unit = describe(name)
    return f"{title} ({unit})" if unit else title


def format_value(value: Any) -> str:
    """A value as the user would type it after ``--set KEY=``: ``0.9``, ``null``, ``true``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else repr(value)
    return str(value)


def overrides_text(overrides: Mapping[str, Any] | None) -> str:
    """``"key=value, key=value"`` in the order given; ``""`` without overrides."""
    return ", ".join(f"{key}={format_value(value)}" for key, value in (overrides or {}).items())


def run_label(scenario: str, overrides: Mapping[str, Any] | None = None) -> str:
    """A run's name in legends and tables: its scenario, then its overrides if any.

    ``run_label("baseline", {"market.baseline.ceiling": 0.9})`` is
    ``"baseline (market.baseline.ceiling=0.9)"``.
    """
    text = overrides_text(overrides)
    return f"{scenario} ({text})" if text else str(scenario)


def summary_label(summary: Mapping[str, Any]) -> str:
    """:func:`run_label` of a run's summary (``scenario`` and ``overrides`` fields)."""
    return run_label(summary.get("scenario") or "unnamed", summary.get("overrides") or {})


def overrides_slug(overrides: Mapping[str, Any], limit: int = 80) -> str:
    """A folder-name form of the overrides: ``"reinvestment.retrain_every=1,steps=52"``.

    Characters other than letters, digits and ``. _ - = , +`` become ``_``. A slug
    longer than ``limit`` keeps its start and ends with a hash of the whole, so two
    different sets of overrides never share a folder.
    """
    text = ",".join(f"{key}={format_value(value)}" for key, value in overrides.items())
    slug = re.sub(r"[^A-Za-z0-9._=,+-]", "_", text)
    if len(slug) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        slug = f"{slug[: limit - 9]}-{digest}"
    return slug

"""Figures that tell a scenario's story: its key metrics, and the defensibility audit.

Each scenario names its key metrics in ``report.highlight`` (``share[minority]`` for
bias, ``model_spread`` for model collapse, ``collected_examples`` for hoarding). The
key-metrics figure draws each of them over time against the level that gives it
meaning (a group's share of the population, the spread of the users' own data, a moat
of 0); the audit figure shows each item of the defensibility audit, its measured input
against its threshold, and the points it scores. Both are in the style of
:mod:`simulator.reporting.plots` and are drawn by :func:`~simulator.reporting.plots.save_all`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .names import AUDIT_ITEMS, describe
from .plots import (
    BLACK,
    GREEN,
    LINESTYLES,
    PALETTE,
    VERMILLION,
    _weeks,
    legend_below,
    new_figure,
    styled,
)

_THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}")
_BOX = {"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#999999", "alpha": 0.9}


def highlights(scenario: Any) -> list[str]:
    """The scenario's ``report.highlight`` (a Scenario, its dict, or None: none)."""
    if scenario is None:
        return []
    report = scenario.get("report") if isinstance(scenario, Mapping) else scenario.report
    if report is None:
        return []
    names = report.get("highlight") if isinstance(report, Mapping) else report.highlight
    return list(names or [])


def _groups(scenario: Any) -> list[Mapping[str, Any]]:
    if scenario is None:
        return []
    data = scenario if isinstance(scenario, Mapping) else scenario.to_dict()
    return list((data.get("population") or {}).get("groups") or [])


def references(column: str, scenario: Any) -> list[tuple[float | str, str]]:
    """Levels that give a key metric its meaning: ``(value or column, label)`` pairs.

    A group's share of active users is read against its share of the population, a
    group's quality against the market baseline (a column), an estimator's spread and
    mean against the users' own data, a moat and a quality gap against 0.
    """
    groups = {group.get("name"): group for group in _groups(scenario)}
    if column.startswith("share[") and column[6:-1] in groups:
        share = float(groups[column[6:-1]]["share"])
        return [(share, f"share of the population ({share:.2f})")]
    if column == "quality" or column.startswith("quality["):
        return [("baseline_quality", "market baseline")]
    if column in ("model_spread", "model_mean") and groups:
        key = "data_spread" if column == "model_spread" else "data_mean"
        default = 1.0 if key == "data_spread" else 0.0
        values = {float(group.get(key, default)) for group in groups.values()}
        if len(values) == 1:
            value = values.pop()
            word = "spread (sd)" if column == "model_spread" else "mean"
            return [(value, f"users' data: {word} {value:g}")]
    if column == "moat":
        return [(0.0, "no moat (0)")]
    if column == "quality_gap":
        return [(0.0, "no gap (0)")]
    return []


def has_field(summary: Mapping[str, Any], path: str) -> bool:
    """Whether the summary has the dotted field ``path`` (its value may be null)."""
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _summary_value(summary: Mapping[str, Any], path: str) -> Any:
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def format_number(name: str, value: Any, dt: float = 1.0) -> str:
    """A key number as a handout shows it: weeks for steps, thousands separators.

    ``dt`` is the length of a step in weeks: a step number is shown as its week.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "never" if name.endswith("_step") else "not defined"
    if name.endswith("_step"):
        if not isinstance(value, int | float):
            return str(value)
        return f"week {value * dt:g}" if dt == 1 else f"step {value:g} (week {value * dt:g})"
    if name == "defensibility.score":
        return f"{value:.3g} / 10"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if name.split(".")[-1] == "moat":
        return f"{value:+.3f}"
    unit = describe(name)[1]
    counts = any(word in unit for word in ("users", "examples", "points", "models"))
    if isinstance(value, int) or abs(value) >= 100 or (counts and float(value).is_integer()):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def summary_number(summary: Mapping[str, Any], name: str) -> Any:
    """A highlight's value at the end of the run: ``final.<column>`` or a summary field."""
    if "." not in name and name not in summary:
        return _summary_value(summary, f"final.{name}")
    return _summary_value(summary, name)


@styled
def key_metrics_figure(
    ts: pd.DataFrame, summary: Mapping[str, Any], scenario: Any = None
) -> Figure | None:
    """The scenario's key metrics over time, one panel each, against their reference.

    Parameters
    ----------
    ts, summary
        The run's timeseries and summary.
    scenario : Scenario or mapping, optional
        The scenario as run: its ``report.highlight`` lists the metrics, its groups give
        the reference levels (:func:`references`).

    Returns
    -------
    matplotlib.figure.Figure or None
        One panel per highlighted timeseries column (highlighted summary fields, such
        as ``half_adoption_step``, are written under the panels); None when the scenario
        highlights nothing.
    """
    names = highlights(scenario)
    columns = [name for name in names if name in ts.columns]
    fields = [name for name in names if name not in ts.columns]
    if not names:
        return None
    n = max(len(columns), 1)
    shape = (1, n) if n <= 3 else (math.ceil(n / 2), 2)
    size = {1: (10.0, 6.5), 2: (14.0, 6.5), 3: (18.0, 6.5)}.get(n, (14.0, 4.6 * shape[0] + 1.6))
    fig, axes = new_figure("Key metrics", summary, shape, figsize=size)
    weeks = _weeks(ts)
    for i, column in enumerate(columns):
        ax = axes[i]
        title, unit = describe(column)
        values = ts[column].to_numpy(dtype=float)
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        ax.plot(weeks, values, color=color, ls=style, label=title)
        for level, text in references(column, scenario):
            if isinstance(level, str):
                if level in ts:
                    ax.plot(weeks, ts[level], color=BLACK, ls="--", lw=2.0, label=text)
            else:
                ax.axhline(level, color=BLACK, ls="--", lw=2.0, label=text, zorder=1)
        last = ts[column].iloc[-1]
        last = int(last) if pd.api.types.is_integer_dtype(ts[column]) else float(last)
        shown = format_number(column, last) if np.isfinite(last) else "not defined"
        ax.set_title(f"{title}: {shown} at week {weeks.iloc[-1]:g}", fontsize=15)
        ax.set(xlabel="weeks", ylabel=unit, xlim=(weeks.min(), weeks.max()))
        finite = values[np.isfinite(values)]
        if finite.size and np.ptp(finite) == 0:  # a flat line: a readable scale around it
            ax.set_ylim(finite[0] - 1, finite[0] + 1) if abs(finite[0]) >= 1 else None
        if "users" in unit or "examples" in unit or "points" in unit or "models" in unit:
            ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
            ax.yaxis.set_major_formatter(_THOUSANDS)
            ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]), top=max(ax.get_ylim()[1], 1.0))
        legend_below(ax, ncol=2 if shape[1] == 1 else 1)
    for ax in axes[len(columns) :]:
        ax.axis("off")
    if fields:
        text = "   ·   ".join(
            f"{describe(name)[0]}: {format_number(name, summary_number(summary, name))}"
            for name in fields
        )
        fig.text(0.5, 0.005, text, ha="center", va="bottom", fontsize=15, fontweight="bold")
        fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    return fig


@styled
def audit_figure(ts: pd.DataFrame, summary: Mapping[str, Any], scenario: Any = None) -> Figure:
    """The defensibility audit: each item's measured input against its threshold.

    One bar per item, its input (0–1) from the end of the run; the black tick is the
    item's threshold (it scores when the input is strictly above it). Scoring items are
    solid green, the others hatched vermillion; the points are written at the right.
    The title gives the score out of 10. ``ts`` and ``scenario`` are not used (the
    signature is the same as the other figures').
    """
    audit = summary.get("defensibility") or {}
    items = audit.get("items") or {}
    score, top = audit.get("score"), audit.get("max_score", 10)
    title = f"Defensibility audit: {score} / {top}" if score is not None else "Defensibility audit"
    fig, (ax,) = new_figure(title, summary, figsize=(10.0, 6.5))
    names = list(items)[::-1]  # the first item on top
    rows = np.arange(len(names))
    for row, name in zip(rows, names, strict=True):
        item = items[name]
        value, threshold = float(item.get("input") or 0.0), float(item["threshold"])
        passed = bool(item.get("points"))
        ax.barh(
            row, value, height=0.6, facecolor=GREEN if passed else "#f2c4a8",
            hatch=None if passed else "//", edgecolor="white" if passed else VERMILLION,
        )  # fmt: skip
        ax.plot([threshold, threshold], [row - 0.42, row + 0.42], color=BLACK, lw=4.0)
        top = item.get("max_points", "?")
        points = f"{item.get('points', 0)} / {top} point{'' if top == 1 else 's'}"
        ax.text(1.03, row, points, va="center", fontsize=15,
                fontweight="bold" if passed else "normal")  # fmt: skip
        ax.text(0.01, row + 0.4, f"input {value:.3f}  ·  threshold {threshold:g}", va="center",
                fontsize=12, color="#333333")  # fmt: skip
    ax.set_yticks(rows, [AUDIT_ITEMS.get(name, name.replace("_", " ")) for name in names])
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("measured input at the end of the run (0–1)")
    ax.grid(axis="y", visible=False)
    ax.set_title("scores when the input is above the threshold (black tick)", fontsize=14,
                 color="#444444")  # fmt: skip
    handles = [
        (ax.add_patch(_patch(GREEN, None, "white")), "scores its points"),
        (ax.add_patch(_patch("#f2c4a8", "//", VERMILLION)), "scores nothing"),
        (ax.plot([], [], color=BLACK, lw=4.0)[0], "threshold"),
    ]
    legend_below(ax, handles, ncol=3)
    fig.get_layout_engine().set(rect=(0, 0, 0.88, 1))
    return fig


def _patch(color: str, hatch: str | None, edge: str):
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0), 0, 0, facecolor=color, hatch=hatch, edgecolor=edge)


__all__ = ["audit_figure", "format_number", "highlights", "key_metrics_figure", "references"]

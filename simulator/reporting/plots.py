"""Slide-ready matplotlib figures of one run: users, quality and moat, data, flywheel health.

Every figure function takes the run's timeseries (one row per step) and its summary
dict and returns a :class:`matplotlib.figure.Figure` on the Agg canvas. Pyplot is never
imported, so no global figure state leaks and nothing needs closing.

Style: 10 x 6 in at 150 dpi, 14 pt base font, lines of 2.5 pt or more, the Okabe-Ito
colour-blind-safe palette, and a distinct line style per line so greyscale prints work.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from ..errors import InputError
from .names import overrides_text

BLUE, ORANGE, GREEN, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#D55E00"
PURPLE, SKY, YELLOW, BLACK = "#CC79A7", "#56B4E9", "#F0E442", "#000000"
#: Okabe & Ito (2008) colour-blind-safe palette; yellow last (weak on white).
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, YELLOW)
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)))
FIGSIZE, DPI = (10.0, 6.0), 150
STYLE = {
    "font.size": 14, "axes.titlesize": 16, "axes.labelsize": 15, "legend.fontsize": 14,
    "figure.titlesize": 20, "figure.titleweight": "bold", "lines.linewidth": 3.0,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.35, "grid.linewidth": 0.8, "figure.facecolor": "white",
    "savefig.facecolor": "white", "svg.fonttype": "none",
}  # fmt: skip
_BOX = {"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#999999", "alpha": 0.9}
_LEGEND = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "frameon": False}
_AT_TOP = {"xycoords": ("data", "axes fraction"), "textcoords": "offset points", "va": "top"}
_THOUSANDS = FuncFormatter(lambda value, _: f"{value:,.0f}")
# Thousands separators for counts, otherwise the shortest exact form (0.05, not 0.1).
_SHORT = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}")


def styled(function: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure inside a temporary rc context (restored afterwards: no global leak)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


def new_figure(
    title: str,
    summary: Mapping[str, Any] | None,
    shape: tuple[int, int] = (1, 1),
    figsize: tuple[float, float] = FIGSIZE,
) -> tuple[Figure, np.ndarray]:
    """A figure with a bold title, a grey subtitle (scenario, seed) and a grid of axes."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title)
    panel = fig.subfigures(1, 1)
    if summary is not None:
        panel.suptitle(_subtitle(summary), fontsize=15, fontweight="normal", color="#444444")
    axes = panel.subplots(*shape, squeeze=False).ravel()
    for ax in axes:  # explicit, so ticks created lazily at save time keep the style
        ax.tick_params(labelsize=14, length=5, width=1.2)
    return fig, axes


def _subtitle(summary: Mapping[str, Any]) -> str:
    """Scenario, seed, engine and population; a second line with the run's overrides."""
    parts = [f"scenario: {summary.get('scenario', 'unnamed')}", f"seed {summary.get('seed', '?')}"]
    if summary.get("engine"):
        parts.append(f"{summary['engine']} engine")
    if isinstance(summary.get("population"), int | float):
        parts.append(f"population {summary['population']:,.0f}")
    text = "  ·  ".join(parts)
    overrides = overrides_text(summary.get("overrides"))
    if overrides:
        text += "\n" + textwrap.fill(f"with {overrides}", 95, break_long_words=False)
    return text


def _weeks(ts: pd.DataFrame) -> pd.Series:
    """The time axis in weeks (the ``time`` column; ``step`` if a file lacks it)."""
    return (ts["time"] if "time" in ts else ts["step"]).astype(float)


def _week_of_step(ts: pd.DataFrame, step: Any) -> float | None:
    """The time (weeks) of a step number from the summary, or None if absent."""
    if step is None or "step" not in ts:
        return None
    match = _weeks(ts)[ts["step"] == step]
    return float(match.iloc[0]) if len(match) else None


def _step_unit(weeks: pd.Series) -> str:
    """'week' when one step is one week, else 'step of N weeks'."""
    dt = float(np.median(np.diff(weeks))) if len(weeks) > 1 else 1.0
    return "week" if np.isclose(dt, 1.0) else f"step of {dt:g} weeks"


def _groups(ts: pd.DataFrame, metric: str) -> list[str]:
    """Group names found in columns ``<metric>[<group>]``, in column order."""
    pattern = re.compile(rf"^{re.escape(metric)}\[(.+)\]$")
    return [m.group(1) for column in ts.columns if (m := pattern.match(str(column)))]


def legend_below(ax: Axes, handles: list | None = None, ncol: int = 3) -> None:
    """Legend under the axes, outside the data, so it never hides a line."""
    handles, labels = (
        ax.get_legend_handles_labels() if handles is None else zip(*handles, strict=True)
    )
    ax.legend(handles, labels, ncol=ncol, handlelength=3.0, **_LEGEND)


def _marker(ax: Axes, week: float, text: str, color: str, height: float) -> None:
    """A dashed vertical line at ``week`` with its label near the top of the axes."""
    ax.axvline(week, color=color, linestyle=(0, (2, 2)), linewidth=2.5, zorder=1)
    ax.annotate(text, (week, height), (6, 0), color=color, bbox=_BOX | {"ec": "none"}, **_AT_TOP)


@styled
def users_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Potential, active and churned users over time, with takeoff and half adoption marked.

    Parameters
    ----------
    ts : pandas.DataFrame
        The run's timeseries (``time`` in weeks, ``potential_users``, ``active_users``,
        ``churned_users``).
    summary : mapping
        The run's summary; ``takeoff_step`` and ``half_adoption_step`` (step numbers or
        None) are drawn as vertical lines labelled with the week they happen.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = new_figure("Users: adoption and churn", summary)
    weeks = _weeks(ts)
    for column, color, style in [
        ("potential_users", ORANGE, "--"),
        ("active_users", BLUE, "-"),
        ("churned_users", VERMILLION, "-."),
    ]:
        if column in ts:
            ax.plot(weeks, ts[column], label=column.replace("_", " "), color=color, ls=style)
    ax.set(xlabel="weeks", ylabel="users", xlim=(weeks.min(), weeks.max()))
    ax.set_ylim(0, max(ax.get_ylim()[1], 1.0) * 1.2)  # headroom: marker labels go on top
    ax.yaxis.set_major_formatter(_THOUSANDS)
    takeoff = _week_of_step(ts, summary.get("takeoff_step"))
    half = _week_of_step(ts, summary.get("half_adoption_step"))
    if takeoff is not None:
        _marker(ax, takeoff, f"takeoff: week {takeoff:g}", BLACK, 0.99)
    if half is not None:
        below = 0.91 if takeoff is not None else 0.99
        _marker(ax, half, f"half adopted: week {half:g}", PURPLE, below)
    legend_below(ax)
    return fig


@styled
def quality_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Model quality (overall and per group) against the market baseline, moat shaded.

    The gap between overall quality and ``baseline_quality`` (what users get elsewhere)
    is shaded green where the model is ahead (the moat), vermillion where it is behind.
    Groups get their own line when there are two or more. Arguments as in
    :func:`users_figure`.
    """
    fig, (ax,) = new_figure("Model quality vs the market", summary)
    weeks = _weeks(ts).to_numpy()
    quality = ts["quality"].to_numpy(dtype=float)
    baseline = ts["baseline_quality"].to_numpy(dtype=float)
    shading = {"interpolate": True, "alpha": 0.25, "linewidth": 0}
    ahead, behind = quality > baseline, quality < baseline
    if ahead.any():
        ax.fill_between(weeks, quality, baseline, where=ahead, color=GREEN, label="moat", **shading)
    if behind.any():
        ax.fill_between(
            weeks,
            quality,
            baseline,
            where=behind,
            color=VERMILLION,
            hatch="//",
            label="behind the market",
            **shading,
        )
    groups = _groups(ts, "quality")
    for i, group in enumerate(groups if len(groups) > 1 else []):
        color, style = (ORANGE, PURPLE, SKY, BLACK)[i % 4], LINESTYLES[(i + 2) % 7]
        ax.plot(
            weeks, ts[f"quality[{group}]"], color=color, ls=style, lw=2.5, label=f"quality: {group}"
        )
    ax.plot(weeks, quality, color=BLUE, lw=3.5, label="quality: overall")
    ax.plot(weeks, baseline, color=BLACK, ls="--", lw=2.5, label="market baseline")
    ax.set(xlabel="weeks", ylabel="quality (0–1)", xlim=(weeks[0], weeks[-1]))
    ax.margins(y=0.1)
    low, high = max(ax.get_ylim()[0], 0.0), min(ax.get_ylim()[1], 1.0)
    ax.set_ylim(low, high)
    moat = round(quality[-1] - baseline[-1], 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    wide = abs(moat) > 0.15 * (high - low)  # room for the label between the two lines
    y = (quality[-1] + baseline[-1]) / 2 if wide else max(quality[-1], baseline[-1])
    ax.annotate(
        f"moat {moat:+.2f}",
        (weeks[-1], y),
        (-8, 0 if wide else 8),
        ha="right",
        va="center" if wide else "bottom",
        textcoords="offset points",
        fontsize=15,
        fontweight="bold",
        color=GREEN if moat >= 0 else VERMILLION,
    )
    legend_below(ax)
    return fig


@styled
def data_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """The data the model learns from, against the data the company collects.

    Curve learner: the stock of training examples used (stacked by group), the stock of
    filtered feedback collected (used or not: a hoarder collects and never uses it) and,
    on the right axis, new examples per step; the last values and the noise share of the
    training data in a box. Estimator learners train on a set of points, so their figure
    shows that set, split into the users' points and synthetic points sampled from the
    company's own earlier models (:func:`training_set_figure`). Arguments as in
    :func:`users_figure`.
    """
    if "training_set" in ts and "synthetic_examples" in ts:
        return training_set_figure(ts, summary)
    fig, (ax,) = new_figure("Training data: collected and used", summary)
    weeks = _weeks(ts)
    used = ts["training_examples"].to_numpy(dtype=float)
    collected = (
        ts["collected_examples"].to_numpy(dtype=float) if "collected_examples" in ts else used
    )
    groups = _groups(ts, "training_examples")
    if len(groups) > 1 and np.nanmax(used) > 0:
        stacks = [ts[f"training_examples[{g}]"].to_numpy(dtype=float) for g in groups]
        colors = [(SKY, ORANGE, GREEN, PURPLE, BLUE)[i % 5] for i in range(len(groups))]
        layers = ax.stackplot(
            weeks, stacks, colors=colors, alpha=0.6, labels=[f"used, from {g}" for g in groups]
        )
        for i, layer in enumerate(layers):
            layer.set_hatch((None, "..", "//", "xx", "\\\\")[i % 5])
    if not np.allclose(collected, used):
        ax.plot(weeks, collected, color=VERMILLION, ls="--", label="collected (filtered feedback)")
    ax.plot(weeks, used, color=BLACK, label="used for training")
    ax.set(xlabel="weeks", ylabel="examples held (stock)", xlim=(weeks.min(), weeks.max()))
    ax.set_ylim(0, max(float(np.nanmax(collected)), float(np.nanmax(used)), 1.0) * 1.25)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    handles = list(zip(*ax.get_legend_handles_labels(), strict=True))
    if "new_examples" in ts and float(np.nanmax(ts["new_examples"])) > 0:
        right = ax.twinx()
        right.tick_params(labelsize=14, length=5, width=1.2)
        right.grid(False)
        right.spines["right"].set_visible(True)
        unit = _step_unit(weeks)
        right.plot(weeks, ts["new_examples"], color=BLUE, ls=":", lw=2.5)
        handles.append((right.lines[0], f"new examples per {unit} (right axis)"))
        right.set_ylabel(f"new examples per {unit.split()[0]}", color=BLUE)
        right.set_ylim(0, float(np.nanmax(ts["new_examples"])) * 1.25)
        right.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        right.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_zorder(right.get_zorder() + 1)  # the stocks drawn over the thin line ...
        ax.patch.set_visible(False)  # ... with a see-through background
    lines = [f"at week {weeks.iloc[-1]:g}:", f"collected {collected[-1]:,.0f} examples"]
    share = used[-1] / collected[-1] if collected[-1] > 0 else 0.0
    lines.append(f"used for training {used[-1]:,.0f} ({share:.0%})")
    if "noise_share" in ts and used[-1] > 0 and np.isfinite(ts["noise_share"].iloc[-1]):
        lines.append(f"wrong labels in it: {ts['noise_share'].iloc[-1]:.1%}")
    ax.text(0.02, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=15, bbox=_BOX)
    legend_below(ax, handles, ncol=2)
    return fig


@styled
def training_set_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """An estimator learner's training set: the users' points and the synthetic points.

    The set is the one the latest retrain was fitted on (``training_set``), stacked as
    users' points (``training_set - synthetic_examples``) and synthetic points sampled
    from the company's own earlier models. The feedback the pipeline collected from
    users (``training_examples``) is written in a box: with ``data.synthetic_share: 1``
    none of it reaches the model. Arguments as in :func:`users_figure`.
    """
    fig, (ax,) = new_figure("Training data: what the model learns from", summary)
    weeks = _weeks(ts)
    synthetic = ts["synthetic_examples"].to_numpy(dtype=float)
    real = ts["training_set"].to_numpy(dtype=float) - synthetic
    layers = ax.stackplot(
        weeks,
        [real, synthetic],
        colors=[BLUE, ORANGE],
        alpha=0.6,
        labels=["users' data points", "synthetic points (sampled from its own model)"],
    )
    layers[1].set_hatch("//")
    ax.set(xlabel="weeks", ylabel="points in the training set", xlim=(weeks.min(), weeks.max()))
    ax.set_ylim(0, max(float(np.nanmax(real + synthetic)), 1.0) * 1.3)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    collected = float(ts["training_examples"].iloc[-1])
    lines = [
        f"at week {weeks.iloc[-1]:g}, the model was trained on:",
        f"{real[-1]:,.0f} users' points and {synthetic[-1]:,.0f} synthetic ones",
        f"feedback collected from users: {collected:,.0f} examples",
    ]
    ax.text(0.02, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=15, bbox=_BOX)
    legend_below(ax, ncol=1)
    return fig


#: (column, panel title, factor to display units, y label, unit of the value, reference)
HEALTH_PANELS = (
    ("data_growth_rate", "Data growth", 100.0, "% vs a year earlier", " %", 0.0),
    ("model_improvement_rate", "Model improvement", 100.0, "% vs a year earlier", " %", 0.0),
    ("user_growth_rate", "User growth", 1.0, "× users a year earlier", "×", 1.0),
    ("data_per_user", "Data per user", 1.0, "examples per active user", " examples", None),
    ("feedback_rate", "Feedback rate", 100.0, "% of interactions", " %", None),
)

_YEAR = {"color": "#eeeeee", "zorder": 0, "linewidth": 0}


def _scale(values: np.ndarray, comparable: np.ndarray, reference: float | None) -> tuple:
    """Y limits for a health panel: every value, unless some are extreme.

    The values once the rate compares with a real year-earlier level (after the first
    quarter of that part) set the usual range; a value more than ten such ranges beyond
    it (the first weeks after year one, against a nearly empty start) is left off the
    scale rather than squashing everything else flat.
    """
    shown = values[np.isfinite(values)]
    settled = values[comparable & np.isfinite(values)]
    if settled.size > 8:
        settled = settled[settled.size // 4 :]
    if settled.size == 0:
        settled = shown
    extra = [reference] if reference is not None else []
    low, high = float(np.min([*settled, *extra])), float(np.max([*settled, *extra]))
    span = max(high - low, abs(high) * 0.1, 1e-9)
    top, bottom = float(np.max([*shown, *extra])), float(np.min([*shown, *extra]))
    high = top if top <= high + 10 * span else high
    low = bottom if bottom >= low - 10 * span else low
    pad = max(high - low, 1e-9) * 0.12
    return low - pad, high + pad


def _health_panel(ax: Axes, ts: pd.DataFrame, i: int, year_steps: int) -> str:
    """Draw health metric ``i`` of :data:`HEALTH_PANELS`; return its last value as text.

    Year one (no value a year earlier) is shaded; where a rate compares with the start
    there it is drawn dotted. The scale fits the comparable values: a value off the
    scale (the first weeks after year one, against a nearly empty start) is clipped at
    the top and the panel says until which week.
    """
    column, title, factor, ylabel, unit, reference = HEALTH_PANELS[i]
    weeks = _weeks(ts).to_numpy()
    values = ts[column].to_numpy(dtype=float) * factor if column in ts else np.full(len(ts), np.nan)
    ax.set(xlabel="weeks", ylabel=ylabel, xlim=(weeks.min(), weeks.max()))
    muted = {"fontsize": 14, "color": "#555555", "style": "italic", "va": "center"}
    finite = np.isfinite(values)
    if not finite.any():
        ax.set_title(title)
        ax.text(0.5, 0.5, "not defined yet", transform=ax.transAxes, ha="center", **muted)
        ax.set_yticks([])  # a 0-1 scale would suggest values
        return "not defined"
    steps = ts["step"].to_numpy() if "step" in ts else np.arange(len(ts))
    yearly = column != "data_per_user"
    comparable = steps >= year_steps if yearly else np.ones(len(ts), bool)
    early = np.where(~comparable, values, np.nan)
    later = np.where(comparable, values, np.nan)
    if yearly:
        ax.axvspan(weeks.min(), weeks[min(year_steps, len(weeks) - 1)], **_YEAR)
        note = (
            "year one:\nvs the start"
            if np.isfinite(early).any()
            else "year one:\nno data\na year earlier"
        )
        ax.text(0.02, 0.95, note, transform=ax.transAxes, va="top", fontsize=12, color="#555555")
    color, style = PALETTE[i], ("-", "--", "-.", "-")[i % 4]
    if np.isfinite(early).any():
        ax.plot(weeks, early, color=color, ls=":", lw=2.5)
    ax.plot(weeks, later, color=color, ls=style, marker="o" if finite.sum() <= 20 else None)
    if reference is not None:
        ax.axhline(reference, color=BLACK, linewidth=1.2, zorder=1)
    positive = values[finite].min() > 0
    if (
        column == "user_growth_rate"
        and positive
        and values[finite].max() / values[finite].min() > 20
    ):
        ax.set_yscale("log")  # a factor from x0.5 to x400: equal steps for equal ratios
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    else:
        low, high = _scale(values, comparable, reference)
        ax.set_ylim(max(low, 0.0) if column == "data_per_user" else low, high)
        above = np.flatnonzero(finite & (values > high))
        if above.size:
            last = weeks[above[-1]]
            ax.annotate(f"off the scale until week {last:g}", (last, 1.0), (4, -4), color=color,
                        fontsize=12, **_AT_TOP)  # fmt: skip
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.yaxis.set_major_formatter(_SHORT)
    text = f"{values[finite][-1]:,.1f}{unit}" if unit != "×" else f"{values[finite][-1]:,.2f}×"
    ax.set_title(f"{title}: {text}")
    return text


@styled
def health_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Flywheel health over time: data growth, model improvement, user growth, data per user.

    Data growth and model improvement are changes against a year (52 weeks) earlier in
    %, user growth is active users over active users a year earlier (×), data per user
    is training examples per active user. Each panel's title gives the last value. Year
    one has no value a year earlier: it is shaded, and a rate that compares with the
    start there is dotted (the company starts with no data, so data growth has none).
    The scale fits the values from year one on; the first weeks after it, which compare
    with a nearly empty start, may lie above it (the panel says until when). The
    feedback rate (signals per interaction) is nearly constant, so it is written under
    the panels, with the whole run's value. A metric that is never defined reads "not
    defined yet". Arguments as in :func:`users_figure`.
    """
    fig, axes = new_figure("Flywheel health", summary, (2, 2), figsize=(13.0, 9.0))
    weeks = _weeks(ts)
    dt = float(np.median(np.diff(weeks))) if len(weeks) > 1 else 1.0
    year_steps = max(1, round(52 / dt))
    for i in range(4):
        _health_panel(axes[i], ts, i, year_steps)
    notes = ["Each rate compares a week with 52 weeks earlier (year one: with week 0)."]
    if "signals" in ts and "interactions" in ts and ts["interactions"].sum() > 0:
        rate = ts["signals"].sum() / ts["interactions"].sum()
        notes.append(f"Feedback rate over the run: {rate:.1%} of interactions.")
    fig.text(0.5, 0.005, "  ".join(notes), ha="center", va="bottom", fontsize=14, color="#444444")
    fig.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    return fig


@styled
def compare_figure(
    runs: Mapping[str, pd.DataFrame], column: str, ylabel: str, title: str
) -> Figure:
    """One line per labelled run of ``column`` over time (weeks), e.g. two scenarios.

    Parameters
    ----------
    runs : mapping of str to pandas.DataFrame
        Legend label -> that run's timeseries.
    column : str
        The timeseries column to compare, e.g. ``"active_users"``.
    ylabel : str
        The y-axis label, with its unit (e.g. ``"users"``).
    title : str
        The figure title.

    Raises
    ------
    ValueError
        If a run has no ``column``.
    """
    fig, (ax,) = new_figure(title, None)
    for i, (label, ts) in enumerate(runs.items()):
        if column not in ts:
            raise ValueError(f"run {label!r} has no column {column!r}")
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        ax.plot(_weeks(ts), ts[column], label=label, color=color, ls=style)
    ax.set(xlabel="weeks", ylabel=ylabel)
    ax.yaxis.set_major_formatter(_SHORT)
    longest = max((len(label) for label in runs), default=0)
    # Long labels one per row: a wide multi-column legend would squash the axes.
    legend_below(ax, ncol=1 if longest > 24 else min(max(len(runs), 1), 4))
    return fig


#: File stem -> figure function, as written by :func:`save_all`.
FIGURES: dict[str, Callable[[pd.DataFrame, Mapping[str, Any]], Figure]] = {
    "users": users_figure,
    "quality": quality_figure,
    "training_data": data_figure,
    "flywheel_health": health_figure,
}


@styled
def economics_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """What the flywheel costs and what it buys: cumulative profit (left, per firm in a
    market) next to the moat over the free open model (right), payback week marked."""
    fig, (money, moat_ax) = new_figure("Cumulative profit next to the moat", summary, (1, 2),
                                       figsize=(15.0, 6.0))  # fmt: skip
    weeks = _weeks(ts).to_numpy()
    firms = _groups(ts, "cumulative_profit")
    lines = [(f"cumulative_profit[{f}]", f"moat[{f}]", f) for f in firms] or [
        ("cumulative_profit", None, None)
    ]
    for i, (profit, _, name) in enumerate(lines):
        ax_label = name or "cumulative profit"
        money.plot(weeks, ts[profit], color=PALETTE[i % 8], ls=LINESTYLES[i % 7], label=ax_label)
    money.axhline(0, color=BLACK, lw=1.2)
    economics = summary.get("economics") or {}
    payback = _week_of_step(ts, economics.get("payback_step"))
    if payback is not None and not firms:
        _marker(money, payback, f"payback: week {payback:.0f}", GREEN, 0.97)
    money.set(xlabel="weeks", ylabel="cumulative profit (currency units)",
              xlim=(weeks[0], weeks[-1]))  # fmt: skip
    money.yaxis.set_major_formatter(_SHORT)
    money.set_title("revenue − costs, summed since week 0", fontsize=15, color="#444444")
    if firms:
        for i, (_, moat, name) in enumerate(lines):
            if moat in ts:
                moat_ax.plot(weeks, ts[moat], color=PALETTE[i % 8], ls=LINESTYLES[i % 7],
                             label=name)  # fmt: skip
    else:
        moat = (ts["quality"] - ts["baseline_quality"]).to_numpy(dtype=float)
        moat_ax.plot(weeks, moat, color=BLUE, label="moat")
    moat_ax.axhline(0, color=BLACK, lw=1.2)
    moat_ax.set(xlabel="weeks", ylabel="moat (quality − market baseline)",
                xlim=(weeks[0], weeks[-1]))  # fmt: skip
    moat_ax.set_title("quality over the free open model", fontsize=15, color="#444444")
    if firms:
        legend_below(money, ncol=min(len(firms), 4))
    return fig


def run_figures(
    ts: pd.DataFrame, summary: Mapping[str, Any], scenario: Any = None
) -> dict[str, Figure]:
    """Every default figure of one run, by file stem, in the order a handout shows them.

    ``key_metrics`` (the scenario's ``report.highlight``, when it names any), then the
    four of :data:`FIGURES` (``users``, ``quality``, ``training_data``,
    ``flywheel_health``), then for a market of firms ``market_shares`` and
    ``quality_race``, then ``audit`` (when the summary has the defensibility audit).

    Parameters
    ----------
    ts, summary
        The run's timeseries and summary.
    scenario : Scenario or mapping, optional
        The scenario as run (``result.scenario``, or a results folder's
        ``scenario.yaml``): its key metrics and its groups' population shares.

    Raises
    ------
    InputError
        If the scenario highlights a metric the run does not have.
    """
    from .stories import audit_figure, has_field, highlights, key_metrics_figure

    for i, name in enumerate(highlights(scenario)):
        if name not in ts.columns and not has_field(summary, name):
            raise InputError(
                f"report.highlight.{i}: the run has no metric {name!r}; a highlight names "
                f"one of its timeseries columns ({', '.join(map(str, ts.columns[2:7]))}, …) "
                "or a summary field such as half_adoption_step or defensibility.score"
            )
    figures: dict[str, Figure] = {}
    key_metrics = key_metrics_figure(ts, summary, scenario)
    if key_metrics is not None:
        figures["key_metrics"] = key_metrics
    figures |= {stem: build(ts, summary) for stem, build in FIGURES.items()}
    from .market import MARKET_FIGURES, firms_of

    if firms_of(ts):  # a market of firms: who holds the market, the quality race
        figures |= {stem: build(ts, summary) for stem, build in MARKET_FIGURES.items()}
    if "cumulative_profit" in ts:  # economics on: what the flywheel costs and buys
        figures["economics"] = economics_figure(ts, summary)
    if (summary.get("defensibility") or {}).get("items"):
        figures["audit"] = audit_figure(ts, summary)
    return figures


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` at slide resolution (:data:`DPI`) in the house style; return the path."""
    with mpl.rc_context(STYLE):
        fig.savefig(path, dpi=DPI)
    return Path(path)


def save_all(
    ts: pd.DataFrame,
    summary: Mapping[str, Any],
    out_dir: str | Path,
    formats: Iterable[str] = ("png", "svg"),
    scenario: Any = None,
) -> list[Path]:
    """Write the default figures of one run (:func:`run_figures`), one file per format.

    Parameters
    ----------
    ts, summary
        The run's timeseries and summary.
    out_dir : str or Path
        Folder for the files (created if needed): ``key_metrics`` (if the scenario
        highlights any metric), ``users``, ``quality``, ``training_data``,
        ``flywheel_health`` and ``audit``.
    formats : iterable of str
        File extensions to write, e.g. ``("png", "svg")``.
    scenario : Scenario or mapping, optional
        The scenario as run, for its key metrics (:func:`run_figures`).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InputError
        If the scenario highlights a metric the run does not have (nothing is written).
    """
    figures = run_figures(ts, summary, scenario)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        save_figure(fig, out / f"{stem}.{fmt}") for stem, fig in figures.items() for fmt in formats
    ]


def plot_results_dir(results_dir: str | Path) -> list[Path]:
    """Redraw the plots of a results folder into ``results_dir/plots/`` (``flywheel plot``).

    Reads ``timeseries.parquet`` (or else ``timeseries.csv``), ``summary.json`` and,
    when present, ``scenario.yaml`` (its key metrics and groups).

    Raises
    ------
    InputError
        If the folder or one of its files is missing or unreadable, or the scenario
        highlights a metric the results lack; the message names the file.
    """
    from .folder import read_results

    run = read_results(results_dir)
    try:
        return save_all(run.timeseries, run.summary, run.path / "plots", scenario=run.scenario)
    except InputError as exc:
        raise InputError(f"{run.path / 'scenario.yaml'}: {exc}") from None

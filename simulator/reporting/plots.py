"""Slide-ready matplotlib figures of one run: users, quality and moat, data, flywheel health.

Every figure function takes the run's timeseries (one row per step) and its summary
dict and returns a :class:`matplotlib.figure.Figure` on the Agg canvas. Pyplot is never
imported, so no global figure state leaks and nothing needs closing.

Style: 10 x 6 in at 150 dpi, 14 pt base font, lines of 2.5 pt or more, the Okabe-Ito
colour-blind-safe palette, and a distinct line style per line so greyscale prints work.
"""

from __future__ import annotations

import json
import re
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
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..errors import InputError

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
    parts = [f"scenario: {summary.get('scenario', 'unnamed')}", f"seed {summary.get('seed', '?')}"]
    if summary.get("engine"):
        parts.append(f"{summary['engine']} engine")
    if isinstance(summary.get("population"), int | float):
        parts.append(f"population {summary['population']:,.0f}")
    return "  ·  ".join(parts)


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
    """The training-data stock (stacked by group) and the new examples added per step.

    The stock is on the left axis, new examples per step on the right one; the noise
    share (wrong labels in the training data) at the last step is written in a box.
    Arguments as in :func:`users_figure`.
    """
    fig, (ax,) = new_figure("Training data: the flywheel's fuel", summary)
    weeks = _weeks(ts)
    groups = _groups(ts, "training_examples")
    if len(groups) > 1:
        stacks = [ts[f"training_examples[{g}]"].to_numpy(dtype=float) for g in groups]
        colors = [(SKY, ORANGE, GREEN, PURPLE, BLUE)[i % 5] for i in range(len(groups))]
        layers = ax.stackplot(
            weeks, stacks, colors=colors, alpha=0.6, labels=[f"group: {g}" for g in groups]
        )
        for i, layer in enumerate(layers):
            layer.set_hatch((None, "..", "//", "xx", "\\\\")[i % 5])
    total = ts["training_examples"].to_numpy(dtype=float)
    ax.plot(weeks, total, color=BLACK, label="training examples (total)")
    ax.set(xlabel="weeks", ylabel="training examples (stock)", xlim=(weeks.min(), weeks.max()))
    ax.set_ylim(0, max(np.nanmax(total), 1.0) * 1.15)
    ax.yaxis.set_major_formatter(_THOUSANDS)
    handles = list(zip(*ax.get_legend_handles_labels(), strict=True))
    if "new_examples" in ts:
        right = ax.twinx()
        right.tick_params(labelsize=14, length=5, width=1.2)
        right.grid(False)
        right.spines["right"].set_visible(True)
        unit = _step_unit(weeks)
        right.plot(weeks, ts["new_examples"], color=VERMILLION, ls=":", lw=2.5)
        handles.append((right.lines[0], f"new examples per {unit} (right axis)"))
        right.set_ylabel(f"new examples per {unit.split()[0]}", color=VERMILLION)
        right.set_ylim(0, max(float(np.nanmax(ts["new_examples"])), 1.0) * 1.15)
        right.yaxis.set_major_formatter(_THOUSANDS)
        ax.set_zorder(right.get_zorder() + 1)  # the stock drawn over the thin line ...
        ax.patch.set_visible(False)  # ... with a see-through background
    if "noise_share" in ts and np.isfinite(ts["noise_share"].iloc[-1]):
        noise = f"noise share at week {weeks.iloc[-1]:g}: {ts['noise_share'].iloc[-1]:.1%}"
        ax.text(0.02, 0.97, noise, transform=ax.transAxes, va="top", fontsize=15, bbox=_BOX)
    legend_below(ax, handles, ncol=2)
    return fig


#: (column, panel title, factor to display units, y label, unit of the value, reference)
HEALTH_PANELS = (
    ("data_growth_rate", "Data growth (year on year)", 100.0, "% vs a year earlier", " %", 0.0),
    ("model_improvement_rate", "Model improvement", 100.0, "% vs a year earlier", " %", 0.0),
    ("user_growth_rate", "User growth", 1.0, "× users a year earlier", "×", 1.0),
    ("data_per_user", "Data per user", 1.0, "examples per user", " examples", None),
    ("feedback_rate", "Feedback rate", 100.0, "% of interactions", " %", None),
)

#: Growth that can span orders of magnitude (early on, against a tiny start): log scale.
_LOG_OK = {"data_growth_rate", "user_growth_rate"}


def _health_panel(ax: Axes, weeks: pd.Series, values: pd.Series, i: int) -> str:
    """Draw health metric ``i`` of :data:`HEALTH_PANELS`; return its last value as text."""
    column, title, _, ylabel, unit, reference = HEALTH_PANELS[i]
    ax.set(title=title, xlabel="weeks", ylabel=ylabel, xlim=(weeks.min(), weeks.max()))
    finite = values[np.isfinite(values)]
    if finite.empty:
        muted = {"fontsize": 15, "color": "#555555", "style": "italic", "va": "center"}
        ax.text(0.5, 0.5, "not defined yet", transform=ax.transAxes, ha="center", **muted)
        ax.set_yticks([])  # a 0-1 scale would suggest values
        return "not defined"
    few = len(finite) <= 20  # e.g. only defined after a year: show the points
    ax.plot(weeks, values, color=PALETTE[i], ls=LINESTYLES[i], marker="o" if few else None)
    if column in _LOG_OK and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 3.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    elif reference is not None:
        ax.axhline(reference, color=BLACK, linewidth=1.2, zorder=1)
    ax.yaxis.set_major_formatter(_SHORT)
    return f"{finite.iloc[-1]:,.1f}{unit}"


@styled
def health_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """The brief's flywheel-health metrics over time, one panel each, in a 2 x 3 grid.

    Data growth and model improvement are changes against a year earlier in %, user
    growth is active users over active users a year earlier (×), data per user is
    training examples per active user, and feedback rate is signals per interaction in
    %. In the first year "a year earlier" is the start. A metric that is never defined
    (e.g. no data yet) reads "not defined yet". The sixth panel lists the last values.
    Arguments as in :func:`users_figure`; columns missing from ``ts`` count as undefined.
    """
    fig, axes = new_figure("Flywheel health", summary, (2, 3), figsize=(13.0, 7.5))
    weeks = _weeks(ts)
    lines = []
    for i, (column, title, factor, *_) in enumerate(HEALTH_PANELS):
        values = ts[column].astype(float) * factor if column in ts else pd.Series(np.nan, ts.index)
        lines.append(f"{title.split(' (')[0]}: {_health_panel(axes[i], weeks, values, i)}")
    axes[-1].set_title(f"At week {weeks.iloc[-1]:g}")
    axes[-1].axis("off")
    lines += ["", "Rates compare with 52 weeks", "earlier (the start, in year one)."]
    axes[-1].text(0, 1, "\n".join(lines), transform=axes[-1].transAxes, va="top", linespacing=1.5)
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


def save_all(
    ts: pd.DataFrame,
    summary: Mapping[str, Any],
    out_dir: str | Path,
    formats: Iterable[str] = ("png", "svg"),
) -> list[Path]:
    """Write the users, quality, training-data and flywheel-health figures of one run.

    Parameters
    ----------
    ts, summary
        The run's timeseries and summary.
    out_dir : str or Path
        Folder for the files (created if needed): ``users``, ``quality``,
        ``training_data`` and ``flywheel_health``, one file per format.
    formats : iterable of str
        File extensions to write, e.g. ``("png", "svg")``.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    written = []
    for stem, build in FIGURES.items():
        fig = build(ts, summary)
        for fmt in formats:
            written.append(out / f"{stem}.{fmt}")
            with mpl.rc_context(STYLE):
                fig.savefig(written[-1], dpi=DPI)
    return written


def plot_results_dir(results_dir: str | Path) -> list[Path]:
    """Redraw the plots of a results folder into ``results_dir/plots/`` (``flywheel plot``).

    Reads ``timeseries.parquet`` (or else ``timeseries.csv``) and ``summary.json``.

    Raises
    ------
    InputError
        If the folder or one of its files is missing or unreadable; the message names it.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: results folder not found (make one with `flywheel run`).")
    parquet, csv = folder / "timeseries.parquet", folder / "timeseries.csv"
    summary_path = folder / "summary.json"
    source = parquet if parquet.is_file() else csv
    if not source.is_file():
        raise InputError(f"{parquet}: file not found (nor {csv.name}); cannot redraw the plots.")
    if not summary_path.is_file():
        raise InputError(f"{summary_path}: file not found; cannot redraw the plots.")
    try:
        ts = pd.read_parquet(source) if source == parquet else pd.read_csv(source)
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # unreadable Parquet or CSV, malformed JSON
        raise InputError(f"{folder}: cannot read the results: {exc}") from exc
    missing = sorted({"quality", "baseline_quality", "training_examples"} - set(ts.columns))
    if missing or ts.empty or not isinstance(summary, dict):
        problem = f"columns {', '.join(missing)} missing" if missing else "no rows or bad summary"
        raise InputError(f"{source}: not a complete results file ({problem}).")
    return save_all(ts, summary, folder / "plots")

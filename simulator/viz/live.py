"""Figures that follow a run step by step, fast enough for a live page.

Drawing text is most of the cost of a matplotlib figure (a slide figure has fifty-odd
labels, ticks and legend entries). A :class:`LiveFigure` therefore draws its frame once
per run, with the time axis already spanning the whole run and the other axes fixed:
title, subtitle, axes, ticks and legend are kept as a picture (Agg's ``copy_from_bbox``),
and each step only the data (lines, points, shading, a marker or two) is drawn over a
copy of it and encoded as PNG (matplotlib's blitting technique). If the data leave the
fixed range, the frame is drawn again with room for them.

The look is the house style of :mod:`simulator.reporting.plots` (``new_figure``,
``legend_below``, the Okabe-Ito ``PALETTE`` with distinct line styles and markers, the
same titles and units as the results-folder figures).
"""

from __future__ import annotations

import io
import threading
from typing import Any

import matplotlib as mpl
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from PIL import Image

from simulator.mechanisms.states import ACTIVE, CHURNED, POTENTIAL
from simulator.reporting.plots import (
    BLACK,
    BLUE,
    GREEN,
    LINESTYLES,
    ORANGE,
    PALETTE,
    PURPLE,
    SKY,
    STYLE,
    VERMILLION,
    legend_below,
    new_figure,
)

__all__ = ["LiveFigure", "LiveNetwork", "LiveQuality", "LiveShares", "LiveUsers", "PAGE_DPI"]

#: Pixels per inch on the page: the house figures are 10 x 6 in, so 72 dpi gives 720 x 432 px.
PAGE_DPI = 72
STATES = {  # the users figure's colours, with a marker each for greyscale prints
    POTENTIAL: ("potential", ORANGE, "s"),
    ACTIVE: ("active", BLUE, "o"),
    CHURNED: ("churned", VERMILLION, "X"),
}


def _weeks(ts: pd.DataFrame) -> np.ndarray:
    return ts["time"].to_numpy(dtype=float)


class LiveFigure:
    """A figure whose frame is drawn once and whose data are redrawn on every step.

    Subclasses build the frame in :meth:`frame` (returning the figure and its data
    artists, drawn later) and move the data in :meth:`update`; :meth:`png` returns the
    picture of the latest data.
    """

    def __init__(self, summary: dict[str, Any], horizon: float) -> None:
        self.summary = summary
        self.horizon = max(float(horizon), 1.0)
        self._lock = threading.Lock()
        self._build()

    # -- to override -----------------------------------------------------------------
    def frame(self):  # pragma: no cover - abstract
        """Build the figure; return ``(figure, [data artists])``."""
        raise NotImplementedError

    def update(self, data: Any) -> bool:  # pragma: no cover - abstract
        """Move the data artists to ``data``; return False if the frame must grow."""
        raise NotImplementedError

    # -- drawing -----------------------------------------------------------------------
    def _build(self) -> None:
        with mpl.rc_context(STYLE):
            self.fig, self.artists = self.frame()
            self.fig.set_dpi(PAGE_DPI)
            for artist in self.artists:
                artist.set_animated(True)
            self.fig.canvas.draw()  # lays the figure out (constrained layout) and draws the frame
            self.fig.set_layout_engine("none")  # keep the layout fixed from now on
            self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def _draw_data(self) -> bytes:
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        with mpl.rc_context(STYLE):
            for artist in self.artists:
                if artist.get_visible():
                    artist.draw(renderer)
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
        out = io.BytesIO()
        image.convert("RGB").save(out, format="png", compress_level=1)
        return out.getvalue()

    def png(self, data: Any) -> bytes:
        """The figure for ``data`` (e.g. the timeseries so far), as PNG bytes."""
        with self._lock:
            if not self.update(data):
                self._build()
                self.update(data)
            return self._draw_data()

    def add(self, artist: Artist) -> Artist:
        """Register a data artist created during an update (drawn over the frame)."""
        artist.set_animated(True)
        self.artists.append(artist)
        return artist


def _frame_axes(title: str, summary: dict[str, Any], horizon: float, figsize=(10.0, 6.0)):
    fig, (ax,) = new_figure(title, summary, figsize=figsize)
    ax.set_xlim(0, horizon)
    return fig, ax


class LiveUsers(LiveFigure):
    """Potential, active and churned users over the run, the takeoff week marked."""

    def __init__(self, summary: dict[str, Any], horizon: float, population: int) -> None:
        self.population = population
        super().__init__(summary, horizon)

    def frame(self):
        fig, ax = _frame_axes("Users: adoption and churn", self.summary, self.horizon)
        self.ax = ax
        self.lines = {}
        for column, color, style in (
            ("potential_users", ORANGE, "--"),
            ("active_users", BLUE, "-"),
            ("churned_users", VERMILLION, "-."),
        ):
            (line,) = ax.plot([], [], color=color, ls=style, label=column.replace("_", " "))
            self.lines[column] = line
        ax.set(xlabel="weeks", ylabel="users", ylim=(0, self.population * 1.15))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        self.marker = ax.axvline(0, color=BLACK, ls=(0, (2, 2)), lw=2.5, visible=False)
        self.label = ax.annotate(
            "", (0, 0.99), (6, 0), xycoords=("data", "axes fraction"),
            textcoords="offset points", va="top", color=BLACK, visible=False,
        )  # fmt: skip
        legend_below(ax)
        return fig, [*self.lines.values(), self.marker, self.label]

    def update(self, data) -> bool:
        ts, takeoff = data
        weeks = _weeks(ts)
        for column, line in self.lines.items():
            line.set_data(weeks, ts[column].to_numpy(dtype=float))
        if takeoff is not None and (ts["step"] == takeoff).any():
            week = float(weeks[ts["step"].to_numpy() == takeoff][0])
            self.marker.set_xdata([week, week])
            self.label.xy = (week, 0.99)
            self.label.set_text(f"takeoff: week {week:g}")
        self.marker.set_visible(takeoff is not None)
        self.label.set_visible(takeoff is not None)
        return True


class LiveQuality(LiveFigure):
    """Model quality (overall and per group) against the market baseline, the moat shaded."""

    def __init__(self, summary: dict[str, Any], horizon: float, groups: list[str]) -> None:
        self.groups = groups
        self.ylim = (0.4, 1.0)
        super().__init__(summary, horizon)

    def frame(self):
        fig, ax = _frame_axes("Model quality vs the market", self.summary, self.horizon)
        self.ax = ax
        self.group_lines = {}
        for i, group in enumerate(self.groups if len(self.groups) > 1 else []):
            color, style = (ORANGE, PURPLE, SKY, BLACK)[i % 4], LINESTYLES[(i + 2) % 7]
            (line,) = ax.plot([], [], color=color, ls=style, lw=2.5, label=f"quality: {group}")
            self.group_lines[group] = line
        (self.quality,) = ax.plot([], [], color=BLUE, lw=3.5, label="quality: overall")
        (self.baseline,) = ax.plot([], [], color=BLACK, ls="--", lw=2.5, label="market baseline")
        ax.fill_between([], [], [], color=GREEN, alpha=0.25, lw=0, label="moat")
        ax.fill_between([], [], [], color=VERMILLION, alpha=0.25, lw=0, hatch="//",
                        label="behind the market")  # fmt: skip
        ax.set(xlabel="weeks", ylabel="quality (0–1)", ylim=self.ylim)
        self.moat_label = ax.annotate(
            "", (0, 0), (8, 0), textcoords="offset points", va="center", fontsize=15,
            fontweight="bold",
        )  # fmt: skip
        legend_below(ax)
        self.shading: list[Artist] = []
        artists = [*self.group_lines.values(), self.quality, self.baseline, self.moat_label]
        return fig, artists

    def update(self, ts) -> bool:
        weeks = _weeks(ts)
        quality = ts["quality"].to_numpy(dtype=float)
        baseline = ts["baseline_quality"].to_numpy(dtype=float)
        columns = [quality, baseline] + [ts[f"quality[{g}]"].to_numpy(float) for g in self.groups]
        low = min(float(np.nanmin(c)) for c in columns)
        high = max(float(np.nanmax(c)) for c in columns)
        if low < self.ylim[0] or high > self.ylim[1]:
            self.ylim = (max(0.0, np.floor(low * 10 - 1) / 10), min(1.0, max(high, self.ylim[1])))
            return False
        for group, line in self.group_lines.items():
            line.set_data(weeks, ts[f"quality[{group}]"].to_numpy(dtype=float))
        self.quality.set_data(weeks, quality)
        self.baseline.set_data(weeks, baseline)
        for artist in self.shading:
            artist.remove()
            self.artists.remove(artist)
        self.shading = []
        for where, color, hatch in ((quality > baseline, GREEN, None),
                                    (quality < baseline, VERMILLION, "//")):  # fmt: skip
            if where.any():
                poly = self.ax.fill_between(
                    weeks, quality, baseline, where=where, interpolate=True, color=color,
                    alpha=0.25, lw=0, hatch=hatch,
                )  # fmt: skip
                self.shading.append(self.add(poly))
        self.artists.sort(key=lambda a: a in self.shading, reverse=True)  # shading underneath
        moat = round(quality[-1] - baseline[-1], 2) + 0.0
        self.moat_label.set_text(f"moat {moat:+.2f}")
        self.moat_label.xy = (weeks[-1], max(quality[-1], baseline[-1]) + 0.02)
        self.moat_label.set_color(GREEN if moat >= 0 else VERMILLION)
        return True


class LiveShares(LiveFigure):
    """Each group's share of the active users, against its share of the population."""

    def __init__(self, summary: dict[str, Any], horizon: float, shares: dict[str, float]):
        self.shares = shares
        super().__init__(summary, horizon)

    def frame(self):
        title = "Who uses the product: share of active users per group"
        fig, ax = _frame_axes(title, self.summary, self.horizon)
        self.lines = {}
        for i, (group, share) in enumerate(self.shares.items()):
            color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
            (self.lines[group],) = ax.plot([], [], color=color, ls=style, label=group)
            ax.axhline(share * 100, color=color, ls=(0, (2, 2)), lw=1.8)
        ax.plot([], [], color=BLACK, ls=(0, (2, 2)), lw=1.8, label="share of the population")
        ax.set(xlabel="weeks", ylabel="share of active users (%)", ylim=(0, 100))
        legend_below(ax)
        return fig, list(self.lines.values())

    def update(self, ts) -> bool:
        weeks = _weeks(ts)
        for group, line in self.lines.items():
            column = f"share[{group}]"
            values = ts[column].to_numpy(dtype=float) * 100 if column in ts else weeks * np.nan
            line.set_data(weeks, values)
        return True


class LiveNetwork(LiveFigure):
    """The sampled users on their fixed layout, coloured and shaped by state."""

    def __init__(self, summary: dict[str, Any], sample) -> None:
        self.sample = sample
        super().__init__(summary, 1.0)

    def frame(self):
        title = "The social network: who uses the product"
        fig, (ax,) = new_figure(title, self.summary, figsize=(8.0, 7.0))
        sample = self.sample
        segments = sample.positions[sample.edges]
        ax.add_collection(LineCollection(segments, colors="#BBBBBB", linewidths=0.6, zorder=1))
        low, high = sample.positions.min(axis=0), sample.positions.max(axis=0)
        pad = 0.04 * (high - low).max()
        ax.set(xlim=(low[0] - pad, high[0] + pad), ylim=(low[1] - pad, high[1] + pad))
        ax.set(xticks=[], yticks=[], aspect="equal")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        shown, population = len(sample.nodes), sample.population
        where = (
            f"all {shown:,} users"
            if shown == population
            else f"{shown:,} of {population:,} users: one user's neighbourhood"
        )
        ax.set_xlabel(where, fontsize=13, color="#444444")
        self.points = {}
        handles = []
        for state, (name, color, marker) in STATES.items():
            self.points[state] = ax.scatter([], [], s=22, c=color, marker=marker, lw=0, zorder=2)
            handles.append((Line2D([], [], color=color, marker=marker, ls="", ms=9), name))
        legend_below(ax, handles, ncol=3)
        self.counts = ax.text(0.0, 1.0, "", transform=ax.transAxes, va="top", fontsize=13)
        return fig, [*self.points.values(), self.counts]

    def update(self, state: np.ndarray) -> bool:
        states = state[self.sample.nodes]
        parts = []
        for value, points in self.points.items():
            where = states == value
            points.set_offsets(self.sample.positions[where])
            parts.append(f"{STATES[value][0]}: {int(where.sum())}")
        self.counts.set_text("  ·  ".join(parts))
        return True

"""Figures of a market of firms: who holds the market, the quality race, and who wins.

- :func:`market_shares_figure`: each firm's share of the firms' active users over time,
  stacked, with each firm's entry week and the tipping week marked;
- :func:`quality_race_figure`: each firm's quality against the free open model (top)
  and each firm's moat over the best alternative its users could pick (bottom);
- :func:`winners_figure`: over many runs (a sweep's ``runs.parquet``), how often each
  firm wins, per design point.

They follow the house style of :mod:`.plots` (Okabe-Ito colours, a line style per
firm, titles, units, legends under the axes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plots import BLACK, LINESTYLES, PALETTE, _groups, _weeks, legend_below, new_figure, styled


def firms_of(ts: pd.DataFrame) -> list[str]:
    """The firms of a market run, from its ``market_share[<firm>]`` columns (none: [])."""
    return _groups(ts, "market_share")


def _entries(summary: Mapping[str, Any]) -> dict[str, int]:
    firms = (summary.get("market") or {}).get("firms") or {}
    return {name: int(firm.get("enters_at", 0)) for name, firm in firms.items()}


@styled
def market_shares_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Each firm's share of the firms' active users, stacked to 100 % (in percent)."""
    firms = firms_of(ts)
    fig, (ax,) = new_figure("Market shares", summary)
    weeks = _weeks(ts).to_numpy()
    shares = np.vstack([ts[f"market_share[{f}]"].to_numpy(dtype=float) * 100 for f in firms])
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(firms))]
    hatches = [None, "//", "..", "xx", "\\\\", "oo"]
    polys = ax.stackplot(weeks, shares, colors=colors, alpha=0.85, labels=firms)
    for poly, hatch in zip(polys, hatches, strict=False):
        poly.set_hatch(hatch)
        poly.set_edgecolor("white")
    dt = float(np.median(np.diff(weeks))) if len(weeks) > 1 else 1.0
    for i, (name, step) in enumerate(_entries(summary).items()):
        if step > 0:
            ax.axvline(step * dt, color=colors[i], ls="--", lw=2)
            ax.annotate(f"{name} enters (week {step * dt:g})", (step * dt, 98), (4, -4),
                        textcoords="offset points", va="top", fontsize=13)  # fmt: skip
    market = summary.get("market") or {}
    if market.get("tipping_step") is not None:
        week = market["tipping_step"] * dt
        ax.axvline(week, color=BLACK, ls=":", lw=2.5)
        ax.annotate(f"tipped to {market['tipping_firm']} (week {week:g})", (week, 5), (4, 4),
                    textcoords="offset points", fontsize=13)  # fmt: skip
    ax.set(xlabel="weeks", ylabel="share of the firms' active users (%)",
           xlim=(weeks[0], weeks[-1]), ylim=(0, 100))  # fmt: skip
    legend_below(ax, ncol=min(len(firms), 4))
    return fig


@styled
def quality_race_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Each firm's quality against the open model (top) and each firm's moat (bottom)."""
    firms = firms_of(ts)
    fig, (top, bottom) = new_figure("The quality race", summary, (2, 1), (10.0, 8.5))
    weeks = _weeks(ts).to_numpy()
    entries = _entries(summary)
    dt = float(np.median(np.diff(weeks))) if len(weeks) > 1 else 1.0
    for i, firm in enumerate(firms):
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        on = weeks >= entries.get(firm, 0) * dt  # a firm's race starts when it enters
        top.plot(weeks[on], ts[f"quality[{firm}]"].to_numpy()[on], color=color, ls=style,
                 label=firm)  # fmt: skip
        bottom.plot(weeks[on], ts[f"moat[{firm}]"].to_numpy()[on], color=color, ls=style,
                    label=firm)  # fmt: skip
    top.plot(weeks, ts["baseline_quality"], color=BLACK, ls="--", lw=2.5, label="free open model")
    top.set(ylabel="quality (0–1)", xlim=(weeks[0], weeks[-1]))
    bottom.axhline(0, color=BLACK, lw=1.5)
    bottom.set(xlabel="weeks", ylabel="moat (quality lead over\nthe best alternative)",
               xlim=(weeks[0], weeks[-1]))  # fmt: skip
    top.set_title("quality per firm, against the free open model", fontsize=15)
    bottom.set_title("moat: lead over the better of the open model and the best rival",
                     fontsize=15)  # fmt: skip
    catch_up = (summary.get("market") or {}).get("catch_up_step") or {}
    for name, step in catch_up.items():
        if step is not None:
            top.axvline(step * dt, color=BLACK, ls=":", lw=2)
            top.annotate(f"{name} catches up (week {step * dt:g})", (step * dt, 0.02), (4, 4),
                         xycoords=("data", "axes fraction"), textcoords="offset points",
                         fontsize=13)  # fmt: skip
    handles, labels = top.get_legend_handles_labels()  # the firms and the open model
    legend_below(bottom, list(zip(handles, labels, strict=True)), ncol=min(len(firms) + 1, 4))
    return fig


MARKET_FIGURES = {"market_shares": market_shares_figure, "quality_race": quality_race_figure}
"""The figures a market run adds to its results folder (none for a single firm)."""


@styled
def winners_figure(runs: pd.DataFrame, outcome: str, by: list[str] | None = None) -> Figure:
    """How often each firm wins (a categorical ``outcome`` such as ``market.winner``), over
    the replicates of each design point of a sweep (``by``: its varying parameters).

    Two parameters: a grid, each cell coloured by the share of runs its most frequent
    winner won, and labelled with that winner. Otherwise one stacked bar per point.
    """
    from matplotlib.colors import ListedColormap

    from .names import axis_label, describe

    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    values = ok[outcome].where(ok[outcome].notna(), "nobody").astype(str)
    names = sorted(values.unique())
    by = [b for b in (by or []) if b in ok.columns]
    title = describe(outcome)[0]
    if len(by) == 2:
        xs, ys = sorted(ok[by[0]].unique()), sorted(ok[by[1]].unique())
        fig, (ax,) = new_figure(f"Who wins: {title}", None, figsize=(10.0, 7.5))
        grid = np.full((len(ys), len(xs)), np.nan)
        for (x, y), rows in ok.groupby(by):
            counts = values.loc[rows.index].value_counts()
            leader = counts.index[0]
            share = counts.iloc[0] / len(rows)
            i, j = ys.index(y), xs.index(x)
            grid[i, j] = names.index(leader) + min(share, 0.999)  # firm index + its share
            ax.text(j, i, f"{leader}\n{share:.0%}", ha="center", va="center", fontsize=12,
                    color="white" if share > 0.75 else "black")  # fmt: skip
        shades = []
        for k in range(len(names)):  # light (a split) to full (every run) in the firm's colour
            base = np.array(mpl_color(PALETTE[k % len(PALETTE)]))
            shades += [tuple(1 - (1 - base) * f) for f in np.linspace(0.25, 1.0, 8)]
        ax.imshow(np.floor(grid) * 8 + np.floor((grid % 1) * 8), cmap=ListedColormap(shades),
                  vmin=0, vmax=8 * len(names) - 1, origin="lower", aspect="auto")  # fmt: skip
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
        ax.set(xlabel=axis_label(by[0]), ylabel=axis_label(by[1]))
        ax.grid(False)
        return fig
    groups = [("all runs", ok)] if not by else list(ok.groupby(by, sort=True))
    fig, (ax,) = new_figure(f"Who wins: {title}", None, figsize=(10.0, 6.5))
    bottom = np.zeros(len(groups))
    counts = np.array([[np.sum(values.loc[rows.index] == n) for _, rows in groups] for n in names])
    shares = counts / np.maximum(counts.sum(axis=0), 1) * 100
    for i, name in enumerate(names):
        ax.bar(range(len(groups)), shares[i], bottom=bottom, color=PALETTE[i % len(PALETTE)],
               label=name, edgecolor="white", hatch=[None, "//", "..", "xx"][i % 4])  # fmt: skip
        bottom += shares[i]
    labels = []
    for key, _rows in groups:
        key = key if isinstance(key, tuple) else (key,)
        labels.append("\n".join(f"{v:g}" if isinstance(v, float) else str(v) for v in key))
    ax.set_xticks(range(len(groups)), labels, fontsize=12 if len(groups) > 8 else 14)
    ax.set(ylabel="share of runs won (%)", ylim=(0, 100),
           xlabel=" / ".join(axis_label(b) for b in by) if by else "")  # fmt: skip
    legend_below(ax, ncol=min(len(names), 4))
    return fig


def mpl_color(name: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(name)

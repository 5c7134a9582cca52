"""The explorer's views: functions of the model, drawn as slide-ready matplotlib figures.

Each view follows Mesa's idiom for a SolaraViz component (a function of the model that
redraws after every step, told by Mesa's ``update_counter``: through :func:`use_step`,
one subscription for all the views of a page) and the house style of
:mod:`simulator.reporting.plots` (titled, axes labelled with units, Okabe-Ito colours
with distinct line styles and markers). Mesa's own ``make_plot_component`` is not used
for them: it labels the x axis "Step" after any post-processing and draws in
matplotlib's default style.

The users, quality, share and network views are :mod:`.live` figures: their frame is
drawn once per run and only the data are drawn on a step. The timeseries of a model is
computed once per step (:func:`timeseries`); the network view lays out its sample once
per model (:func:`network_sample`), never on a step.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import reacton.core
import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter
from solara.alias import rw

from simulator import metrics
from simulator.reporting.plots import LINESTYLES, PALETTE, legend_below, new_figure, styled

from .live import PAGE_DPI, LiveFigure, LiveNetwork, LiveQuality, LiveShares, LiveUsers

__all__ = [
    "MAX_NETWORK_NODES", "Audit", "Network", "NetworkSample", "Quality", "Shares", "status_line",
    "Users", "FirmShares", "audit_markdown", "firm_columns", "firm_share_figure", "live_figure",
    "network_sample", "run_summary", "timeseries",
]  # fmt: skip

#: The network view shows at most this many users (a neighbourhood of one user).
MAX_NETWORK_NODES = 500
#: The network view shows at most this many users (a neighbourhood of one user).
MAX_NETWORK_NODES = 500

_TIMESERIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SAMPLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def timeseries(model) -> pd.DataFrame:
    """The model's DataCollector table with the flywheel-health columns, one row per step.

    Computed once per model and step and shared by every view.
    """
    cached = _TIMESERIES.get(model)
    if cached is not None and cached[0] == model.steps:
        return cached[1]
    raw = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    table = metrics.add_health_columns(raw, model.params.dt)
    _TIMESERIES[model] = (model.steps, table)
    return table


def run_summary(model, ts: pd.DataFrame | None) -> dict[str, Any]:
    """What the figures' subtitles (scenario, seed, engine, population) and markers
    (takeoff and half adoption, given the timeseries ``ts``) read."""
    scenario = model.initial_params
    summary = {
        "scenario": scenario.name,
        "seed": model.seed,
        "engine": model.engine,
        "population": scenario.population.size,
    }
    if ts is not None:
        summary["takeoff_step"] = metrics.takeoff_step(ts)
        summary["half_adoption_step"] = metrics.half_adoption_step(ts, scenario.population.size)
    return summary


def _groups(ts: pd.DataFrame, metric: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(metric)}\[(.+)\]$")
    return [m.group(1) for column in ts.columns if (m := pattern.match(str(column)))]


def firm_columns(ts: pd.DataFrame) -> list[str]:
    """The firms named in ``market_share[<firm>]`` columns (none in a one-firm market)."""
    return _groups(ts, "market_share")


@styled
def firm_share_figure(ts: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Each firm's market share over time (a market of several firms)."""
    fig, (ax,) = new_figure("Market share per firm", summary)
    weeks = ts["time"].astype(float)
    for i, firm in enumerate(firm_columns(ts)):
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        ax.plot(weeks, ts[f"market_share[{firm}]"] * 100, color=color, ls=style, label=firm)
    ax.set(xlabel="weeks", ylabel="market share (% of active users)", ylim=(0, 100))
    ax.set_xlim(weeks.min(), max(weeks.max(), weeks.min() + 1))
    legend_below(ax)
    return fig


@dataclass(frozen=True)
class NetworkSample:
    """A neighbourhood of at most :data:`MAX_NETWORK_NODES` users and its fixed layout."""

    nodes: np.ndarray
    """The users shown (indexes into the model's users)."""
    positions: np.ndarray
    """Their (x, y) positions, one row per user in ``nodes``."""
    edges: np.ndarray
    """Ties among them, as pairs of rows of ``positions``."""
    population: int
    fingerprint: bytes = b""
    """A digest of the users, ties and layout seed (equal samples have equal digests)."""


def network_sample(model, limit: int = MAX_NETWORK_NODES) -> NetworkSample:
    """The users the network view shows, laid out once per model.

    All users when there are at most ``limit``; else the ``limit`` users nearest (breadth
    first) to one user chosen with the run's seed, so ties and clusters stay visible. The
    layout is NetworkX's spring layout with a seed derived from the run's seed: the same
    run always draws the same picture. It is computed on the first call for a model and
    kept, never recomputed on a step.
    """
    cached = _SAMPLES.get(model)
    if cached is not None:
        return cached
    adjacency = model.adjacency
    size = adjacency.shape[0]
    rng = np.random.default_rng([model.seed, 500])
    if size <= limit:
        nodes = np.arange(size)
    else:
        start = int(rng.integers(size))
        order, seen = [start], {start}
        head = 0
        while head < len(order) and len(order) < limit:
            user = order[head]
            row = adjacency.indices[adjacency.indptr[user] : adjacency.indptr[user + 1]]
            for neighbour in rng.permutation(row):
                if int(neighbour) not in seen and len(order) < limit:
                    seen.add(int(neighbour))
                    order.append(int(neighbour))
            head += 1
            if head == len(order) and len(order) < limit:  # a small component: jump
                rest = np.setdiff1d(np.arange(size), order)
                nxt = int(rng.choice(rest))
                seen.add(nxt)
                order.append(nxt)
        nodes = np.array(sorted(order))
    sub = adjacency[nodes][:, nodes].tocoo()
    keep = sub.row < sub.col
    edges = np.column_stack([sub.row[keep], sub.col[keep]])
    layout_seed = int(rng.integers(2**31))
    fingerprint = _fingerprint(nodes, edges, layout_seed)
    positions = _layout(nodes, edges, layout_seed, fingerprint)
    sample = NetworkSample(
        nodes=nodes, positions=positions, edges=edges, population=size, fingerprint=fingerprint
    )
    _SAMPLES[model] = sample
    return sample


_LAYOUTS: dict[bytes, np.ndarray] = {}


def _fingerprint(nodes: np.ndarray, edges: np.ndarray, seed: int) -> bytes:
    data = nodes.astype(np.int64).tobytes() + edges.astype(np.int64).tobytes()
    return hashlib.sha256(data + seed.to_bytes(8)).digest()


def _layout(nodes: np.ndarray, edges: np.ndarray, seed: int, fingerprint: bytes) -> np.ndarray:
    """NetworkX's spring layout of a sample, seeded; kept for the same sample and seed, so
    restarting a run whose network is unchanged (another retraining cadence, say) reuses it.
    """
    if fingerprint not in _LAYOUTS:
        graph = nx.Graph()
        graph.add_nodes_from(range(len(nodes)))
        graph.add_edges_from(edges.tolist())
        layout = nx.spring_layout(graph, seed=seed)
        if len(_LAYOUTS) >= 32:
            _LAYOUTS.pop(next(iter(_LAYOUTS)))
        _LAYOUTS[fingerprint] = np.array([layout[i] for i in range(len(nodes))])
    return _LAYOUTS[fingerprint]


def audit_markdown(audit: Mapping[str, Any]) -> str:
    """The defensibility audit as a Markdown table: each item's input, threshold and points."""
    rows = [
        f"**Defensibility audit: {audit['score']} / {audit['max_score']} points** "
        "(each item scores when its measured input exceeds the threshold)",
        "",
        "| item | measured (0–1) | threshold | points |",
        "|:--|--:|--:|--:|",
    ]
    for name, item in audit["items"].items():
        mark = "✔" if item["points"] else "✘"
        rows.append(
            f"| {name.replace('_', ' ')} | {item['input']:.2f} | > {item['threshold']:g} | "
            f"{mark} {item['points']} / {item['max_points']} |"
        )
    return "\n".join(rows)


# -- components ------------------------------------------------------------------------

_FRAMES: dict[tuple, LiveFigure] = {}


def live_figure(model, view: str) -> LiveFigure:
    """The live figure for ``view`` (users, quality, shares, network) of ``model``.

    A figure's frame depends only on what its titles and axes show (scenario name, seed,
    engine, population, run length, groups, the network sample), so a restarted run
    that differs in other values (another retraining cadence, say) reuses the frame of
    the run before it: a restart costs the new model, not new frames.
    """
    scenario = model.initial_params
    summary = run_summary(model, None)
    horizon = scenario.steps * scenario.dt
    groups = tuple((g.name, g.share) for g in scenario.population.groups)
    if view == "network":
        sample = network_sample(model)
        detail: tuple = (sample.fingerprint,)
    else:
        detail = (horizon, groups)
    key = (view, tuple(summary.items()), *detail)
    if key not in _FRAMES:
        if view == "users":
            figure: LiveFigure = LiveUsers(summary, horizon, scenario.population.size)
        elif view == "quality":
            figure = LiveQuality(summary, horizon, [name for name, _ in groups])
        elif view == "shares":
            figure = LiveShares(summary, horizon, dict(groups))
        elif view == "network":
            figure = LiveNetwork(summary, sample)
        else:
            raise ValueError(f"unknown view {view!r}")
        if len(_FRAMES) >= 64:
            _FRAMES.pop(next(iter(_FRAMES)))
        _FRAMES[key] = figure
    return _FRAMES[key]


class _StepHub:
    """The views of one page, told together that the model stepped.

    A component that reads Mesa's ``update_counter`` subscribes to it, and Solara renders
    the page once per subscriber when the counter changes: with the five views and Mesa's
    own "Time" line that was six passes over the whole page per Step click, each one
    reconciling every widget of the sidebar (6-7 ms a pass, measured). The views
    subscribe through one hub per page instead; its listener sets each view's state within
    the one render batch Solara opens for a subscriber, so the views cost one pass.
    """

    def __init__(self) -> None:
        self.setters: list = []
        self._unsubscribe = None

    def add(self, setter):
        """Tell ``setter`` every new counter value; returns the function that stops it."""
        self.setters.append(setter)
        if self._unsubscribe is None:
            self._unsubscribe = update_counter.subscribe(self._changed)

        def remove() -> None:
            if setter in self.setters:
                self.setters.remove(setter)
            if not self.setters and self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None

        return remove

    def _changed(self, value: int) -> None:
        for setter in tuple(self.setters):
            setter(value)


_HUBS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Each page's (render context's) hub."""


def use_step() -> int:
    """Mesa's ``update_counter`` as this view last saw it: the view renders again after
    every step and every reset, like a component that reads the counter, but all the
    views of a page through one subscription (:class:`_StepHub`)."""
    seen, set_seen = solara.use_state(update_counter.peek())
    context = reacton.core.get_render_context()

    def register():
        hub = _HUBS.get(context)
        if hub is None:
            hub = _HUBS[context] = _StepHub()
        return hub.add(set_seen)

    solara.use_effect(register, [])
    return seen


def _key(model) -> tuple:
    return (id(model), model.steps)


def _png(value: bytes):
    return rw.Image(value=value, format="png")


@solara.component
def Users(model):
    """Users by state over time, the takeoff week marked."""
    use_step()
    ts = timeseries(model)
    figure = live_figure(model, "users")
    png = solara.use_memo(lambda: figure.png((ts, metrics.takeoff_step(ts))), [_key(model)])
    return _png(png)


@solara.component
def Quality(model):
    """Model quality against the market baseline, the moat shaded."""
    use_step()
    ts = timeseries(model)
    figure = live_figure(model, "quality")
    png = solara.use_memo(lambda: figure.png(ts), [_key(model)])
    return _png(png)


@solara.component
def Shares(model):
    """Each group's share of the active users."""
    use_step()
    ts = timeseries(model)
    figure = live_figure(model, "shares")
    png = solara.use_memo(lambda: figure.png(ts), [_key(model)])
    return _png(png)


@solara.component
def Network(model):
    """The network sample coloured by state (laid out once per run)."""
    use_step()
    figure = live_figure(model, "network")
    png = solara.use_memo(lambda: figure.png(model.user_arrays()["state"]), [_key(model)])
    return _png(png)


@solara.component
def Audit(model):
    """Where the run is (week, users, quality, moat) and its defensibility audit so far."""
    use_step()

    def build():
        audit = metrics.defensibility(model.record, model.user_arrays(), model.params)
        return status_line(model) + "\n\n" + audit_markdown(audit)

    text = solara.use_memo(build, [_key(model)])
    return solara.Markdown(text)


@solara.component
def FirmShares(model):
    """Market shares per firm; nothing in a market of one firm."""
    use_step()
    ts = timeseries(model)
    several = len(getattr(model, "firms", [])) > 1 and bool(firm_columns(ts))

    def build():
        return firm_share_figure(ts, run_summary(model, ts)) if several else None

    fig = solara.use_memo(build, [_key(model)])
    if fig is None:
        return solara.Text("")
    return solara.FigureMatplotlib(fig, dependencies=[_key(model)], format="png", dpi=PAGE_DPI)


def status_line(model) -> str:
    """The run in one line of words: scenario, week, users, quality, market, moat."""
    last = timeseries(model).iloc[-1]
    return (
        f"**{model.initial_params.name}** · week {float(last['time']):g} of "
        f"{model.params.steps * model.params.dt:g} · {int(last['active_users']):,} active users"
        f" · quality {last['quality']:.3f} · market {last['baseline_quality']:.3f} · "
        f"moat {last['moat']:+.3f}"
    )

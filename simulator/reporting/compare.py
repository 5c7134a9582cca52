"""Several runs on shared axes: ``flywheel compare`` and :func:`compare_runs`.

A comparison runs several scenarios (or reads results folders), each with one or more
seeds, and draws them together: active users, quality against the market with each
run's moat, and the scenarios' key metrics, with a table of final figures (means and
95 % intervals over the seeds when there are several). Every run is labelled by its
scenario and its overrides. With the same seeds, runs share the same luck for as long
as their users behave alike (paired comparisons, docs/model.md).

In Python::

    from simulator.reporting.compare import compare_runs
    comparison = compare_runs(["scenarios/baseline.yaml", "scenarios/data_hoarding.yaml"],
                              overrides={"population.size": 2000}, seeds=3)
    comparison.figure          # the matplotlib figure
    comparison.table           # one row per run: final figures with intervals
    comparison.write("results/compare/baseline-vs-hoarding")
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from ..errors import InputError
from .folder import is_results_folder, read_results
from .names import axis_label, describe, format_value, run_label
from .plots import (
    BLACK,
    LINESTYLES,
    PALETTE,
    _weeks,
    new_figure,
    save_figure,
    styled,
)
from .stories import format_number, highlights, references, summary_number

#: The figures every comparison shows, before the scenarios' own key metrics.
CORE = ("active_users", "quality", "moat")
#: Final figures of the table, before the key metrics (summary fields, dotted).
TABLE = (
    "final.active_users",
    "final.quality",
    "final.moat",
    "takeoff_step",
    "half_adoption_step",
    "defensibility.score",
)
#: At most this many panels (the core three and the first key metrics).
MAX_PANELS = 6
CONFIDENCE = 0.95


@dataclass
class Run:
    """One compared run: a label, its scenario, and one (timeseries, summary) per seed."""

    label: str
    source: str
    scenario: Any
    overrides: dict[str, Any]
    seeds: list[int]
    timeseries: list[pd.DataFrame]
    summaries: list[dict[str, Any]]

    def mean(self, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(weeks, mean, low, high)`` of ``column`` over the seeds (interval: Student t)."""
        weeks = _weeks(self.timeseries[0]).to_numpy()
        length = min(len(ts) for ts in self.timeseries)
        values = np.vstack([ts[column].to_numpy(dtype=float)[:length] for ts in self.timeseries])
        mean = values.mean(axis=0)
        low, high = mean.copy(), mean.copy()
        if len(values) > 1:
            sem = values.std(axis=0, ddof=1) / math.sqrt(len(values))
            half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1) * sem
            low, high = mean - half, mean + half
        return weeks[:length], mean, low, high


@dataclass
class Comparison:
    """The outcome of :func:`compare_runs`: the runs, their figure and their table."""

    runs: list[Run]
    figure: Figure
    table: pd.DataFrame
    """One row per run: ``run``, then ``<figure>`` (the mean), ``<figure> low`` and
    ``<figure> high`` (95 % interval over the seeds) and ``<figure> n`` per final figure."""
    metrics: list[str] = field(default_factory=list)
    """The key metrics drawn and tabled (the scenarios' ``report.highlight``, merged)."""
    note: str = ""
    """What every run shares (seeds, common overrides): the figure's subtitle."""

    def text_table(self) -> str:
        """The table as aligned text: ``mean [low, high]`` with several seeds."""
        return format_table(self)

    def write(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write ``comparison.png`` and ``.svg``, ``table.csv``, ``table.txt``,
        ``timeseries.parquet`` (every run and seed, tidy) and ``comparison.json`` (what was
        compared: labels, sources, seeds, overrides, scenarios, summaries) into ``out_dir``;
        return the paths. ``flywheel report`` reads such a folder."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [save_figure(self.figure, out / f"comparison.{fmt}") for fmt in ("png", "svg")]
        self.table.to_csv(out / "table.csv", index=False)
        (out / "table.txt").write_text(self.text_table() + "\n", encoding="utf-8")
        frames = [
            ts.assign(run=run.label, seed=seed)
            for run in self.runs
            for seed, ts in zip(run.seeds, run.timeseries, strict=True)
        ]
        pd.concat(frames, ignore_index=True).to_parquet(out / "timeseries.parquet", index=False)
        manifest = {
            "kind": "comparison",
            "metrics": self.metrics,
            "note": self.note,
            "runs": [
                {
                    "label": run.label,
                    "source": run.source,
                    "overrides": run.overrides,
                    "seeds": run.seeds,
                    "scenario": _scenario_dict(run.scenario),
                    "summaries": run.summaries,
                }
                for run in self.runs
            ],
        }
        text = json.dumps(manifest, indent=1, allow_nan=False, default=str)
        (out / "comparison.json").write_text(text + "\n", encoding="utf-8")
        return [*written, *(out / n for n in ("table.csv", "table.txt", "timeseries.parquet"))] + [
            out / "comparison.json"
        ]


def _scenario_dict(scenario: Any) -> dict | None:
    if scenario is None:
        return None
    return scenario if isinstance(scenario, Mapping) else scenario.to_dict()


def _source_of(item: Any) -> tuple[str, dict[str, Any]]:
    """``"file.yaml@key=value,key=value"`` -> the file and its own overrides."""
    from ..cli import parse_sets

    text = os.fspath(item)
    if "@" in text and not Path(text).exists():
        path, _, sets = text.partition("@")
        return path, parse_sets([part for part in sets.split(",") if part])
    return text, {}


def _one_run(item: Any, overrides: Mapping[str, Any], seeds: int, engine: str | None) -> Run:
    """Run (or read) one source of a comparison."""
    from ..scenario import load_scenario
    from ..simulation import Result, run

    if isinstance(item, Result):
        summary = item.summary
        label = run_label(summary["scenario"], summary.get("overrides"))
        return Run(label, label, item.scenario, dict(summary.get("overrides") or {}),
                   [summary["seed"]], [item.timeseries], [summary])  # fmt: skip
    path, own = _source_of(item)
    if Path(path).is_dir():
        if not is_results_folder(path):
            raise InputError(f"{path}: not a results folder (no summary.json) nor a scenario file.")
        folder = read_results(path)
        given = dict(folder.summary.get("overrides") or {})
        if seeds == 1 and not overrides and not own:
            label = run_label(folder.summary.get("scenario", Path(path).name), given)
            return Run(label, path, folder.scenario, given, [folder.summary.get("seed")],
                       [folder.timeseries], [folder.summary])  # fmt: skip
        if not (Path(path) / "scenario.yaml").is_file():
            raise InputError(f"{Path(path) / 'scenario.yaml'}: file not found; cannot rerun.")
        path, own = str(Path(path) / "scenario.yaml"), given | own
    changed = dict(overrides) | own
    scenario = load_scenario(path, overrides=changed)
    first = scenario.seed
    results = [run(scenario, seed=first + k, engine=engine) for k in range(seeds)]
    for result in results:
        result.summary["overrides"] = dict(own)  # label by what differs between the runs
    label = run_label(scenario.name, own)
    return Run(label, path, scenario, dict(own), [r.summary["seed"] for r in results],
               [r.timeseries for r in results], [r.summary for r in results])  # fmt: skip


def compare_runs(
    sources: Sequence[Any] | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | None = None,
    seeds: int = 1,
    engine: str | None = None,
) -> Comparison:
    """Run (or read) several scenarios and draw them on shared axes.

    Parameters
    ----------
    sources : sequence, or mapping of label to source
        Each a scenario file, a scenario file with overrides of its own
        (``"scenarios/baseline.yaml@market.baseline.ceiling=0.9,market.baseline.time_constant=26"``),
        a results folder of ``flywheel run``, or a :class:`~simulator.Result`. A mapping
        gives each run its own label; otherwise runs are labelled by scenario and
        overrides (:func:`~simulator.reporting.names.run_label`).
    overrides : mapping, optional
        Dotted keys applied to every scenario (``{"population.size": 2000}``); they are
        the same for every run, so they do not appear in the labels.
    seeds : int
        Replicates per run: seeds ``s, s + 1, …, s + seeds − 1`` from the scenario's seed
        ``s`` (the same for every run, so the runs are paired). A results folder is read
        as it is with one seed, and rerun from its ``scenario.yaml`` otherwise.
    engine : str, optional
        ``agent``, ``array`` or ``auto`` (results are the same; ``array`` is faster).

    Returns
    -------
    Comparison
        ``.runs``, ``.figure`` (users, quality vs market, moat, key metrics), ``.table``.

    Raises
    ------
    InputError
        For a missing file or folder, an invalid scenario or override, fewer than one
        source or ``seeds < 1``; the message names the file and the key.
    """
    if seeds < 1:
        raise InputError(f"--seeds: must be an integer >= 1; got {seeds}")
    items = list(sources.items()) if isinstance(sources, Mapping) else [(None, s) for s in sources]
    if not items:
        raise InputError("compare: give at least one scenario file or results folder")
    runs = []
    for label, item in items:
        one = _one_run(item, overrides or {}, seeds, engine)
        if label is not None:
            one.label = str(label)
        runs.append(one)
    seen: dict[str, int] = {}
    for one in runs:  # the same scenario twice: tell the runs apart
        seen[one.label] = seen.get(one.label, 0) + 1
        if seen[one.label] > 1:
            one.label = f"{one.label} #{seen[one.label]}"
    metrics = _metrics(runs)
    note = _shared_note(dict(overrides or {}), runs)
    figure = comparison_figure(runs, metrics, note)
    return Comparison(runs, figure, final_table(runs, metrics), metrics, note)


def _shared_note(overrides: dict[str, Any], runs: list[Run]) -> str:
    """What every run shares: the common overrides and the seeds."""
    parts = []
    seeds = sorted({seed for one in runs for seed in one.seeds if seed is not None})
    if seeds:
        parts.append(f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}")
    if overrides:
        parts.append(
            "all runs with " + ", ".join(f"{k}={format_value(v)}" for k, v in overrides.items())
        )
    return "  ·  ".join(parts)


def _metrics(runs: list[Run]) -> list[str]:
    """The scenarios' key metrics, in order, without repeats."""
    names: list[str] = []
    for one in runs:
        names += [name for name in highlights(one.scenario) if name not in names]
    return names


@styled
def comparison_figure(runs: list[Run], metrics: Sequence[str] = (), note: str = "") -> Figure:
    """Runs on shared axes: active users, quality vs the market, moat, then key metrics.

    One colour and line style per run throughout; with several seeds the line is the
    mean and the band its 95 % interval. The quality panel draws each run's market
    baseline as a thin dashed line of the run's colour (they coincide when the market
    is the same). Key metrics are the timeseries columns that every run has; a group's
    share is drawn with its population share. The legend, under the panels, gives each
    run's final moat.
    """
    columns = [name for name in metrics if name not in CORE]
    columns = [c for c in columns if all(c in ts for one in runs for ts in one.timeseries)]
    panels = [*CORE, *columns][:MAX_PANELS]
    cols = 2 if len(panels) <= 4 else 3
    rows = math.ceil(len(panels) / cols)
    title = "Comparison: " + " vs ".join(one.label.split(" (")[0] for one in runs[:4])
    if len(title) > 70:
        title = f"Comparison of {len(runs)} runs"
    fig, axes = new_figure(title, None, (rows, cols), figsize=(7.0 * cols, 4.8 * rows + 2.2))
    if note:
        fig.subfigs[0].suptitle(note, fontsize=15, fontweight="normal", color="#444444")
    several = any(len(one.seeds) > 1 for one in runs)
    for ax, column in zip(axes, panels, strict=False):
        name, unit = describe(column)
        for i, one in enumerate(runs):
            color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
            weeks, mean, low, high = one.mean(column)
            ax.plot(weeks, mean, color=color, ls=style, label=one.label if ax is axes[0] else None)
            if several:
                ax.fill_between(weeks, low, high, color=color, alpha=0.2, lw=0)
            if column == "quality":  # one black line when the market is the same for all
                market = one.mean("baseline_quality")[1]
                first = runs[0].mean("baseline_quality")[1]
                same = i > 0 and len(market) == len(first) and np.allclose(market, first)
                if not same:
                    ax.plot(weeks, market, color=BLACK if i == 0 else color, ls=":", lw=2.0)
            for level, _ in references(column, one.scenario):
                if not isinstance(level, str) and i == 0:
                    ax.axhline(level, color=BLACK, ls="--", lw=1.5, zorder=1)
        subtitle = {"quality": "model quality (dotted: market baseline)"}.get(column, name)
        ax.set_title(subtitle, fontsize=16)
        ax.set(xlabel="weeks", ylabel=unit)
        if column in ("active_users",) or "examples" in unit:
            ax.yaxis.set_major_formatter(_thousands())
    for ax in axes[len(panels) :]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    moats = [_final(one, "final.moat") for one in runs]
    labels = [
        f"{label}: final moat {format_number('moat', m[0])}"
        for label, m in zip(labels, moats, strict=True)
    ]
    band = (
        f" (lines: mean of {max(len(o.seeds) for o in runs)} seeds; bands: 95 % interval)"
        if several
        else ""
    )
    ncol = 1 if max(map(len, labels)) > 45 else 2
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False,
               fontsize=15, title=f"runs{band}", title_fontsize=14)  # fmt: skip
    return fig


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def _final(one: Run, name: str) -> tuple[float | None, float | None, float | None, int]:
    """``(mean, low, high, n)`` of a final figure over the run's seeds (n: defined ones)."""
    values = [summary_number(summary, name) for summary in one.summaries]
    numbers = np.array([float(v) for v in values if isinstance(v, int | float)], dtype=float)
    if numbers.size == 0:
        return None, None, None, 0
    mean = float(numbers.mean())
    if numbers.size == 1:
        return mean, mean, mean, 1
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, numbers.size - 1) * numbers.std(ddof=1)
    half /= math.sqrt(numbers.size)
    return mean, mean - half, mean + half, int(numbers.size)


def _table_names(metrics: Sequence[str]) -> list[str]:
    names = list(TABLE)
    for name in metrics:
        dotted = name if "." in name or name.endswith("_step") else f"final.{name}"
        if dotted not in names:
            names.append(dotted)
    return names


def final_table(runs: list[Run], metrics: Sequence[str] = ()) -> pd.DataFrame:
    """One row per run: every final figure's mean, 95 % interval and count over the seeds.

    The figures are :data:`TABLE` then the key metrics (``final.<column>`` for a
    timeseries column). For a step that may never come (``takeoff_step``), the mean is
    over the seeds where it came, and ``<name> n`` says in how many.
    """
    rows = []
    for one in runs:
        row: dict[str, Any] = {"run": one.label, "seeds": len(one.seeds)}
        for name in _table_names(metrics):
            mean, low, high, n = _final(one, name)
            row |= {name: mean, f"{name} low": low, f"{name} high": high, f"{name} n": n}
        rows.append(row)
    return pd.DataFrame(rows)


def format_table(comparison: Comparison) -> str:
    """A comparison's table as aligned text, one row per final figure, one column per run."""
    names = _table_names(comparison.metrics)
    header = ["", *[one.label for one in comparison.runs]]
    lines = [header]
    for name in names:
        cells = [describe(name)[0] if name.endswith("_step") else axis_label(name)]
        for _, row in comparison.table.iterrows():
            mean, n, seeds = row[name], row[f"{name} n"], row["seeds"]
            if mean is None or (isinstance(mean, float) and math.isnan(mean)):
                cells.append(format_number(name, None))
                continue
            cell = format_number(name, mean)
            if seeds > 1 and row[f"{name} low"] != row[f"{name} high"]:
                cell += f" [{format_number(name, row[f'{name} low'])}, "
                cell += f"{format_number(name, row[f'{name} high'])}]"
            if name.endswith("_step") and n < seeds:
                cell += f" ({n} of {seeds} seeds)"
            cells.append(cell)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)  # fmt: skip


def read_comparison(folder: str | os.PathLike) -> dict[str, Any]:
    """A comparison folder's ``comparison.json`` (and its tidy ``timeseries``), for reports."""
    path = Path(folder) / "comparison.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        ts = pd.read_parquet(Path(folder) / "timeseries.parquet")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the comparison: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != "comparison":
        raise InputError(f"{path}: not a comparison (no kind: comparison).")
    manifest["timeseries"] = ts
    return manifest


def comparison_from_folder(folder: str | os.PathLike) -> Comparison:
    """Rebuild a :class:`Comparison` (figure and table) from a folder it was written to."""
    manifest = read_comparison(folder)
    ts = manifest["timeseries"]
    runs = []
    for entry in manifest["runs"]:
        frames = [
            ts[(ts["run"] == entry["label"]) & (ts["seed"] == seed)].drop(columns=["run", "seed"])
            .reset_index(drop=True)
            for seed in entry["seeds"]
        ]  # fmt: skip
        runs.append(Run(entry["label"], entry["source"], entry.get("scenario"), entry["overrides"],
                        entry["seeds"], frames, entry["summaries"]))  # fmt: skip
    metrics = list(manifest.get("metrics") or [])
    note = manifest.get("note", "")
    return Comparison(runs, comparison_figure(runs, metrics, note), final_table(runs, metrics),
                      metrics, note)  # fmt: skip

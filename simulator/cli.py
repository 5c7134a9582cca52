"""The ``flywheel`` command: run, validate, plot, compare and report scenarios; sweeps.

Exit codes (stable): 0 success; 2 invalid input (bad scenario, bad option,
missing file), with a message and no traceback, and nothing written; 1 anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml

from .errors import InputError
from .scenario import parse_value

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Flywheel: simulate AI data flywheels from scenario files.",
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def parse_sets(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs into overrides; values are parsed as YAML scalars."""
    overrides: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set: expected KEY=VALUE (e.g. steps=52); got {pair!r}")
        try:
            value = parse_value(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise InputError(f"--set {key}: value {text!r} is not a YAML scalar ({exc})") from None
        if isinstance(value, dict | list):
            raise InputError(f"--set {key}: expected a single value; got {text!r}")
        overrides[key.strip()] = value
    return overrides


def default_results_dir(
    name: str, sets: dict[str, object], seed: int | None = None, steps: int | None = None
) -> Path:
    """``results/<name>/``, or ``results/<name>--<overrides>/`` for a run with ``--set``,
    ``--seed`` or ``--steps``, so a variation never overwrites the scenario's own folder
    (``--engine`` does not change the results, so it does not change the folder)."""
    from .reporting.names import overrides_slug

    changed = dict(sets) | {
        k: v for k, v in {"seed": seed, "steps": steps}.items() if v is not None
    }
    return Path("results") / (f"{name}--{overrides_slug(changed)}" if changed else name)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Results folder (default: results/<scenario name>/; with --set, --seed or "
            "--steps: results/<scenario name>--<overrides>/)."
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed (replaces the scenario's).")] = None,
    steps: Annotated[int | None, typer.Option(help="Number of steps.")] = None,
    engine: Annotated[str | None, typer.Option(help="agent | array | auto.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario key: --set population.size=2000."),
    ] = None,
    plots: Annotated[bool, typer.Option(help="Draw the plots.")] = True,
) -> None:
    """Run SCENARIO and write timeseries, summary, resolved scenario and plots."""
    from .progress import progress_bar
    from .scenario import load_scenario
    from .simulation import run as run_scenario

    try:
        sets = parse_sets(set_ or [])
        top = {"seed": seed, "steps": steps, "engine": engine}
        overrides = sets | {key: value for key, value in top.items() if value is not None}
        resolved = load_scenario(scenario, overrides=overrides)
        out_dir = out if out is not None else default_results_dir(resolved.name, sets, seed, steps)
        with progress_bar(resolved.steps, f"{resolved.name}") as advance:
            result = run_scenario(resolved, progress=advance)
        # The --set keys label the run (figures, comparisons, reports); the seed and
        # the steps have summary fields of their own.
        result.summary["overrides"] = dict(sets)
        result.write(out_dir, plots=plots)
    except InputError as exc:
        _fail(str(exc))
    final, summary = result.summary["final"], result.summary
    takeoff = summary["takeoff_step"]
    takeoff = "no takeoff" if takeoff is None else f"takeoff week {takeoff * resolved.dt:g}"
    typer.echo(
        f"{resolved.name}: {final['active_users']} active users, quality {final['quality']:.3f}, "
        f"moat {final['moat']:+.3f}, {takeoff}, "
        f"{summary['runtime_s']:.1f} s ({summary['agent_steps_per_s']:,.0f} agent-steps/s) "
        f"-> {out_dir}/"
    )


@app.command()
def validate(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
) -> None:
    """Check scenario files without running them; list every problem of every file."""
    from .scenario import validate_file

    failed = False
    for path in scenarios:
        problems = validate_file(path)
        if problems:
            failed = True
            typer.echo(f"{path}: {len(problems)} problem(s)", err=True)
            for problem in problems:
                typer.echo(f"  {problem}", err=True)
        else:
            typer.echo(f"{path}: ok")
    if failed:
        raise typer.Exit(2)


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option(help="Write the schema to this file instead of printing it.")
    ] = None,
) -> None:
    """Print the scenario format as JSON Schema, for editors that complete and check YAML."""
    import json

    from .scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"--out {out}: cannot write the schema ({exc.strerror})")
    typer.echo(f"wrote the scenario schema to {out}")


@app.command()
def plot(results: Annotated[Path, typer.Argument(help="A results folder of `flywheel run`.")]):
    """Redraw the plots of a results folder into DIR/plots/."""
    from .reporting.plots import plot_results_dir

    try:
        paths = plot_results_dir(results)
    except InputError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {len(paths)} files to {results / 'plots'}/")


@app.command()
def compare(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Scenario files (FILE.yaml, or FILE.yaml@KEY=VALUE,KEY=VALUE for overrides "
            "of that run only) or results folders of `flywheel run`."
        ),
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key of every scenario: --set population.size=2000."),
    ] = None,
    seeds: Annotated[int, typer.Option(help="Replicates per run (seeds s, s+1, ...).")] = 1,
    engine: Annotated[str | None, typer.Option(help="agent | array | auto.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the figure and table (default: results/compare/<names>/)."),
    ] = None,
) -> None:
    """Run several scenarios (or read results folders) and draw them on shared axes.

    Writes comparison.png/.svg (users, quality vs the market with moats, the scenarios'
    key metrics), table.csv and table.txt (final figures; 95 % intervals with --seeds > 1),
    timeseries.parquet and comparison.json, and prints the table.
    """
    from .reporting.compare import compare_runs

    try:
        if engine is not None and engine not in ("agent", "array", "auto"):
            raise InputError(f"--engine: must be one of agent, array, auto; got {engine!r}")
        comparison = compare_runs(sources, overrides=parse_sets(set_ or []), seeds=seeds,
                                  engine=engine)  # fmt: skip
        names = "-vs-".join(dict.fromkeys(r.summaries[0]["scenario"] for r in comparison.runs))
        out_dir = out if out is not None else Path("results") / "compare" / names
        comparison.write(out_dir)
    except InputError as exc:
        _fail(str(exc))
    typer.echo(comparison.text_table())
    typer.echo(f"-> {out_dir}/comparison.png, table.csv")


@app.command()
def report(
    folders: Annotated[
        list[Path],
        typer.Argument(help="Results folders of `flywheel run`, `flywheel compare` or a sweep."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="The HTML file (default: DIR/report.html for one folder)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="The handout's title.")] = None,
) -> None:
    """Write one self-contained HTML handout (figures embedded; opens offline).

    For each folder: the scenario's question, key numbers, things to notice, every
    figure, the defensibility audit and the scenario as run.
    """
    from .reporting.report import write_report

    try:
        if out is None and len(folders) > 1:
            raise InputError("--out: required with several folders (e.g. --out handout.html)")
        path = write_report(folders, out if out is not None else folders[0] / "report.html",
                            title=title)  # fmt: skip
    except InputError as exc:
        _fail(str(exc))
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@app.command()
def sweep(
    experiment: Annotated[
        Path, typer.Argument(help="Sweep file (or scenario with a sweep block).")
    ],
    workers: Annotated[
        int | None,
        typer.Option(help="Local worker processes (default: run serially in this process)."),
    ] = None,
    dask_local: Annotated[
        bool, typer.Option("--dask-local", help="Start a local Dask cluster (--workers processes).")
    ] = False,
    address: Annotated[
        str | None, typer.Option(help="Use the Dask scheduler at tcp://host:port.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default: results/sweeps/<sweep name>/).")
    ] = None,
    csv: Annotated[
        bool, typer.Option("--csv", help="Also write CSV copies of the tables.")
    ] = False,
) -> None:
    """Run a sweep: every design point x replicate, stored in a results folder.

    Rerunning the same command resumes: finished runs are skipped, failed ones retried.
    Exit code 1 if any run failed (the others are stored; the error is in runs.parquet).
    """
    from .experiment import load_experiment, run_experiment

    try:
        if dask_local and address:
            raise InputError("--dask-local and --address: choose one")
        loaded = load_experiment(experiment)
        result = run_experiment(
            loaded,
            out,
            workers=workers,
            dask="local" if dask_local else address,
            csv=csv,
            progress=True,
        )
    except InputError as exc:
        _fail(str(exc))
    counts, sessions = result.counts, result.manifest["timings"]["sessions"]
    skipped = loaded.n_runs - result.executed
    typer.echo(
        f"{loaded.name}: {loaded.n_runs} runs ({counts['ok']} ok, {counts['failed']} failed"
        f"{f', {skipped} already done' if skipped else ''}) in {result.wall_s:.1f} s "
        f"{sessions[-1]['description']} -> {result.path}/"
    )
    if counts["failed"]:
        typer.echo(
            f"error: {counts['failed']} run(s) failed; see the error column of "
            f"{result.path / 'runs.parquet'}. Rerun the same command to retry them.",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def tournament(
    file: Annotated[
        Path | None,
        typer.Argument(help="Tournament file (default: scenarios/tournaments/decision_table.yaml)"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Local worker processes (default: run serially in this process)."),
    ] = None,
    replicates: Annotated[
        int | None, typer.Option(help="Seeds per situation and strategy (default: the file's).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Results folder (default: results/tournaments/<tournament name>/)."),
    ] = None,
) -> None:
    """Play every strategy in every situation over seeds: a situation x strategy table of
    the outcomes with confidence intervals, and whether the simulation agrees with the
    recommended strategy of each situation. Rerunning resumes."""
    from .experiment.tournament import (
        DEFAULT_FILE,
        TournamentRunError,
        load_tournament,
        run_tournament,
    )

    try:
        loaded = load_tournament(file or DEFAULT_FILE, replicates=replicates)
        result = run_tournament(loaded, out, workers=workers, progress=True)
    except InputError as exc:
        _fail(str(exc))
    except TournamentRunError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result["report"])
    typer.echo(f"-> {result['path']}/ (table.csv, verdicts.csv, tournament.png, tournament.svg)")


@app.command()
def analyze(
    results: Annotated[Path, typer.Argument(help="A results folder of `flywheel sweep`.")],
    outcome: Annotated[
        str | None, typer.Option(help="The outcome to analyse (default: the first one).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the report and plots (default: DIR/analysis/).")
    ] = None,
) -> None:
    """Analyse a sweep's results: replicate means, sensitivity indices, plots."""
    from .experiment.analysis import analyze as analyze_results

    try:
        analyze_results(results, outcome=outcome, out_dir=out)
    except InputError as exc:
        _fail(str(exc))


@app.command()
def explore(
    scenario: Annotated[
        Path | None,
        typer.Argument(help="Scenario file to open first, inside scenarios/ (default: baseline)."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to serve the page on.")] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this computer only).")
    ] = "127.0.0.1",
) -> None:
    """Open the interactive explorer (Mesa's SolaraViz page) and print its address."""
    from .viz.server import serve  # needs no extra itself: it says how to get one

    try:
        serve(scenario, host=host, port=port, echo=typer.echo)
    except InputError as exc:
        _fail(str(exc))


def main() -> None:
    """Console-script entry point."""
    from .world.resources import tune_allocator

    tune_allocator()  # the command owns its process (see resources.tune_allocator)
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)

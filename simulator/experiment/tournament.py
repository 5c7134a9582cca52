"""A tournament: strategy bundles played in market situations, over seeds.

``flywheel tournament FILE`` turns a decision table (situation -> recommended strategy)
into an experiment. Each situation is a scenario (a file and a few overrides); each
strategy is a bundle of overrides a founder can pull (cold-start tactics, a tighter data
filter, faster retraining...). Every strategy is played in every situation, over
``replicates`` seeds, as one grid sweep per situation whose ``strategy`` variant holds
the bundles (so runs resume after a crash and run on any executor, like a sweep). The
result is a situation x strategy table of each outcome's mean with its confidence
interval, and for each situation a verdict on the recommended strategy:

- **agrees**: the recommended strategy has the best mean of the ranking outcome, or its
  interval overlaps the best strategy's (the simulation cannot tell them apart);
- **disagrees**: another strategy's interval lies wholly above the recommended one's;
- **missing**: the recommended strategy needs mechanisms the simulator does not have.

A strategy may list ``missing:`` mechanisms: with nothing left to set it is not played
(its cells say so), otherwise it is played with what exists and marked *partial*.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simulator.errors import InputError
from simulator.scenario import Problem, line_of, validation_problems
from simulator.scenario.loading import ProblemsError, raise_issues

from .spec import Name, SweepError

__all__ = [
    "Tournament", "TournamentError", "TournamentRunError", "load_tournament", "run_tournament",
    "verdicts",
]  # fmt: skip

#: The tournament file ``flywheel tournament`` plays when given none.
DEFAULT_FILE = Path("scenarios") / "tournaments" / "decision_table.yaml"


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Situation(_Block):
    """A market situation: a scenario file and the overrides that make the situation."""

    scenario: str
    description: str = ""
    recommended: Name | None = None
    """The strategy the decision table recommends here."""
    overrides: dict[str, Any] = {}


class Strategy(_Block):
    """A bundle of levers a founder pulls; ``missing`` names mechanisms it needs that the
    simulator lacks (played partially, or not at all when nothing is left to set)."""

    label: str = ""
    set: dict[str, Any] = {}
    missing: list[str] = []

    @property
    def playable(self) -> bool:
        return bool(self.set) or not self.missing


class TournamentSpec(_Block):
    """The ``tournament:`` block of a tournament file."""

    name: Name | None = None
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    replicates: Annotated[int, Field(ge=2)] = 6
    engine: str = "array"
    overrides: dict[str, Any] = {}
    """Applied to every situation (e.g. the population size and the number of weeks)."""
    outcome: str = "final.moat"
    """The outcome the strategies are ranked by and the verdicts judged on."""
    outcomes: Annotated[list[str], Field(min_length=1)] = [
        "final.moat", "final.active_users", "final.cumulative_profit",
    ]  # fmt: skip
    situations: Annotated[dict[Name, Situation], Field(min_length=1)]
    strategies: Annotated[dict[Name, Strategy], Field(min_length=2)]

    @model_validator(mode="after")
    def _check(self) -> TournamentSpec:
        issues: list[tuple[tuple, str, str | None]] = []
        for name, situation in self.situations.items():
            if situation.recommended is not None and situation.recommended not in self.strategies:
                message = f"names no strategy; the strategies are {', '.join(self.strategies)}"
                issues.append((("situations", name, "recommended"), message,
                               repr(situation.recommended)))  # fmt: skip
        for name, strategy in self.strategies.items():
            for key in strategy.set:
                if key in self.overrides or key.split(".")[0] == "seed":
                    message = "is fixed for every situation in tournament.overrides (or a seed)"
                    issues.append((("strategies", name, "set", key), message, None))
        if self.outcome not in self.outcomes:
            issues.append((("outcome",), "must be one of tournament.outcomes", repr(self.outcome)))
        raise_issues(issues)
        return self


class TournamentError(ProblemsError):
    """An invalid tournament file; ``str()`` lists every problem."""

    kind = "tournament"


class TournamentRunError(RuntimeError):
    """Some runs of a situation failed (the others are stored; rerunning retries them)."""


@dataclass(frozen=True)
class Tournament:
    """A loaded tournament: its spec and one sweep (mapping) per situation."""

    spec: TournamentSpec
    source: str | None
    sweeps: dict[str, Any] = field(default_factory=dict)
    """situation -> the loaded :class:`~simulator.experiment.loader.Experiment`."""

    @property
    def name(self) -> str:
        return self.spec.name or "tournament"

    @property
    def played(self) -> list[str]:
        return [name for name, s in self.spec.strategies.items() if s.playable]

    @property
    def n_runs(self) -> int:
        return sum(sweep.n_runs for sweep in self.sweeps.values())


def load_tournament(
    source: str | os.PathLike | Mapping, replicates: int | None = None
) -> Tournament:
    """Load and validate a tournament file (or mapping): every situation's scenario with
    every playable strategy is checked before anything runs.

    Raises
    ------
    TournamentError
        Listing every problem, with the file, line and dotted key.
    """
    from .loader import load_experiment, read_block

    file, lines, _, folder, block = read_block(
        source, "tournament", "situations:, strategies:, ...", TournamentError
    )
    try:
        spec = TournamentSpec.model_validate(block)
    except ValidationError as exc:
        raise TournamentError(
            validation_problems(exc, TournamentSpec, file, lines, ("tournament",))
        ) from None
    if replicates is not None:
        if replicates < 2:
            raise InputError(
                f"--replicates: must be >= 2 (an interval needs two); got {replicates}"
            )
        spec = spec.model_copy(update={"replicates": replicates})
    if spec.name is None and file:
        spec = spec.model_copy(update={"name": Path(file).stem.lower().replace(" ", "_")})
    sweeps, problems = {}, []
    for index, (name, situation) in enumerate(spec.situations.items()):
        mapping = {"sweep": _sweep_block(spec, name, situation, index)}
        try:
            sweeps[name] = load_experiment(mapping, base_dir=folder)
        except SweepError as exc:
            for problem in exc.problems:
                key = f"tournament.situations.{name}: {problem.key}"
                line = line_of(("tournament", "situations", name), lines)
                problems.append(Problem(file, line, key, problem.message, problem.value))
        except InputError as exc:  # the situation's scenario file itself
            loc = ("tournament", "situations", name, "scenario")
            problems.append(Problem(file, line_of(loc, lines), ".".join(loc), str(exc), None))
    if problems:
        raise TournamentError(problems)
    return Tournament(spec=spec, source=file, sweeps=sweeps)


def _sweep_block(spec: TournamentSpec, name: str, situation: Situation, index: int) -> dict:
    """A situation as a grid sweep: one ``strategy`` level per playable strategy, each the
    situation's overrides with the strategy's on top."""
    levels = {
        strategy_name: {**situation.overrides, **strategy.set}
        for strategy_name, strategy in spec.strategies.items()
        if strategy.playable
    }
    return {
        "scenario": situation.scenario,
        "name": f"{spec.name or 'tournament'}-{name}".replace("_", "-")[:60],
        "description": situation.description,
        "seed": int(np.random.SeedSequence([spec.seed, index]).generate_state(1)[0]),
        "design": "grid",
        "replicates": spec.replicates,
        "engine": spec.engine,
        "overrides": dict(spec.overrides),
        "variants": {"strategy": levels},
        "outcomes": {"summary": list(spec.outcomes)},
    }


# ------------------------------------------------------------------------------ running


def run_tournament(
    tournament: Tournament | str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    progress: bool = False,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Play every strategy in every situation and write the table, verdicts and figure.

    Writes into ``out`` (default ``results/tournaments/<name>/``): one sweep results
    folder per situation (``<situation>/``, resumable), ``table.csv`` (situation,
    strategy, outcome, n, mean, ci_low, ci_high), ``verdicts.csv``, ``tournament.json``
    and ``tournament.png`` / ``.svg``.

    Returns
    -------
    dict
        ``table`` and ``verdicts`` (DataFrames), ``figure``, ``path`` and ``report`` (text).
    """
    from .runner import run_experiment

    if not isinstance(tournament, Tournament):
        tournament = load_tournament(tournament)
    folder = Path(out) if out is not None else Path("results") / "tournaments" / tournament.name
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for name, experiment in tournament.sweeps.items():
        result = run_experiment(experiment, folder / name, workers=workers, progress=progress)
        if result.counts.get("failed"):
            raise TournamentRunError(
                f"situation {name}: {result.counts['failed']} run(s) failed; see the error "
                f"column of {result.path / 'runs.parquet'} (rerun to retry them)"
            )
        frames.append(result.runs().assign(situation=name))
    runs = pd.concat(frames, ignore_index=True)
    table = summary_table(runs, tournament.spec, confidence)
    judged = verdicts(table, tournament.spec)
    report = _report(tournament, table, judged, confidence)
    table.to_csv(folder / "table.csv", index=False)
    judged.to_csv(folder / "verdicts.csv", index=False)
    (folder / "tournament.json").write_text(
        json.dumps(
            {
                "name": tournament.name,
                "source": tournament.source,
                "replicates": tournament.spec.replicates,
                "outcome": tournament.spec.outcome,
                "confidence": confidence,
                "verdicts": judged.replace({np.nan: None}).to_dict(orient="records"),
                "missing": {
                    n: s.missing for n, s in tournament.spec.strategies.items() if s.missing
                },  # fmt: skip
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    from simulator.reporting.tournament import save_tournament_figure, tournament_figure

    figure = tournament_figure(table, judged, tournament.spec, confidence)
    save_tournament_figure(figure, folder / "tournament")
    return {"table": table, "verdicts": judged, "figure": figure, "path": folder,
            "report": report, "runs": runs}  # fmt: skip


def summary_table(
    runs: pd.DataFrame, spec: TournamentSpec, confidence: float = 0.95
) -> pd.DataFrame:
    """One row per (situation, strategy, outcome): n, mean, std and the Student-t interval
    of the mean over the replicates; strategies not played are rows with n = 0."""
    from .analysis import _describe

    rows = []
    for situation in spec.situations:
        played = runs[runs["situation"] == situation]
        for outcome in spec.outcomes:
            described = _describe(played, ["strategy"], outcome, confidence)
            for strategy in spec.strategies:
                row = {"situation": situation, "strategy": strategy, "outcome": outcome}
                if strategy in described.index:
                    stats = described.loc[strategy]
                    row |= {k: float(stats[k]) for k in ("n", "mean", "std", "ci_low", "ci_high")}
                else:
                    row |= {"n": 0, "mean": math.nan, "std": math.nan, "ci_low": math.nan,
                            "ci_high": math.nan}  # fmt: skip
                rows.append(row)
    table = pd.DataFrame(rows)
    table["n"] = table["n"].astype(int)
    return table


def verdicts(table: pd.DataFrame, spec: TournamentSpec) -> pd.DataFrame:
    """Per situation: the best strategy by ``spec.outcome`` and the verdict on the
    recommended one (agrees, disagrees, missing; see the module's docstring)."""
    rows = []
    ranked = table[table["outcome"] == spec.outcome]
    for name, situation in spec.situations.items():
        here = ranked[(ranked["situation"] == name) & (ranked["n"] > 0)].set_index("strategy")
        best = here["mean"].idxmax() if len(here) else None
        recommended = situation.recommended
        strategy = spec.strategies.get(recommended) if recommended else None
        row = {"situation": name, "best": best, "recommended": recommended, "partial": False}
        if recommended is None:
            row["verdict"] = "no recommendation"
        elif strategy is None or not strategy.playable or recommended not in here.index:
            row["verdict"] = "missing"
            row["missing"] = ", ".join(strategy.missing) if strategy else ""
        else:
            mine, top = here.loc[recommended], here.loc[best]
            tied = recommended == best or not (top["ci_low"] > mine["ci_high"])
            row["verdict"] = "agrees" if tied else "disagrees"
            row["partial"] = bool(strategy.missing)
            row["missing"] = ", ".join(strategy.missing)
            row["gap"] = float(top["mean"] - mine["mean"])
            row["rank"] = int((here["mean"] > mine["mean"]).sum()) + 1
        rows.append(row)
    out = pd.DataFrame(rows)
    for column in ("missing", "gap", "rank"):
        if column not in out:
            out[column] = None
    columns = ["situation", "recommended", "verdict", "rank", "best", "gap", "partial", "missing"]
    return out[columns]


def _cell(row: pd.Series) -> str:
    if row["n"] == 0:
        return "not played"
    if not np.isfinite(row["ci_low"]):
        return f"{row['mean']:.3g}"
    half = (row["ci_high"] - row["ci_low"]) / 2
    return f"{row['mean']:.3g} ± {half:.2g}"


def _report(tournament: Tournament, table: pd.DataFrame, judged: pd.DataFrame,
            confidence: float) -> str:  # fmt: skip
    """The printed report: one situation x strategy grid per outcome, then the verdicts."""
    spec = tournament.spec
    parts = [
        f"Tournament {tournament.name}: {len(spec.situations)} situations x "
        f"{len(tournament.played)} strategies played, {spec.replicates} seeds each "
        f"({tournament.n_runs} runs); cells: mean ± half-width of the {confidence:.0%} "
        "interval (Student t)"
    ]
    for outcome in spec.outcomes:
        grid = (
            table[table["outcome"] == outcome]
            .assign(cell=lambda t: t.apply(_cell, axis=1))
            .pivot(index="situation", columns="strategy", values="cell")
            .reindex(index=list(spec.situations), columns=list(spec.strategies))
        )
        parts += ["", f"{outcome}:", grid.to_string()]
    parts += ["", f"Verdicts on the recommended strategy (ranked by {spec.outcome}):"]
    for row in judged.itertuples():
        text = f"  {row.situation}: recommended {row.recommended} -> {row.verdict}"
        if row.verdict in ("agrees", "disagrees"):
            text += f" (ranked {row.rank:.0f} of {len(tournament.played)}; best: {row.best}"
            text += (f", {row.gap:.3g} above" if row.gap else "") + ")"
            if row.partial:
                text += f"; played without {row.missing}"
        elif row.verdict == "missing":
            text += f" (needs {row.missing})"
        parts.append(text)
    missing = {n: s.missing for n, s in spec.strategies.items() if s.missing}
    if missing:
        parts += ["", "Mechanisms the simulator does not have yet:"]
        parts += [f"  {n}: {', '.join(m)}" + ("" if spec.strategies[n].playable else
                  " (not played)") for n, m in missing.items()]  # fmt: skip
    return "\n".join(parts)

"""Write a run's results folder: timeseries (CSV + Parquet), summary, resolved scenario, plots."""

from __future__ import annotations

import json
from pathlib import Path

from ..simulation import Result


def write_results(result: Result, out_dir: str | Path, *, plots: bool = True) -> list[Path]:
    """Write ``timeseries.csv``, ``timeseries.parquet``, ``summary.json``, ``scenario.yaml``
    and (unless ``plots=False``) ``plots/*.png|svg`` into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "timeseries.csv", out / "timeseries.parquet", out / "summary.json"]
    result.timeseries.to_csv(written[0], index=False)
    result.timeseries.to_parquet(written[1], index=False)
    written[2].write_text(
        json.dumps(result.summary, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    scenario_path = out / "scenario.yaml"
    scenario_path.write_text(result.scenario.to_yaml(), encoding="utf-8")
    written.append(scenario_path)
    if plots:
        from .plots import save_all  # matplotlib is imported only when plotting

        written += save_all(result.timeseries, result.summary, out / "plots")
    return written

"""The tournament figure: a situation x strategy grid per outcome, coloured by the mean,
each cell annotated with the mean and its interval, the best strategy of each situation
starred and the recommended one framed (solid: the simulation agrees; dashed: it does
not). Strategies the simulator cannot play yet are hatched grey.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .names import describe
from .plots import BLACK, new_figure, save_figure, styled


def _short(value: float) -> str:
    if not np.isfinite(value):
        return ""
    if abs(value) >= 1000:
        return f"{value / 1000:,.1f}k" if abs(value) < 1e6 else f"{value / 1e6:,.2f}M"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.3g}"


@styled
def tournament_figure(table: pd.DataFrame, verdicts: pd.DataFrame, spec: Any,
                      confidence: float = 0.95) -> Figure:  # fmt: skip
    """One heat-map panel per outcome (rows: situations, columns: strategies)."""
    situations, strategies = list(spec.situations), list(spec.strategies)
    outcomes = list(spec.outcomes)
    height = 0.75 * len(situations) + 3.2
    fig, axes = new_figure(
        f"Decision table as a tournament: {len(situations)} situations × "
        f"{len(strategies)} strategies",
        None,
        (len(outcomes), 1),
        figsize=(max(12.0, 1.9 * len(strategies) + 4), height * len(outcomes)),
    )
    fig.subfigs[0].suptitle(
        f"cell: mean over {spec.replicates} seeds, ± half-width of the {confidence:.0%} "
        "interval;  ★ best;  frame: the recommended strategy (solid: agrees, dashed: does not)",
        fontsize=14, color="#444444",
    )  # fmt: skip
    judged = verdicts.set_index("situation")
    for ax, outcome in zip(axes, outcomes, strict=True):
        cells = table[table["outcome"] == outcome]
        mean = cells.pivot(index="situation", columns="strategy", values="mean").reindex(
            index=situations, columns=strategies
        )
        low = cells.pivot(index="situation", columns="strategy", values="ci_low").reindex(
            index=situations, columns=strategies
        )
        high = cells.pivot(index="situation", columns="strategy", values="ci_high").reindex(
            index=situations, columns=strategies
        )
        values = mean.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        if vmin < 0 < vmax:  # a moat or a profit: centred on zero, blue above, red below
            norm = TwoSlopeNorm(0.0, vmin, vmax)
            cmap = "RdBu"
        else:
            norm = Normalize(vmin, vmax if vmax > vmin else vmin + 1)
            cmap = "Blues"
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto")
        ax.grid(False)
        title, unit = describe(outcome)
        fig.colorbar(image, ax=ax, shrink=0.9).set_label(f"mean {title}" + (f" ({unit})" if unit
                                                          else ""), fontsize=13)  # fmt: skip
        ax.set_title(title, fontsize=16)
        ax.set_xticks(range(len(strategies)), [s.replace("_", " ") for s in strategies],
                      rotation=20, ha="right")  # fmt: skip
        ax.set_yticks(range(len(situations)), [s.replace("_", " ") for s in situations])
        ax.set_xlabel("strategy")
        ax.set_ylabel("situation")
        for i, situation in enumerate(situations):
            row = mean.loc[situation]
            best = row.idxmax() if row.notna().any() else None
            for j, strategy in enumerate(strategies):
                m = values[i, j]
                if not np.isfinite(m):
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                                           ec="#999999", lw=0))  # fmt: skip
                    ax.text(j, i, "not\nplayed", ha="center", va="center", fontsize=11,
                            color="#666666")  # fmt: skip
                    continue
                half = (high.iloc[i, j] - low.iloc[i, j]) / 2
                text = _short(m) + (f"\n± {_short(half)}" if np.isfinite(half) else "")
                if strategy == best:
                    text = "★ " + text
                shade = float(norm(m))  # dark cells: both ends of RdBu, the top of Blues
                dark = shade > 0.8 or shade < 0.2 if cmap == "RdBu" else shade > 0.6
                ink = "white" if dark else BLACK
                ax.text(j, i, text, ha="center", va="center", fontsize=11, color=ink)
            if situation in judged.index:
                verdict = judged.loc[situation]
                if verdict["recommended"] in strategies and verdict["verdict"] != "missing":
                    j = strategies.index(verdict["recommended"])
                    style = "-" if verdict["verdict"] == "agrees" else "--"
                    ax.add_patch(Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False,
                                           ec=BLACK, lw=3, ls=style))  # fmt: skip
    return fig


def save_tournament_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """``stem.png`` and ``stem.svg``."""
    return [save_figure(fig, Path(f"{stem}.{fmt}")) for fmt in ("png", "svg")]

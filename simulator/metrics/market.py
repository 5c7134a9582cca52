"""Market metrics of a run with several firms: shares, concentration, tipping, catch-up.

Computed from the timeseries after the run (the per-firm columns of
:mod:`.reporters`), identically for both engines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def tipping_step(
    timeseries: pd.DataFrame, firms: list[str], share: float
) -> tuple[int | None, str | None]:
    """The first step from which one firm keeps more than ``share`` of the firms' active
    users until the end of the run, and that firm; ``(None, None)`` if the market never
    tips."""
    shares = np.column_stack([timeseries[f"market_share[{f}]"].to_numpy() for f in firms])
    leader = shares.argmax(axis=1)
    above = shares.max(axis=1) > share
    if not above[-1]:
        return None, None
    last = leader[-1]
    held = above & (leader == last)
    broken = np.flatnonzero(~held)
    start = 0 if len(broken) == 0 else int(broken[-1]) + 1
    return int(timeseries["step"].iloc[start]), firms[last]


def catch_up_steps(timeseries: pd.DataFrame, scenario) -> dict[str, int | None]:
    """For each firm entering after step 0, the first step from its entry at which its
    quality (``quality[<firm>]``) is at least that of every firm already in the market
    when it entered; None if it never catches up."""
    out: dict[str, int | None] = {}
    entry = {f.name: scenario.entry_step(j) for j, f in enumerate(scenario.firms)}
    for firm in scenario.firms:
        if entry[firm.name] == 0:
            continue
        earlier = [f.name for f in scenario.firms if entry[f.name] < entry[firm.name]]
        after = timeseries["step"] >= entry[firm.name]
        mine = timeseries.loc[after, f"quality[{firm.name}]"]
        best = timeseries.loc[after, [f"quality[{f}]" for f in earlier]].max(axis=1)
        hits = timeseries.loc[after, "step"][mine >= best]
        out[firm.name] = int(hits.iloc[0]) if len(hits) else None
    return out


def market_summary(timeseries: pd.DataFrame, scenario) -> dict[str, Any] | None:
    """The ``market`` block of summary.json (None without ``firms:``)."""
    if not scenario.firms:
        return None
    names = scenario.firm_names
    last = timeseries.iloc[-1]
    firms = {
        firm.name: {
            "enters_at": scenario.entry_step(j),
            "active_users": int(last[f"active_users[{firm.name}]"]),
            "market_share": float(last[f"market_share[{firm.name}]"]),
            "quality": float(last[f"quality[{firm.name}]"]),
            "moat": float(last[f"moat[{firm.name}]"]),
            "peak_market_share": float(timeseries[f"market_share[{firm.name}]"].max()),
        }
        for j, firm in enumerate(scenario.firms)
    }
    shares = [firms[name]["market_share"] for name in names]
    winner = names[int(np.argmax(shares))] if max(shares) > 0 else None
    tipped, leader = tipping_step(timeseries, names, scenario.market.tipping_share)
    return {
        "firms": firms,
        "winner": winner,
        "hhi": float(last["hhi"]),
        "tipping_share": scenario.market.tipping_share,
        "tipping_step": tipped,
        "tipping_firm": leader,
        "catch_up_step": catch_up_steps(timeseries, scenario),
        "switches": int(timeseries["switches"].sum()),
    }


def economics_summary(timeseries: pd.DataFrame, scenario) -> dict[str, Any] | None:
    """The ``economics`` block of summary.json (None without economics)."""
    from ..firm.economics import burn_and_payback

    if "cumulative_profit" not in timeseries:
        return None
    steps = timeseries["step"].to_numpy()

    def block(revenue, costs, cumulative) -> dict[str, Any]:
        burn, payback = burn_and_payback(cumulative.to_numpy(), steps)
        return {
            "revenue": float(revenue.sum()), "costs": float(costs.sum()),
            "cumulative_profit": float(cumulative.iloc[-1]), "cash_burn": burn,
            "payback_step": payback,
        }  # fmt: skip

    out = block(timeseries["revenue"], timeseries["costs"], timeseries["cumulative_profit"])
    if scenario.firms:
        out["firms"] = {}
        for name in scenario.firm_names:
            cumulative = timeseries[f"cumulative_profit[{name}]"]
            burn, payback = burn_and_payback(cumulative.to_numpy(), steps)
            out["firms"][name] = {"cumulative_profit": float(cumulative.iloc[-1]),
                                  "cash_burn": burn, "payback_step": payback}  # fmt: skip
    return out

"""Wrong A/B-test decisions over seeds: ab_test_size.yaml at 1%, 5% and 20% traffic.

Usage: .venv/bin/python benchmarks/ab_test_size.py SEEDS [WORKERS] (from the repository
root; writes ab_test_size.json). The figures in docs/model.md come from 20 seeds (0..19).
"""

import json
import sys
from concurrent.futures import ProcessPoolExecutor

from simulator import load_scenario, run


def one(args):
    pct, seed = args
    sc = load_scenario(
        "scenarios/ab_test_size.yaml", overrides={"reinvestment.deployment.traffic_pct": pct}
    )
    d = run(sc, seed=seed).summary["deployment"]
    return pct, seed, d


if __name__ == "__main__":
    seeds = range(int(sys.argv[1]))
    jobs = [(p, s) for p in (1, 5, 20) for s in seeds]
    with ProcessPoolExecutor(int(sys.argv[2]) if len(sys.argv) > 2 else 2) as pool:
        out = list(pool.map(one, jobs))
    with open("ab_test_size.json", "w", encoding="utf-8") as file:
        json.dump(out, file)
    for pct in (1, 5, 20):
        rows = [d for p, s, d in out if p == pct]
        tests = sum(r["tests"] for r in rows)
        sw = sum(r["shipped_worse"] for r in rows)
        rb = sum(r["rejected_better"] for r in rows)
        pr = sum(r["promoted"] for r in rows)
        print(
            f"traffic {pct}%: {len(rows)} seeds, {tests} decisions, promoted {pr}, "
            f"shipped worse {sw} ({sw / tests:.3f}), rejected better {rb} ({rb / tests:.3f}), "
            f"wrong {(sw + rb) / tests:.3f}"
        )

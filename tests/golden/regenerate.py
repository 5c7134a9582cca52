"""Regenerate the golden hashes: ``make golden`` (``python -m tests.golden.regenerate``).

Only for a change that means to alter the dynamics: commit the new ``hashes.json``
alone, saying which dynamics changed and why. The tests never write this file.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor

from tests.golden.cases import HASHES, key, load_hashes, run_hashes, run_keys, sweep_hash


def _one(args):
    case, engine, seed = args
    return key(case, engine, seed), run_hashes(case, engine, seed)


def main() -> int:
    hashes: dict[str, dict[str, str]] = {}
    with ProcessPoolExecutor(max_workers=2) as pool:
        for name, value in pool.map(_one, list(run_keys())):
            hashes[name] = value
    hashes["sweep"] = sweep_hash()
    old = load_hashes() if HASHES.exists() else {}
    changed = sorted(name for name in hashes if old.get(name) != hashes[name])
    HASHES.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(hashes)} golden entries to {HASHES}; {len(changed)} changed")
    for name in changed:
        print(f"  changed: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

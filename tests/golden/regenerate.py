"""Regenerate the golden hashes: ``make golden`` (``python -m tests.golden.regenerate``).

Only for a change that means to alter the dynamics: commit the new ``hashes.json``
alone, saying which dynamics changed and why. The tests never write this file.

``make golden-add`` (``--add``) hashes only the cases that have no hash yet (a new
scenario) and leaves every existing hash as it is.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor

from tests.golden.cases import HASHES, key, load_hashes, run_hashes, run_keys, sweep_hash


def _one(args):
    case, engine, seed = args
    return key(case, engine, seed), run_hashes(case, engine, seed)


def main(argv: list[str] | None = None) -> int:
    add_only = "--add" in (sys.argv[1:] if argv is None else argv)
    old = load_hashes() if HASHES.exists() else {}
    cases = [run for run in run_keys() if not add_only or key(*run) not in old]
    hashes: dict[str, dict[str, str]] = dict(old) if add_only else {}
    with ProcessPoolExecutor(max_workers=2) as pool:
        for name, value in pool.map(_one, cases):
            hashes[name] = value
    hashes["sweep"] = old["sweep"] if add_only and "sweep" in old else sweep_hash()
    changed = sorted(name for name in hashes if old.get(name) != hashes[name])
    HASHES.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(hashes)} golden entries to {HASHES}; {len(changed)} changed")
    for name in changed:
        print(f"  changed: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

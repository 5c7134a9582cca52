"""Golden outputs: every scenario, both engines, two seeds, hashed (see cases.py).

A failure here means the dynamics changed. If that was the intent, regenerate the
hashes with ``make golden`` in a commit of its own that says why; otherwise it is a bug.
"""

from __future__ import annotations

import pytest

from tests.golden.cases import key, load_hashes, run_hashes, run_keys, sweep_hash

HASHES = load_hashes()
RUNS = list(run_keys())


def test_every_case_has_a_hash():
    expected = {key(*run) for run in RUNS} | {"sweep"}
    assert expected == set(HASHES), "regenerate with `make golden`"


@pytest.mark.parametrize("run", RUNS, ids=lambda run: key(*run))
def test_golden_run(run):
    assert run_hashes(*run) == HASHES[key(*run)]


def test_golden_sweep():
    assert sweep_hash() == HASHES["sweep"]


def test_engines_share_every_timeseries_hash():
    for name, hashes in HASHES.items():
        if "/agent/" in name:
            assert (
                hashes["timeseries.csv"]
                == HASHES[name.replace("/agent/", "/array/")]["timeseries.csv"]
            ), name

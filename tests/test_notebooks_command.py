"""``make notebooks`` opens the notebooks in JupyterLab from the project's venv.

The test checks that the command resolves (the target exists, the venv's ``jupyter-lab``
runs) without starting a server. JupyterLab is an extra (``notebooks``): CI installs it
with ``make notebooks-install`` before ``make test``, so under CI it must be there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / ".venv" / "bin" / "jupyter-lab"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_notebooks_starts_jupyterlab_from_the_venv():
    dry = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "notebooks"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert ".venv/bin/jupyter-lab notebooks" in dry.stdout.splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make notebooks" in readme


def test_the_venv_s_jupyter_lab_resolves():
    if not LAB.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{LAB} is missing: .ci/run must run `make notebooks-install`")
        pytest.skip("JupyterLab is not installed here: `make notebooks-install` installs it")
    done = subprocess.run([str(LAB), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"4\.\d+\.\d+\S*", done.stdout.strip())

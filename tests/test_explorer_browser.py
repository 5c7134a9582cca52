"""The explorer in a real browser: ``flywheel explore`` served, headless Chromium driving it.

Playwright drives the system's Chromium (Debian's ``chromium-headless-shell`` or
``chromium``; no browser is downloaded). Without one the test skips, saying how to get
it; under CI (``CI=true``) a missing browser fails, so a green CI means the page was
really tested. Run it alone with ``make test-browser``.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="the browser test needs the viz extra (make test)")

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/bin/chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
)
INSTALL = "apt-get install -y chromium-headless-shell (Debian; or chromium)"


def find_chromium() -> str | None:
    """``$FLYWHEEL_CHROMIUM``, else the first Debian Chromium found."""
    configured = os.environ.get("FLYWHEEL_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    found = [path for path in CANDIDATES if Path(path).is_file()]
    on_path = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    return found[0] if found else on_path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system's Chromium."""
    path = find_chromium()
    if path is None:
        where = os.environ.get("FLYWHEEL_CHROMIUM") or ", ".join(CANDIDATES)
        message = f"no Chromium found (looked for {where}); install it: {INSTALL}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root otherwise
    return {**browser_type_launch_args, "executable_path": path, "args": args}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def explorer():
    """``flywheel explore scenarios/baseline.yaml`` on a free port; yields (url, process)."""
    port = free_port()
    command = [sys.executable, "-m", "simulator", "explore", "scenarios/baseline.yaml",
               "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 120
    url = None
    while url is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith("Flywheel explorer: http://"):
            url = line.split()[2]
    if url is None:
        process.kill()
        pytest.fail("flywheel explore did not print its address:\n" + "".join(output))
    assert url == f"http://127.0.0.1:{port}/"
    yield url, process, output
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_page_loads_a_slider_moves_the_model_steps_and_the_plots_change(explorer, page, tmp_path):
    url, process, output = explorer
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_viewport_size({"width": 1600, "height": 1100})
    page.goto(url)
    page.get_by_text("Time: 0.0").wait_for(timeout=90_000)
    plots = page.locator(".vue-grid-item img")
    plots.nth(3).wait_for(timeout=60_000)
    assert plots.count() == 4
    before = [plots.nth(i).screenshot() for i in range(4)]

    # Move one slider with the keyboard: retraining every 4 weeks -> every 5.
    thumb = page.locator(".v-input", has_text="retrain every: 4").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")
    page.get_by_text("retrain every: 5").wait_for(timeout=30_000)
    page.get_by_text("Time: 0.0").wait_for()  # the run restarted at week 0

    step = page.get_by_role("button", name="Step")
    for week in range(1, 4):
        step.click()
        page.get_by_text(f"Time: {week}.0").wait_for(timeout=30_000)
    page.get_by_text("week 3 of 156").wait_for(timeout=30_000)
    page.wait_for_timeout(500)  # the last images arrive after the time line
    after = [plots.nth(i).screenshot() for i in range(4)]
    changed = [b != a for b, a in zip(before, after, strict=True)]
    assert all(changed), f"plots unchanged after stepping: {changed}"

    # Bad input: a value out of range is explained, the server carries on.
    page.get_by_role("button", name="All other parameters").click()
    field = page.get_by_label("churn · base rate")
    field.fill("-1")
    field.press("Enter")
    page.get_by_text("churn.base_rate: must be >= 0; got -1").wait_for(timeout=30_000)
    step.click()
    page.get_by_text("Time: 4.0").wait_for(timeout=30_000)
    field.fill("0.01")
    field.press("Enter")
    page.get_by_text("churn.base_rate: must be >= 0").wait_for(state="detached", timeout=30_000)

    page.get_by_role("button", name="All other parameters").click()  # fold it away again
    page.get_by_text("scenario file (scenarios/)").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "explorer.png")
    assert page.locator(".v-alert.error").count() == 0, "an error is shown on the page"
    assert "Traceback" not in page.locator("body").inner_text()
    assert process.poll() is None, "the server stopped:\n" + "".join(output)
    local = (url, "data:", f"blob:{url}", "ws://127.0.0.1")
    outside = [r for r in requests if not r.startswith(local)]
    assert not outside, f"the page loaded files from elsewhere: {outside[:5]}"

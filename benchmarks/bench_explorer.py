"""How fast the explorer page answers, for the 5,000-user baseline (no browser).

Renders the page with ``solara.render`` (what the server computes) and times:

- a step: Mesa's Step button, i.e. one model step plus redrawing every view;
- a restart: moving a slider (a new run built, its first pictures drawn).

The browser adds sending the pictures and painting them; the browser test
(``make test-browser``) exercises that path. Run: ``.venv/bin/python
benchmarks/bench_explorer.py [--steps 156]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=156, help="steps to time (default 156)")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)

    import ipyvuetify as v
    import solara

    from simulator.viz import app

    started = time.perf_counter()
    _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    first = time.perf_counter() - started
    step = rc.find(v.Btn, children=["Step"]).widget
    times, cpu = [], []
    for _ in range(args.steps):
        started, started_cpu = time.perf_counter(), time.process_time()
        step.click()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    slider = next(w for w in rc.find(v.Slider).widgets if str(w.label).startswith("latency"))
    restarts = []
    for value in (2, 3, 1):
        started = time.perf_counter()
        slider.v_model = value
        slider.fire_event("change", value)
        restarts.append(time.perf_counter() - started)

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        return f"median {statistics.median(values) * 1e3:.0f} ms, 90% {p90 * 1e3:.0f} ms"

    print(f"first page (model built, frames drawn): {first:.2f} s")
    print(f"step + redraw, {args.steps} steps: {ms(times)}, max {max(times) * 1e3:.0f} ms")
    print(f"  CPU time of this process per step: {ms(cpu)} (less sensitive to other load)")
    print(f"restart after a slider move: {ms(restarts)}")


if __name__ == "__main__":
    main()

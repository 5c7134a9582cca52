"""The explorer without a browser: controls from the schema, the keyword adapter, the page
rendered with ``solara.render``, validation messages, saving, and file confinement."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulator import metrics
from simulator.cli import app as cli
from simulator.errors import InputError
from simulator.scenario import Scenario, ScenarioError, load_scenario
from simulator.scenario.keys import generic, leaf_keys, schema_at
from simulator.viz import adapter, params
from simulator.viz.adapter import ExplorerModel, problem_lines, resolve_scenario, save_scenario

pytest.importorskip("solara", reason="the explorer's page needs the viz extra (make test)")

import ipyvuetify as v  # noqa: E402
import ipywidgets  # noqa: E402
import solara  # noqa: E402

from simulator.viz import app, components  # noqa: E402

REPO_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PASSWD = "/etc/passwd"


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A copy of the project's scenarios folder, which the page is confined to."""
    folder = tmp_path / "scenarios"
    shutil.copytree(REPO_SCENARIOS, folder)
    monkeypatch.setenv("FLYWHEEL_SCENARIOS_DIR", str(folder))
    monkeypatch.delenv("FLYWHEEL_EXPLORE_SCENARIO", raising=False)
    return folder.resolve()


@pytest.fixture
def opened(monkeypatch):
    """The files opened from now on (an audit hook: nothing can open a file unseen)."""
    seen: list[str] = []
    active = [True]

    def hook(event, args):
        if active[0] and event == "open" and isinstance(args[0], str | bytes | Path):
            seen.append(str(args[0]))

    sys.addaudithook(hook)  # hooks cannot be removed: switched off after the test
    yield seen
    active[0] = False


def render_page():
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    return rc


def the_model(rc) -> ExplorerModel:
    """The run the page shows (the session's model)."""
    return app.SESSIONS[-1]().model.value


def click(rc, label: str, times: int = 1) -> None:
    button = rc.find(v.Btn, children=[label]).widget
    for _ in range(times):
        button.click()


def slider(rc, start: str):
    return next(w for w in rc.find(v.Slider).widgets if str(w.label).startswith(start))


def move(rc, start: str, value) -> None:
    """Drag a slider to ``value`` and let go (the page acts when it is let go)."""
    widget = slider(rc, start)
    widget.v_model = value
    widget.fire_event("change", value)


def open_all_parameters(rc) -> None:
    buttons = rc.find(v.Btn).widgets
    next(b for b in buttons if "All other parameters" in str(b.children)).click()


def type_into(rc, label: str, text: str) -> None:
    if not rc.find(v.TextField, label=label).widgets:
        open_all_parameters(rc)
    field = rc.find(v.TextField, label=label).widget
    field.v_model = text
    field.fire_event("keyup.enter", text)


def error_text(rc) -> str:
    alerts = rc.find(v.Alert).widgets
    return "\n".join(str(c) for a in alerts if a.type == "error" for c in a.children)


def markdown_text(rc) -> str:
    """The text of the Markdown views in SolaraViz's grid (status line, audit table)."""
    items = [i for g in rc.find(v.VuetifyTemplate).widgets for i in getattr(g, "items", [])]
    return "\n".join(str(getattr(i, "template", "")) for i in items)


def image_bytes(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


# -- controls from the schema ----------------------------------------------------------


def test_a_market_offers_every_firm_s_own_keys_with_the_values_in_force():
    scenario = load_scenario(
        Path(__file__).resolve().parents[1] / "scenarios" / "incumbent_vs_entrant.yaml"
    )
    by_key = {c.key: c for c in params.controls(scenario)}
    assert by_key["firms.entrant.reinvestment.retrain_every"].value == 1  # its own
    assert by_key["firms.incumbent.reinvestment.retrain_every"].value == 4  # the top level's
    assert by_key["firms.entrant.learning.scale"].value == 500
    assert by_key["choice.reconsider_rate"].value == 0.05


def test_every_scenario_value_has_a_control_with_the_schemas_type_range_and_default():
    scenario = Scenario().with_overrides({"economics": {}})
    controls = params.controls(scenario)
    by_key = {c.key: c for c in controls}
    offered = {generic(c.key.replace("majority", "0").replace("minority", "1")) for c in controls}
    lists = [k for k in leaf_keys() if k.startswith(("firms.", "data.signals."))]  # empty lists
    expected = {
        key
        for key in leaf_keys()
        if key not in params.HIDDEN and not key.endswith(".*.name") and key != "interventions"
        and key not in lists
    }  # fmt: skip
    assert offered == expected
    # economics is an optional section: a scenario without one offers none of its keys
    without = {c.key for c in params.controls(Scenario())}
    assert not any(k.startswith("economics.") for k in without)
    assert without == {k for k in by_key if not k.startswith("economics.")}
    for control in controls:
        loc = tuple(
            {"majority": 0, "minority": 1}.get(p, int(p) if p.isdigit() else p)
            for p in control.key.split(".")
        )
        info = schema_at(loc)[1]
        assert control.description == info.description
        bounds = {type(m).__name__.lower(): m for m in info.metadata}
        if "ge" in bounds:
            assert control.low == bounds["ge"].ge and not control.low_open
        if "gt" in bounds:
            assert control.low == bounds["gt"].gt and control.low_open
        if "le" in bounds:
            assert control.high == bounds["le"].le
    retrain = by_key["reinvestment.retrain_every"]
    assert (retrain.kind, retrain.low, retrain.high, retrain.default) == ("int", 1.0, None, 4)
    assert by_key["market.baseline.time_constant"].nullable
    assert by_key["network.kind"].kind == "choice" and "file" in by_key["network.kind"].choices
    assert by_key["reinvestment.ab_test"].kind == "bool"


def test_first_screen_holds_the_keys_that_matter_one_noise_control_per_group():
    scenario = load_scenario(REPO_SCENARIOS / "bias_amplification.yaml")
    first = [c.key for c in params.first_screen(params.controls(scenario))]
    groups = [g.name for g in scenario.population.groups]
    assert first == [
        "reinvestment.retrain_every",
        "reinvestment.latency",
        "reinvestment.rate",
        *[f"population.groups.{g}.label_noise" for g in groups],
        "learning.transfer",
        "network.mean_degree",
        "network.homophily",
        "adoption.quality_sensitivity",
        "churn.lock_in",
        "market.baseline.time_constant",
    ]
    rest = {c.key for c in params.rest(params.controls(scenario))}
    assert not rest & set(first) and "population.size" in rest


def test_slider_ranges_follow_the_bounds_and_hold_the_value():
    controls = {c.key: c for c in params.controls(Scenario())}
    assert controls["reinvestment.rate"].slider == (0.0, 1.0, 0.01)
    low, high, step = controls["reinvestment.retrain_every"].slider
    assert (low, step) == (1, 1) and high >= 26  # the half-yearly cadence is reachable
    low, _, step = controls["network.mean_degree"].slider
    assert low == step > 0  # "> 0": the slider starts one step inside the open bound
    assert controls["market.baseline.time_constant"].range_text == "> 0; or empty (null)"


def test_typed_text_is_read_as_the_cli_reads_set_values():
    assert params.parse_text("0.5") == 0.5 and params.parse_text("1e-3") == 0.001
    assert params.parse_text("") is None and params.parse_text("true") is True
    assert params.parse_text("[1") == "[1"  # not YAML: left to the scenario's validation


# -- the adapter: the same model, the same numbers ----------------------------------------


def _cli_timeseries(tmp_path: Path, *args: str) -> pd.DataFrame:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        cli, ["run", str(REPO_SCENARIOS / "baseline.yaml"), "--out", str(out), "--no-plots", *args]
    )
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "timeseries.csv")


def _page_timeseries(model) -> pd.DataFrame:
    raw = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    return metrics.add_health_columns(raw, model.params.dt)


def test_seed_42_the_adapter_gives_flywheel_runs_timeseries(tmp_path, root):
    expected = _cli_timeseries(tmp_path, "--seed", "42")
    model = ExplorerModel(scenario_file="baseline.yaml", scenarios_dir=root, seed=42)
    while model.running:
        model.step()
    assert model.steps == 156
    got = _page_timeseries(model)
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def test_seed_42_the_pages_run_after_moving_a_slider_equals_flywheel_run_with_set(tmp_path, root):
    """Through the rendered page: a slider moved, the run stepped with Mesa's Step button."""
    rc = render_page()
    type_into(rc, "run · steps", "12")
    move(rc, "retrain every", 1)
    click(rc, "Step", 12)
    model = the_model(rc)
    assert model.steps == 12 and not model.running  # stopped at the scenario's last step
    assert model.overrides == {"steps": 12, "reinvestment.retrain_every": 1}
    expected = _cli_timeseries(tmp_path, "--seed", "42", "--steps", "12",
                               "--set", "reinvestment.retrain_every=1")  # fmt: skip
    got = _page_timeseries(model)
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def test_mesa_reset_passes_its_own_scenario_object_which_the_adapter_ignores(root):
    from mesa.experimental.scenarios import Scenario as MesaScenario

    model = ExplorerModel(scenarios_dir=root, scenario=MesaScenario(rng=1), seed=3)
    assert model.seed == 3 and model.overrides == {"seed": 3}


# -- the page ------------------------------------------------------------------------


def test_page_renders_steps_and_redraws_every_view(root):
    rc = render_page()
    model = the_model(rc)
    assert rc.find(v.Html, children=["Time: 0.0"]).widgets
    before = image_bytes(rc)
    assert len(before) == 4  # users, quality, shares, network (the audit is a table)
    click(rc, "Step", 3)
    assert rc.find(v.Html, children=["Time: 3.0"]).widgets
    after = image_bytes(rc)
    assert all(a != b for a, b in zip(before, after, strict=True))
    assert the_model(rc) is model and model.steps == 3
    assert "Defensibility audit" in markdown_text(rc)
    assert not error_text(rc)


def test_a_step_renders_the_page_in_two_passes_not_one_per_view(root):
    """Every view reading Mesa's ``update_counter`` itself made Solara render the whole page
    once per view on a Step click (six passes with Mesa's "Time" line, each reconciling the
    whole sidebar). Through one subscription for the page the views take one pass together
    and the "Time" line the other, and every view is still redrawn."""
    rc = render_page()
    click(rc, "Step")
    before, passes = image_bytes(rc), rc.render_count
    click(rc, "Step")
    assert rc.render_count - passes <= 2
    assert all(a != b for a, b in zip(before, image_bytes(rc), strict=True))
    assert "week 2 of" in markdown_text(rc)
    assert rc.find(v.Html, children=["Time: 2.0"]).widgets


def test_closing_the_page_ends_the_views_subscription(root):
    rc = render_page()
    hub = components._HUBS[rc]
    assert len(hub.setters) == 5  # users, quality, network, shares, audit
    rc.close()
    assert not hub.setters and hub._unsubscribe is None


def test_a_parameter_change_restarts_the_run_at_week_zero(root):
    rc = render_page()
    click(rc, "Step", 2)
    first = the_model(rc)
    slider(rc, "latency").v_model = 5  # dragging: nothing happens until it is let go
    assert the_model(rc) is first
    move(rc, "latency", 3)
    second = the_model(rc)
    assert second is not first and second.steps == 0
    assert second.params.reinvestment.latency == 3
    assert rc.find(v.Html, children=["Time: 0.0"]).widgets
    click(rc, "Reset")  # Mesa's Reset rebuilds from the values in force
    third = the_model(rc)
    assert third is not second and third.params.reinvestment.latency == 3


def test_a_value_out_of_range_shows_the_validation_message_and_keeps_the_run(root):
    rc = render_page()
    click(rc, "Step")
    before = the_model(rc)
    type_into(rc, "churn · base rate", "-0.5")
    shown = error_text(rc)
    with pytest.raises(ScenarioError) as cli_error:
        load_scenario(root / "baseline.yaml", overrides={"churn.base_rate": -0.5})
    assert str(cli_error.value.problems[0]) in shown
    assert "churn.base_rate: must be >= 0; got -0.5" in shown
    assert "Traceback" not in shown
    assert the_model(rc) is before  # the server goes on; the last valid run stays
    click(rc, "Step")
    assert before.steps == 2
    type_into(rc, "churn · base rate", "0.02")
    assert not error_text(rc) and the_model(rc).params.churn.base_rate == 0.02


def test_text_that_is_not_a_number_gets_the_schemas_words(root):
    rc = render_page()
    type_into(rc, "population · size", "many")
    assert "population.size: must be an integer; got 'many'" in error_text(rc)


def test_scenario_picker_lists_the_folder_and_switches_scenarios(root):
    rc = render_page()
    picker = rc.find(v.Select, label="scenario file (scenarios/)").widget
    assert "baseline.yaml" in picker.items and "validation/bass.yaml" in picker.items
    assert not any(name.startswith("sweeps/") for name in picker.items)
    picker.v_model = "noisy_data.yaml"
    model = the_model(rc)
    assert model.params == load_scenario(root / "noisy_data.yaml")


def test_save_as_scenario_writes_a_valid_file_and_never_overwrites_silently(root):
    scenario = load_scenario(root / "baseline.yaml", overrides={"reinvestment.retrain_every": 2})
    path = save_scenario(scenario, "weekly_try", root)
    assert path == root / "saved" / "weekly_try.yaml"
    again = load_scenario(path)
    assert again == scenario.with_overrides({"name": "weekly_try"})
    text = path.read_text()
    with pytest.raises(InputError, match="exists already"):
        save_scenario(scenario.with_overrides({"seed": 1}), "weekly_try", root)
    assert path.read_text() == text
    save_scenario(scenario.with_overrides({"seed": 1}), "weekly_try", root, overwrite=True)
    assert load_scenario(path).seed == 1
    with pytest.raises(InputError, match="lowercase"):
        save_scenario(scenario, "../escape", root)
    assert not (root.parent / "escape.yaml").exists()


def test_save_button_on_the_page(root):
    rc = render_page()
    move(rc, "retrain every", 2)
    type_into(rc, "file name (scenarios/saved/<name>.yaml)", "from_page")
    click(rc, "Save as scenario")
    saved = load_scenario(root / "saved" / "from_page.yaml")
    assert saved.reinvestment.retrain_every == 2 and saved.name == "from_page"
    click(rc, "Save as scenario")
    assert "exists already" in error_text(rc)


# -- confinement: the page reads nothing outside scenarios/ ------------------------------


@pytest.mark.parametrize("name", [PASSWD, "../../../../etc/passwd", "~/../../etc/passwd"])
def test_scenario_files_outside_the_folder_are_refused_unread(root, opened, name):
    with pytest.raises(InputError) as error:
        ExplorerModel(scenario_file=name, scenarios_dir=root)
    assert "only inside" in str(error.value) and "root:" not in str(error.value)
    assert PASSWD not in opened


def test_a_symbolic_link_out_of_the_folder_is_refused(root, opened):
    (root / "innocent.yaml").symlink_to(PASSWD)
    with pytest.raises(InputError, match="only inside"):
        resolve_scenario("innocent.yaml", {}, root)
    assert "innocent.yaml" not in adapter.list_scenarios(root)
    assert PASSWD not in opened


@pytest.mark.parametrize("path", [PASSWD, "../../../../../../etc/passwd"])
def test_a_network_path_outside_the_folder_is_refused_unread(root, opened, path):
    overrides = {"network.kind": "file", "network.path": path, "population.size": 30}
    with pytest.raises(ScenarioError) as error:
        resolve_scenario("baseline.yaml", overrides, root)
    message = "\n".join(problem_lines(error.value))
    assert "network.path: the explorer reads network files only inside" in message
    assert "root:" not in message
    assert PASSWD not in opened


def test_a_whole_network_section_as_one_keyword_is_confined_too(root, opened):
    network = {"kind": "file", "path": PASSWD}
    with pytest.raises(ScenarioError, match="only inside"):
        ExplorerModel(scenarios_dir=root, **{"network": network, "population.size": 30})
    assert PASSWD not in opened


def test_a_network_path_inside_a_scenario_file_is_confined_too(root, opened):
    (root / "sneaky.yaml").write_text(
        "name: sneaky\npopulation: {size: 30}\nnetwork: {kind: file, path: /etc/passwd}\n"
    )
    with pytest.raises(ScenarioError, match="only inside"):
        ExplorerModel(scenario_file="sneaky.yaml", scenarios_dir=root)
    assert PASSWD not in opened


def test_a_network_files_content_never_appears_in_a_message(root):
    (root / "edges.txt").write_text("0 1\nTOP-SECRET-LINE of the file\n")
    overrides = {"network.kind": "file", "network.path": "edges.txt", "population.size": 2}
    with pytest.raises(InputError) as error:
        resolve_scenario("baseline.yaml", overrides, root)
    assert "TOP-SECRET" in str(error.value)  # the CLI quotes the line: the page must not
    lines = problem_lines(error.value)
    assert lines and "line 2" in lines[0] and not any("TOP-SECRET" in line for line in lines)


def test_typing_etc_passwd_into_the_page_shows_a_message_and_reads_nothing(root, opened):
    rc = render_page()
    before = the_model(rc)
    open_all_parameters(rc)
    kind = rc.find(v.Select, label="network · kind").widget
    kind.v_model = "file"  # invalid alone: a file network needs a path
    type_into(rc, "network · path", PASSWD)
    shown = error_text(rc)
    assert "network.path: the explorer reads network files only inside" in shown
    assert "root:" not in shown and "Traceback" not in shown
    assert the_model(rc) is before
    assert PASSWD not in opened


# -- views -------------------------------------------------------------------------


def test_network_view_samples_at_most_500_users_laid_out_once(root, monkeypatch):
    calls = []
    real = components.nx.spring_layout
    monkeypatch.setattr(
        components.nx, "spring_layout", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    components._LAYOUTS.clear()
    model = ExplorerModel(scenarios_dir=root, **{"population.size": 2000})
    sample = components.network_sample(model)
    assert len(sample.nodes) == components.MAX_NETWORK_NODES
    assert len(np.unique(sample.nodes)) == len(sample.nodes)
    figure = components.live_figure(model, "network")
    first = figure.png(model.user_arrays()["state"])
    for _ in range(4):
        model.step()
        figure.png(model.user_arrays()["state"])
    assert len(calls) == 1
    assert figure.png(model.user_arrays()["state"]) != first
    # a new run on the same network (another cadence, same seed) reuses the layout
    again = ExplorerModel(scenarios_dir=root, **{"population.size": 2000, "churn.lock_in": 0.9})
    np.testing.assert_array_equal(components.network_sample(again).positions, sample.positions)
    assert len(calls) == 1
    small = ExplorerModel(scenarios_dir=root, **{"population.size": 200})
    assert len(components.network_sample(small).nodes) == 200


def test_market_shares_per_firm_appear_only_with_several_firms(root):
    model = ExplorerModel(scenarios_dir=root)
    assert components.FirmShares not in [view for view, _ in app.model_components(model)]
    model.firms = [model.firm, model.firm]
    assert components.FirmShares in [view for view, _ in app.model_components(model)]
    ts = pd.DataFrame({"time": [0.0, 1.0], "market_share[a]": [0.5, 0.6],
                       "market_share[b]": [0.5, 0.4]})  # fmt: skip
    assert components.firm_columns(ts) == ["a", "b"]
    fig = components.firm_share_figure(ts, {"scenario": "x", "seed": 1})
    assert fig.axes[0].get_ylabel() == "market share (% of active users)"


def test_views_are_titled_and_labelled_with_units(root):
    model = ExplorerModel(scenarios_dir=root)
    model.step()
    for view in ("users", "quality", "shares", "network"):
        figure = components.live_figure(model, view)
        assert figure.fig._suptitle.get_text()
        ax = figure.fig.axes[0]
        if view != "network":
            assert ax.get_xlabel() == "weeks" and "(" in ax.get_ylabel() or ax.get_ylabel()
    audit = metrics.defensibility(model.record, model.user_arrays(), model.params)
    table = components.audit_markdown(audit)
    assert f"{audit['score']} / 10 points" in table and "user lock in" in table


def test_quality_frame_grows_when_quality_leaves_its_range(root):
    model = ExplorerModel(scenarios_dir=root)
    figure = components.live_figure(model, "quality")
    ts = components.timeseries(model).copy()
    ts.loc[:, "quality"] = 0.1
    figure.png(ts)
    assert figure.ax.get_ylim()[0] <= 0.1


# -- the command ---------------------------------------------------------------------


def test_explore_without_the_extra_says_how_to_install_it(monkeypatch):
    from simulator.viz import server

    monkeypatch.setattr(server, "missing_packages", lambda: ["solara"])
    result = CliRunner().invoke(cli, ["explore"])
    assert result.exit_code == 2
    assert "make explore" in result.output and "pip install -e '.[viz]'" in result.output


def test_explore_refuses_a_scenario_outside_the_folder_and_a_bad_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO_SCENARIOS, tmp_path / "scenarios")
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("name: elsewhere\n")
    result = CliRunner().invoke(cli, ["explore", str(outside)])
    assert result.exit_code == 2 and "inside" in result.output
    (tmp_path / "scenarios" / "bad.yaml").write_text("reinvestment: {retrain_every: 0}\n")
    result = CliRunner().invoke(cli, ["explore", "scenarios/bad.yaml"])
    assert result.exit_code == 2 and "reinvestment.retrain_every: must be >= 1" in result.output
    assert "Traceback" not in result.output

"""The dashboard (simulation/app.py): the model it drives, and the app itself in a real browser.

The browser test starts ``bordersim dashboard`` on a free port, drives Debian's chromium with
Playwright (never ``playwright install``: that downloads a browser), steps the model, changes
controls, resets, and checks that the numbers shown change as they should. It saves screenshots
in results/dashboard/. Without chromium or the playwright package it is skipped, saying why.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from simulation.data import REPO_ROOT

ARTIFACTS = REPO_ROOT / "results" / "dashboard"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def app():
    import simulation.present.app as app

    return app


# --- the model behind the dashboard (no browser) --------------------------------------------


def test_defaults_are_the_scenario_as_is(app):
    base = app.base_scenario()
    assert app.apply_levers(base, **app.lever_defaults(base)) is base
    m = app.DashboardModel()
    assert not m.changed
    policy = pd.Period(base.scenario.policy_date, "M")
    # the history has run silently up to the policy month; one step is one month
    assert m.month == str(policy - 1)
    before = len(m.results())
    m.step()
    m.step()
    assert len(m.results()) == before + 2
    assert m.month == str(policy + 1)
    assert m.time == 2  # Mesa's own step counter: one per month
    ref = m.reference()
    live = m.results()
    cols = [c for c in live.columns if c not in ("month", "scenario", "seed")]
    assert (live[cols].to_numpy() == ref.iloc[: len(live)][cols].to_numpy()).all()


def test_levers_apply_from_the_policy_date(app):
    base = app.base_scenario()
    sc = app.apply_levers(base, stca_between_ports=False, keep_exceptions=False, irb_capacity_factor=2.0,
                          resettlement_places_per_month=500.0, inflow_factor=1.5)
    change = sc.policy.change[-1]
    assert change.name == "dashboard" and change.start == base.scenario.policy_date
    assert change.stca_between_ports is False and change.exceptions == ()
    # places: the scenario's programme keeps its dates, with the new amount
    (prog,) = [c for c in sc.policy.change if c.name == "resettlement_2023"]
    assert prog.resettlement_places_per_month == 500.0 and prog.until == "2024-10-10"
    day = app.parse_date(base.scenario.policy_date)
    for d in (day, app.parse_date("2024-06")):
        assert app.dated_value(sc.canada.irb_decisions_per_month, d) == 2 * app.dated_value(base.canada.irb_decisions_per_month, d)
        assert app.dated_value(sc.population.pool_entry_share, d) == 1.5 * app.dated_value(base.population.pool_entry_share, d)
    early = app.parse_date("2022-06")
    assert app.dated_value(sc.canada.irb_decisions_per_month, early) == app.dated_value(base.canada.irb_decisions_per_month, early)
    with pytest.raises(TypeError, match="unknown lever"):
        app.apply_levers(base, stca_everywhere=True)


def test_controls_match_the_model_signature(app):
    """SolaraViz re-creates the model from the controls at Reset: every control must be a keyword argument."""
    from mesa.visualization.solara_viz import _check_model_params

    _check_model_params(app.DashboardModel.__init__, app.model_params())
    for name, spec in app.model_params().items():
        if isinstance(spec, dict) and spec.get("type") == "Select":
            assert spec["value"] in spec["values"], name


def test_dashboard_command_rejects_a_bad_scenario(tmp_path, capsys):
    from simulation.present.cli import EXIT_BAD_INPUT, main

    assert main(["dashboard", str(tmp_path / "missing.toml"), "--port", "1"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "missing.toml: file not found" in err and len(err.strip().splitlines()) == 1


# --- the app in a browser ------------------------------------------------------------------


@pytest.fixture
def chromium() -> str:
    """Path of a chromium to drive (``$BORDERSIM_CHROMIUM`` or Debian's); skips the test, saying why, if none."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("DASHBOARD BROWSER TEST NOT RUN: the Python package 'playwright' is missing "
                    "(pip install -e '.[dev]')")
    candidates = [os.environ["BORDERSIM_CHROMIUM"]] if os.environ.get("BORDERSIM_CHROMIUM") else \
        [*CHROMIUM, shutil.which("chromium") or ""]
    path = next((p for p in candidates if p and Path(p).is_file()), None)
    if not path:
        pytest.skip("DASHBOARD BROWSER TEST NOT RUN: no chromium browser found (looked for "
                    f"{', '.join(p for p in candidates if p)}); install it with 'apt-get install -y chromium'")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """``bordersim dashboard`` on a free port; yields its URL; stopped (its whole process group) at the end."""
    port = _free_port()
    log = open(tmp_path / "dashboard.log", "wb")
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="false")
    proc = subprocess.Popen([sys.executable, "-m", "simulation.present.cli", "dashboard", "--port", str(port)],
                            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited with code {proc.returncode}:\n" + (tmp_path / "dashboard.log").read_text())
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the dashboard did not answer within 60 s:\n" + (tmp_path / "dashboard.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("+", ""))


def _row(page, table: str, measure: str) -> list[float]:
    cells = page.locator(f"table.{table} tr[data-measure='{measure}'] td").all_inner_texts()
    return [_number(c) for c in cells[1:]]


def _step(page, times: int) -> str:
    month = page.locator(".bordersim-month")
    for _ in range(times):
        before = month.inner_text()
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function("([sel, old]) => { const e = document.querySelector(sel); return e && e.innerText !== old; }",
                               arg=[".bordersim-month", before], timeout=20_000)
    return month.inner_text()


def test_dashboard_in_a_browser(chromium, server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1750})
            page.set_default_timeout(30_000)
            page.goto(server)
            page.wait_for_selector("table.bordersim-latest", timeout=60_000)
            expect(page.get_by_text("Try border rules, month by month")).to_be_visible()
            start = page.locator(".bordersim-month").inner_text()
            assert start == "2023-02"  # protocol_2023: history up to the month of its policy date
            backlog0 = _row(page, "bordersim-latest", "irb_backlog")

            # steps move the numbers; with no rule changed, the run is the scenario as-is
            assert _step(page, 3) == "2023-05"
            backlog = _row(page, "bordersim-latest", "irb_backlog")
            assert backlog[0] != backlog0[0]
            assert backlog[2] == 0

            # change two controls, reset, step: the IRB backlog falls below the scenario's
            page.get_by_label("IRB decisions per month").click(force=True)
            page.get_by_role("option", name="3", exact=True).click()
            page.get_by_text("STCA between ports (2023 Protocol)").click()
            page.get_by_role("button", name="Reset", exact=True).click()
            expect(page.locator(".bordersim-rules")).to_contain_text("IRB capacity × 3", timeout=30_000)
            expect(page.locator(".bordersim-rules")).to_contain_text("STCA between ports off")
            expect(page.locator(".bordersim-month")).to_have_text(start)
            assert _step(page, 3) == "2023-05"
            yours, as_is, diff = _row(page, "bordersim-latest", "irb_backlog")
            assert yours < as_is and diff < 0, (yours, as_is, diff)  # three times the decisions, fewer pending
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # the second tab: the scenario as-is and your rules side by side, with totals
            page.get_by_role("tab", name="Page 1").click()
            page.wait_for_selector("table.bordersim-totals")
            expect(page.get_by_text("Side by side: totals since the policy date")).to_be_visible()
            _, _, diff_total = _row(page, "bordersim-totals", "irb_backlog")
            assert diff_total == diff
            page.wait_for_timeout(300)
            page.screenshot(path=str(ARTIFACTS / "dashboard_side_by_side.png"), full_page=True)
        finally:
            browser.close()

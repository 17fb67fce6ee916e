"""The dashboard (simulation/present/app.py): its controls and levers, and the app itself in a real browser.

The browser tests start ``bordersim dashboard`` once for the module (on a free port, on two short test
scenarios so that a run takes a fraction of a second), and drive Debian's chromium with Playwright (never
``playwright install``: that downloads a browser). They check the promises of the dashboard: two browser
sessions do not affect each other; a changed rule takes effect at once (a banner and a blocked STEP while
the run is rebuilt); exports download; at 1280x720 nothing is clipped or covered (element boxes). They
save screenshots in results/dashboard/. Without chromium or the playwright package they are skipped,
saying why.
"""

from __future__ import annotations

import csv
import io
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
from tests.conftest import SHORT_NO_PROTOCOL, SHORT_PROTOCOL

ARTIFACTS = REPO_ROOT / "results" / "dashboard"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCALE = "0.004"


@pytest.fixture(scope="module")
def app():
    import simulation.present.app as app

    return app


# --- the controls and the levers (no browser) -------------------------------------------------------------------


def test_importing_the_app_builds_no_model(app):
    """Nothing is simulated when the module loads: every browser session builds its own run."""
    assert app.current.value is None
    assert not app.rebuild.pending


def test_controls_come_from_the_lever_declarations(app):
    from simulation.scenario.levers import RuleSet

    kinds = {bool: "checkbox"}
    for name in app.LEVERS:
        field = RuleSet.model_fields[name]
        c = app.CONTROLS[name]
        assert c.label == field.description.rstrip(".").replace("_", " ")
        if field.annotation in kinds:
            assert c.kind == kinds[field.annotation]
    assert app.CONTROLS["roxham"].kind == "select" and app.CONTROLS["roxham"].options == ("open", "closed", "designated_port")
    assert app.CONTROLS["exceptions"].kind == "multiselect"
    assert app.CONTROLS["between_ports_detection"].kind == "percent"
    assert app.CONTROLS["between_ports_detection"].words(0.25) == "25%"
    days = app.CONTROLS["return_window_days"]
    assert (days.kind, days.unit, days.low, days.high) == ("integer", "days", 1, 3650)
    assert app.CONTROLS["canada.irb_decisions_per_month"].kind == "factor"
    # app.py names the levers, and restates nothing else about them
    source = (REPO_ROOT / "simulation" / "present" / "app.py").read_text()
    for name in app.LEVERS:
        assert RuleSet.model_fields[name].description not in source


def test_defaults_are_the_scenario_as_is(app):
    base = app.base_scenario()
    assert app.apply_levers(base, **app.lever_defaults(base)) is base
    assert app.changed_words(base, app.lever_defaults(base)) == ""


def test_levers_apply_from_the_policy_date(app):
    base = app.base_scenario()
    sc = app.apply_levers(base, stca_between_ports=False, exceptions=(), humanitarian_pr_per_month=100.0,
                          **{"canada.irb_decisions_per_month": 2.0, "population.pool_entry_share": 1.5})
    change = sc.policy.change[-1]
    assert change.name == "dashboard" and change.start == base.scenario.policy_date
    assert change.stca_between_ports is False and change.exceptions == ()
    assert change.humanitarian_pr_per_month is None
    # an amount the scenario sets in a programme after the rule date: the programme keeps its dates, with the new amount
    (prog,) = [c for c in sc.policy.change if c.name == "humanitarian_pathway_2023"]
    assert prog.humanitarian_pr_per_month == 100.0 and (prog.start, prog.until) == ("2024-01", "2026-01")
    assert app.lever_defaults(base)["humanitarian_pr_per_month"] == 458.0
    day = app.parse_date(base.scenario.policy_date)
    for d in (day, app.parse_date("2024-06")):
        assert app.dated_value(sc.canada.irb_decisions_per_month, d) == 2 * app.dated_value(base.canada.irb_decisions_per_month, d)
        assert app.dated_value(sc.population.pool_entry_share, d) == 1.5 * app.dated_value(base.population.pool_entry_share, d)
    early = app.parse_date("2022-06")
    assert app.dated_value(sc.canada.irb_decisions_per_month, early) == app.dated_value(base.canada.irb_decisions_per_month, early)
    words = app.changed_words(base, {"stca_between_ports": False, "canada.irb_decisions_per_month": 2.0})
    assert "STCA applies between ports: off" in words and "× 2" in words
    with pytest.raises(TypeError, match="unknown lever"):
        app.apply_levers(base, stca_everywhere=True)


def test_a_run_is_built_and_stepped_through_simulate(app, monkeypatch, short_pair):
    """build_run runs the history to the rule date, step_run one month more; same rules, same run as the file."""
    calls = []
    real = app.simulate

    def spy(*a, **k):
        calls.append(k.get("until"))
        return real(*a, **k)

    monkeypatch.setattr(app, "simulate", spy)
    monkeypatch.setattr(app, "scenario_path", lambda: short_pair[0])
    run = app.build_run(app.lever_defaults(app.base_scenario()), seed=1, scale=0.004, month="2023-03")
    assert run.month == "2023-03" and str(calls[0]) == "2023-03-01" and str(calls[1]) == "2023-04-01"
    run = app.step_run(run)
    assert run.month == "2023-04"
    ref = run.reference.set_index("month")
    live = run.monthly.set_index("month")
    cols = [c for c in live.columns if c not in ("scenario", "seed")]
    assert (live[cols].to_numpy() == ref.loc[live.index, cols].to_numpy()).all()


def test_dashboard_command_rejects_a_bad_scenario(tmp_path, capsys):
    from simulation.present.cli import EXIT_BAD_INPUT, main

    assert main(["dashboard", str(tmp_path / "missing.toml"), "--port", "1"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "missing.toml: file not found" in err and len(err.strip().splitlines()) == 1


def test_dashboard_on_a_busy_port_exits_2_with_a_clear_message(capsys):
    from simulation.present.cli import EXIT_BAD_INPUT, main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert f"--port {port}: already in use" in err and "choose another --port" in err
    assert "http://" not in out  # no URL printed for a server that will not start


# --- the app in a browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    """Path of a chromium to drive (``$BORDERSIM_CHROMIUM`` or Debian's); skips the tests, saying why, if none."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("DASHBOARD BROWSER TESTS NOT RUN: the Python package 'playwright' is missing "
                    "(pip install -e '.[dev]')")
    candidates = [os.environ["BORDERSIM_CHROMIUM"]] if os.environ.get("BORDERSIM_CHROMIUM") else \
        [*CHROMIUM, shutil.which("chromium") or ""]
    path = next((p for p in candidates if p and Path(p).is_file()), None)
    if not path:
        pytest.skip("DASHBOARD BROWSER TESTS NOT RUN: no chromium browser found (looked for "
                    f"{', '.join(p for p in candidates if p)}); install it with 'apt-get install -y chromium'")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    """``bordersim dashboard`` on a free port, on a short test scenario; yields its URL; stopped (its whole process
    group) at the end. Started once for all the browser tests of this module."""
    folder = tmp_path_factory.mktemp("dash")
    (folder / "short_protocol.toml").write_text(SHORT_PROTOCOL)
    (folder / "short_no_protocol.toml").write_text(SHORT_NO_PROTOCOL)
    port = _free_port()
    log_path = folder / "dashboard.log"
    log = open(log_path, "wb")
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="false", BORDERSIM_DASHBOARD_SCALE=SCALE)
    proc = subprocess.Popen([sys.executable, "-m", "simulation.present.cli", "dashboard",
                             str(folder / "short_protocol.toml"), "--port", str(port)],
                            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited with code {proc.returncode}:\n" + log_path.read_text())
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the dashboard did not answer within 60 s:\n" + log_path.read_text())
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


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(context, url):
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("table.bordersim-latest", timeout=60_000)
    return page


def _month(page) -> str:
    return page.locator(".bordersim-month").get_attribute("data-month")


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("+", "").replace("−", "-"))


def _row(page, table: str, measure: str) -> list[float]:
    cells = page.locator(f"table.{table} tr[data-measure='{measure}'] td").all_inner_texts()
    return [_number(c) for c in cells[1:]]


def _step(page, times: int = 1) -> str:
    for _ in range(times):
        before = _month(page)
        page.locator(".bordersim-step").click()
        page.wait_for_function("old => { const e = document.querySelector('.bordersim-month'); "
                               "return e && e.dataset.month !== old; }", arg=before, timeout=20_000)
    return _month(page)


def test_two_sessions_do_not_affect_each_other(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # two tabs of one browser: same cookies
    try:
        a, b = _open(context, server), _open(context, server)
        start = _month(a)
        assert start == "2023-02" and _month(b) == start  # the history up to the month before the rule date
        assert _step(a, 2) == "2023-04"
        b.wait_for_timeout(500)
        assert _month(b) == start  # a's steps did not move b
        assert _step(b) == "2023-03"
        assert _month(a) == "2023-04"
        a.reload()
        a.wait_for_selector("table.bordersim-latest", timeout=60_000)
        assert _month(a) == start  # a reload is a new session
        assert _month(b) == "2023-03"
    finally:
        context.close()


#: Records, as the page changes, whether the 'changes pending' banner was shown and STEP was disabled meanwhile.
WATCH = """() => {
  window.__seen = [];
  const check = () => {
    const banner = document.querySelector('.bordersim-pending');
    const step = document.querySelector('.bordersim-step');
    if (banner) window.__seen.push({banner: banner.innerText, stepDisabled: !!(step && step.disabled)});
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def test_a_rule_change_takes_effect_at_once_and_blocks_step_meanwhile(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = _open(context, server)
        assert _step(page, 3) == "2023-05"
        backlog = _row(page, "bordersim-latest", "irb_backlog")
        assert backlog[2] == 0  # no rule changed: the run is the scenario as it is
        page.evaluate(WATCH)
        control = page.locator(".bordersim-control-canada-irb_decisions_per_month")
        control.locator(".v-select__slot").click()
        page.get_by_role("option", name="× 3", exact=True).click()
        expect(page.locator(".bordersim-rules")).to_contain_text("× 3", timeout=30_000)
        expect(page.locator(".bordersim-pending")).to_have_count(0, timeout=30_000)
        seen = page.evaluate("window.__seen")
        assert seen, "the 'changes pending' banner never appeared"
        flags = [s["stepDisabled"] for s in seen]
        # STEP is disabled from the moment the banner shows until the rebuilt run arrives (when the two updates
        # reach the page a few milliseconds apart, STEP may come back just before the banner goes)
        assert flags[0] and flags == sorted(flags, reverse=True), flags
        assert "Changes pending" in seen[0]["banner"]
        # the change took effect in the months already on screen: same month, fewer claims pending
        assert _month(page) == "2023-05"
        yours, as_is, diff = _row(page, "bordersim-latest", "irb_backlog")
        assert yours < as_is and diff < 0, (yours, as_is, diff)
        page.screenshot(path=str(ARTIFACTS / "dashboard_rule_changed.png"))
        # a checkbox lever, derived from its declaration: it takes effect too
        page.get_by_text("STCA applies between ports").click()
        expect(page.locator(".bordersim-rules")).to_contain_text("STCA applies between ports: off", timeout=30_000)
        expect(page.locator(".bordersim-pending")).to_have_count(0, timeout=30_000)
        assert _month(page) == "2023-05"
        latest = _row(page, "bordersim-latest", "irb_backlog")
        # the totals tab: the same difference
        page.get_by_role("tab", name="Totals since the rule date").click()
        page.wait_for_selector("table.bordersim-totals")
        assert _row(page, "bordersim-totals", "irb_backlog")[2] == latest[2]
    finally:
        context.close()


def test_exports_download(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    try:
        page = _open(context, server)
        _step(page, 2)
        with page.expect_download() as info:
            page.get_by_text("Download CSV (months shown)").click()
        download = info.value
        assert download.suggested_filename.endswith(".csv")
        text = Path(download.path()).read_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["run"] for r in rows} == {"your rules", "scenario as it is"}
        mine = [r for r in rows if r["run"] == "your rules"]
        assert mine[-1]["month"] == "2023-04"
        assert all("." not in r["claims_in_canada"] for r in mine)  # counts of simulated people: whole numbers
        frame = pd.read_csv(io.StringIO(text))
        assert {"month", "roxham_crossings", "irb_backlog"} <= set(frame.columns)
        with page.expect_download() as info:
            page.get_by_text("Download PNG (these plots)").click()
        assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        context.close()


def _box(locator):
    b = locator.bounding_box()
    assert b is not None, locator
    return b


def test_layout_at_1280x720_has_nothing_clipped_or_covered(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = _open(context, server)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "dashboard_1280x720.png"))
        width = 1280
        # nothing wider than the window: no horizontal scrolling anywhere
        overflow = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => { const cs = getComputedStyle(e); return e.scrollWidth > e.clientWidth + 1
                           && (cs.overflowX === 'auto' || cs.overflowX === 'scroll' || cs.overflowX === 'hidden')
                           && e.clientWidth > 0; })
            .map(e => e.tagName + '.' + e.className)""")
        assert overflow == [], overflow
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # the tabs, buttons, table and plots lie inside the window, each plot inside its column
        for name in ("Month by month", "Totals since the rule date", "Compare two options", "About"):
            b = _box(page.get_by_role("tab", name=name))
            assert 0 <= b["x"] and b["x"] + b["width"] <= width, name
        for sel in (".bordersim-step", ".bordersim-play", ".bordersim-reset", "table.bordersim-latest"):
            b = _box(page.locator(sel).first)
            assert 0 <= b["x"] and b["x"] + b["width"] <= width, sel
        plots = page.locator("img.bordersim-plot")
        assert plots.count() == 4
        grid = _box(page.locator(".bordersim-plots"))
        boxes = [_box(plots.nth(i)) for i in range(4)]
        for b in boxes:
            assert grid["x"] - 1 <= b["x"] and b["x"] + b["width"] <= grid["x"] + grid["width"] + 1
            assert b["width"] >= 380  # readable: two plots side by side at most
        for i in range(4):
            for j in range(i + 1, 4):
                assert not _overlap(boxes[i], boxes[j])
        # the sidebar: every control's label is shown whole, and no control overlaps the next
        controls = page.locator(".bordersim-control")
        cboxes = [_box(controls.nth(i)) for i in range(controls.count())]
        assert len(cboxes) >= 9
        for upper, lower in zip(cboxes, cboxes[1:]):
            assert upper["y"] + upper["height"] <= lower["y"] + 1, (upper, lower)
        clipped = page.evaluate("""() => [...document.querySelectorAll('.bordersim-control-label')]
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
        assert clipped == []
        # nothing covers the plots or the table (Solara's "This website runs on" badge used to): at five points of
        # each, once scrolled into view, the element on top is the plot or the table itself
        assert page.get_by_text("This website runs on").count() == 0 or \
            not page.get_by_text("This website runs on").first.is_visible()
        for target in [plots.nth(i) for i in range(4)] + [page.locator("table.bordersim-latest")]:
            target.scroll_into_view_if_needed()
            b = _box(target)
            points = [(b["x"] + fx * b["width"], b["y"] + fy * b["height"])
                      for fx, fy in ((0.5, 0.5), (0.03, 0.03), (0.97, 0.03), (0.03, 0.97), (0.97, 0.97))]
            for x, y in points:
                if 0 <= y < 720:
                    covered = page.evaluate("""([x, y, sel]) => { const e = document.elementFromPoint(x, y);
                        return e && (e.matches(sel) || e.closest(sel)) ? '' : (e ? e.tagName + '.' + e.className : 'none'); }""",
                                            [x, y, "img.bordersim-plot, table.bordersim-latest"])
                    assert covered == "", (x, y, covered)
    finally:
        context.close()


def _overlap(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] + 1 or b["x"] + b["width"] <= a["x"] + 1
                or a["y"] + a["height"] <= b["y"] + 1 or b["y"] + b["height"] <= a["y"] + 1)


def test_compare_two_options_with_replications(browser, server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    try:
        page = _open(context, server)
        page.get_by_role("tab", name="Compare two options").click()
        page.locator(".bordersim-compare-reps .v-select__slot").click()
        page.get_by_role("option", name="3", exact=True).click()
        page.locator(".bordersim-compare-run").click()
        page.wait_for_selector("table.bordersim-compare", timeout=60_000)
        expect(page.locator(".bordersim-compare-banner")).to_contain_text("Too few replications")
        rows = page.locator("table.bordersim-compare tr[data-measure]")
        assert rows.count() == 6
        expect(page.locator("table.bordersim-compare")).to_contain_text("5th–95th percentile of 3 paired replications")
        page.screenshot(path=str(ARTIFACTS / "dashboard_compare.png"), full_page=True)
        with page.expect_download() as info:
            page.get_by_text("Download CSV (levels and differences)").click()
        frame = pd.read_csv(info.value.path())
        assert set(frame["scenario"]) >= {"short_protocol", "short_no_protocol"} or \
            set(frame["scenario"]) >= {"short_protocol"}
        assert {"levels"} <= set(frame["table"])
    finally:
        context.close()

"""The comparison report leads with the answer, rounds for people, warns about small ensembles, and embeds every
figure; report.html stands alone."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from simulation import compare
from simulation.core.columns import HEADLINE, OUTCOME_BY_NAME
from simulation.present.report import Doc, interval_covers, read_comparison, report_doc

REPS = 3


@pytest.fixture(scope="module")
def comparison(short_pair, tmp_path_factory):
    """A small comparison with plots: the Protocol against no Protocol, 3 replications, on a 10-month window."""
    protocol, no_protocol = short_pair
    out = tmp_path_factory.mktemp("report") / "out"
    summary, differences, result = compare([no_protocol, protocol], out, reps=REPS, master_seed=4, scale=0.004, workers=1)
    assert not result.failures
    return out


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## ", text, flags=re.M)
    return {p.split("\n", 1)[0]: p for p in parts[1:]}


def test_the_report_leads_with_the_answer(comparison):
    text = (comparison / "report.md").read_text()
    head, _, rest = text.partition("## ")
    assert head.startswith("# Options compared with")
    assert "Too few replications to trust" in head  # 3 replications: a banner before anything else
    assert f"**{REPS} replications** per option" in head and "25 Mar 2023" in head
    assert "they cover random draws only" in head
    first = rest.split("\n", 1)[0]
    assert first == "In short"
    short = _sections(text)["In short"]
    bullets = [line for line in short.splitlines() if line.startswith("- ")]
    assert len(bullets) == 1  # one option against the reference
    b = bullets[0]
    assert "against the reference, Mar 2023 to Aug 2023" in b
    assert re.search(r"irregular crossings \(Roxham and elsewhere\) \*\*\d+% (lower|higher)\*\* \([−+][\d,]+; interval", b) \
        or "irregular crossings (Roxham and elsewhere): no clear change" in b
    cost = OUTCOME_BY_NAME["reception_cost"].label
    assert cost[0].lower() + cost[1:] in b and "$" in b
    assert "the risk of death crossing between ports" in b


def test_differences_are_one_table_of_options_by_outcomes_rounded_for_people(comparison):
    sections = _sections((comparison / "report.md").read_text())
    for name in ("Differences from the reference, Mar 2023 to Aug 2023", "The first 12 months, Mar 2023 to Aug 2023"):
        table = [line for line in sections[name].splitlines() if line.startswith("|")]
        assert len(table) == 3  # header, rule, one option
        assert table[0].count("|") == len(HEADLINE) + 2
        row = table[2]
        assert row.startswith("| Protocol") or row.startswith("| Short protocol")
        # no falsely precise numbers: decimals only in money ($2.9B) and percentages
        for token in re.findall(r"[$]?[−+]?\d[\d,]*\.\d+[BM%]?", row):
            assert token.startswith("$") or token.endswith(("%", "B", "M")), token
        assert "persons" not in table[0].split("|")[4]  # deaths: an index, never persons
        assert "index" in row
    text = (comparison / "report.md").read_text()
    assert "width ratio" not in text and "assumptions until calibrated" not in text


def test_digests_and_provenance_are_in_the_appendix_only(comparison):
    text = (comparison / "report.md").read_text()
    body, _, appendix = text.partition("## Appendix")
    manifest = read_comparison(comparison).manifest
    for s in manifest["scenarios"]:
        assert s["digest"] not in body and s["digest"] in appendix
    assert "replication seeds" in appendix and "git commit" in appendix


def test_every_figure_is_embedded_and_html_stands_alone(comparison):
    text = (comparison / "report.md").read_text()
    figures = re.findall(r"!\[[^\]]*\]\(plots/([\w]+)\.png\)", text)
    for name in ("differences", "overview", "outcomes", "route_shares", "shelters", "observed", "all_outcomes",
                 *[f"timeseries_{m}" for m in HEADLINE]):
        assert name in figures
    for name in figures:
        assert (comparison / "plots" / f"{name}.png").stat().st_size > 5000
        assert (comparison / "plots" / f"{name}.svg").is_file()
    page = (comparison / "report.html").read_text()
    assert page.count("src='data:image/png;base64,") == len(figures)
    assert not re.search(r"(src|href)=['\"](https?:|//|plots/)", page)  # nothing fetched from elsewhere
    assert "Too few replications to trust" in page and "<table" in page


def test_a_single_replication_has_no_intervals(short_pair, tmp_path):
    protocol, no_protocol = short_pair
    compare([no_protocol, protocol], tmp_path / "one", reps=1, master_seed=4, scale=0.004, workers=1, plots=False)
    text = (tmp_path / "one" / "report.md").read_text()
    assert "One replication: no intervals" in text and "Rerun with `--reps 20`" in text
    table = [line for line in _sections(text)["Differences from the reference, Mar 2023 to Aug 2023"].splitlines()
             if line.startswith("| Short") or line.startswith("| Protocol")]
    assert table and "<small>" not in table[0] and " to " not in table[0]
    assert "interval" not in _sections(text)["In short"]


def test_enough_replications_carry_no_banner(comparison):
    from simulation.experiments.summary import MIN_REPS

    c = read_comparison(comparison)
    c.manifest = {**c.manifest, "seeds": list(range(MIN_REPS))}
    md = report_doc(c).markdown()
    assert "Too few replications" not in md and "no intervals" not in md
    assert f"5th–95th percentile of {MIN_REPS} paired replications" in md


def test_the_report_names_what_its_intervals_cover():
    plain = pd.DataFrame({"mean": [1.0]})
    assert interval_covers(plain, 3) == "random draws only (3 seeds; the parameters are held fixed)"
    posterior = {"file": "results/calibration/posterior.csv", "parameters": ["a", "b"], "sets": []}
    words = interval_covers(plain, 20, posterior)
    assert "uncertainty in 2 fitted parameters" in words and "posterior.csv" in words and "20 seeds" in words
    assert interval_covers(pd.DataFrame({"interval_source": ["seeds", "parameters and seeds"]}), 5) == \
        "parameters and seeds; seeds"


def test_doc_renders_markdown_and_html(tmp_path):
    doc = Doc()
    doc.h(1, "Title")
    doc.banner("**Careful.** Few runs.")
    doc.table(["a", "b"], [["x", ("1", "0 to 2")]])
    md, page = doc.markdown(), doc.html(tmp_path)
    assert "> ⚠ **Careful.** Few runs." in md and "| x | 1<br><small>0 to 2</small> |" in md
    assert "<b>Careful.</b>" in page and "<small>0 to 2</small>" in page


def test_relative_intervals_are_paired_ratios_never_below_minus_100_percent(comparison):
    """The risk index's interval is the 5th-95th percentile of option / reference - 1, replication by replication:
    a difference divided by the reference's mean could read -146% when replications differ."""
    d = pd.read_csv(comparison / "differences.csv")
    rel = d[["p05_relative", "p95_relative"]].dropna()
    assert len(rel) > 0
    assert (rel.p05_relative >= -1.0).all() and (rel.p05_relative <= rel.p95_relative).all()


def test_figure_notes_say_what_the_intervals_cover():
    from simulation.present.compare_plots import Ensemble

    kw = dict(per_scenario={}, reference="a", n_reps=20, scale=0.01, start_month="2023-01", diverge_month="2023-03")
    assert "random draws only" in Ensemble(**kw).note("intervals")
    with_posterior = Ensemble(**kw, posterior=True).note("intervals")
    assert "posterior" in with_posterior and "random draws only" not in with_posterior


def test_a_comparison_is_dated_from_the_day_its_options_take_effect():
    """Options that change the rules in 2025-2026 against a reference dated 2023 are summed from their own date."""
    from simulation import bundled_scenario, load_scenario
    from simulation.experiments.summary import comparison_windows, options_take_effect

    ref, later, latest = (load_scenario(bundled_scenario(n)) for n in ("protocol_2023", "stca_struck_down", "terminate_stca"))
    assert options_take_effect([ref, later, latest], "protocol_2023") == "2025-09-01"
    wins = comparison_windows([ref, later, latest], "protocol_2023")
    assert wins["after_change"][0] == "2025-09" and wins["first_12_months"] == ("2025-09", "2026-08")
    assert options_take_effect([ref], "protocol_2023") == "2023-03-25"  # no option: the reference's own date

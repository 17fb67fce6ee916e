"""Bad scenario files and bad arguments: one clear message naming the file, the key and what is allowed.

Through the CLI the same mistakes give exit code 2, one line on stderr, no
traceback, and nothing written.
"""

from __future__ import annotations

import datetime as dt

import pytest

from simulation.present.cli import main
from simulation.data import REPO_ROOT
from simulation.core.rules import rules_at
from simulation.scenario import ScenarioError, load_scenario

HISTORY = REPO_ROOT / "scenarios" / "history.toml"
PROTOCOL = REPO_ROOT / "scenarios" / "protocol_2023.toml"

# id -> (files to write, file to load, words the message must contain)
BAD = {
    "unknown_key": (
        {"s.toml": "[policy]\nstca_at_port = true\n"},
        "s.toml", ["policy.stca_at_port", "unknown key", "stca_at_ports", "stca_between_ports"]),
    "unknown_key_in_change": (
        {"s.toml": '[[policy.change]]\nname = "x"\nfrom = "2020-01"\nstca_at_port = true\n'},
        "s.toml", ["policy.change[0].stca_at_port", "unknown key", "stca_at_ports"]),
    "wrong_type": (
        {"s.toml": '[policy]\nreturn_window_days = "fourteen"\n'},
        "s.toml", ["policy.return_window_days", "fourteen", "valid integer"]),
    "wrong_type_bool": (
        {"s.toml": "[policy]\nstca_at_ports = 3\n"},
        "s.toml", ["policy.stca_at_ports", "valid boolean"]),
    "bad_enum": (
        {"s.toml": '[policy]\nroxham = "shut"\n'},
        "s.toml", ["policy.roxham", "shut", "'open'", "'closed'", "'designated_port'"]),
    "bad_exception_name": (
        {"s.toml": '[policy]\nexceptions = ["family", "bribe"]\n'},
        "s.toml", ["policy.exceptions[1]", "bribe", "unaccompanied_minor", "public_interest"]),
    "unknown_group": (
        {"s.toml": "[canada.acceptance_rate]\nmars = 0.5\n"},
        "s.toml", ["canada.acceptance_rate", "mars", "haiti", "default"]),
    "change_outside_window": (
        {"s.toml": '[time]\nstart = "2020-01"\nend = "2021-12"\n\n'
                   '[[policy.change]]\nname = "late"\nfrom = "2023-01-01"\ndirect_back = true\n'},
        "s.toml", ["policy.change[0]", "late", "from = 2023-01-01", "outside the window", "2020-01-01 .. 2021-12-31"]),
    "until_before_from": (
        {"s.toml": '[[policy.change]]\nname = "x"\nfrom = "2021-01-01"\nuntil = "2020-01-01"\ndirect_back = true\n'},
        "s.toml", ["policy.change[0]", "until = 2020-01-01", "must be after"]),
    "missing_extends_target": (
        {"s.toml": '[scenario]\nextends = "nope.toml"\n'},
        "s.toml", ["scenario.extends", "nope.toml", "does not exist"]),
    "cycle_in_extends": (
        {"a.toml": '[scenario]\nextends = "b.toml"\n', "b.toml": '[scenario]\nextends = "a.toml"\n'},
        "a.toml", ["b.toml", "scenario.extends", "cycle", "a.toml -> b.toml -> a.toml"]),
    "negative_capacity": (
        {"s.toml": "[canada]\nquebec_shelter_capacity = -5\n"},
        "s.toml", ["canada.quebec_shelter_capacity", "-5", "at least 0"]),
    "negative_capacity_dated": (
        {"s.toml": '[canada.quebec_shelter_capacity]\n"2017-01" = 100\n"2018-01" = -5\n'},
        "s.toml", ["canada.quebec_shelter_capacity", "-5", "at least 0"]),
    "bad_month": (
        {"s.toml": '[time]\nstart = "2017-13"\n'},
        "s.toml", ["time.start", "2017-13", "YYYY-MM"]),
    "error_in_parent_names_the_parent": (
        {"parent.toml": '[policy]\nroxham = "shut"\n', "child.toml": '[scenario]\nextends = "parent.toml"\n'},
        "child.toml", ["parent.toml", "policy.roxham", "designated_port"]),
    "malformed_toml": (
        {"s.toml": '[policy\nroxham = "open"\n'},
        "s.toml", ["s.toml", "not valid TOML", "line 1"]),
    "missing_file": ({}, "missing.toml", ["missing.toml", "file not found"]),
}


@pytest.fixture(params=list(BAD), ids=list(BAD))
def bad_file(request, tmp_path):
    files, target, words = BAD[request.param]
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path / target, words


def test_bad_file_raises_scenario_error_naming_file_key_and_allowed(bad_file):
    path, words = bad_file
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    message = str(e.value)
    for word in words:
        assert word in message
    assert "\n" not in message.strip()
    # the message starts with the file it is about (a parent, for an error in the parent)
    assert any(message.startswith(str(path.parent / name)) for name in ("s.toml", "a.toml", "b.toml", "parent.toml", "missing.toml"))


def _assert_one_clean_line(capsys, words):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bordersim: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]
    return out


def test_bad_file_via_cli_validate(bad_file, capsys):
    path, words = bad_file
    assert main(["validate", str(path)]) == 2
    out = _assert_one_clean_line(capsys, words)
    assert out == ""  # nothing half-printed on stdout


def test_bad_file_via_cli_run_writes_nothing(bad_file, capsys, tmp_path):
    path, words = bad_file
    results = tmp_path / "results"
    assert main(["run", str(path), "--out", str(results / "out"), "--quiet"]) == 2
    _assert_one_clean_line(capsys, words)
    assert not results.exists()


# --- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (["run", str(HISTORY), "--scale", "2"], ["--scale", "out of range", "0 < scale <= 1"]),
        (["run", str(HISTORY), "--scale", "0"], ["--scale", "0 < scale <= 1"]),
        (["run", str(HISTORY), "--scale", "lots"], ["--scale", "not a number"]),
        (["run", str(HISTORY), "--seed", "-1"], ["--seed", "negative", ">= 0"]),
        (["run", str(HISTORY), "--seed", "1.5"], ["--seed", "whole number"]),
        (["frobnicate"], ["invalid choice", "frobnicate", "run", "validate", "list"]),
        ([], ["required"]),
    ],
    ids=["scale_2", "scale_0", "scale_text", "seed_negative", "seed_fraction", "unknown_command", "no_command"],
)
def test_bad_arguments_exit_2(args, words, capsys, tmp_path):
    out = tmp_path / "out"
    argv = args + (["--out", str(out)] if args[:1] == ["run"] else [])
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err
    assert not out.exists()


def test_run_without_out_is_refused(capsys):
    try:  # argparse exits; bordersim's own checks return the code
        code = main(["run", str(HISTORY)])
    except SystemExit as e:
        code = e.code
    assert code == 2
    assert "--out" in capsys.readouterr().err


# --- good children ------------------------------------------------------------------------------


def test_child_disables_an_inherited_change_by_name(write_toml, capsys):
    path = write_toml("no_protocol_child.toml", f"""
[scenario]
extends = "{HISTORY}"

[[policy.change]]
name = "additional_protocol_2023"
enabled = false
""")
    sc = load_scenario(path)
    names = [c.name for c in sc.rule_changes()]
    assert "additional_protocol_2023" not in names
    assert "covid_direct_back" in names and "mexico_visa_2024" in names  # the rest is inherited
    assert not rules_at(dt.date(2024, 1, 1), sc.base_rules(), sc.rule_changes()).stca_between_ports
    # a child names itself and does not inherit the parent's description
    assert sc.name == "no_protocol_child" and sc.scenario.description == ""
    assert main(["validate", str(path)]) == 0
    assert "no_protocol_child" in capsys.readouterr().out


def test_child_overrides_values_and_merges_a_named_change(write_toml):
    write_toml("parent.toml", """
[policy]
between_ports_detection = 0.5

[[policy.change]]
name = "protocol"
from = "2023-03-25"
stca_between_ports = true

[canada.irb_decisions_per_month]
"2017-01" = 2000.0
"2020-01" = 3000.0
""")
    child = write_toml("child.toml", """
[scenario]
extends = "parent.toml"

[policy]
between_ports_detection = 0.8

[[policy.change]]
name = "protocol"
from = "2023-03-25"
return_window_days = 30

[[policy.change]]
name = "added"
from = "2024-01-01"
roxham = "closed"

[canada.irb_decisions_per_month]
"2020-01" = 6000.0
""")
    sc = load_scenario(child)
    assert sc.policy.between_ports_detection == 0.8
    protocol, added = sc.rule_changes()  # merged in place, the new one appended
    assert (protocol.name, added.name) == ("protocol", "added")
    assert protocol.values == {"stca_between_ports": True, "return_window_days": 30}
    # dated tables merge key by key
    assert sc.canada.irb_decisions_per_month == {"2017-01": 2000.0, "2020-01": 6000.0}


def test_run_overrides_are_validated():
    assert load_scenario(HISTORY, seed=9, scale=0.01).run.seed == 9
    with pytest.raises(ScenarioError, match="run.scale"):
        load_scenario(HISTORY, scale=2.0)


def test_child_changes_only_the_end_of_an_inherited_change(write_toml):
    path = write_toml("short_covid.toml", f"""
[scenario]
extends = "{HISTORY}"

[[policy.change]]
name = "covid_direct_back"
until = "2021-06-01"
""")
    covid = next(c for c in load_scenario(path).rule_changes() if c.name == "covid_direct_back")
    assert (covid.start, covid.until) == (dt.date(2020, 3, 21), dt.date(2021, 6, 1))


def test_child_changes_only_the_size_of_an_inherited_news_event(write_toml):
    path = write_toml("bigger_news.toml", f"""
[scenario]
extends = "{HISTORY}"

[[behaviour.news]]
name = "nyc_buses_2022"
awareness_boost = 0.2
""")
    news = next(n for n in load_scenario(path).behaviour.news if n.name == "nyc_buses_2022")
    assert news.awareness_boost == 0.2 and news.date == "2022-08-05"


def test_child_adds_a_change_inside_the_inherited_window(write_toml):
    path = write_toml("late_surge.toml", f"""
[scenario]
extends = "{PROTOCOL}"

[[policy.change]]
name = "surge_2025"
from = "2025-06-01"
between_ports_detection = 0.9
""")
    assert load_scenario(path).rule_changes()[-1].name == "surge_2025"

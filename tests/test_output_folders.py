"""Output folders that never lose a user's files, and inputs that cannot be used: exit 2, one clear line, nothing lost.

Every command with ``--out`` claims its folder before writing anything
(:func:`simulation.files.claim_output_dir`): a plain file, a folder with files
bordersim did not write, a folder another command wrote, a symbolic link, a
path under a file, the current folder, or bordersim's own ``scenarios/`` and
``data/`` are refused, with or without ``--force``. ``--force`` replaces only
a folder that holds a bordersim run and nothing else (subfolders included).
The scenarios here run 3 months at scale 0.0005 (a run takes ~0.05 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.data import REPO_ROOT
from simulation.files import MARK, read_mark
from simulation.present.cli import main

TINY = """
[scenario]
name = "tiny"
description = "test: 3 months at scale 0.0005"
policy_date = "2023-03-25"
calibrated_on = "2023-02:2023-03"

[time]
start = "2023-02"
end = "2023-04"

[run]
scale = 0.0005

[[policy.change]]
name = "additional_protocol_2023"
from = "2023-03-25"
stca_between_ports = true
"""
TINY_REF = """
[scenario]
name = "tiny_ref"
extends = "tiny.toml"

[[policy.change]]
name = "additional_protocol_2023"
enabled = false
"""
FAST = ["--quiet", "--no-plots"]  # run and compare also take --allow-tiny: these runs simulate a few hundred persons


@pytest.fixture
def sandbox(tmp_path, monkeypatch) -> Path:
    """A working folder holding tiny.toml and tiny_ref.toml; the current folder during the test."""
    (tmp_path / "tiny.toml").write_text(TINY)
    (tmp_path / "tiny_ref.toml").write_text(TINY_REF)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``bordersim`` in process: (exit code, stdout, stderr); argparse's SystemExit becomes its code."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def refused(argv, capsys, *words) -> str:
    """The command exits 2 with one 'bordersim: error:' line that holds every word."""
    code, _, err = cli(argv, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(("bordersim: error:", "bordersim run: error:", "bordersim compare: error:")), err
    for word in words:
        assert word in lines[-1], lines[-1]
    return lines[-1]


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path below ``folder`` with its bytes (None for a folder or a link)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(folder.rglob("*"))}


# every command with --out, with arguments that make it cheap (it is refused before it runs anyway)
COMMANDS = {
    "run": ["run", "tiny.toml", *FAST, "--allow-tiny"],
    "compare": ["compare", "tiny.toml", "tiny_ref.toml", "--reps", "1", "--workers", "1", *FAST, "--allow-tiny"],
    "calibrate": ["calibrate", "tiny.toml", "--fit", "2023-02:2023-03", "--population", "2", "--generations", "1",
                  "--workers", "1", "--quiet"],
    "backtest": ["backtest", "--scenario", "tiny.toml", "--reps", "1", "--workers", "1", "--quiet"],
    "sensitivity": ["sensitivity", "tiny.toml", "--params", "behaviour.w_wait", "--samples", "2", "--workers", "1", *FAST],
    "discover": ["discover", "tiny.toml", "--reference", "tiny_ref.toml", "--params", "behaviour.w_wait", "--samples", "2",
                 "--workers", "1", *FAST],
}


# --- a user's files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_users_notes_in_out_survive_and_the_message_names_them(command, sandbox, capsys):
    out = sandbox / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    refused([*COMMANDS[command], "--out", out], capsys, "notes.txt", "did not write", "new or empty folder")
    assert tree(out) == {"notes.txt": b"my notes\n"}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_plain_file_at_out_survives(command, sandbox, capsys):
    out = sandbox / "results.csv"
    out.write_text("a,b\n1,2\n")
    refused([*COMMANDS[command], "--out", out], capsys, "is a file, not a folder", "will not replace")
    assert out.read_text() == "a,b\n1,2\n"


def test_compare_out_file_exits_2_without_a_traceback(sandbox, capsys):
    (sandbox / "out").write_bytes(b"\x00\x01")
    refused(["compare", "tiny.toml", "tiny_ref.toml", "--reps", "1", "--workers", "1", *FAST, "--allow-tiny", "--out", "out"], capsys,
            "--out out", "is a file")
    assert (sandbox / "out").read_bytes() == b"\x00\x01"


def test_force_on_a_foreign_folder_still_refuses(sandbox, capsys):
    out = sandbox / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused(["run", "tiny.toml", *FAST, "--allow-tiny", "--force", "--out", out], capsys, "notes.txt")
    assert tree(out) == {"notes.txt": b"mine"}


def test_force_replaces_a_bordersim_run_folder(sandbox, capsys):
    out = sandbox / "out"
    assert cli(["run", "tiny.toml", *FAST, "--allow-tiny", "--seed", "1", "--out", out], capsys)[0] == 0
    first = (out / "run.json").read_text()
    # without --force another run is not written over it
    refused(["run", "tiny.toml", *FAST, "--allow-tiny", "--seed", "2", "--out", out], capsys, "--force")
    assert (out / "run.json").read_text() == first
    assert cli(["run", "tiny.toml", *FAST, "--allow-tiny", "--seed", "2", "--force", "--out", out], capsys)[0] == 0
    assert '"seed": 2' in (out / "run.json").read_text()
    assert read_mark(out)["command"] == "run"
    assert sorted(p.name for p in sandbox.iterdir()) == ["out", "tiny.toml", "tiny_ref.toml"]  # nothing left beside it


def test_force_keeps_a_users_file_inside_a_subfolder_of_a_run(sandbox, capsys):
    """Regression: --force replaced the whole folder, plots/ included, losing a file the user put there."""
    out = sandbox / "out"
    assert cli(["run", "tiny.toml", "--quiet", "--allow-tiny", "--out", out], capsys)[0] == 0
    (out / "plots" / "my_annotated.png").write_bytes(b"mine")
    before = tree(out)
    refused(["run", "tiny.toml", "--quiet", "--allow-tiny", "--seed", "2", "--force", "--out", out], capsys, "plots/my_annotated.png")
    assert tree(out) == before


def test_force_does_not_delete_a_users_dot_old_folder_beside_out(sandbox, capsys):
    """Regression: the old folder was moved to '.NAME.old' and deleted, whatever was there before."""
    out = sandbox / "out"
    assert cli(["run", "tiny.toml", *FAST, "--allow-tiny", "--out", out], capsys)[0] == 0
    (sandbox / ".out.old").mkdir()
    (sandbox / ".out.old" / "keep.txt").write_text("keep")
    assert cli(["run", "tiny.toml", *FAST, "--allow-tiny", "--seed", "2", "--force", "--out", out], capsys)[0] == 0
    assert (sandbox / ".out.old" / "keep.txt").read_text() == "keep"
    assert sorted(p.name for p in sandbox.iterdir()) == [".out.old", "out", "tiny.toml", "tiny_ref.toml"]


def test_force_on_another_commands_folder_refuses(sandbox, capsys):
    out = sandbox / "out"
    assert cli(COMMANDS["compare"] + ["--out", out], capsys)[0] == 0
    before = tree(out)
    refused(["run", "tiny.toml", *FAST, "--allow-tiny", "--force", "--out", out], capsys, "bordersim compare", "not of 'bordersim run'")
    assert tree(out) == before


def test_every_out_folder_carries_the_mark(sandbox, capsys):
    for command, argv in COMMANDS.items():
        out = sandbox / f"out_{command}"
        code, _, err = cli([*argv, "--out", out], capsys)
        assert code == 0, err
        assert read_mark(out)["command"] == command
        assert (out / MARK).is_file()
        assert not [p for p in sandbox.iterdir() if p.name.endswith((".partial", ".old", ".tmp"))]


# --- paths that cannot be an output folder -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "broken_symlink", "under_a_file", "under_a_broken_symlink", "dot", "root",
                                  "dotdot", "repo_scenarios", "repo_data", "name_too_long"])
@pytest.mark.parametrize("command", ["run", "compare"])
def test_unusable_out_paths_exit_2_and_nothing_changes(kind, command, sandbox, capsys):
    (sandbox / "target").mkdir()
    (sandbox / "afile").write_text("x")
    (sandbox / "link").symlink_to("target")
    (sandbox / "broken").symlink_to("nowhere")
    out, words = {
        "symlink": ("link", ["symbolic link"]),
        "broken_symlink": ("broken", ["broken symbolic link"]),
        "under_a_file": ("afile/sub", ["afile is a file"]),
        "under_a_broken_symlink": ("broken/sub", ["broken symbolic link"]),
        "dot": (".", ["current folder"]),
        "root": ("/", ["--out /"]),
        "dotdot": ("target/..", ["'..'"]),
        "repo_scenarios": (str(REPO_ROOT / "scenarios" / "results"), ["bordersim's own inputs"]),
        "repo_data": (str(REPO_ROOT / "data"), ["bordersim's own inputs"]),
        "name_too_long": ("n" * 300, ["too long"]),
    }[kind]
    before, repo = tree(sandbox), tree(REPO_ROOT / "scenarios")
    refused([*COMMANDS[command], "--out", out], capsys, *words)
    assert tree(sandbox) == before
    assert tree(REPO_ROOT / "scenarios") == repo


@pytest.mark.parametrize("command", list(COMMANDS))
def test_dotdot_after_a_missing_folder_does_not_reach_a_users_folder(command, sandbox, capsys):
    """Regression (found while choosing the fuzz test's paths): 'missing/../notes' passed the claim (it did not exist yet), then the
    staging created 'missing/' and the path became 'notes': the user's folder was replaced and notes.txt lost."""
    (sandbox / "notes").mkdir()
    (sandbox / "notes" / "notes.txt").write_text("mine")
    before = tree(sandbox)
    refused([*COMMANDS[command], "--out", "missing/../notes"], capsys, "'..' follows missing, which does not exist")
    assert tree(sandbox) == before


def test_dotdot_after_a_missing_folder_in_docs_is_refused(sandbox, capsys):
    (sandbox / "page.md").write_text("# my page\n")
    before = tree(sandbox)
    refused([*COMMANDS["calibrate"], "--docs", "missing/../page.md", "--out", "cal"], capsys, "--docs", "'..' follows missing")
    assert tree(sandbox) == before


def test_dotdot_through_existing_folders_is_fine(sandbox, capsys):
    (sandbox / "a").mkdir()
    assert cli(["run", "tiny.toml", *FAST, "--allow-tiny", "--out", "a/../out"], capsys)[0] == 0
    assert read_mark(sandbox / "out")["command"] == "run"


# --- report DIR ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, words", [
    ("missing", ["no such folder"]),
    ("file", ["is a file"]),
    ("foreign_folder", ["not a folder written by 'bordersim compare'"]),
    ("run_folder", ["bordersim run", "not of 'bordersim compare'"]),
    ("compare_folder_with_notes", ["notes.txt"]),
])
def test_report_refuses_a_folder_that_is_not_a_compare_folder(kind, words, sandbox, capsys):
    target = sandbox / "target"
    if kind == "file":
        target.write_text("x")
    elif kind == "foreign_folder":
        target.mkdir()
        (target / "comparison.json").write_text("{}")  # looks like one, but bordersim did not write it
    elif kind == "run_folder":
        assert cli(["run", "tiny.toml", *FAST, "--allow-tiny", "--out", target], capsys)[0] == 0
    elif kind == "compare_folder_with_notes":
        assert cli(COMMANDS["compare"] + ["--out", target], capsys)[0] == 0
        (target / "notes.txt").write_text("mine")
    before = tree(sandbox)
    refused(["report", target, "--no-plots"], capsys, *words)
    assert tree(sandbox) == before


def test_report_rebuilds_a_compare_folder(sandbox, capsys):
    out = sandbox / "out"
    assert cli(COMMANDS["compare"] + ["--out", out], capsys)[0] == 0
    summary = (out / "summary.csv").read_bytes()
    (out / "summary.csv").unlink()
    assert cli(["report", out, "--no-plots"], capsys)[0] == 0
    assert (out / "summary.csv").read_bytes() == summary


# --- scenario files and other inputs ----------------------------------------------------------------------


@pytest.mark.parametrize("kind, words", [
    ("binary", ["not a text file"]),
    ("empty", ["is empty"]),
    ("directory", ["is a folder, not a scenario file"]),
])
@pytest.mark.parametrize("command", ["run", "validate", "compare"])
def test_binary_empty_or_directory_scenario_files_exit_2(kind, words, command, sandbox, capsys):
    path = sandbox / "bad.toml"
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        path.mkdir()
    argv = {"run": ["run", path, *FAST, "--allow-tiny", "--out", "out"], "validate": ["validate", path],
            "compare": ["compare", "tiny.toml", path, *FAST, "--allow-tiny", "--out", "out"]}[command]
    refused(argv, capsys, "bad.toml", *words)
    assert not (sandbox / "out").exists()


# regressions found while writing the fuzz test (tests/test_fuzz_cli.py), probing the values it generates
CANNOT_RUN = {
    "name_climbs_out": ('[scenario]\nname = "../../escaped"\nextends = "tiny.toml"\n', ["scenario.name", "'/'"]),
    "name_too_long": ('[scenario]\nname = "' + "n" * 300 + '"\nextends = "tiny.toml"\n', ["scenario.name", "too long"]),
    "seed_too_large": ('[scenario]\nextends = "tiny.toml"\n[run]\nseed = 99999999999999999999\n', ["run.seed", "out of range"]),
    "pool_too_large": ('[scenario]\nextends = "tiny.toml"\n[population]\ninitial_us_pool = 1e15\n',
                       ["population.initial_us_pool", "at most"]),
    "pool_overflows": ('[scenario]\nextends = "tiny.toml"\n[population]\ninitial_us_pool = 1e308\n',
                       ["population.initial_us_pool"]),
    "inflow_overflows": ('[scenario]\nextends = "tiny.toml"\n[population]\ninflow_multiplier = 1e300\n',
                         ["population.inflow_multiplier"]),
    "extends_nul": ('[scenario]\nextends = "\\u0000"\n', ["scenario.extends", "NUL"]),
    "extends_too_long": ('[scenario]\nextends = "' + "e" * 300 + '.toml"\n', ["scenario.extends", "too long"]),
    "inflow_file_nul": ('[scenario]\nextends = "tiny.toml"\n[population]\ninflow_file = "a\\u0000b"\n',
                        ["population.inflow_file", "NUL"]),
    "inflow_file_folder": ('[scenario]\nextends = "tiny.toml"\n[population]\ninflow_file = "data"\n', ["Is a directory"]),
    "window_before_the_data": ('[scenario]\nname = "early"\n[time]\nstart = "2001-01"\nend = "2001-02"\n',
                               ["for month 2001-01", "data start at"]),
}


@pytest.mark.parametrize("kind", list(CANNOT_RUN))
@pytest.mark.parametrize("command", ["run", "compare"])
def test_scenario_values_that_cannot_run_exit_2(kind, command, sandbox, capsys):
    text, words = CANNOT_RUN[kind]
    (sandbox / "bad.toml").write_text(text)
    argv = {"run": ["run", "bad.toml", *FAST, "--allow-tiny", "--out", "out"],
            "compare": ["compare", "bad.toml", "--reps", "1", "--workers", "1", *FAST, "--allow-tiny", "--out", "out"]}[command]
    before = tree(sandbox)
    refused(argv, capsys, *words)
    assert tree(sandbox) == before  # nothing written, inside or outside --out
    assert not (sandbox.parent / "escaped").exists()


def test_compare_scale_override_is_checked_against_the_population(sandbox, capsys):
    (sandbox / "big.toml").write_text('[scenario]\nextends = "tiny.toml"\n[population]\ninitial_us_pool = 1e9\n')
    assert cli(["validate", "big.toml"], capsys)[0] == 0  # 500,000 people at its own scale: fine
    refused(["compare", "big.toml", "--scale", "1", "--reps", "1", "--workers", "1", *FAST, "--allow-tiny", "--out", "out"], capsys,
            "population.initial_us_pool", "at scale 1")
    assert not (sandbox / "out").exists()


def test_seed_beyond_32_bits_exits_2(sandbox, capsys):
    refused(["compare", "tiny.toml", "--seed", str(2**32), *FAST, "--allow-tiny", "--out", "out"], capsys, "--seed", "out of range")
    assert not (sandbox / "out").exists()


def test_backtest_with_a_binary_scenario_file_exits_2(sandbox, capsys):
    (sandbox / "cal.toml").write_bytes(b"\xff\xfe\x00junk")
    refused(["backtest", "--scenario", "cal.toml", "--reps", "1", "--quiet", "--out", "out"],
            capsys, "cal.toml", "not a text file")
    assert not (sandbox / "out").exists()


@pytest.mark.parametrize("kind, words", [
    ("folder", ["is a folder"]),
    ("users_file", ["not written by bordersim"]),
    ("under_a_file", ["is a file"]),
])
def test_docs_page_is_checked_before_the_run(kind, words, sandbox, capsys):
    docs = {"folder": "docs_dir", "users_file": "page.md", "under_a_file": "tiny.toml/page.md"}[kind]
    if kind == "folder":
        (sandbox / "docs_dir").mkdir()
    elif kind == "users_file":
        (sandbox / "page.md").write_text("# my own page\n")
    before = tree(sandbox)
    refused([*COMMANDS["calibrate"], "--docs", docs, "--out", "cal"], capsys, "--docs", *words)
    assert tree(sandbox) == before


def test_a_path_the_os_refuses_exits_2_naming_it(sandbox, capsys):
    before = tree(sandbox)
    refused(["validate", "v" * 300 + ".toml"], capsys, "too long")
    refused(["list", "--dir", "d" * 300], capsys, "too long")
    refused(["report", "r" * 300], capsys, "too long")
    assert tree(sandbox) == before


def test_an_error_naming_a_path_with_a_line_break_stays_one_line(sandbox, capsys):
    """Regression (found by the fuzz test): 'r_\\x85' (NEL, a line break to str.splitlines) and '\\n' in a path
    were printed raw, so the one-line message broke in two; they are now shown escaped."""
    for name in ("r_\x85", "a\nb.toml", "tab\there"):
        code, _, err = cli(["validate", name], capsys)
        assert code == 2
        assert err.endswith("\n") and len(err.rstrip("\n").splitlines()) == 1, err
        assert repr(name)[1:-1] in err


def test_a_path_that_is_not_utf8_is_printed_not_a_traceback(sandbox):
    """Regression: a file name whose bytes are not UTF-8 reaches Python as surrogates ('\\udcff'); a strict
    UTF-8 stdout (the usual one outside the C locale) could not print 'wrote out_\\udcff/...' after the run."""
    import io
    from contextlib import redirect_stdout

    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    with redirect_stdout(stdout):
        assert main(["run", "tiny.toml", *FAST, "--allow-tiny", "--out", "out_\udcff"]) == 0
    stdout.flush()
    assert b"out_\\udcff/monthly.csv" in stdout.buffer.getvalue()

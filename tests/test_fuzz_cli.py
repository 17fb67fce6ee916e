"""Fuzz test of the ``bordersim`` command: random arguments and random scenario files.

Hypothesis builds a command line (a subcommand, known or not; flags with good,
bad, negative, NaN, huge or odd values; paths to missing, plain, binary,
empty, folder, foreign, linked and valid files and folders) and a scenario
file (a bundled scenario or a short one, mutated: keys deleted, values of the
wrong type or out of range, unknown keys, bad dates, names, ``extends`` to a
missing, cyclic, binary or empty file, junk bytes, truncation, an empty file).
Each call runs ``main(argv)`` in process, in a fresh sandbox folder that is
the current folder, and must:

* exit 0 or 2 (argparse's own exits included: 2 for a bad argument, 0 for
  ``--help``). Exit 1 means replications failed: with these inputs that can
  only be a bug (bad scenarios and data are refused before any replication
  starts), so it is not allowed either;
* print no traceback; on exit 2, end with one ``error:`` line on stderr;
* change nothing outside ``--out`` (and outside the ``--docs`` page and its
  ``img/`` folder): the sandbox is compared file by file before and after, and
  so are the repository's ``scenarios/`` and ``data/``; a refused command
  leaves no half-written folder.

Every run it may start is tiny (a 3-month window at scale 0.0005, one worker,
1-4 replications, no plots except sometimes for ``run``), so an example takes
milliseconds to about a second. ``dashboard`` is only fuzzed on argument
errors (it would start a server), and ``--executor dask`` is left out (it
starts a cluster; ``--scheduler`` without it is fuzzed).

CI runs 30 derandomized examples (the same each run) plus a few written out
(commands that succeed, the refusals that matter most). Explore with fresh
random examples: ``BORDERSIM_FUZZ_EXAMPLES=600 pytest tests/test_fuzz_cli.py``;
``BORDERSIM_FUZZ_SEED=N`` makes such a run repeatable, and
``BORDERSIM_FUZZ_LOG=calls.jsonl`` writes one line per call (argv, the
scenario file's mutations, exit code, seconds, last stderr line). An input
that already passed is not run again (Hypothesis repeats inputs), so the
number of distinct inputs run is smaller than the number of examples. See
docs/reliability.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import time
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, event, example, given, seed, settings
from hypothesis import strategies as st

from simulation.data import REPO_ROOT
from simulation.files import mark_folder, read_mark
from simulation.present.cli import build_parser, main

EXPLORE = "BORDERSIM_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("BORDERSIM_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
REPLAY_SEED = os.environ.get("BORDERSIM_FUZZ_SEED")
LOG = os.environ.get("BORDERSIM_FUZZ_LOG")  # a file: one JSON line per call (argv, scenario mutations, exit, seconds, error)

BUNDLED = REPO_ROOT / "scenarios"
TINY = {
    "scenario": {"name": "tiny", "description": "fuzz: 3 months at scale 0.0005", "policy_date": "2023-03-25",
                 "calibrated_on": "2023-02:2023-03"},
    "time": {"start": "2023-02", "end": "2023-04"},
    "run": {"seed": 1, "scale": 0.0005},
    "policy": {"change": [{"name": "additional_protocol_2023", "from": "2023-03-25", "stca_between_ports": True}]},
}
TINY_REF = {"scenario": {"name": "tiny_ref", "extends": "tiny.toml"},
            "policy": {"change": [{"name": "additional_protocol_2023", "enabled": False}]}}


# --- the sandbox ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The sandbox every example starts from (copied): scenario files good and bad, a user's folder, a plain
    file, links, an empty folder, and a folder written by 'bordersim run' and one by 'bordersim compare'."""
    t = tmp_path_factory.mktemp("fuzz_template")
    (t / "tiny.toml").write_text(tomli_w.dumps(TINY))
    (t / "tiny_ref.toml").write_text(tomli_w.dumps(TINY_REF))
    (t / "bin.toml").write_bytes(bytes(range(256)) * 3)
    (t / "empty.toml").write_bytes(b"")
    (t / "dir.toml").mkdir()
    (t / "notes").mkdir()
    (t / "notes" / "notes.txt").write_text("a user's notes\n")
    (t / "afile.txt").write_text("a user's file\n")
    (t / "emptydir").mkdir()
    (t / "link").symlink_to("notes")
    (t / "broken").symlink_to("nowhere")
    (t / "page.md").write_text("# a user's page\n")
    shutil.copytree(BUNDLED, t / "bundled")  # so that mutated bundled files can extend their parents
    shutil.copy(BUNDLED / "calibrated.toml", t / "cal.toml")
    (t / "post.csv").write_text("behaviour.asc_roxham,weight\n-7.0,0.5\n-6.5,0.5\n")
    cwd = os.getcwd()
    os.chdir(t)
    try:
        sink = io.StringIO()
        with redirect_stdout(sink), redirect_stderr(sink):
            assert main(["run", "tiny.toml", "--out", "runfolder", "--quiet", "--no-plots", "--allow-tiny"]) == 0
            assert main(["compare", "tiny.toml", "tiny_ref.toml", "--out", "cmpfolder", "--reps", "1", "--workers", "1",
                         "--quiet", "--no-plots", "--allow-tiny"]) == 0
    finally:
        os.chdir(cwd)
    # a run folder with plots/ (made without drawing them: seconds saved) where the user then added a picture:
    # bordersim's folder, but --force must not replace it
    shutil.copytree(t / "runfolder", t / "runmixed")
    (t / "runmixed" / "plots").mkdir()
    (t / "runmixed" / "plots" / "crossings_by_route.png").write_bytes(b"\x89PNG a plot")
    mark_folder(t / "runmixed", "run")  # as a staged folder is marked: every file listed
    (t / "runmixed" / "plots" / "mine.png").write_bytes(b"a user's picture")
    return t


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below ``root`` (links not followed): ('dir',), ('link', target) or ('file', sha256)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                found[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                found[rel] = ("dir",)
            else:
                found[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
    return found


@pytest.fixture(scope="module")
def repo_before() -> dict:
    return {d: snapshot(REPO_ROOT / d) for d in ("scenarios", "data")}


# --- scenario files -----------------------------------------------------------------------------------

ODD_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
VALUES = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 0.5, -0.0, 1e6, 1e15, 1e308, -1e308, 1e-320, float("nan"), float("inf"),
                     float("-inf"), 2**63 - 1, -(2**63), True, False, "", "x", "2023-02", "open", [], [1, "a"], {},
                     {"a": 1}, {"2023-01": 0.5}, {"default": 2.0}, dt.date(2023, 2, 1)]),
    ODD_TEXT,
    st.integers(-10, 10),
    st.floats(-1e3, 1e3, allow_nan=False),
)
BAD_MONTHS = ["2023-13", "2023-00", "", "2023-1", "23-02", "2023-02-30", "2023/02", "２０２３-02", "x", 202302,
              dt.date(2023, 2, 1), [], "9999-12", "0000-01"]
# (start, end) pairs: either cheap to run (a few months) or refused (inverted, outside the data, years out of range)
WINDOWS = [("2023-01", "2023-03"), ("2023-03", "2023-03"), ("2030-01", "2030-02"), ("2023-04", "2023-02"),
           ("2001-01", "2001-03"), ("0001-01", "0001-02"), ("9999-11", "9999-12")]
SCALES = [0.0005, 0.0001, 1e-300, 0, -1, 2, float("nan"), float("inf"), "0.001", True, []]
SEEDS = [0, 7, 2**32 - 1, 2**32, 2**63 - 1, -1, 1.5, "1", float("nan")]
NAMES = ["gen", "", ".", "..", "../../escaped", "a/b", "a\\b", "n" * 300, "ü名前", "tab\tname", " space ", "tiny",
         "tiny_ref", "-dash", ".hidden", "x.tmp"]
EXTENDS = ["missing.toml", "gen.toml", "gen_parent.toml", "history.toml", "protocol_2023.toml", "../tiny.toml",
           "../bin.toml", "../empty.toml", "../dir.toml", "../notes", "", "/", "a\x00b", "e" * 300, 5, [], {}]
DATES = ["2023-03-01", "2023-03", "2022-01-01", "2030-01-01", "2023-02-30", "x", "", 20230301, dt.date(2023, 3, 1)]
JUNK = st.binary(min_size=1, max_size=40)


def _leaves(d, prefix=()):
    """Key paths to every value in a parsed TOML document (list items of tables included)."""
    for k, v in d.items():
        here = (*prefix, k)
        if isinstance(v, dict):
            yield from _leaves(v, here) if v else [here]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, item in enumerate(v):
                yield from _leaves(item, (*here, i))
        else:
            yield here


def _tables(d, prefix=()):
    yield prefix
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _tables(v, (*prefix, k))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, item in enumerate(v):
                yield from _tables(item, (*prefix, k, i))


def _get(d, path):
    for k in path:
        d = d[k]
    return d


def _set(d, path, value):
    for k in path[:-1]:
        d = d.setdefault(k, {}) if isinstance(k, str) else d[k]
        if not isinstance(d, (dict, list)):
            return
    if isinstance(d, dict) or (isinstance(d, list) and isinstance(path[-1], int)):
        d[path[-1]] = value


@st.composite
def scenario_files(draw) -> tuple[bytes, str]:
    """(bytes of gen.toml, what was done to it). gen.toml lives in bundled/, beside the bundled scenarios."""
    base = draw(st.sampled_from(["tiny", "tiny", "history", "protocol_2023", "no_protocol", "suspend_stca", "calibrated"]))
    doc = dict(TINY) if base == "tiny" else tomllib.loads((BUNDLED / f"{base}.toml").read_text())
    doc = tomllib.loads(tomli_w.dumps(doc))  # a deep copy
    if base == "tiny":
        doc["scenario"]["name"] = "gen"
    else:  # cheap if it runs: a short window, a tiny scale (changes inherited from outside the window are refused)
        doc.setdefault("time", {}).update(start="2023-02", end="2023-04")
        doc.setdefault("run", {})["scale"] = 0.0005
    done = [base]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["value", "value", "delete", "unknown_key", "name", "extends", "window", "month",
                                     "scale", "seed", "date"]))
        leaves = [p for p in _leaves(doc) if p[:1] not in (("time",), ("run",))]
        if kind == "value" and leaves:
            path = draw(st.sampled_from(leaves))
            _set(doc, path, draw(VALUES))
        elif kind == "delete" and leaves:
            path = draw(st.sampled_from(leaves))
            parent = _get(doc, path[:-1])
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
        elif kind == "unknown_key":
            table = draw(st.sampled_from(list(_tables(doc))))
            _set(doc, (*table, draw(st.sampled_from(["stca_at_port", "bogus", "Time", "scale ", "ü"]))), draw(VALUES))
        elif kind == "name":
            doc.setdefault("scenario", {})["name"] = draw(st.sampled_from(NAMES))
        elif kind == "extends":
            doc.setdefault("scenario", {})["extends"] = draw(st.sampled_from(EXTENDS))
        elif kind == "window":
            start, end = draw(st.sampled_from(WINDOWS))
            doc.setdefault("time", {}).update(start=start, end=end)
        elif kind == "month":
            doc.setdefault("time", {})[draw(st.sampled_from(["start", "end"]))] = draw(st.sampled_from(BAD_MONTHS))
        elif kind == "scale":
            doc.setdefault("run", {})["scale"] = draw(st.sampled_from(SCALES))
        elif kind == "seed":
            doc.setdefault("run", {})["seed"] = draw(st.sampled_from(SEEDS))
        elif kind == "date":
            dated = [p for p in _leaves(doc) if p[-1] in ("from", "until", "date", "policy_date")]
            if dated:
                _set(doc, draw(st.sampled_from(dated)), draw(st.sampled_from(DATES)))
        done.append(kind)
    try:
        data = tomli_w.dumps(doc).encode()
    except (TypeError, ValueError):  # a value TOML cannot hold (e.g. a huge int): write something close by hand
        data = b"[scenario]\nname = \"gen\"\n[run]\nseed = 99999999999999999999999\n"
        done.append("unwritable")
    text_kind = draw(st.sampled_from(["as_is"] * 6 + ["truncate", "junk", "binary", "empty", "junk_line"]))
    if text_kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif text_kind == "junk":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(JUNK) + data[at:]
    elif text_kind == "junk_line":
        lines = data.split(b"\n")
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from([b"[scenario", b"= 1", b"x = ", b"[[policy]]",
                                                                             b"[time]", b"\xff\xfe"])))
        data = b"\n".join(lines)
    elif text_kind == "binary":
        data = draw(JUNK)
    elif text_kind == "empty":
        data = b""
    done.append(text_kind)
    return data, "+".join(map(str, done))


#: the scenario file and its child when an example does not mutate them (or does not use them)
GEN = (tomli_w.dumps({**TINY, "scenario": {**TINY["scenario"], "name": "gen"}}).encode(), "tiny+as_is")
PARENTS = [b"[scenario]\nextends = \"gen.toml\"\n", b"[scenario]\nname = \"parent\"\nextends = \"bundled/gen.toml\"\n"]
PARENT = PARENTS[0]


# --- command lines ---------------------------------------------------------------------------------------

# Every value is a pair of pools: good (the command gets to run) and bad (it must be refused). Each example
# draws how dirty it is: clean (only paths are sometimes bad), a little dirty, or half of everything bad.
# Scenario files a command may run are only cheap ones (a bundled scenario runs 8 years: seconds).
RUNNABLE = (["tiny.toml", "tiny_ref.toml", "bundled/gen.toml", "bundled/gen.toml"],
            ["gen_parent.toml", "bin.toml", "empty.toml", "dir.toml", "missing.toml", "notes", "afile.txt", "link", "broken",
             "", "-", "bundled", "runfolder/run.json"])  # (not cal.toml: a whole 2017-2024 scenario, ~10 s)
# ... any file for a command that only reads it
READABLE = (RUNNABLE[0] + ["bundled/history.toml", "bundled/suspend_stca.toml", str(BUNDLED / "no_protocol.toml"),
                           "bundled/calibrated.toml", "cal.toml"], RUNNABLE[1] + ["cmpfolder"])
OUTS = (["out", "out", "out/sub/deep", "emptydir", "runfolder", "cmpfolder", "emptydir/../out2"],
        ["notes"] * 6 + ["afile.txt"] * 3 + ["link"] * 2 + ["bundled"] * 2 + ["runmixed"] * 3 +
        ["afile.txt/sub", "broken", "broken/sub", ".", "", "/", "..", "runfolder/..",
         "missing/../notes", "bundled", "tiny.toml", str(REPO_ROOT / "scenarios" / "fuzz_out"), str(REPO_ROOT / "data"),
         "n" * 300, "out_é 漢", "out_\udcff", "-out", "out\n", "runfolder/plots", "cmpfolder/reps"])
DOCS = (["newpage.md", "docs/new.md"],
        ["page.md", "notes", "notes/notes.txt", "afile.txt/x.md", "missing/../page.md", "link", "bin.toml", "out"])
POSTERIORS = (["post.csv"], ["tiny.toml", "bin.toml", "empty.toml", "dir.toml", "missing.toml", "afile.txt"])
ODD = ["", " ", "-", "--", "-1", "0", "nan", "NaN", "inf", "-inf", "1e309", "1e-320", "9" * 30, "x", "é", "漢字",
       "\udcff", "a b", "*", "?", "[", "%s", "{}", "'", '"', "\\", "\t", "..", "."]
SCALE = (["0.0005", "0.0001", "1e-300"], ["0", "-0.5", "1.0001", "2", "nan", "inf", "1e309"])
SEED = (["0", "1", "123", "4294967295"], ["-1", "1.5", "4294967296", "9" * 40, "0x10", "1e3"])
REPS = (["1", "2"], ["0", "-3", "1.5", "1e3"])
WORKERS = (["1"], ["0", "-1", "1.0"])  # more than 1 starts a process pool: seconds, not milliseconds
SAMPLES = (["2", "3", "4", "1"], ["0", "-1", "2.5"])
PARAMS = (["behaviour.w_wait", "behaviour.w_wait,behaviour.w_cost", "canada.irb_*"], ["nomatch.*", "", ",", "[", "behaviour."])
RANGES = (["behaviour.w_wait=0.1:0.5"], ["junk", "behaviour.w_wait=5:1", "nokey=0:1", "behaviour.w_wait=nan:1", "=:",
                                         "behaviour.w_wait=0:inf", "behaviour.w_wait=-1e308:1e308"])
FRACTION = (["0.5", "0.1", "0.9", "1e-300"], ["0", "1", "-0.5", "nan", "inf", "2"])
FIT = (["2023-02:2023-04", "2023-02:2023-03", "2023-03:2023-03", "2023-02:2023-02,2023-04:2023-04"],
       ["garbage", "2030-01:2030-02", "2023-04:2023-02", "2023-13:2023-14", "2017-01:2019-12", ":", ",", "2023-02"])
REFERENCE = (["tiny", "tiny_ref", "gen"], ["nope"])
WINDOW = (["whole_horizon", "after_change", "first_12_months"], ["nowhere"])
METHOD = (["morris", "sobol"], ["anova"])
OUTCOMES = (["irregular_crossings", "irregular_crossings,returns"], ["nope", ","])
METRIC = (["irregular_crossings"], ["nope"])
LIST_DIRS = (["bundled", str(BUNDLED)], ["notes", "afile.txt", "emptydir", ".", "missing", "dir.toml", "link", "broken"])


class Picker:
    """Draws values for one command line: from the good pool, or (at the example's rate) from the bad one,
    odd strings included; paths are never absolute or climbing out of the sandbox unless a pool says so."""

    def __init__(self, draw):
        self.draw = draw
        self.rate = draw(st.sampled_from([0.0, 0.15, 0.0, 0.5]))

    def coin(self, p: float) -> bool:
        # Hypothesis leans to small integers (and shrinks to them): small means "no", the plain good value.
        # Tenths, not thousandths: fewer draws that differ without changing the command line
        return self.draw(st.integers(0, 9)) >= round((1 - p) * 10)

    def value(self, pools, odd: bool = True) -> str:
        good, bad = pools
        if not self.coin(self.rate):
            return self.draw(st.sampled_from(good))
        if odd and self.coin(0.4):
            return self.draw(st.one_of(st.sampled_from(ODD), ODD_TEXT))
        return self.draw(st.sampled_from(bad))

    def path(self, pools, rate: float = 0.25) -> str:
        good, bad = pools
        rate = max(self.rate, rate)  # paths: the refusals are what is being tested
        if not self.coin(rate):
            return self.draw(st.sampled_from(good))
        if self.coin(0.25):  # random text, made relative
            return "r_" + self.draw(ODD_TEXT.filter(lambda t: ".." not in t))
        return self.draw(st.sampled_from(bad))

    def flag(self, name: str, pools, p: float = 0.5, path: bool = False) -> list[str]:
        if not self.coin(p):
            return []
        return [name, self.path(pools) if path else self.value(pools)]

    def switch(self, name: str, p: float = 0.3) -> list[str]:
        return [name] if self.coin(p) else []


@st.composite
def argvs(draw) -> list[str]:
    command = draw(st.sampled_from(["run"] * 5 + ["compare"] * 4 + ["report"] * 2 + ["calibrate"] * 2 + ["backtest"] * 2
                                   + ["validate"] * 2 + ["list", "sensitivity", "sensitivity", "discover", "discover",
                                                         "dashboard", "unknown"]))
    v = Picker(draw)
    out = ["--out", v.path(OUTS, 0.4)] if v.coin(0.97) else []
    quiet = v.switch("--quiet", 0.9)
    # the flags that make a run expensive are always given (cheap or bad values); the others now and then
    if command == "run":
        units = [[v.path(RUNNABLE)], out, v.flag("--seed", SEED), v.flag("--scale", SCALE), v.switch("--force"), quiet,
                 v.switch("--no-plots", 0.8), v.switch("--allow-tiny", 0.8)]
    elif command == "compare":
        files = [v.path(RUNNABLE) for _ in range(draw(st.integers(0 if v.rate else 1, 3)))]
        units = [files, out, ["--reps", v.value(REPS)], ["--workers", v.value(WORKERS)], v.flag("--seed", SEED),
                 v.flag("--scale", SCALE), v.flag("--reference", REFERENCE, 0.3), v.flag("--executor", (["local"], ["dask2"]), 0.2),
                 v.flag("--scheduler", (["tcp://127.0.0.1:1"], ["x"]), 0.1), quiet, ["--no-plots"],
                 v.switch("--allow-tiny", 0.8)]
    elif command == "report":
        units = [[v.path((["cmpfolder"], OUTS[0] + OUTS[1]))], ["--no-plots"]]
    elif command == "calibrate":
        units = [[v.path(RUNNABLE)], out, ["--fit", v.value(FIT)], ["--population", v.value(REPS)],
                 ["--generations", v.value(REPS)],
                 ["--workers", v.value(WORKERS)], v.flag("--seed", SEED), v.flag("--scale", SCALE),
                 v.flag("--docs", DOCS, 0.3, path=True), quiet]
    elif command == "backtest":
        units = [["--scenario", v.path(RUNNABLE)], out, v.flag("--posterior", POSTERIORS, 0.3, path=True),
                 ["--reps", v.value(REPS)],
                 ["--workers", v.value(WORKERS)], v.flag("--seed", SEED), v.flag("--scale", SCALE),
                 v.flag("--docs", DOCS, 0.3, path=True), quiet]
    elif command == "validate":
        units = [[v.path(READABLE)]]
    elif command == "list":
        units = [v.flag("--dir", LIST_DIRS, 0.8, path=True)]
    elif command in ("sensitivity", "discover"):
        units = [[v.path(RUNNABLE)], out, ["--samples", v.value(SAMPLES)], ["--workers", v.value(WORKERS)],
                 ["--params", v.value(PARAMS)], v.flag("--range", RANGES, 0.2), v.flag("--reps", REPS, 0.3),
                 v.flag("--seed", SEED, 0.3), v.flag("--scale", SCALE, 0.3), v.flag("--window", WINDOW, 0.3), quiet,
                 ["--no-plots"]]
        if command == "sensitivity":
            units += [v.flag("--method", METHOD, 0.4), v.flag("--outcomes", OUTCOMES, 0.3)]
        else:
            units += [v.flag("--reference", RUNNABLE, 0.95, path=True), v.flag("--metric", METRIC, 0.3),
                      v.flag("--cut", FRACTION, 0.3), v.flag("--min-coverage", FRACTION, 0.3)]
    elif command == "dashboard":  # argument errors only: a valid call would start a web server
        units = [["--port", draw(st.sampled_from(["0", "-1", "x", "nan", "1.5", "", "99999999999999999999999x"]))],
                 v.flag("--host", (["127.0.0.1"], ODD), 0.3), [v.path(RUNNABLE)] if v.coin(0.5) else []]
    else:
        units = [[draw(st.one_of(st.sampled_from(["frobnicate", "RUN", "runs", "-x", "--version", "--help", "-h", ""]),
                                 ODD_TEXT))]]
    # now and then a stray token: an unknown flag, a repeated --out without a value, a word, --help
    if v.coin(v.rate):
        units.append(draw(st.sampled_from([["--bogus"], ["extra"], ["--out"], ["--help"], ["--out", "out", "--out", "notes"]])))
    if v.coin(0.3):
        units = draw(st.permutations(units))
    return [command] * (command != "unknown") + [tok for u in units for tok in u]


@st.composite
def cases(draw) -> tuple[list[str], tuple[bytes, str], bytes]:
    """(argv, generated scenario file, its child): the files are drawn only when the command line can read them,
    so that two examples differ in what the command sees (Hypothesis otherwise varies unread draws)."""
    argv = draw(argvs())
    uses = " ".join(argv)
    gen = draw(scenario_files()) if ("gen" in uses or "bundled" in uses) else GEN
    parent = draw(st.sampled_from(PARENTS)) if "gen_parent" in uses else PARENT
    return argv, gen, parent


#: the inputs (argv, scenario file, its child) that passed in this process
PASSED: set = set()


# --- the property ------------------------------------------------------------------------------------


def _parsed(argv: list[str]):
    """The arguments argparse made of ``argv`` (None if it refused them)."""
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return build_parser().parse_args(argv)
    except SystemExit:
        return None


def _exists(path: Path) -> bool:
    """Whether anything (a link included) is at ``path``; False for a path the OS refuses (a name too long)."""
    try:
        return path.exists() or path.is_symlink()
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _real(sandbox: Path, rel: str | Path) -> Path:
    """Where ``rel`` (relative to the sandbox, or absolute) is, its last part not followed if it is a link."""
    p = sandbox / rel
    return Path(os.path.realpath(p.parent)) / p.name if p.name not in ("", "..") else Path(os.path.realpath(p))


def _allowed(args, sandbox: Path) -> list[Path]:
    """Where the command may write: --out (report: its folder); --docs and the img/ folder beside it."""
    allowed = []
    if getattr(args, "out", None) is not None:
        allowed.append(_real(sandbox, args.out))
    if getattr(args, "docs", None) is not None:
        docs = _real(sandbox, args.docs)
        allowed += [docs, docs.parent / "img"]
    return allowed


#: the user's files in the sandbox: never changed, whatever --out or --docs say (bordersim's own folders,
#: runfolder/ and cmpfolder/, and the empty emptydir/ may be written to)
PRECIOUS = ("tiny.toml", "tiny_ref.toml", "bin.toml", "empty.toml", "dir.toml", "notes", "afile.txt", "link", "broken",
            "page.md", "bundled", "cal.toml", "gen_parent.toml", "runmixed")


def _check_changes(before: dict, after: dict, sandbox: Path, allowed: list[Path]) -> list[str]:
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    bad = []
    for rel in changed:
        real = _real(sandbox, rel)
        ok = any(_inside(real, a) for a in allowed)
        # a folder created on the way to --out (or to --docs) is fine
        ok = ok or (rel not in before and after.get(rel) == ("dir",) and any(real in a.parents for a in allowed))
        if not ok or rel.split("/")[0] in PRECIOUS:
            bad.append(f"{rel}: {before.get(rel)} -> {after.get(rel)}")
    return bad


def _temporary(rel: str) -> bool:
    """A name bordersim gives its temporary files and folders ('.NAME.XXXX.tmp', '.partial', '.old')."""
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith((".tmp", ".partial", ".old"))


# Besides the random examples, commands on their way to success (the random ones are mostly refused): in CI the
# cheap ones (calibrate, backtest, sensitivity and discover succeed in tests/test_output_folders.py; here they
# would add seconds of imports and plots), all of them when exploring
SUCCESSES = [  # (the runs here simulate a few hundred persons: --allow-tiny)
    ["run", "bundled/gen.toml", "--out", "out/sub", "--quiet", "--allow-tiny"],
    ["run", "tiny.toml", "--out", "runfolder", "--seed", "2", "--force", "--quiet", "--no-plots", "--allow-tiny"],
    ["compare", "tiny.toml", "bundled/gen.toml", "--out", "out", "--reps", "1", "--workers", "1", "--quiet", "--no-plots",
     "--allow-tiny"],
    ["compare", "tiny.toml", "tiny_ref.toml", "--out", "cmpfolder", "--reps", "1", "--workers", "1", "--quiet", "--no-plots",
     "--allow-tiny"],
    ["report", "cmpfolder", "--no-plots"],
    ["calibrate", "tiny.toml", "--out", "emptydir", "--fit", "2023-02:2023-03", "--population", "2", "--generations", "1",
     "--workers", "1", "--docs", "docs/new.md", "--quiet"],
    ["backtest", "--scenario", "tiny.toml", "--posterior", "post.csv", "--out", "out", "--reps", "2", "--workers", "1",
     "--quiet"],
    ["sensitivity", "bundled/gen.toml", "--out", "out", "--samples", "2", "--workers", "1", "--params", "behaviour.w_wait",
     "--quiet", "--no-plots"],
    ["discover", "tiny.toml", "--reference", "tiny_ref.toml", "--out", "out", "--samples", "2", "--workers", "1",
     "--params", "behaviour.w_wait", "--quiet", "--no-plots"],
    ["validate", "bundled/suspend_stca.toml"],
    ["list", "--dir", "bundled"],
]


EXPENSIVE = ("calibrate", "backtest", "sensitivity", "discover")
if not EXPLORE:
    SUCCESSES = [argv for argv in SUCCESSES if argv[0] not in EXPENSIVE]
# ... and the refusals that matter most, every run (milliseconds each)
REFUSALS = [
    ["run", "tiny.toml", "--out", "notes", "--force", "--quiet"],
    ["run", "tiny.toml", "--out", "runmixed", "--force", "--quiet"],
    ["run", "tiny.toml", "--out", "missing/../notes", "--quiet"],
    ["compare", "tiny.toml", "--out", "afile.txt", "--reps", "1", "--workers", "1", "--quiet", "--no-plots"],
    ["run", "tiny.toml", "--out", "n" * 300, "--quiet"],
    ["report", "runfolder", "--no-plots"],
]


def _with_examples(test):
    for argv in reversed(SUCCESSES + REFUSALS):
        test = example(case=(argv, GEN, PARENT))(test)
    return test


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # extreme valid numbers (1e-320) warn in numpy; not an error
@FUZZ
@_with_examples
@given(case=cases())
def test_fuzz_cli(case, template, repo_before, tmp_path_factory):
    argv, gen, parent = case
    data, what = gen
    # Hypothesis tries variations of each new example; many differ only in draws that did not change the command
    # line or the files. An input that already passed is not run again (a failing one always is, so a failure
    # replays): the cases counted in docs/reliability.md are the distinct inputs run.
    key = (tuple(argv), data, parent)
    if key in PASSED:
        event("(a repeat of an input that passed: not run again)")
        return
    sandbox = Path(tmp_path_factory.mktemp("fuzz", numbered=True))
    shutil.rmtree(sandbox)
    shutil.copytree(template, sandbox, symlinks=True)
    (sandbox / "bundled" / "gen.toml").write_bytes(data)
    (sandbox / "gen_parent.toml").write_bytes(parent)
    before = snapshot(sandbox)
    args = _parsed(argv)
    out_before = None
    if args is not None and getattr(args, "out", None) is not None:
        out_before = _exists(sandbox / args.out)

    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")  # a terminal that wants UTF-8
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    cwd = os.getcwd()
    os.chdir(sandbox)
    t0 = time.perf_counter()
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                code = main(list(argv))
            except SystemExit as e:  # argparse: 2 for a bad argument, 0 for --help
                code = e.code
    finally:
        os.chdir(cwd)
    stdout.flush(), stderr.flush()
    out_text = stdout.buffer.getvalue().decode("utf-8", "replace")
    err_text = stderr.buffer.getvalue().decode("utf-8", "replace")
    event(f"{argv[0] if argv else '(none)'} -> exit {code}")
    if LOG:
        with open(LOG, "a") as f:
            last = (err_text.strip().splitlines() or [""])[-1]
            f.write(json.dumps({"argv": argv, "scenario": what, "file": hashlib.sha256(data + parent).hexdigest()[:12],
                                "exit": code, "seconds": round(time.perf_counter() - t0, 3),
                                "error": last[:300]}, ensure_ascii=True) + "\n")
    context = f"argv={argv!r}\nscenario file ({what}): {data[:300]!r}\nstdout: {out_text[-2000:]}\nstderr: {err_text[-2000:]}"

    assert code in (0, 2), context
    if gen == GEN and parent == PARENT:  # the explicit examples (random ones may have the same argv)
        assert code == (0 if argv in SUCCESSES else 2 if argv in REFUSALS else code), context
    assert "Traceback" not in out_text + err_text, context
    if code == 2:  # says why: argparse's usage and error, or bordersim's one line (the last one)
        assert re.search(r"^bordersim[^\n]*: error: ", err_text, re.M), context
        if "bordersim: error: " in err_text:
            assert err_text.rstrip("\n").split("\n")[-1].startswith("bordersim: error: "), context

    after = snapshot(sandbox)
    bad = _check_changes(before, after, sandbox, _allowed(args, sandbox) if args is not None else [])
    assert not bad, "changed outside --out:\n" + "\n".join(bad) + "\n" + context
    if code == 2 and out_before is False:  # refused: no half-written folder left where there was none
        out = sandbox / args.out
        assert not _exists(out) or read_mark(out) is not None, context
    left = [rel for rel in after if _temporary(rel) and rel not in before]
    assert not left, f"left half-written: {left}\n" + context  # no staging folder or temporary file, anywhere
    for d in ("scenarios", "data"):
        assert snapshot(REPO_ROOT / d) == repo_before[d], f"the repository's {d}/ changed\n" + context
    shutil.rmtree(sandbox, ignore_errors=True)
    PASSED.add(key)


if REPLAY_SEED is not None:
    test_fuzz_cli = seed(int(REPLAY_SEED))(test_fuzz_cli)

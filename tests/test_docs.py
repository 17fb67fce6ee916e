"""The docs keep up with the code: generated blocks are current, and every parameter, lever, column,
outcome, random stream, command and path the code declares is in the docs (and every path the docs name exists)."""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from simulation.core.columns import COLUMNS, KEY_COLUMNS, OUTCOMES
from simulation.core.streams import STREAMS
from simulation.present.cli import COMMANDS, build_parser
from simulation.scenario import RuleSet, Scenario

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ODD = (ROOT / "docs" / "ODD.md").read_text()
SCENARIOS = (ROOT / "docs" / "scenarios.md").read_text()


def _generate_docs():
    """docs/generate_docs.py, imported in this process (the package is already imported)."""
    spec = importlib.util.spec_from_file_location("generate_docs", ROOT / "docs" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass needs its module registered
    spec.loader.exec_module(module)
    return module


GEN = _generate_docs()


def _list_model(annotation) -> type[BaseModel] | None:
    args = getattr(annotation, "__args__", ())
    return args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else None


def _paths(model: type[BaseModel], prefix: str) -> list[str]:
    """Key paths as a scenario file spells them (aliases; ``[]`` for lists of tables), walked independently of
    the generator. A ``[[policy.change]]`` sets the levers of ``[policy]``: those are the same parameters."""
    out = []
    for name, field in model.model_fields.items():
        if prefix.endswith("change[]") and name in RuleSet.model_fields:
            continue
        path = f"{prefix}.{field.alias or name}"
        out.append(path)
        sub = _list_model(field.annotation)
        if sub is not None:
            out += _paths(sub, path + "[]")
    return out


SCHEMA_PATHS = [p for section, f in Scenario.model_fields.items() for p in _paths(f.annotation, section)]


def _block(text: str, name: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert text.count(start) == 1 and text.count(end) == 1, f"no single {start} ... {end} pair"
    return text[text.index(start): text.index(end) + len(end)]


def test_generated_docs_are_up_to_date(capsys):
    """``docs/generate_docs.py --check``."""
    assert GEN.main(["--check"]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(("path", "name"), [(path, name) for path, blocks in GEN.BLOCKS.items() for name in blocks],
                         ids=lambda x: x if isinstance(x, str) else x.name)
def test_each_generated_block_is_current(path, name):
    what, make = GEN.BLOCKS[path][name]
    on_disk = _block(path.read_text(), name)
    assert on_disk == GEN.block(name, what, make()), (
        f"the {name} block of {path.relative_to(ROOT)} is stale; run .venv/bin/python docs/generate_docs.py")


def test_schema_walk_finds_the_sections():
    assert {p.split(".")[0] for p in SCHEMA_PATHS} == set(Scenario.model_fields)
    assert "behaviour.w_wait" in SCHEMA_PATHS and "policy.change[].from" in SCHEMA_PATHS
    assert "policy.stca_between_ports" in SCHEMA_PATHS and "policy.change[].stca_between_ports" not in SCHEMA_PATHS


@pytest.mark.parametrize("path", SCHEMA_PATHS)
def test_every_parameter_is_in_the_odd_table(path):
    assert f"`{path}`" in _block(ODD, "parameters"), f"{path} is not in the parameter table of docs/ODD.md"


def test_the_odd_table_says_a_change_may_set_any_lever():
    row = next(line for line in _block(ODD, "parameters").splitlines() if line.startswith("| `policy.change[].<lever>`"))
    assert all(f"`{lever}`" in row for lever in RuleSet.model_fields)


@pytest.mark.parametrize("lever", list(RuleSet.model_fields))
def test_every_lever_is_in_the_odd_lever_table(lever):
    assert f"| `{lever}` |" in _block(ODD, "levers")


@pytest.mark.parametrize("column", KEY_COLUMNS + tuple(c.name for c in COLUMNS))
def test_every_output_column_is_in_the_odd_output_table(column):
    assert f"| `{column}` |" in _block(ODD, "outputs"), f"docs/ODD.md does not list the monthly.csv column {column!r}"


@pytest.mark.parametrize("outcome", [o.name for o in OUTCOMES])
def test_every_summary_outcome_is_in_the_odd_output_table(outcome):
    assert f"| `{outcome}` |" in _block(ODD, "outputs")


@pytest.mark.parametrize("stream", list(STREAMS))
def test_every_random_stream_is_named_in_the_odd(stream):
    assert f"`{stream}`" in ODD, f"the random stream {stream!r} (simulation/core/streams.py) is not described in docs/ODD.md"


@pytest.mark.parametrize(("doc", "text"), [("README.md", README), ("docs/ODD.md", ODD), ("docs/scenarios.md", SCENARIOS)])
def test_every_simulation_path_named_in_the_docs_exists(doc, text):
    named = set(re.findall(r"simulation/[\w/]*\w(?:\.py)?", text))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{doc} names paths that do not exist: {missing}"


def _hand_written(text: str) -> str:
    """``text`` without its generated blocks."""
    for name in re.findall(r"<!-- ([\w-]+):start -->", text):
        text = text.replace(_block(text, name), "")
    return text


def _scenario_examples(text: str) -> list[str]:
    """The hand-written TOML examples that are whole scenario files (they extend a bundled one)."""
    return [b for b in re.findall(r"```toml\n(.*?)```", _hand_written(text), re.S) if 'extends = "' in b]


def test_the_docs_have_scenario_examples():
    assert _scenario_examples(SCENARIOS) and _scenario_examples(README)


@pytest.mark.parametrize(("doc", "text"), [("README.md", README), ("docs/scenarios.md", SCENARIOS)])
def test_every_hand_written_scenario_example_loads(doc, text):
    """A scenario written by hand in the docs is loaded by the real loader, as if it sat in scenarios/."""
    for example in _scenario_examples(text):
        sc, err = GEN.load_text(example, "example.toml")
        assert sc is not None, f"a scenario example in {doc} does not load: {err}"


def test_subcommands_are_found():
    parsers = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(COMMANDS) == set(parsers[0].choices)
    assert {"run", "compare", "report", "validate", "list"} <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_is_in_the_readme(command):
    assert f"bordersim {command}" in README, f"README.md has no 'bordersim {command}'"


@pytest.mark.parametrize("column", KEY_COLUMNS + tuple(c.name for c in COLUMNS))
def test_every_output_column_is_in_the_readme(column):
    assert f"| `{column}` |" in README, f"README.md does not describe the monthly.csv column {column!r}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text, out, fenced = path.read_text(), set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            out.add(_slug(line.lstrip("#")))
    return out | set(re.findall(r'<a id="([^"]+)">', text))


@pytest.mark.parametrize("doc", ["README.md", "docs/ODD.md", "docs/scenarios.md"])
def test_every_link_to_a_section_finds_it(doc):
    source = ROOT / doc
    broken = []
    for target, anchor in re.findall(r"\]\(([\w./-]*\.md|)#([\w-]+)\)", source.read_text()):
        page = (source.parent / target).resolve() if target else source
        if not page.exists() or anchor not in _anchors(page):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{doc} links to sections that do not exist: {broken}"

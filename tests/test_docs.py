"""The docs keep up with the code: generated files are current, and every key, command and column is documented."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from simulation.present.cli import COMMANDS, build_parser
from simulation.core.columns import MONTHLY_COLUMNS as COLUMNS
from simulation.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
ODD = (ROOT / "docs" / "ODD.md").read_text()


def _model(annotation) -> type[BaseModel] | None:
    for cand in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _paths(model: type[BaseModel], prefix: str) -> list[str]:
    """Key paths as a scenario file spells them: aliases, and ``[]`` for lists of tables."""
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}"
        out.append(path)
        sub = _model(field.annotation)
        if sub is not None:
            out += _paths(sub, path + "[]")
    return out


SCHEMA_PATHS = [p for section, f in Scenario.model_fields.items() for p in _paths(_model(f.annotation), section)]
SUBCOMMANDS = sorted(COMMANDS)


def test_generated_docs_are_up_to_date(capsys):
    """``docs/generate_docs.py --check``, run in this process (the package is already imported)."""
    spec = importlib.util.spec_from_file_location("generate_docs", ROOT / "docs" / "generate_docs.py")
    generate_docs = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate_docs  # its dataclass needs its module registered
    spec.loader.exec_module(generate_docs)
    code = generate_docs.main(["--check"])
    assert code == 0, capsys.readouterr().err


def test_schema_walk_finds_the_sections():
    assert {p.split(".")[0] for p in SCHEMA_PATHS} == set(Scenario.model_fields)
    assert "behaviour.w_wait" in SCHEMA_PATHS and "policy.change[].from" in SCHEMA_PATHS


@pytest.mark.parametrize("path", SCHEMA_PATHS)
def test_every_parameter_is_in_the_odd_table(path):
    assert f"`{path}`" in ODD, f"{path} is not in docs/ODD.md; run .venv/bin/python docs/generate_docs.py"


def test_subcommands_are_found():
    parsers = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(SUBCOMMANDS) == set(parsers[0].choices)
    assert {"run", "compare", "report", "validate", "list"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_is_in_the_readme(command):
    assert f"bordersim {command}" in README, f"README.md has no 'bordersim {command}'"


@pytest.mark.parametrize("column", COLUMNS)
def test_every_output_column_is_in_the_readme(column):
    assert f"`{column}`" in README, f"README.md does not describe the monthly.csv column {column!r}"

"""The notebooks in notebooks/ are stored clean and use only the public API.

They are *executed* by nbmake (``make test`` runs ``pytest --nbmake tests notebooks``): an exception in
any cell fails the suite. Here: no stored outputs or execution counts (strip them before committing,
e.g. ``jupyter nbconvert --clear-output --inplace notebooks/*.ipynb``), the ``python3`` kernel, and
imports from ``simulation`` only through its top level (``from simulation import ...``).
"""

from __future__ import annotations

import json
import re

import pytest

from simulation.data import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"01_quickstart.ipynb", "02_renegotiation_options.ipynb", "03_calibration_and_validation.ipynb"}


def test_the_notebooks_are_there():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} hold outputs or execution counts; clear them with "
                       f"'jupyter nbconvert --clear-output --inplace {path.relative_to(REPO_ROOT)}'")
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_only_the_public_api(path):
    nb = json.loads(path.read_text())
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    private = re.findall(r"^\s*(?:from|import)\s+(simulation\.\w+)", source, flags=re.M)
    assert not private, f"{path.name} imports {private}; use 'from simulation import ...' (the public API)"
    assert re.search(r"^from simulation import ", source, flags=re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_from_any_folder_and_uses_the_shared_style(path):
    """Bundled scenarios come through the package (bundled_scenario), never from a path relative to the current
    folder; colours come from the shared palette, not from hard-coded or default cycles."""
    nb = json.loads(path.read_text())
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "Path.cwd()" not in source and not re.search(r"[\"'/]scenarios[/\"']", source)
    assert "bundled_scenario" in source
    assert not re.search(r"color=\"#(?!000000)[0-9a-fA-F]{6}\"", source.replace("#E69F00", "#000000"))

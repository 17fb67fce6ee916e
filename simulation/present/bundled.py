"""The bundled scenario files, found through the package: notebooks and scripts run from any folder.

``bundled_scenario("protocol_2023")`` is the path of ``scenarios/protocol_2023.toml`` in
the bordersim checkout the package was installed from, whatever the current
working directory; ``bundled_scenarios()`` lists them in display order (the
option order of :mod:`.style`).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ..data import REPO_ROOT
from ..scenario import ScenarioError
from .style import option_order

SCENARIO_DIR = REPO_ROOT / "scenarios"


def bundled_scenarios() -> dict[str, Path]:
    """Every bundled scenario file by name (the file's stem), options in display order, then the others."""
    files = {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}
    return {n: files[n] for n in option_order(files)}


def bundled_scenario(name: str) -> Path:
    """The path of a bundled scenario, by name ('protocol_2023' or 'protocol_2023.toml')."""
    stem = Path(name).stem
    files = bundled_scenarios()
    if stem in files:
        return files[stem]
    close = difflib.get_close_matches(stem, list(files), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ScenarioError(SCENARIO_DIR / f"{stem}.toml", "", f"no such bundled scenario{hint} "
                        f"(bundled: {', '.join(files)})")

"""Scenarios: the levers and parameters declared once, the schema built from them, and scenario files.

Importing this package loads pydantic and the standard library only (no numpy, mesa, matplotlib or pyarrow).
"""

from .levers import RuleChange, RuleSet, rules_at
from .loading import ScenarioError, load_scenario, scenario_from_dict
from .schema import Scenario

__all__ = ["RuleChange", "RuleSet", "Scenario", "ScenarioError", "load_scenario", "rules_at", "scenario_from_dict"]

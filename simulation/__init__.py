"""bordersim: an agent-based simulator of asylum-seeker flows across the Canada–US border."""

from .model import BorderModel
from .scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

__version__ = "0.1.0"
__all__ = ["BorderModel", "Scenario", "ScenarioError", "load_scenario", "scenario_from_dict", "__version__"]

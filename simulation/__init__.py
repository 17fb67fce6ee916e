"""bordersim: an agent-based simulator of asylum-seeker flows across the Canada–US border."""

__version__ = "0.1.0"

from .model import BorderModel  # noqa: E402
from .runner import compare, run_scenario  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict  # noqa: E402
from .validation import ard, observed_locations as observed_interceptions, run_backtest as backtest  # noqa: E402

__all__ = ["BorderModel", "Scenario", "ScenarioError", "ard", "backtest", "compare", "load_scenario",
           "observed_interceptions", "run_scenario", "scenario_from_dict", "__version__"]

"""bordersim: an agent-based simulator of asylum-seeker flows across the Canada–US border.

The package is layered, and data flows one way:

* :mod:`simulation.scenario`: the levers and parameters, declared once, and scenario files;
* :mod:`simulation.core`: the people, the rules, the choice, the queues, the Mesa model;
* :mod:`simulation.experiments`: one run, ensembles, calibration, validation, sensitivity;
* :mod:`simulation.present`: plots, reports, the dashboard and the command line.

The public API below is imported on first use, so ``import simulation.scenario``
does not pay for numpy, Mesa, matplotlib or pyarrow.
"""

from importlib import import_module

__version__ = "0.2.0"

#: public name -> module that defines it
_API = {
    "BorderModel": "simulation.core.model",
    "Scenario": "simulation.scenario",
    "ScenarioError": "simulation.scenario",
    "load_scenario": "simulation.scenario",
    "scenario_from_dict": "simulation.scenario",
    "simulate": "simulation.experiments.run",
    "RunResult": "simulation.experiments.run",
    "run_scenario": "simulation.experiments.run",
    "compare": "simulation.present.report",
    "backtest": "simulation.present.validation_report",
    "ard": "simulation.experiments.validation",
    "observed_interceptions": "simulation.experiments.validation",
    "backtest_origin": "simulation.experiments.validation",
    "load_posterior": "simulation.experiments.posterior",
    "summarise_posterior": "simulation.experiments.calibration",
    "effective_sample_size": "simulation.experiments.calibration",
    # presentation: the bundled scenarios from any folder, and the one palette, option order and labels
    "bundled_scenario": "simulation.present.bundled",
    "bundled_scenarios": "simulation.present.bundled",
    "option_colours": "simulation.present.style",
    "option_label": "simulation.present.style",
    "option_order": "simulation.present.style",
    "route_colours": "simulation.present.style",
    "column_label": "simulation.core.columns",
    "AxisFormat": "simulation.present.style",
}
_RENAMED = {"observed_interceptions": "observed_locations", "backtest_origin": "run_origin", "option_colours": "colours", "route_colours": "ROUTE_COLOURS",
            "column_label": "label"}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'simulation' has no attribute {name!r}")
    value = getattr(import_module(_API[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value

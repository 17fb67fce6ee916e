"""The model core: the people, the rules, the route choice, what people know, the queues, reception, the Mesa model.

No file is written here and nothing is plotted; :class:`simulation.core.model.BorderModel` takes a resolved
:class:`~simulation.scenario.Scenario` and reports monthly rows through its Mesa DataCollector.
"""

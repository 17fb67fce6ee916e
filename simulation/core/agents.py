"""The asylum seeker as a Mesa agent: a thin view onto the population arrays.

The state of every person lives in :class:`simulation.core.people.People`
(one numpy array per attribute), because the decisions of a day are computed
for all deciders at once, never by stepping agents one by one. An
:class:`AsylumSeeker` holds only its person id and reads through to those
arrays, so the people one wants to look at can be selected, grouped and
inspected the Mesa way (``model.sample_agents(1000).groupby("group")``)
without a second copy of the state. Views are made on demand
(:meth:`BorderModel.person`, :meth:`BorderModel.sample_agents`) and kept in
``model.agents``; the simulation itself never makes one, so a run costs the
same whether or not anyone looks.
"""

from __future__ import annotations

import mesa

from ..scenario.groups import GROUPS
from .people import State


class AsylumSeeker(mesa.Agent):
    """One person in the US (or, later, in Canada): a claimant in the making."""

    def __init__(self, model, person_id: int):
        super().__init__(model)
        self.person_id = int(person_id)

    @classmethod
    def view(cls, model, person_id: int) -> AsylumSeeker:
        """The view of ``person_id`` in ``model``: made on first use, then the same object."""
        views = model.__dict__.setdefault("_person_views", {})
        if person_id not in views:
            if not 0 <= person_id < model.n_entered:
                raise IndexError(f"person {person_id} has not entered the model (0 <= id < {model.n_entered})")
            views[person_id] = cls(model, person_id)
        return views[person_id]

    @property
    def _people(self):
        return self.model.people

    @property
    def state(self) -> State:
        return State(int(self._people.state[self.person_id]))

    @property
    def group(self) -> str:
        return GROUPS[int(self._people.group[self.person_id])]

    @property
    def aware(self) -> bool:
        return bool(self._people.aware[self.person_id])

    @property
    def family_in_canada(self) -> bool:
        return bool(self._people.family[self.person_id])

    @property
    def unaccompanied_minor(self) -> bool:
        return bool(self._people.unaccompanied_minor[self.person_id])

    @property
    def document_holder(self) -> bool:
        return bool(self._people.document_holder[self.person_id])

    @property
    def household_size(self) -> int:
        return int(self._people.household_size[self.person_id])

    @property
    def money(self) -> float:
        return float(self._people.money[self.person_id])

    @property
    def risk_tolerance(self) -> float:
        return float(self._people.risk_tolerance[self.person_id])

    @property
    def days_in_us(self) -> int:
        return int(self.model.day - self._people.us_arrival_day[self.person_id])

    @property
    def times_returned(self) -> int:
        return int(self._people.returns[self.person_id])

    def __repr__(self) -> str:
        return f"AsylumSeeker(id={self.person_id}, group={self.group}, state={self.state.name})"

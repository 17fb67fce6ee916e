"""The asylum seeker as a Mesa agent: a thin view onto the population arrays.

The state of every person lives in :class:`simulation.population.People`
(one numpy array per attribute), because the decisions of a day are computed
for all deciders at once. An :class:`AsylumSeeker` holds only its person id
and reads and writes through to those arrays, so ``model.agents`` can be
selected, grouped and inspected the Mesa way without a second copy of the
state. Each view costs ~0.2-0.3 kB and ~7 µs to create (docs/performance.md), so they are created only for runs with
at most ``BorderModel.max_mesa_agents`` persons; larger runs keep the arrays
alone and :meth:`BorderModel.person` makes a view on demand.
"""

from __future__ import annotations

import mesa

from .groups import GROUPS
from .population import State


class AsylumSeeker(mesa.Agent):
    """One person in the US (or, later, in Canada): a claimant in the making."""

    def __init__(self, model, person_id: int):
        super().__init__(model)
        self.person_id = int(person_id)

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

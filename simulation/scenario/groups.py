"""Nationality groups the model distinguishes, and facts attached to each.

The groups are the main nationalities of irregular crossers into Quebec
2017–2023 (IRCC, CIMM briefing 2022-11-18; Public Safety binder 2020-07-24)
plus the largest nationalities in US encounters, and two remainders.
"""

from __future__ import annotations

GROUPS: tuple[str, ...] = (
    "haiti",
    "venezuela",
    "colombia",
    "mexico",
    "cuba",
    "nigeria",
    "turkey",
    "central_america",
    "other_americas",
    "other",
)

#: Groups from the Western Hemisphere (the Americas), for resettlement eligibility.
WESTERN_HEMISPHERE: tuple[str, ...] = (
    "haiti",
    "venezuela",
    "colombia",
    "mexico",
    "cuba",
    "central_america",
    "other_americas",
)

GROUP_INDEX = {g: i for i, g in enumerate(GROUPS)}


def group_mask(names) -> list[bool]:
    """One bool per group: is it in ``names``?"""
    names = set(names)
    return [g in names for g in GROUPS]

"""Common random numbers: one stream per decision, read at each person's own slot.

Every random draw in a run is ``uniform(decision, step, person_ids)``: a
counter-based generator (the SplitMix64 finaliser, as used to seed
xoshiro/PCG generators) keyed by the replication seed and a stable hash of the
decision's name, evaluated at (step, person id). The draw a person gets for a
decision on a day therefore does not depend on who else decides that day, on
how many draws other decisions made, or on the scenario. Two scenarios that
differ only after a date are identical before it, and afterwards a person's
path changes only where the policy changed it (Klein et al. 2024, "Starsim:
common random numbers", arXiv:2409.02086).

The per-decision key comes from ``numpy.random.SeedSequence([seed, crc32(name)])``.
Every stream is registered in :data:`STREAMS` with what it is for; drawing from
an unregistered name is an error. With ``Streams(seed, guard=True)`` (used by
the tests) a stream read twice for the same person on the same day is an
error too, in the spirit of Starsim's guard against reused draws: two
decisions sharing one draw would be silently correlated.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S12 = (np.uint64(s) for s in (30, 27, 31, 12))
_TO_UNIT = 1.0 / float(1 << 52)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (a bijection on uint64, good avalanche)."""
    return _mix_inplace(np.array(z, dtype=np.uint64))


def _mix_inplace(z: np.ndarray) -> np.ndarray:
    """:func:`_mix` computed in ``z`` itself (a uint64 array the caller owns): no temporaries but one."""
    t = z >> _S30
    z ^= t
    z *= _M1
    np.right_shift(z, _S27, out=t)
    z ^= t
    z *= _M2
    np.right_shift(z, _S31, out=t)
    z ^= t
    return z


#: Every random stream of a run: name -> what it decides. Names ending in "/*" are families of streams
#: numbered 0, 1, 2... (one per contact slot).
STREAMS: dict[str, str] = {
    # the people, drawn once at set-up (step 0)
    "population/initial_order": "order of arrival in the US of the initial stock",
    "population/initial_arrival": "day of arrival in the US of the initial stock",
    "population/family": "whether a person has a family member in Canada (STCA family exception)",
    "population/family_belief": "whether a person believes they have a qualifying family member in Canada",
    "population/household": "household size a person travels with",
    "population/money": "money available for travel",
    "population/risk_tolerance": "tolerance of physical risk",
    "population/unaccompanied_minor": "unaccompanied minor (STCA exception)",
    "population/document_holder": "holder of a Canadian visa or document (STCA exception)",
    "population/public_interest": "covered by the public-interest exception",
    "population/north_taste": "a person's own wish to go to Canada (random effect of the mixed logit)",
    "population/aware": "aware of the northern routes on arrival",
    "population/contact_same/*": "contact slot j is drawn from one's own nationality group",
    "population/contact_pick/*": "which person fills contact slot j",
    # every day
    "decision_interval": "days until a person reconsiders",
    "route_choice": "Gumbel draws of the route choice (one per person and option)",
    "route_choice/nest": "Gumbel draws of the nest choice (stay / go north / leave)",
    "awareness": "learning of the routes from contacts and the news",
    "news_shock": "learning of the routes from a dated news event",
    "rule_knowledge": "learning of the rules in force from contacts",
    "rule_news": "hearing of a rule change in the news on the day it takes effect",
    "referral": "the claim is referred to the IRB (not found ineligible, withdrawn or abandoned first)",
    "us_decision": "US asylum decision: granted or denied",
    "eligibility": "ordinary eligibility checks after an STCA exception",
    "detection": "detected by the RCMP when crossing between ports",
    "in_quebec": "the claim is made in Quebec",
    "processed_inland": "an intercepted crosser's claim is completed at an inland office",
    "shelter_need": "the claimant needs a shelter place",
    "shelter_stay": "length of a shelter stay",
    "irb_decision": "IRB decision: accepted or rejected",
    "resettlement": "order in which humanitarian places go to eligible arrivals",
}


class StreamError(Exception):
    """A stream that is not registered, or read twice for the same person on the same day."""


def check_stream(name: str) -> None:
    if name in STREAMS:
        return
    family, _, index = name.rpartition("/")
    if index.isdigit() and f"{family}/*" in STREAMS:
        return
    raise StreamError(f"random stream {name!r} is not registered in simulation.core.streams.STREAMS")


def decision_key(seed: int, name: str) -> np.uint64:
    """A 64-bit key for one decision stream of one replication."""
    state = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1, np.uint64)
    return state[0]


class Streams:
    """The random streams of one replication.

    >>> s = Streams(7)
    >>> a = s.uniform("route_choice", 10, np.array([3, 5]))
    >>> bool((a == s.uniform("route_choice", 10, np.array([5, 3]))[::-1]).all())
    True
    """

    def __init__(self, seed: int, guard: bool = False):
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}
        self._drawn: dict[tuple[str, int], np.ndarray] | None = {} if guard else None

    def _key(self, name: str) -> np.uint64:
        key = self._keys.get(name)
        if key is None:
            check_stream(name)
            key = self._keys[name] = decision_key(self.seed, name)
        return key

    def _check_fresh(self, name: str, step: int, ids: np.ndarray) -> None:
        """(guard) Fail if any of ``ids`` already drew from ``name`` at ``step``."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        seen = self._drawn.get((name, step))
        if seen is not None:
            again = ids[np.isin(ids, seen)]
            if len(again):
                raise StreamError(f"stream {name!r} read twice on step {step} for person(s) {again[:5].tolist()}")
            ids = np.concatenate([seen, ids])
        if len(np.unique(ids)) != len(ids):
            raise StreamError(f"stream {name!r} read twice on step {step} for the same person in one call")
        self._drawn[(name, step)] = ids

    def bits(self, name: str, step: int, slots: np.ndarray) -> np.ndarray:
        """Raw uint64 draws for ``slots`` (person ids, or id * k + option) at ``step``."""
        salt = ((int(step) + 1) * int(_GOLDEN)) & 0xFFFFFFFFFFFFFFFF  # python ints: no overflow warning
        step_key = self._step_key(name, salt)
        slots = np.asarray(slots, dtype=np.uint64)
        z = np.multiply(slots.reshape(1) if slots.ndim == 0 else slots, _GOLDEN)  # a new array: mixed in place
        z += step_key
        return _mix_inplace(z)

    def _step_key(self, name: str, salt: int) -> np.uint64:
        # one number per call: plain Python ints are faster than a 1-element array (same bits as _mix)
        z = int(self._key(name)) ^ salt
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return np.uint64(z ^ (z >> 31))

    def uniform(self, name: str, step: int, slots: np.ndarray) -> np.ndarray:
        """Uniform floats strictly inside (0, 1), one per person id in ``slots`` (so logs never see 0 or 1)."""
        if self._drawn is not None:
            self._check_fresh(name, step, slots)
        return self._unit(name, step, slots)

    def _unit(self, name: str, step: int, slots: np.ndarray) -> np.ndarray:
        # 52 bits + 0.5 is exact in a double, so the result never rounds to 0 or 1
        b = self.bits(name, step, slots)
        b >>= _S12
        u = b.astype(np.float64)
        u += 0.5
        u *= _TO_UNIT
        return u

    def normal(self, name: str, step: int, slots: np.ndarray) -> np.ndarray:
        """Standard normal draws, one per slot (inverse-CDF-free Box–Muller on two slots)."""
        slots = np.asarray(slots, dtype=np.uint64)
        if self._drawn is not None:
            self._check_fresh(name, step, slots)
        u1 = self._unit(name, step, slots * np.uint64(2))
        u2 = self._unit(name, step, slots * np.uint64(2) + np.uint64(1))
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def gumbel(self, name: str, step: int, ids: np.ndarray, n_options: int) -> np.ndarray:
        """An (len(ids), n_options) array of standard Gumbel draws, for a logit choice."""
        ids = np.asarray(ids, dtype=np.uint64)
        if self._drawn is not None:
            self._check_fresh(name, step, ids)
        slots = ids[:, None] * np.uint64(n_options) + np.arange(n_options, dtype=np.uint64)[None, :]
        g = self._unit(name, step, slots)  # a new array: -log(-log(u)) computed in place
        np.log(g, out=g)
        np.negative(g, out=g)
        np.log(g, out=g)
        np.negative(g, out=g)
        return g

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

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def _key(self, name: str) -> np.uint64:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = decision_key(self.seed, name)
        return key

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
        """Uniform floats strictly inside (0, 1), one per slot (so logs never see 0 or 1)."""
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
        u1 = self.uniform(name, step, slots * np.uint64(2))
        u2 = self.uniform(name, step, slots * np.uint64(2) + np.uint64(1))
        return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)

    def gumbel(self, name: str, step: int, ids: np.ndarray, n_options: int) -> np.ndarray:
        """An (len(ids), n_options) array of standard Gumbel draws, for a logit choice."""
        ids = np.asarray(ids, dtype=np.uint64)
        slots = ids[:, None] * np.uint64(n_options) + np.arange(n_options, dtype=np.uint64)[None, :]
        g = self.uniform(name, step, slots)  # a new array: -log(-log(u)) computed in place
        np.log(g, out=g)
        np.negative(g, out=g)
        np.log(g, out=g)
        np.negative(g, out=g)
        return g

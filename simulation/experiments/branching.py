"""Branching: simulate once what several options share, save the model's whole state, continue each option from it.

Options compared with common random numbers are identical up to their first
dated difference (the tests check it). :func:`first_difference_day` finds that
day by comparing what the model computes from each scenario (its
:meth:`~simulation.core.model.BorderModel._derive` values: the rules in force
each day, the dated parameters, the exogenous claims, news events, arrivals);
:class:`Snapshot` holds a model's whole state at a day (the people, the
decision calendar, the queues, the shelters, the recorder and its Mesa
DataCollector, Mesa's own state), and :func:`continue_as` turns a copy of it
into a model of another option: the same state, the option's own derived
values. A run continued so is byte-identical to an independent run of the
option (``tests/test_branching.py`` checks every bundled option).

What a branch may change. Only the parts of a scenario whose effect the model
takes entirely from its derived values: the rules (``[policy]`` and its dated
changes), dated parameters evaluated day by day (``model.daily``), the
exogenous claims, news events, and the scenario's name and description. Two
options that differ in anything else (a behavioural weight, the population,
the window) differ from day 0: they are run independently.

A snapshot pickles the model. The people's fixed attributes (about 70 % of
the bytes) are kept aside and shared, read-only, by every model restored from
the snapshot in the same process; :meth:`Snapshot.save` writes them into the
file. A saved state is tied to the model code that wrote it (a digest of
``simulation/core``), since a pickled model is only valid for that code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import pickle
from pathlib import Path

import numpy as np

from ..calendar import parse_date
from ..core.model import BorderModel
from ..scenario import Scenario

#: the attributes of People that never change after set-up (shared between branches, read-only)
FIXED_PEOPLE = ("group", "origin", "has_case", "entry_day", "us_arrival_day", "family", "unaccompanied_minor",
                "document_holder", "public_interest", "household_size", "money", "risk_tolerance", "north_taste",
                "aware_at_entry", "contacts")

#: dated parameters whose per-day values the model keeps in ``model.daily`` (spec path -> key of ``daily``)
DAILY = {
    ("us", "decisions_per_month"): "us_decisions_per_month",
    ("canada", "irb_decisions_per_month"): "irb_decisions_per_month",
    ("canada", "referral_capacity_per_month"): "referral_capacity_per_month",
    ("canada", "quebec_shelter_capacity"): "quebec_shelter_capacity",
    ("canada", "quebec_overflow_capacity"): "quebec_overflow_capacity",
    ("canada", "shelter_cost_per_day"): "shelter_cost_per_day",
    ("canada", "assistance_per_claimant_month"): "assistance_per_claimant_month",
    ("canada", "interceptions_processed_inland_share"): "interceptions_processed_inland_share",
}
#: spec paths (prefixes) whose whole effect is in the derived values compared day by day
CAPTURED = {("scenario",), ("policy",), ("behaviour", "news"), ("canada", "exogenous_claims_file"),
            ("canada", "exogenous_claims_multiplier"), *DAILY}
#: the scenario meta keys that end up in the outputs (the monthly rows' "scenario" column is fixed on branching)
STATE_FORMAT = 1


class BranchError(Exception):
    """A model cannot be continued as this option (it differs before the model's day, or in what it shares)."""


# --- when two options start to differ ---------------------------------------------------


class Derived:
    """What :meth:`BorderModel._derive` computes from a scenario (no people): the values a branch replaces.

    Computing them takes ~0.1 s (data files, calendars), so they are kept per process for the last
    scenarios seen (keyed by the scenario's digest and scale; seed and spec are set per use). The arrays
    are shared by every model continued from them, so they are made read-only.
    """

    _cache: dict[tuple, dict] = {}
    _CACHE_SIZE = 32

    def __init__(self, sc: Scenario):
        key = (sc.digest(), sc.run.scale)
        values = self._cache.get(key)
        if values is None:
            probe = object.__new__(BorderModel)
            BorderModel._derive(probe, sc)
            values = vars(probe)
            _freeze(values)
            if len(self._cache) >= self._CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = values
        self.values = {**values, "spec": sc, "seed": sc.run.seed}

    def __getitem__(self, name):
        return self.values[name]


def _freeze(obj) -> None:
    if isinstance(obj, np.ndarray):
        obj.flags.writeable = False
    elif isinstance(obj, dict):
        for v in obj.values():
            _freeze(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _freeze(v)
    elif hasattr(obj, "__dataclass_fields__"):
        for f in obj.__dataclass_fields__:
            _freeze(getattr(obj, f))


def _flatten(d, prefix=()) -> dict[tuple, object]:
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out |= _flatten(v, prefix + (k,))
        if not d:
            out[prefix] = {}
    else:
        out[prefix] = d
    return out


def _captured(path: tuple) -> bool:
    return any(path[: len(c)] == c for c in CAPTURED)


def _first_false(eq: np.ndarray) -> int:
    """Index of the first False in ``eq`` (len(eq) if none)."""
    bad = np.flatnonzero(~eq)
    return int(bad[0]) if len(bad) else len(eq)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__dataclass_fields__") and type(a) is type(b):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return a == b


def _rules_by_day(d: Derived) -> list:
    return [rules.values() for rules in d["regimes"]]


def _derived_first_difference(a: Derived, b: Derived) -> int:
    """The first day on which the derived values of two scenarios differ (n_days if never)."""
    n = a["n_days"]
    if b["n_days"] != n or a["first_day"] != b["first_day"] or a["seed"] != b["seed"] or a["scale"] != b["scale"]:
        return 0
    first = n
    # the rules in force: the regime each day, by index (people remember regimes by index) and by content
    ra, rb = a["regime_of_day"], b["regime_of_day"]
    va, vb = _rules_by_day(a), _rules_by_day(b)
    same_rules = np.array([i < len(vb) and va[i] == vb[i] for i in range(len(va))])
    eq = (ra == rb) & same_rules[ra]
    first = min(first, _first_false(eq))
    for name in a["daily"].keys() | b["daily"].keys():
        if name not in a["daily"] or name not in b["daily"]:
            return 0
        first = min(first, _first_false(a["daily"][name] == b["daily"][name]))
    ea, eb = a["_exogenous_per_day"], b["_exogenous_per_day"]
    first = min(first, _first_false((ea == eb).all(axis=1)))
    news_a = {(day, repr(e.model_dump(mode="json"))) for e, day in a["_news"]}
    news_b = {(day, repr(e.model_dump(mode="json"))) for e, day in b["_news"]}
    for day, _ in news_a ^ news_b:
        first = min(first, max(day, 0))
    # everything else derived must be the same throughout (arrivals, grant rates, ...)
    compared = {"spec", "seed", "scale", "first_day", "n_days", "rule_changes", "timeline", "regimes",
                "_regime_start", "regime_of_day", "daily", "_exogenous_per_day", "exogenous_projected_months", "_news"}
    for name in a.values.keys() | b.values.keys():
        if name in compared:
            continue
        if name not in a.values or name not in b.values or not _same(a[name], b[name]):
            return 0
    return first


def first_difference_day(base: Scenario, option: Scenario) -> int:
    """The first model day on which ``option`` may behave differently from ``base`` (0: from the start).

    Returns the number of days of the window when they never differ.
    """
    fa, fb = _flatten(base.to_dict()), _flatten(option.to_dict())
    for path in fa.keys() | fb.keys():
        if fa.get(path, _MISSING) != fb.get(path, _MISSING) and not _captured(path):
            return 0
    return _derived_first_difference(Derived(base), Derived(option))


_MISSING = object()


def shared_key(sc: Scenario) -> str:
    """A digest of everything in ``sc`` a branch cannot change: scenarios with the same key may share a path."""
    kept = sorted((repr(p), repr(v)) for p, v in _flatten(sc.to_dict()).items() if not _captured(p))
    return hashlib.sha256(repr(kept).encode()).hexdigest()[:16]


def branch_days(scenarios: list[Scenario]) -> list[int]:
    """For each scenario, the day it leaves the path of the first one (the first's own: its number of days)."""
    base = Derived(scenarios[0])
    out = [base["n_days"]]
    fb = _flatten(scenarios[0].to_dict())
    for sc in scenarios[1:]:
        fo = _flatten(sc.to_dict())
        if any(fb.get(p, _MISSING) != fo.get(p, _MISSING) and not _captured(p) for p in fb.keys() | fo.keys()):
            out.append(0)
        else:
            out.append(_derived_first_difference(base, Derived(sc)))
    return out


# --- the snapshot -------------------------------------------------------------------------


def code_digest() -> str:
    """A digest of the model code (simulation/core): a saved state is valid only for the code that wrote it."""
    core = Path(__file__).resolve().parent.parent / "core"
    h = hashlib.sha256()
    for path in sorted(core.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class _Pickler(pickle.Pickler):
    def __init__(self, file, shared: dict[int, tuple[str, np.ndarray]]):
        super().__init__(file, protocol=5)
        self._shared = shared

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray):
            hit = self._shared.get(id(obj))
            if hit is not None and hit[1] is obj:
                return hit[0]
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, arrays: dict[str, np.ndarray]):
        super().__init__(file)
        self._arrays = arrays

    def persistent_load(self, key):
        return self._arrays[key]


def _fixed_arrays(model: BorderModel) -> dict[str, np.ndarray]:
    p = model.people
    out = {f"people.{name}": getattr(p, name) for name in FIXED_PEOPLE}
    records = getattr(model, "_kernel_people", None)
    if records is not None and getattr(model, "_kernel_people_of", None) is p:
        out["kernel.person_records"] = records
    return out


class Snapshot:
    """A model's whole state at the start of day :attr:`day`: pickled, with the people's fixed attributes aside.

    ``restore()`` gives a new, independent model each time (the fixed attributes are shared, read-only).
    """

    def __init__(self, model: BorderModel):
        if model.decision_log is not None:
            raise BranchError("a model keeping a decision log cannot be snapshotted (the log is not state)")
        self.day = model.day
        self.scenario = model.spec
        self.arrays = _fixed_arrays(model)
        buf = io.BytesIO()
        _Pickler(buf, {id(a): (k, a) for k, a in self.arrays.items()}).dump(model)
        self.blob = buf.getvalue()
        for a in self.arrays.values():
            a.flags.writeable = False  # shared from now on: the snapshotted model too must not change them

    @property
    def date(self) -> dt.date:
        return self.scenario.time.first_day + dt.timedelta(days=self.day)

    def nbytes(self) -> int:
        return len(self.blob) + sum(a.nbytes for a in self.arrays.values())

    def restore(self) -> BorderModel:
        """A new model in the snapshot's state (of the snapshot's scenario)."""
        return _Unpickler(io.BytesIO(self.blob), self.arrays).load()

    # --- files: "save a history state once, run any number of what-ifs from it" ---

    def save(self, path: Path) -> None:
        from ..files import write_atomic

        header = {"format": STATE_FORMAT, "code": code_digest(), "day": self.day, "date": str(self.date),
                  "scenario": self.scenario.to_dict()}
        buf = io.BytesIO()
        pickle.dump((header, self.blob, {k: np.asarray(a) for k, a in self.arrays.items()}), buf, protocol=5)
        write_atomic(Path(path), buf.getvalue())

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        try:
            with open(path, "rb") as f:
                header, blob, arrays = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise BranchError(f"{path}: not a bordersim state file ({e})") from None
        if not isinstance(header, dict) or header.get("format") != STATE_FORMAT:
            raise BranchError(f"{path}: not a bordersim state file of format {STATE_FORMAT}")
        if header.get("code") != code_digest():
            raise BranchError(f"{path}: saved by another version of the model code ({header.get('code')}, this is "
                              f"{code_digest()}); save the state again with this version")
        from ..scenario import scenario_from_dict

        snap = object.__new__(cls)
        snap.day, snap.blob, snap.arrays = header["day"], blob, arrays
        snap.scenario = scenario_from_dict(header["scenario"])
        for a in arrays.values():
            a.flags.writeable = False
        return snap


def continue_as(snapshot: Snapshot, scenario: Scenario) -> BorderModel:
    """A model in ``snapshot``'s state that continues as ``scenario`` (its rules, dated values, name).

    Raises :class:`BranchError` if ``scenario`` differs from the snapshot's scenario before the snapshot's day
    (then its past would not be the snapshot's).
    """
    base = snapshot.scenario
    differs = first_difference_day(base, scenario)
    if differs < snapshot.day:
        when = base.time.first_day + dt.timedelta(days=differs)
        raise BranchError(f"scenario {scenario.name!r} differs from {base.name!r} from {when} on, before the saved "
                          f"state's day ({snapshot.date}); run it from the start (or from an earlier state)")
    model = snapshot.restore()
    if scenario is base or scenario.to_dict() == base.to_dict():
        return model
    vars(model).update(Derived(scenario).values)
    _rename_rows(model, scenario.name)
    return model


def _rename_rows(model: BorderModel, name: str) -> None:
    """The months already closed carry the scenario's name: the option's, as in its own run."""
    dc = model.datacollector
    if "scenario" in dc.model_vars:
        dc.model_vars["scenario"] = [name] * len(dc.model_vars["scenario"])
    if model.recorder.last:
        model.recorder.last = {**model.recorder.last, "scenario": name}


def run_until(model: BorderModel, day: int) -> BorderModel:
    """Step ``model`` to the start of ``day`` (no further than its end)."""
    stop = min(day, model.n_days)
    while model.running and model.day < stop:
        model.step()
    return model


def day_of(model_or_scenario, date) -> int:
    sc = model_or_scenario.spec if isinstance(model_or_scenario, BorderModel) else model_or_scenario
    return (parse_date(date) - sc.time.first_day).days

"""Reading scenario files: TOML, ``extends`` chains, merging, and errors that name the file, key and value.

A file may ``extends = "other.toml"``. Tables merge key by key, at every
depth (per-group and dated tables included: a child that sets
``family_in_canada.haiti`` keeps the parent's other groups); a value that is
not a table replaces the parent's. The lists of named tables
(``policy.change``, ``behaviour.news``, ``population.event``) merge by ``name``, so an option states
only what differs, e.g. ``enabled = false`` to drop a change.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from .schema import Scenario


class ScenarioError(Exception):
    """A scenario file is wrong. The message names the file, the key, the value and what is allowed."""

    def __init__(self, file: str | Path, key: str, message: str):
        self.file, self.key = str(file), key
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


_NAMED_LISTS = {("policy", "change"), ("behaviour", "news"), ("population", "event")}


def _merge(parent: dict, child: dict, path: tuple = ()) -> dict:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        here = path + (key,)
        if here in _NAMED_LISTS and isinstance(value, list) and isinstance(out.get(key), list):
            merged = {item.get("name"): item for item in out[key] if isinstance(item, dict)}
            order = list(merged)
            for item in value:
                name = item.get("name") if isinstance(item, dict) else None
                if name in merged:
                    merged[name] = {**merged[name], **item}
                else:
                    merged[name] = item
                    order.append(name)
            out[key] = [merged[n] for n in order]
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, here)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_toml(path: Path) -> dict:
    try:
        if path.is_dir():
            raise ScenarioError(path, "", "is a folder, not a scenario file; name a .toml file (see 'bordersim list')")
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found (see 'bordersim list' for the bundled scenarios)") from None
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "not a text file (TOML must be UTF-8 text); is this the right file?") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(path, "", f"not valid TOML: {e}") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read: {e.strerror}") from None
    if not raw:
        raise ScenarioError(path, "", "is empty: a scenario file needs at least a [scenario] table "
                                      "(name, description) or 'extends' (see docs/scenarios.md)")
    return raw


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys allowed at a location in the schema (for 'unknown key' messages)."""
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        nxt = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if nxt is None:
            return []
        model = nxt
    return [(f.alias or n) for n, f in model.model_fields.items()]


def _format_error(path: Path, err: ValidationError) -> ScenarioError:
    e = err.errors()[0]
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (p.startswith("function-") or p in ("float", "dict[str,float]"))))
    key = ".".join(str(p) for p in loc if not isinstance(p, int)) or ""
    # show list indices as key[i]
    parts = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"
        else:
            parts.append(str(p))
    key = ".".join(parts)
    value = e.get("input")
    if e["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        return ScenarioError(path, key, f"unknown key; allowed here: {', '.join(allowed)}")
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "literal_error" and "expected" in (e.get("ctx") or {}):
        msg = f"must be one of {e['ctx']['expected']}"
    if isinstance(value, dict) and len(str(value)) > 200:
        return ScenarioError(path, key, msg)
    return ScenarioError(path, key, f"{value!r} is not allowed: {msg}" if "input" in e and not isinstance(value, dict) else msg)


def _validate(path: Path, raw: dict, partial: bool = False) -> Scenario:
    try:
        return Scenario.model_validate(raw, context={"partial": partial})
    except ValidationError as err:
        raise _format_error(path, err) from None


def _resolve(path: Path, chain: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(chain[-1], "scenario.extends", f"cycle in extends: {cycle}")
    raw = _read_toml(path)
    # each file's own keys and types are checked alone, so errors name the right file; checks that need
    # the whole scenario (required dates, the time window) run once the chain is merged
    _validate(path, raw, partial=True)
    parent_name = raw.get("scenario", {}).get("extends")
    if parent_name is None:
        return raw
    if "\x00" in parent_name:
        raise ScenarioError(path, "scenario.extends", f"{parent_name!r} is not allowed: a file name cannot hold a NUL character")
    parent_path = (path.parent / parent_name).resolve()
    try:
        found = parent_path.is_file()
    except OSError as e:  # e.g. a name too long for the file system
        raise ScenarioError(path, "scenario.extends", f"{parent_name!r} cannot be read: {e.strerror}") from None
    if not found:
        raise ScenarioError(path, "scenario.extends", f"{parent_name!r} does not exist (looked for {parent_path})")
    parent = _resolve(parent_path, (*chain, path))
    parent.setdefault("scenario", {}).pop("extends", None)
    merged = _merge(parent, raw)
    # a child always names itself; it does not inherit the parent's name or description
    merged["scenario"]["name"] = raw.get("scenario", {}).get("name", path.stem)
    merged["scenario"]["description"] = raw.get("scenario", {}).get("description", "")
    return merged


def load_scenario(path: str | Path, **run_overrides) -> Scenario:
    """Read a scenario file, resolve ``extends``, validate, and apply ``--seed``/``--scale`` overrides."""
    path = Path(path)
    raw = _resolve(path, ())
    raw.setdefault("scenario", {}).setdefault("name", path.stem)
    raw["scenario"]["extends"] = None
    overrides = {k: v for k, v in run_overrides.items() if v is not None}
    if overrides:
        raw.setdefault("run", {}).update(overrides)
    scenario = _validate(path, raw)
    _check_usable(path, scenario)
    check_size(scenario, path)
    return scenario


#: Bounds the schema leaves open that a run needs: the name becomes part of folder names (``reps/NAME-...``),
#: the seed seeds 32-bit generators (Optuna's sampler), and the people simulated must fit in memory.
MAX_NAME_BYTES = 100
MAX_SEED = 2**32 - 1
MAX_PEOPLE_AT_START = 10_000_000
MAX_INFLOW_AT_SCALE = 10.0


def _check_usable(path: Path, sc: Scenario) -> None:
    """The checks of a scenario file the schema does not make: a name usable in a folder name, a 32-bit seed,
    a data file name without a NUL character."""
    name = sc.scenario.name
    if name in ("", ".", "..") or any(c in name for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ScenarioError(path, "scenario.name", f"{name!r} is not allowed: the name is used in folder names, so it "
                                                   "cannot be empty, '.' or '..', or hold '/', '\\' or control characters")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise ScenarioError(path, "scenario.name", f"{name[:40]!r}... is too long: at most {MAX_NAME_BYTES} bytes "
                                                   "(it is used in folder names)")
    if sc.run.seed > MAX_SEED:
        raise ScenarioError(path, "run.seed", f"{sc.run.seed} is out of range; allowed: 0 .. {MAX_SEED}")
    if "\x00" in sc.population.inflow_file:
        raise ScenarioError(path, "population.inflow_file",
                            f"{sc.population.inflow_file!r} is not allowed: a file name cannot hold a NUL character")


def check_size(sc: Scenario, origin: str | Path, scale: float | None = None) -> None:
    """Refuse a scenario whose population would not fit in memory at ``scale`` (default: its ``run.scale``)
    with a :class:`ScenarioError`, instead of a failed allocation or an overflow deep in the model."""
    scale = sc.run.scale if scale is None else scale
    pop = sc.population
    people = pop.initial_us_pool * scale
    if not people <= MAX_PEOPLE_AT_START:
        raise ScenarioError(origin, "population.initial_us_pool",
                            f"{pop.initial_us_pool:g} at scale {scale:g} would simulate {people:.3g} people at the start; "
                            f"allowed: at most {MAX_PEOPLE_AT_START:,} (lower the pool or the scale)")
    if not pop.inflow_multiplier * scale <= MAX_INFLOW_AT_SCALE:
        raise ScenarioError(origin, "population.inflow_multiplier",
                            f"{pop.inflow_multiplier:g} at scale {scale:g} would simulate {pop.inflow_multiplier * scale:.3g} "
                            f"times the real inflow; allowed: inflow_multiplier x scale <= {MAX_INFLOW_AT_SCALE:g}")


def scenario_from_dict(raw: dict, origin: str = "<dict>") -> Scenario:
    """Validate a scenario given as a dict (for notebooks and tests)."""
    return _validate(Path(origin), raw)

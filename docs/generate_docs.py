"""Build docs/scenarios.md, the parameter table of docs/ODD.md and the CLI reference of README.md.

    .venv/bin/python docs/generate_docs.py             # rewrite the generated files
    .venv/bin/python docs/generate_docs.py --check     # exit 1 if they are out of date
    .venv/bin/python docs/generate_docs.py --patterns  # also rerun history.toml for the ODD pattern table

Everything a table says about a key comes from :mod:`simulation.scenario`:
the field's ``description``, its default, its type and bounds, and the
``unit`` and ``source`` kept in ``json_schema_extra``. The worked examples
are the bundled ``scenarios/*.toml`` files, copied verbatim, with the rule
timeline each one resolves to. The example option written for the docs is
loaded through :func:`simulation.scenario.load_scenario` while the docs are
built, so an example that stops validating stops the build.

The output depends only on the schema, the bundled scenarios and this file
(no dates, no paths of this machine), so ``--check`` is exact.

The pattern table of docs/ODD.md (between ``<!-- patterns:start -->`` and
``<!-- patterns:end -->``) compares one run of ``scenarios/history.toml``
with the observations in ``data/``. It needs a model run (a few seconds), so
it is rebuilt only with ``--patterns`` and is not part of ``--check``: rerun
it after any change to the model or its defaults.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402

from simulation.core import rules as R  # noqa: E402
from simulation.scenario.groups import GROUPS, WESTERN_HEMISPHERE  # noqa: E402
from simulation.scenario import (  # noqa: E402
    NewsEvent,
    PolicyChange,
    RuleFields,
    Scenario,
    ScenarioError,
    load_scenario,
)

SCENARIOS_MD = ROOT / "docs" / "scenarios.md"
README_MD = ROOT / "README.md"
ODD_MD = ROOT / "docs" / "ODD.md"
SCENARIO_DIR = ROOT / "scenarios"
START, END = "<!-- parameters:start -->", "<!-- parameters:end -->"
PATTERNS_START, PATTERNS_END = "<!-- patterns:start -->", "<!-- patterns:end -->"
CLI_START, CLI_END = "<!-- cli:start -->", "<!-- cli:end -->"
REGENERATE = "`.venv/bin/python docs/generate_docs.py`"

# Meanings for the few fields the schema leaves without a description. Prefer
# adding a description in simulation/scenario.py: the schema's text wins.
FALLBACK_MEANING = {
    "policy.change[].description": "What the change is, in words.",
    "policy.change[].source": "Where the change and its dates come from (legal text, announcement).",
    "behaviour.news[].name": "Name of the event; a child scenario edits or drops an inherited event by this name.",
    "behaviour.news[].date": "Day of the shock ('YYYY-MM-DD' or 'YYYY-MM').",
    "behaviour.news[].groups": "Nationality groups the news reaches (default: all groups).",
    "behaviour.news[].enabled": "Set false in a child scenario to drop an inherited event.",
    "behaviour.news[].source": "Where the event and its date come from; say if the size of the boost is an assumption.",
}

# Rules enforced by validators rather than by the field's type (see simulation/scenario.py).
EXTRA_RULES = {
    "scenario.policy_date": "a date",
    "time.start": "'YYYY-MM'",
    "time.end": "'YYYY-MM', not before `time.start`",
    "policy.resettlement_groups": "Western Hemisphere groups only",
    "policy.change[].name": "unique within the file",
    "policy.change[].from": "required unless `enabled = false`; inside the simulated window",
    "policy.change[].until": "after `from`",
    "behaviour.news[].date": "required unless `enabled = false`; inside the simulated window",
    "canada.irb_decisions_per_month": "values >= 0",
    "canada.background_claims_per_month": "values >= 0",
    "canada.quebec_shelter_capacity": "values >= 0",
    "canada.acceptance_rate": "keys: groups or `default`; values in [0, 1]",
    "us.decisions_per_month": "values >= 0",
    "us.grant_rate": "keys: groups or `default`; values in [0, 1]",
    "population.pool_entry_share": "values in [0, 1]",
    "population.family_in_canada": "keys: groups or `default`; values in [0, 1]",
}

# What each table is for, above its key table.
SECTION_INTRO = {
    "scenario": "Names the scenario and says what it builds on.",
    "time": "The simulated window, in whole months. The model steps one day at a time and writes one row per month.",
    "policy": "The rules in force on the first day. Each key is a policy lever; dated changes go in `[[policy.change]]`.",
    "policy.change": "A named, dated change of some policy levers. Only the levers given are changed; the others keep "
                     "the values in force from the base rules and the earlier changes.",
    "behaviour": "How people in the US decide and how information spreads.",
    "behaviour.news": "A news shock on one day: a share of the people in the US pool who do not yet know of the northern "
                      "routes learn of them.",
    "canada": "The IRB queue, reception in Quebec and its cost, and the shares used to place claimants.",
    "us": "US asylum processing.",
    "population": "Who is in the US asylum pool and who joins it.",
    "routes": "Travel cost and physical risk of each route to Canada.",
    "run": "Replication settings. `bordersim run --seed/--scale` override them; see above for `compare`.",
}

# A short note above each bundled scenario in the worked examples (by file name).
EXAMPLE_NOTES = {
    "calibrated.toml": "Behaviour only, written by `bordersim calibrate`: the fitted values, each with the spread among "
                       "the best trials in a comment, and the command that reproduces the fit. `history.toml` extends "
                       "it, so every bundled option uses these values. Run on its own it is the schema defaults with "
                       "this behaviour.",
    "calibrated_2017_2019.toml": "The same parameters fitted on 2017-2019 only, for the out-of-sample test of "
                                 "`bordersim backtest`. No bundled scenario extends it.",
    "history.toml": "The base of every option: the real rule timeline from 2017-01 to 2024-12 on top of the fitted "
                    "behaviour of `calibrated.toml`, with dated IRB "
                    "capacity and background claims, and three news shocks. Shows a dated value as a sub-table "
                    "(`[canada.irb_decisions_per_month]`) and as an inline table (`pool_entry_share`), bounded changes "
                    "(`until`) and open-ended ones.",
    "protocol_2023.toml": "The shortest possible option: inherit everything from `history.toml`, restate the policy date "
                          "the comparison summaries use, and run two more years.",
    "no_protocol.toml": "Dropping inherited changes by name with `enabled = false`: the counterfactual in which the "
                        "2004 rules continue.",
    "protocol_without_resettlement.toml": "Dropping one inherited change.",
    "protocol_enforcement_surge.toml": "Adding a change on top of the inherited ones. Changes apply in file order "
                                       "(inherited first), so this one overrides `between_ports_detection` from its date.",
    "protocol_irb_capacity_doubled.toml": "Changing a dated value. Dated tables merge key by key with the parent's: "
                                          "the entries given here replace the parent's `2023-04` and `2024-01` steps "
                                          "and the earlier steps are kept.",
    "roxham_designated_port.toml": "A chain of three files (`roxham_designated_port` -> `no_protocol` -> "
                                   "`protocol_2023` -> `history`) and a lever with named values (`roxham`).",
    "suspend_stca.toml": "Switching a lever off from a date: `stca_at_ports = false` lets everyone claim at ports.",
}

# The option written for the docs; it is validated while the docs are built.
EXAMPLE_FILE = "protocol_30_days.toml"
EXAMPLE_OPTION = '''\
# scenarios/protocol_30_days.toml
[scenario]
name = "protocol_30_days"
description = "The Protocol with a 30-day return window, and a one-year patrol surge"
extends = "protocol_2023.toml"

# Same name as an inherited change: merged key by key with it ('from' and the rest are inherited).
[[policy.change]]
name = "additional_protocol_2023"
return_window_days = 30

# A new, bounded change: the earlier detection (0.5) applies again from 'until'.
[[policy.change]]
name = "patrol_surge_2023"
from = "2023-03-25"
until = "2024-03-25"
between_ports_detection = 0.8
description = "More patrols between ports for one year"
source = "option studied; not a real event"

# Merged with history.toml's table: only the 2023-05 step changes.
[population]
pool_entry_share = { "2023-05" = 0.30 }

[run]
seed = 3
scale = 0.01
'''

# A mistake, to show what an error looks like (the message is produced by the real loader).
BAD_EXAMPLE = '''\
[scenario]
extends = "protocol_2023.toml"

[behaviour]
w_wiat = 0.8
'''


# --- reading the schema ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One key of a scenario file."""

    table: str  # "policy", "policy.change", ...
    path: str  # "policy.change[].from"
    key: str  # "from"
    type: str
    default: str
    unit: str
    source: str
    meaning: str


def _model_of(annotation) -> type[BaseModel] | None:
    """The pydantic model a field holds (directly or as list items), if any."""
    for cand in (annotation, *typing.get_args(annotation)):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _strip_optional(annotation):
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True
    return annotation, False


def _bounds(metadata) -> str:
    lo = hi = None
    lo_open = hi_open = False
    for m in metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    num = lambda x: f"{x:g}"  # noqa: E731
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{num(lo)}, {num(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {num(lo)}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {num(hi)}"
    return ""


def _type_text(annotation, metadata) -> str:
    ann, optional = _strip_optional(annotation)
    meta = list(metadata)
    if typing.get_origin(ann) is typing.Annotated:
        base, *extra = typing.get_args(ann)
        for e in extra:
            meta += list(e.metadata) if isinstance(e, FieldInfo) else [e]
        ann = base
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in (typing.Union, types.UnionType) and set(args) == {float, dict[str, float]}:
        text = "number or dated table"
    elif ann is bool:
        text = "true / false"
    elif ann is int:
        text = "integer" + _bounds(meta)
    elif ann is float:
        text = "number" + _bounds(meta)
    elif ann is str:
        text = "text"
    elif origin is typing.Literal:
        text = "one of " + ", ".join(f"`{a}`" for a in args)
    elif origin is list and args and typing.get_origin(args[0]) is typing.Literal:
        choices = typing.get_args(args[0])
        text = "list of groups" if set(choices) == set(GROUPS) else "list of " + ", ".join(f"`{a}`" for a in choices)
    elif origin is list and args and _model_of(args[0]):
        text = "list of tables"
    elif origin is dict:
        text = "table: group -> number"
    else:  # pragma: no cover - a new kind of field: say so rather than guess
        text = str(ann)
    return text + (", optional" if optional else "")


def toml_literal(value) -> str:
    """A value as it would be written in a scenario file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_literal(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").isalnum() and not key[0].isdigit() else f'"{key}"'


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "not set"
    return toml_literal(value)


def _rows_of(model: type[BaseModel], table: str, prefix: str) -> list[Row]:
    rows = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}"
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        unit, source = extra.get("unit", "—"), extra.get("source", "—")
        meaning = field.description or FALLBACK_MEANING.get(path, "")
        if model is PolicyChange and name in RuleFields.model_fields:
            lever = RuleFields.model_fields[name]
            unit = (lever.json_schema_extra or {}).get("unit", "—")
            source = "the change's `source`"
            meaning = f"Sets `policy.{name}` while the change is in force. {lever.description}"
        if not meaning:
            raise SystemExit(f"generate_docs: {path} has no description in the schema and no fallback here")
        type_text = _type_text(field.annotation, field.metadata)
        if path in EXTRA_RULES:
            type_text += "; " + EXTRA_RULES[path]
        rows.append(Row(table, path, key, type_text, _default_text(field), str(unit), str(source), meaning))
        sub = _model_of(field.annotation)
        if sub is not None:
            rows += _rows_of(sub, f"{table}.{key}", f"{path}[]")
    return rows


def schema_rows() -> list[Row]:
    """Every key of a scenario file, in schema order (list tables right after their parent's keys)."""
    rows = []
    for section, field in Scenario.model_fields.items():
        model = _model_of(field.annotation)
        assert model is not None, section
        own = _rows_of(model, section, section)
        rows += [r for r in own if r.table == section] + [r for r in own if r.table != section]
    return rows


def parameter_paths() -> list[str]:
    """Every key path of the schema, e.g. ``behaviour.w_wait`` or ``policy.change[].from``."""
    return [r.path for r in schema_rows()]


def dated_paths() -> list[str]:
    return [r.path for r in schema_rows() if r.type.startswith("number or dated table")]


def per_group_paths() -> list[str]:
    return [r.path for r in schema_rows() if r.type.startswith("table: group")]


def check_merge_claims() -> None:
    """The inheritance rules scenarios.md states, checked against the loader's merge."""
    from simulation.scenario.loading import _merge

    def fail(what):
        raise SystemExit(f"generate_docs: the merge no longer works as docs/scenarios.md says ({what}); update the text")

    dated = _merge({"canada": {"irb_decisions_per_month": {"2017-01": 1.0, "2024-01": 3.0}}},
                   {"canada": {"irb_decisions_per_month": {"2020-01": 2.0}}})["canada"]["irb_decisions_per_month"]
    if dated != {"2017-01": 1.0, "2024-01": 3.0, "2020-01": 2.0}:
        fail("dated tables merge entry by entry")
    if _merge({"us": {"decisions_per_month": {"2017-01": 1.0}}}, {"us": {"decisions_per_month": 5.0}})["us"] != {"decisions_per_month": 5.0}:
        fail("a number replaces a dated table")
    if _merge({"policy": {"exceptions": ["family", "public_interest"]}}, {"policy": {"exceptions": ["family"]}})["policy"] != {"exceptions": ["family"]}:
        fail("lists are replaced")
    changes = _merge({"policy": {"change": [{"name": "a", "from": "2020-01", "direct_back": True}, {"name": "b", "from": "2021-01"}]}},
                     {"policy": {"change": [{"name": "c", "from": "2022-01"}, {"name": "a", "enabled": False}]}})["policy"]["change"]
    if [c["name"] for c in changes] != ["a", "b", "c"] or changes[0] != {"name": "a", "from": "2020-01", "direct_back": True, "enabled": False}:
        fail("named tables merge by name, keep their place, new ones are appended")


def per_group_merge() -> tuple[list[str], list[str]]:
    """(per-group tables a child replaces as a whole, those merged group by group), found by merging."""
    from simulation.scenario.loading import _merge

    whole, by_group = [], []
    for path in per_group_paths():
        section, key = path.split(".")
        merged = _merge({section: {key: {"default": 0.1}}}, {section: {key: {"haiti": 0.2}}})
        (by_group if "default" in merged[section][key] else whole).append(path)
    return whole, by_group


# --- markdown -----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _code(text: str) -> str:
    return text if text in ("required", "not set", "—") else f"`{text}`"


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _value_at(d: dict, path: str):
    """The value at a dotted key path of a (raw or dumped) scenario dict, or KeyError."""
    for part in path.split("."):
        d = d[part]
    return d


def _short(value) -> str:
    if isinstance(value, dict) and value and all(isinstance(k, str) and k[:4].isdigit() for k in value):
        return f"dated table, {len(value)} steps from {min(value)}"
    return f"`{toml_literal(value)}`"


def _chain(path: Path) -> list[tuple[Path, dict]]:
    """A scenario file and the files it extends, child first, as raw TOML."""
    out = []
    while path is not None:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        out.append((path, raw))
        parent = raw.get("scenario", {}).get("extends")
        path = (path.parent / parent).resolve() if parent else None
    return out


def bundled_differences(name: str = "history.toml") -> str:
    """Keys whose value in a bundled scenario differs from the schema default, and the file that sets it."""
    path = SCENARIO_DIR / name
    resolved, default = load_scenario(path).to_dict(), Scenario().to_dict()
    chain = _chain(path)
    rows = []
    for r in schema_rows():
        if r.table not in {"policy", "behaviour", "canada", "us", "population", "routes"} or "[]" in r.path:
            continue
        if r.path in ("policy.change", "behaviour.news"):
            continue
        value = _value_at(resolved, r.path.replace(".from", ".start"))
        if value == _value_at(default, r.path):
            continue
        where = next((p.name for p, raw in chain if _has(raw, r.path)), "?")
        rows.append([f"`{r.path}`", _code(r.default), _short(value), f"`{where}`"])
    return _table(["key path", "schema default", f"in `{name}`", "set in"], rows)


def _has(raw: dict, path: str) -> bool:
    try:
        _value_at(raw, path)
        return True
    except (KeyError, TypeError):
        return False


def fitted_table() -> str:
    """The parameters `bordersim calibrate` fits, their search ranges and the values in scenarios/calibrated.toml."""
    from simulation.experiments.calibration import PARAMETERS

    path = SCENARIO_DIR / "calibrated.toml"
    fitted = load_scenario(path).to_dict() if path.exists() else None
    rows = []
    for key, (lo, hi, log) in PARAMETERS.items():
        value = "—"
        if fitted is not None:
            try:
                value = f"`{_value_at(fitted, key):.4g}`"
            except KeyError:
                value = "not set"
        rows.append([f"`{key}`", f"{lo:g} .. {hi:g}" + (" (log scale)" if log else ""), value])
    return _table(["key path", "search range", "in `scenarios/calibrated.toml`"], rows)


def parameter_table() -> str:
    """The tables between the parameter markers of docs/ODD.md."""
    rows = [[f"`{r.path}`", _code(r.default), r.unit, r.source, r.meaning] for r in schema_rows()]
    return "\n".join([
        START,
        f"<!-- Generated by docs/generate_docs.py from simulation/scenario.py, simulation/calibration.py and scenarios/. "
        f"Do not edit by hand: run {REGENERATE}. -->",
        "",
        _table(["key path", "default", "unit", "source", "meaning"], rows),
        "",
        "**Fitted by `bordersim calibrate`** (`simulation/calibration.PARAMETERS`). These are the parameters the "
        "calibration searches, with their ranges and the values the bundled scenarios use:",
        "",
        fitted_table(),
        "",
        "**Where the bundled history departs from the defaults.** These are the keys whose value in "
        "`scenarios/history.toml` (with what it extends) differs from the schema default above, and the file "
        "that sets each one:",
        "",
        bundled_differences(),
        "",
        END,
    ])


def _section_table(rows: list[Row]) -> str:
    body = [[f"`{r.key}`", r.type, _code(r.default), r.unit, r.meaning, r.source] for r in rows]
    return _table(["key", "type", "default", "unit", "meaning", "source"], body)


def _key_reference() -> str:
    rows = schema_rows()
    out = []
    for table in dict.fromkeys(r.table for r in rows):
        heading = f"[[{table}]]" if "." in table else f"[{table}]"
        out += [f"### `{heading}`", ""]
        if table in SECTION_INTRO:
            out += [SECTION_INTRO[table], ""]
        out += [_section_table([r for r in rows if r.table == table]), ""]
    return "\n".join(out)


# --- the bundled scenarios ------------------------------------------------------------------------


def _rule_value(value) -> str:
    return toml_literal(list(value) if isinstance(value, tuple) else value)


def rule_timeline(sc: Scenario) -> list[tuple[str, str]]:
    """(date, what differs from the day before) for each day the rules change inside the window."""
    base, changes = sc.base_rules(), sc.rule_changes()
    first, last = sc.time.first_day, sc.time.last_day
    days = [first] + [d for d in R.change_dates(changes) if first < d <= last]
    out, previous = [], None
    for day in days:
        rules = R.rules_at(day, base, changes)
        if previous is None:
            out.append((str(day), "base rules (see `[policy]`)"))
        else:
            diff = [f"`{f} = {_rule_value(getattr(rules, f))}`" for f in R.RULE_FIELDS
                    if getattr(rules, f) != getattr(previous, f)]
            if diff:
                names = [c.name for c in changes if c.start == day or c.until == day]
                out.append((str(day), ", ".join(diff) + (f" ({', '.join(names)})" if names else "")))
        previous = rules
    return out


def _bundled() -> list[tuple[Path, Scenario, dict]]:
    out = []
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        out.append((path, load_scenario(path), raw))
    return out


def _bundled_table(bundled) -> str:
    rows = []
    for path, sc, raw in bundled:
        parent = raw.get("scenario", {}).get("extends")
        rows.append([f"`{path.name}`", f"`{sc.name}`", f"`{parent}`" if parent else "—",
                     f"{sc.time.start} .. {sc.time.end}", sc.scenario.policy_date or "—", sc.scenario.description])
    return _table(["file", "name", "extends", "months", "policy_date", "description"], rows)


def _example_section(path: Path, sc: Scenario, raw: dict) -> str:
    out = [f"### `{path.name}`", ""]
    note = EXAMPLE_NOTES.get(path.name)
    out += [note if note else sc.scenario.description, ""]
    out += ["```toml", path.read_text().rstrip("\n"), "```", ""]
    out += [f"Resolved: `{sc.name}`, {sc.time.start} .. {sc.time.end}, {len(sc.rule_changes())} enabled dated changes. "
            "Rules by period (what `bordersim validate` prints):", ""]
    out += [_table(["from", "rules that change"], [[d, what] for d, what in rule_timeline(sc)]), ""]
    return "\n".join(out)


def _load_text(text: str, name: str) -> tuple[Scenario | None, str]:
    """Load a scenario written in the docs, as if it sat in scenarios/; return (scenario, error message)."""
    with tempfile.TemporaryDirectory() as tmp:
        body = text.replace('extends = "', f'extends = "{SCENARIO_DIR.as_posix()}/')
        path = Path(tmp) / name
        path.write_text(body)
        try:
            return load_scenario(path), ""
        except ScenarioError as e:
            return None, str(e).replace(str(Path(tmp)) + "/", "").replace(SCENARIO_DIR.as_posix() + "/", "")


def _own_example() -> str:
    sc, err = _load_text(EXAMPLE_OPTION, EXAMPLE_FILE)
    if sc is None:
        raise SystemExit(f"generate_docs: the example option in the docs does not validate: {err}")
    _, bad = _load_text(BAD_EXAMPLE, "typo.toml")
    if not bad:
        raise SystemExit("generate_docs: the bad example in the docs validates; pick another mistake")
    shares = toml_literal(sc.population.pool_entry_share)
    out = ["### Writing an option of your own", "",
           "Save a file next to the bundled ones (a relative `extends` is read from the folder of the file "
           "that names it), then check it with `bordersim validate`:", "",
           "```toml", EXAMPLE_OPTION.rstrip("\n"), "```", "",
           f"It resolves to `pool_entry_share = {shares}` and this rule timeline:", "",
           _table(["from", "rules that change"], [[d, what] for d, what in rule_timeline(sc)]), "",
           "A typo is an error, not a silently ignored key. With `w_wiat` for `w_wait`:", "",
           "```toml", BAD_EXAMPLE.rstrip("\n"), "```", "",
           "```text", f"bordersim: error: {bad}", "```", ""]
    return "\n".join(out)


# --- docs/scenarios.md ----------------------------------------------------------------------------


def scenarios_md() -> str:
    bundled = _bundled()
    dated = ", ".join(f"`{p}`" for p in dated_paths())
    per_group = ", ".join(f"`{p}`" for p in per_group_paths())
    check_merge_claims()
    whole, by_group = per_group_merge()
    replaced = ", ".join(f"`{p}`" for p in whole) or "no per-group tables"
    merged_groups = ", ".join(f"`{p}`" for p in by_group) or "none"
    merged_s = "s" if len(by_group) == 1 else ""
    tables = ", ".join(f"`[[{t}]]`" if "." in t else f"`[{t}]`" for t in dict.fromkeys(r.table for r in schema_rows()))
    groups = ", ".join(f"`{g}`" for g in GROUPS)
    western = ", ".join(f"`{g}`" for g in WESTERN_HEMISPHERE)
    exceptions = ", ".join(f"`{e}`" for e in R.EXCEPTIONS)
    parts = [f"""<!-- Generated by docs/generate_docs.py from simulation/scenario.py and scenarios/*.toml.
Do not edit by hand: edit the schema, the scenario files or the script, then run {REGENERATE}. -->

# Scenario files

A scenario is one TOML file: the rules in force on the first day, the dated changes to them, and the
assumptions about people, institutions and routes. An *option* (a policy to compare) is a scenario that
`extends` another and states only what differs. This page explains the format, walks through the bundled
scenarios, and lists every key with its type, default, unit, meaning and source.

Check a file without running it:

```sh
.venv/bin/bordersim validate scenarios/protocol_2023.toml   # prints the resolved file and the rules by period
.venv/bin/bordersim list                                    # every file in scenarios/ with its window and description
```

Contents: [Tables](#tables) · [Inheritance](#inheritance-extends) · [Dated changes](#named-dated-policy-changes) ·
[Dated values](#dated-values) · [Per-group values](#per-group-values) · [Groups](#nationality-groups-and-exceptions) ·
[Seed and scale](#runseed-and-runscale) · [Worked examples](#worked-examples) · [Key reference](#key-reference)

## Tables

A file has up to these tables, all optional: {tables}. A key left out takes its default (the
[key reference](#key-reference) lists them), so an empty file is a valid scenario: the 2004 rules from
2017-01 to 2024-12, with the schema's default behaviour. The fitted behaviour is in `calibrated.toml`;
extend it, or `history.toml`, to use it. A key the schema does not know is an error that names the file, the key and the keys
allowed there: typos are never silently ignored.

## Inheritance: `extends`

`[scenario] extends = "other.toml"` builds on another file, named relative to the file that says it.
Chains are allowed (a cycle is an error). The files are merged from the root down:

* tables merge key by key, recursively: a child states only the keys it changes;
* a dated value given as a table merges entry by entry with the parent's table (see [dated values](#dated-values));
  given as a single number it replaces the parent's whole table;
* {replaced} are replaced as a whole when a child sets them; {merged_groups} merge{merged_s} group by group;
* lists of values (`exceptions`, `visa_required`, `groups`, ...) are replaced as a whole;
* the lists of named tables, `[[policy.change]]` and `[[behaviour.news]]`, merge **by `name`**: an entry
  with the name of an inherited one is merged key by key into it (and keeps its place in the order); an
  entry with a new name is appended after the inherited ones;
* a child never inherits the parent's `name` or `description` (without a `name`, the file name without
  `.toml` is used); everything else, `policy_date` included, is inherited.

Each file in the chain is first checked on its own for unknown keys, types and ranges, so such an error
names the file it is in. The checks that need the whole scenario are made once the chain is merged: every
enabled change has a `from` and every enabled news event a `date`, dates fall inside the window, change
names are unique, and `time.end` is not before `time.start`. So a child can edit an inherited change
without restating its `from`, or date a change inside a window its parent extended.

Types are strict: `"14"` is not a number and `"yes"` is not `true` (a whole number is fine where a number
is asked for), and `nan` and `inf` are rejected. Write dates as quoted strings, `"2023-03-25"`: a bare TOML
date is an error.

## Named, dated policy changes

The `[policy]` table holds the rules on the first day. Each `[[policy.change]]` entry is a named, dated
override of some levers, like a dated parameter in OpenFisca or a reform in PolicyEngine:

* `from` is the first day the change applies (`'YYYY-MM-DD'`, or `'YYYY-MM'` for the first of the month);
* `until`, if given, is the first day the earlier values apply again (the change is in force up to the day
  before); without it the change lasts to the end of the run;
* on any day, the rules in force are the `[policy]` values overlaid by every change in force, **in file order**
  (inherited changes first), so a later change wins where two set the same lever;
* the baseline is never modified: a bounded change simply stops being overlaid;
* `enabled = false` drops an inherited change: that is how an option removes part of history
  (see [`no_protocol.toml`](#no_protocoltoml)).

The model resolves the rule set for every day of the run once, at set-up.

## Dated values

Some numbers change over time without being policy levers: {dated}. Each takes either a number or a
table of `"YYYY-MM" = value` entries (`'YYYY-MM-DD'` keys are accepted too). The table is a step function:
each value applies from its date until the next entry's date, and before the first date the first value applies.
For example

```toml
[population]
pool_entry_share = {{ "2017-01" = 0.25, "2020-03" = 0.15, "2023-05" = 0.25 }}
```

means 0.25 up to 2020-02-29, 0.15 from 2020-03-01, and 0.25 again from 2023-05-01. Written as a
sub-table (`[canada.irb_decisions_per_month]` followed by one `"YYYY-MM" = value` line each), a long
series can carry a comment per step, as in `history.toml`. Quote the keys.

A child's table merges with the parent's entry by entry: it replaces the entries it names and keeps
the others, including the parent's *later* entries. To end a parent's step early, give an entry at the
date you want it to end.

## Per-group values

{per_group} are tables keyed by nationality group: `{{ default = 0.08, haiti = 0.15 }}`. A group not
listed takes `default`. Without `default`, acceptance and grant rates come from `data/grant_rates.csv`
(whose `other` row covers groups with no sourced rate), `family_in_canada` falls back to 0.08 and
`group_affinity` to 0.

## Nationality groups and exceptions

Groups, wherever a list or table of groups is asked for: {groups}. The Western Hemisphere groups, the only
ones allowed in `policy.resettlement_groups`, are {western}.

STCA exceptions (IRPR s.159.5), for `policy.exceptions`: {exceptions}.

## `run.seed` and `run.scale`

* `run.seed` is the master seed. Every random draw in a run comes from a stream named after the decision,
  keyed by this seed and read at the person's id and the day (common random numbers), so two runs with the
  same seed that differ only after a date are identical before it.
* `run.scale` is the fraction of the real population simulated: each simulated person stands for
  `1 / scale` people, and every output is divided by the scale, so counts come in steps of `1 / scale`
  (50 people at the default 0.02). Small scales run faster and are noisier.
* `bordersim run --seed N --scale X` overrides both for one run.
* `bordersim compare` runs every option with the same seeds and scale: `--seed` (default: the first file's
  `run.seed`) is the master seed from which one seed per replication is drawn, and `--scale` (default: the
  first file's `run.scale`) applies to all; the other files' `[run]` tables are not used.

## Worked examples

The bundled scenarios, in `scenarios/`:

{_bundled_table(bundled)}

Each is shown verbatim, followed by the rule timeline it resolves to.
"""]
    for path, sc, raw in bundled:
        parts.append(_example_section(path, sc, raw))
    parts.append(_own_example())
    parts.append("""## Key reference

Every key, table by table, generated from the schema in `simulation/scenario.py`. *Source* says where a
default comes from; "assumption" marks a value chosen by the modellers that awaits calibration, and "—" a
setting rather than an empirical quantity. The same keys, with their full paths, are in the
[parameter table of the ODD description](ODD.md#parameters).
""")
    parts.append(_key_reference())
    return "\n".join(parts).rstrip("\n") + "\n"


# --- docs/ODD.md --------------------------------------------------------------------------------


def replace_block(current: str, start: str, end: str, block: str) -> str:
    """``current`` with the text from ``start`` to ``end`` (markers included) replaced by ``block``."""
    if current.count(start) != 1 or current.count(end) != 1 or current.index(start) > current.index(end):
        raise SystemExit(f"generate_docs: a generated file needs exactly one {start} ... {end} pair")
    head, rest = current.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + block + tail


def odd_md(current: str) -> str:
    """docs/ODD.md with the text between the parameter markers replaced by the generated table."""
    return replace_block(current, START, END, parameter_table())


def _git_commit() -> str:
    import subprocess

    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "simulation", "scenarios", "data")
    return commit + (" plus uncommitted changes to simulation/, scenarios/ or data/" if dirty else "")


def pattern_table() -> str:
    """Observed patterns (from data/) beside one run of scenarios/history.toml at its own seed and scale."""
    import pandas as pd

    from simulation.experiments.run import simulate

    rcmp = pd.read_csv(ROOT / "data" / "rcmp_interceptions_monthly.csv")
    irb = pd.read_csv(ROOT / "data" / "irb_capacity.csv")
    modes = pd.read_csv(ROOT / "data" / "claims_by_mode.csv")

    def first(rows, column):  # the first row in file order, where a file holds two figures for one date
        return float(rows[column].iloc[0]) if len(rows) else float("nan")

    def quebec(year, month=0):
        kind = "year" if month == 0 else "month"
        return first(rcmp[(rcmp.year == year) & (rcmp.month == month) & (rcmp.province == "Quebec") & (rcmp.kind == kind)],
                     "interceptions")

    def pending(year, month):
        return first(irb[(irb.series == "rpd_pending") & (irb.year == year) & (irb.month == month)], "value")

    def land_ports(year):
        return first(modes[(modes.year == year) & (modes["mode"] == "land_port")], "claims")

    path = SCENARIO_DIR / "history.toml"
    sc = load_scenario(path)
    monthly, model = simulate(sc)
    m = monthly.set_index("month")
    year = monthly.groupby(monthly["month"].str[:4]).sum(numeric_only=True)

    def fmt(*values):
        return " / ".join("n/a" if v != v else f"{v:,.0f}" for v in values)

    rows = [
        ("Quebec interceptions between ports, 2017", fmt(quebec(2017)), fmt(year.loc["2017", "interceptions_quebec"])),
        ("… August 2017 (peak month; Haitians after the TPS signal)", fmt(quebec(2017, 8)), fmt(m.loc["2017-08", "interceptions_quebec"])),
        ("… 2019", fmt(quebec(2019)), fmt(year.loc["2019", "interceptions_quebec"])),
        ("… 2021 (direct-back until 2021-11-21)", fmt(quebec(2021)), fmt(year.loc["2021", "interceptions_quebec"])),
        ("… 2022 (record year)", fmt(quebec(2022)), fmt(year.loc["2022", "interceptions_quebec"])),
        ("… January / February / March 2023", fmt(*(quebec(2023, k) for k in (1, 2, 3))),
         fmt(*(m.loc[f"2023-0{k}", "interceptions_quebec"] for k in (1, 2, 3)))),
        ("… April / May 2023, under the Protocol", "no monthly figure in `data/`",
         fmt(*(m.loc[f"2023-0{k}", "interceptions_quebec"] for k in (4, 5)))),
        ("IRB claims pending, end of 2019 / 2021", fmt(pending(2019, 12), pending(2021, 12)),
         fmt(m.loc["2019-12", "irb_backlog"], m.loc["2021-12", "irb_backlog"])),
        ("IRB claims pending, end of September 2023 / 2024", fmt(pending(2023, 9), pending(2024, 9)),
         fmt(m.loc["2023-09", "irb_backlog"], m.loc["2024-09", "irb_backlog"])),
        ("claims at land ports, 2017 / 2019 / 2021 / 2022", fmt(*(land_ports(y) for y in (2017, 2019, 2021, 2022))),
         fmt(*(year.loc[str(y), "port_claims"] for y in (2017, 2019, 2021, 2022)))),
    ]
    cmd = "`.venv/bin/python docs/generate_docs.py --patterns`"
    return "\n".join([
        PATTERNS_START,
        f"<!-- Generated by {cmd.strip('`')}: one run of scenarios/history.toml. Not checked by --check. -->",
        "",
        _table(["pattern", "observed (`data/`)", "model, one run"], [list(r) for r in rows]),
        "",
        f"Model: one run of `scenarios/history.toml` at its own seed ({sc.run.seed}) and scale ({sc.run.scale}), "
        f"{len(model.people):,} persons simulated, code at commit {_git_commit()}; rebuilt by {cmd}. "
        f"Counts move in steps of {1 / sc.run.scale:,.0f} persons. Observed: Quebec rows of "
        "`rcmp_interceptions_monthly.csv`, `rpd_pending` in `irb_capacity.csv` (the first row where two sources "
        "give the same month) and `land_port` in `claims_by_mode.csv`.",
        "",
        PATTERNS_END,
    ])


# --- README.md: the CLI reference ---------------------------------------------------------------


def _argument_name(action: argparse.Action) -> str:
    if not action.option_strings:
        name = action.metavar or action.dest
        return {"+": f"{name} [{name} ...]", "?": f"[{name}]", "*": f"[{name} ...]"}.get(action.nargs, name)
    flags = ", ".join(action.option_strings)
    if action.nargs == 0:
        return flags
    if action.choices:
        value = "{" + ",".join(str(c) for c in action.choices) + "}"
    else:
        value = action.metavar or action.dest.upper()
    if action.nargs == "+":
        value = f"{value} [{value} ...]"
    return f"{flags} {value}"


# Words for arguments the parser gives no help text (better: add ``help=`` in simulation/cli.py).
FALLBACK_HELP = {
    "scenario": "scenario file (TOML)",
    "--scenario": "scenario file (TOML)",
    "--no-plots": "skip the plots",
    "--quiet": "less output on the terminal",
    "--reps": "replications",
    "--seed": "master seed",
    "--scale": "fraction of the population simulated",
    "--workers": "parallel workers (default: all cores)",
}


def _argument_help(action: argparse.Action) -> str:
    key = action.option_strings[-1] if action.option_strings else action.dest
    text = (action.help or FALLBACK_HELP.get(key, "")).strip()
    default = action.default
    if isinstance(default, Path):
        default = default.relative_to(ROOT).as_posix() if default.is_relative_to(ROOT) else default.as_posix()
    if "%" in text:  # argparse help is a %-format: '%%' for '%', '%(default)s' for the default
        text = text % {**vars(action), "default": default}
    if default not in (None, False, argparse.SUPPRESS, []) and "default" not in text.lower():
        text = (text + " " if text else "") + f"(default: {default})"
    if action.required and action.option_strings:
        text = "required; " + text if text else "required"
    if isinstance(action, argparse._AppendAction) and "repeat" not in text:
        text += " (may be repeated)"
    return text or "—"


def cli_reference() -> str:
    """Every subcommand of ``bordersim`` and its arguments, read from the argparse parser."""
    from simulation.present.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    out = [CLI_START, f"<!-- Generated by docs/generate_docs.py from simulation/cli.py. Do not edit by hand: run {REGENERATE}. -->", ""]
    for name, sp in sub.choices.items():
        args = [a for a in sp._actions if not isinstance(a, argparse._HelpAction)]
        positional = " ".join(_argument_name(a) for a in args if not a.option_strings)
        out += [f"#### `bordersim {name}{' ' + positional if positional else ''}`", ""]
        if helps.get(name):
            out += [helps[name][0].upper() + helps[name][1:] + ".", ""]
        out += [_table(["argument", "meaning"], [[f"`{_argument_name(a)}`", _argument_help(a)] for a in args]), ""]
    out.append(CLI_END)
    return "\n".join(out)


# --- main ---------------------------------------------------------------------------------------


def expected_files(patterns: bool = False) -> dict[Path, str]:
    odd = ODD_MD.read_text() if ODD_MD.exists() else ""
    if not odd:
        raise SystemExit(f"generate_docs: {ODD_MD.relative_to(ROOT)} is missing; it is written by hand around the markers")
    if patterns:
        odd = replace_block(odd, PATTERNS_START, PATTERNS_END, pattern_table())
    readme = README_MD.read_text() if README_MD.exists() else ""
    if not readme:
        raise SystemExit("generate_docs: README.md is missing; it is written by hand around the CLI markers")
    return {SCENARIOS_MD: scenarios_md(), ODD_MD: odd_md(odd),
            README_MD: replace_block(readme, CLI_START, CLI_END, cli_reference())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date; write nothing")
    parser.add_argument("--patterns", action="store_true",
                        help="also rerun scenarios/history.toml and rebuild the pattern table of docs/ODD.md")
    args = parser.parse_args(argv)
    if args.check and args.patterns:
        parser.error("--patterns rewrites a table that --check does not cover; use them separately")
    stale = []
    for path, text in expected_files(args.patterns).items():
        old = path.read_text() if path.exists() else ""
        if old == text:
            continue
        stale.append(path)
        if args.check:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(path.relative_to(ROOT)) + " (on disk)",
                                        "generated", lineterm="", n=1)
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"out of date: {names}; run {REGENERATE.strip('`')}", file=sys.stderr)
        return 1
    if not stale:
        print("docs up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

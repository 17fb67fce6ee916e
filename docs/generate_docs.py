"""Build docs/scenarios.md, the generated tables of docs/ODD.md and the CLI reference of README.md.

    .venv/bin/python docs/generate_docs.py             # rewrite the generated files
    .venv/bin/python docs/generate_docs.py --check     # exit 1 if they are out of date
    .venv/bin/python docs/generate_docs.py --patterns  # also rerun history.toml for the ODD pattern table

Every table is read from the declarations, never from type or unit text:

* a parameter's kind (plain, dated, per group), bounds, unit and source from
  :mod:`simulation.scenario.kinds` (``kind_of``, ``bounds_of``, ``unit_of``,
  ``source_of``), its meaning and default from its pydantic field;
* the policy levers from :class:`~simulation.scenario.levers.RuleSet`, and the
  keys of a ``[[policy.change]]`` from ``PolicyChange``;
* the output columns and summary outcomes from :mod:`simulation.core.columns`;
* the CLI reference from the argparse parser.

The worked examples are the bundled ``scenarios/*.toml``, copied verbatim,
each with the rule timeline it resolves to; the example option and the bad
example are loaded by the real loader while the docs are built. The output
depends only on the declarations, the bundled scenarios, the hand-written
parts of the pages and this file, so ``--check`` is exact.

The pattern table of docs/ODD.md compares one run of ``scenarios/history.toml``
with ``data/``. It needs a model run, so it is rebuilt only with
``--patterns`` and is not part of ``--check``.
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

from simulation import data  # noqa: E402
from simulation.core.columns import COLUMNS, FLOW, KEY_COLUMNS, LAST, MAX, OUTCOMES, SUM  # noqa: E402
from simulation.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402
from simulation.scenario.groups import GROUPS, WESTERN_HEMISPHERE  # noqa: E402
from simulation.scenario.kinds import DATED, PER_GROUP, PLAIN, bounds_of, kind_of, source_of, unit_of  # noqa: E402
from simulation.scenario.levers import EXCEPTIONS, PolicyChange, RuleSet  # noqa: E402
from simulation.scenario.loading import _merge  # noqa: E402

SCENARIOS_MD, ODD_MD, README_MD = ROOT / "docs" / "scenarios.md", ROOT / "docs" / "ODD.md", ROOT / "README.md"
SCENARIO_DIR = ROOT / "scenarios"
REGENERATE = "`.venv/bin/python docs/generate_docs.py`"
SECTIONS = tuple(Scenario.model_fields)  # scenario, time, policy, ...
LEVERS = tuple(RuleSet.model_fields)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


# --- words the declarations do not hold --------------------------------------------------------

# Rules enforced by validators rather than by a field's bounds (see simulation/scenario/).
VALIDATED = {
    "scenario.policy_date": "a date",
    "time.start": "'YYYY-MM'",
    "time.end": "'YYYY-MM', not before `time.start`",
    "policy.resettlement_groups": "Western Hemisphere groups only",
    "policy.change[].name": "unique within the file",
    "policy.change[].from": "a date; required unless `enabled = false`; inside the window",
    "policy.change[].until": "a date after `from`",
    "behaviour.news[].date": "a date; required unless `enabled = false`; inside the window",
    "population.event[].date": "a date; required unless `enabled = false`; inside the window",
    "population.event[].until": "a date, not before `date`; days past the window are dropped",
}

SECTION_INTRO = {
    "scenario": "Names the scenario and says what it builds on.",
    "time": "The simulated window, in whole months. The model steps one day at a time and writes one row per month.",
    "policy": "The rules in force on the first day. Each key is a policy lever; dated changes go in `[[policy.change]]`.",
    "policy.change": "A named, dated change of some policy levers. Only the levers given are changed; the others keep "
                     "the values in force from the base rules and the earlier changes.",
    "behaviour": "How people in the US decide and how information spreads.",
    "behaviour.news": "A news shock on one day: a share of the people in the US pool who do not yet know of the northern "
                      "routes learn of them.",
    "canada": "Claims in Canada (IRCC's referral, the IRB queue, the airport and inland claims of people the model "
              "does not follow), reception in Quebec and its cost, and the shares used to place claimants.",
    "us": "US asylum processing.",
    "population": "Who is in the US asylum pool and who joins it, the STCA exceptions people hold (and believe they "
                  "hold), and the people whose US status ends (status events).",
    "population.event": "A dated status event: people already in the US whose TPS, parole or visa ends. A fitted share "
                        "of them (`population.status_event_share`) consider Canada and join the people deciding.",
    "routes": "Travel cost and physical risk of each route to Canada.",
    "run": "Replication settings. `bordersim run --seed/--scale` override them; see above for `compare`.",
}

KEY_MEANING = {"month": "the month, 'YYYY-MM'", "scenario": "the scenario's name", "seed": "the replication seed"}
HOW = {SUM: "sum over the window's months", LAST: "value in the window's last month", MAX: "largest month of the window"}

EXAMPLE_NOTES = {
    "calibrated.toml": "Behaviour only, written by `bordersim calibrate`: the particle of the ABC-SMC posterior with "
                       "the smallest discrepancy, with the posterior median and 90% interval in a comment on each value, "
                       "and a header giving the command that reproduces the fit. `history.toml` extends it, so every "
                       "bundled option uses these values; `posterior.csv` beside it is the weighted posterior sample "
                       "that `--posterior` draws from. Run on its own it is the schema defaults with this behaviour.",
    "history.toml": "The base of every option: the real rule timeline from 2017-01 to 2025-07 (the last month of IRCC's "
                    "airport and inland claims, a driver) on top of the fitted behaviour of `calibrated.toml`, with "
                    "dated IRB capacity, Quebec's emergency places and the cost of a place by period, the months IRCC "
                    "processed intercepted crossers at an inland office, three news shocks and the status events "
                    "(`[[population.event]]`: Haitian TPS 2017, Nigerian visa overstayers FY2017-FY2018, the 2025 TPS "
                    "and parole terminations). Shows a dated value as a sub-table (`[canada.irb_decisions_per_month]`) "
                    "and as an inline table (`pool_entry_share`), bounded changes (`until`) and open-ended ones, and a "
                    "status event spread over months (`until`).",
    "protocol_2023.toml": "The reference for the options after 2025: inherit everything from `history.toml`, restate the "
                          "policy date the comparison summaries use, run to 2026-12, and add the two status events "
                          "announced after the history's last month (new names, so they are appended to the inherited "
                          "events).",
    "no_protocol.toml": "Dropping inherited changes by name with `enabled = false`: the counterfactual in which the "
                        "2004 rules continue (the status events still happen).",
    "protocol_without_resettlement.toml": "Dropping one inherited change.",
    "protocol_enforcement_surge.toml": "Adding a change on top of the inherited ones. Changes apply in file order "
                                       "(inherited first), so this one overrides `between_ports_detection` from its date.",
    "protocol_irb_capacity_doubled.toml": "Changing a dated value. Dated tables merge key by key with the parent's: "
                                          "the entries given here replace the parent's `2023-04` and `2024-01` steps "
                                          "and the earlier steps are kept.",
    "roxham_designated_port.toml": "A chain of three files (`roxham_designated_port` -> `no_protocol` -> "
                                   "`protocol_2023` -> `history`) and a lever with named values (`roxham`).",
    "suspend_stca.toml": "Switching levers off from a date: `stca_at_ports = false` lets everyone claim at ports, and "
                         "`stca_between_ports = false` keeps the Protocol off.",
    "canada_2025_eligibility.toml": "The Bill C-12 option: one change turns on both levers, "
                                    "`late_between_ports_claims_barred` and `one_year_bar`, from royal assent "
                                    "(2026-03-26). The law reaches back to claims made from 2025-06-03; the model does "
                                    "not (see [Bill C-12 in the ODD](ODD.md#710-bill-c-12-claims-barred-from-the-irb)).",
    "stca_struck_down.toml": "An option that did not happen: from 2025-09-01 both STCA levers are off, as if a court's "
                             "declaration of invalidity took effect at once. Its `policy_date` is the date of the change: "
                             "the comparison windows start there when it is the reference.",
    "terminate_stca.toml": "Like `stca_struck_down.toml`, but the STCA ends on 2026-02-01, six months after an assumed "
                           "notice of termination (IRPR s.159.7(5) ends the STCA rules on the day the notice sets; the "
                           "six-month notice of the treaty's Art. 10 is unconfirmed in `docs/legal_basis.md`).",
}

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

BAD_EXAMPLE = '''\
[scenario]
extends = "protocol_2023.toml"

[behaviour]
w_wiat = 0.8
'''


# --- reading the declarations ------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One key of a scenario file, as its declaration describes it."""

    table: str  # "policy", "policy.change", ...
    path: str  # "policy.change[].from"
    key: str  # "from"
    kind: str  # PLAIN, DATED or PER_GROUP
    type: str
    bounds: str  # "in [0, 1]", ">= 0" (of each value, for a dated or per-group key) or ""
    rule: str  # what a validator checks beyond the bounds, or ""
    default: str
    unit: str
    source: str
    meaning: str


def toml_literal(value) -> str:
    """A value as a scenario file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{k if k.isidentifier() else toml_literal(k)} = {toml_literal(v)}" for k, v in value.items())
        return "{ " + items + " }" if value else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")


def list_model(field: FieldInfo) -> type[BaseModel] | None:
    """The model of a list of tables (``policy.change``, ``behaviour.news``), else None."""
    args = typing.get_args(field.annotation)
    return args[0] if args and isinstance(args[0], type) and issubclass(args[0], BaseModel) else None


def type_text(field: FieldInfo) -> str:
    """Words for what a key takes: from its kind, else from its Python type."""
    kind = kind_of(field)
    if kind == DATED:
        return 'number, or dated table `{ "YYYY-MM" = number }`'
    if kind == PER_GROUP:
        return "table `{ group = number }` (`default` for the others)"
    ann = field.annotation
    if typing.get_origin(ann) in (types.UnionType, typing.Union):  # "x | None": the None is the "not set" default
        ann = next(a for a in typing.get_args(ann) if a is not type(None))
    if typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    words = {bool: "true / false", int: "integer", float: "number", str: "text"}
    if ann in words:
        return words[ann]
    if typing.get_origin(ann) is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(ann))
    if list_model(field):
        return "list of tables"
    if typing.get_origin(ann) in (list, tuple):
        choices = typing.get_args(typing.get_args(ann)[0])
        return "list of groups" if set(choices) == set(GROUPS) else "list of " + ", ".join(f"`{c}`" for c in choices)
    raise SystemExit(f"generate_docs: no words for the type {ann!r}; add them to type_text")


def range_text(bounds: dict[str, float]) -> str:
    """'in [0, 1]', '>= 0', '> 0' ... from ``bounds_of``."""
    lo = next(((op, bounds[op]) for op in ("ge", "gt") if op in bounds), None)
    hi = next(((op, bounds[op]) for op in ("le", "lt") if op in bounds), None)
    if lo and hi:
        return f"in {'[' if lo[0] == 'ge' else '('}{lo[1]:g}, {hi[1]:g}{']' if hi[0] == 'le' else ')'}"
    if lo:
        return f"{'>=' if lo[0] == 'ge' else '>'} {lo[1]:g}"
    if hi:
        return f"{'<=' if hi[0] == 'le' else '<'} {hi[1]:g}"
    return ""


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    return "not set" if value is None else f"`{toml_literal(value)}`"


def row_of(table: str, path: str, key: str, field: FieldInfo) -> Row:
    kind = kind_of(field)
    bounds = range_text(bounds_of(field))
    meaning = field.description
    if not meaning:
        raise SystemExit(f"generate_docs: {path} has no description; add one where it is declared in simulation/scenario/")
    return Row(table, path, key, kind, type_text(field),
               f"each value {bounds}" if bounds and kind != PLAIN else bounds, VALIDATED.get(path, ""),
               default_text(field), unit_of(field) or "—", source_of(field) or "—", meaning)


def lever_row() -> Row:
    """One row for all the levers a ``[[policy.change]]`` may set: the keys ``PolicyChange`` takes from ``RuleSet``."""
    levers = codes(k for k in PolicyChange.model_fields if k in LEVERS)
    return Row("policy.change", "policy.change[].<lever>", "<lever>", PLAIN, "as in `[policy]`", "", "", "not set",
               "as in `[policy]`", "the change's `source`", f"Any lever of `[policy]` ({levers}): its value while the "
               "change is in force. Levers not given keep the value in force from the base rules and earlier changes.")


def rows_of(model: type[BaseModel], table: str, prefix: str) -> list[Row]:
    """The keys of one table, then the keys of its lists of tables (paths ``policy.change[].from``)."""
    own, nested = [], []
    for name, field in model.model_fields.items():
        if model is PolicyChange and name in LEVERS:
            continue
        key = field.alias or name
        own.append(row_of(table, f"{prefix}.{key}", key, field))
        sub = list_model(field)
        if sub is not None:
            nested += rows_of(sub, f"{table}.{key}", f"{prefix}.{key}[]")
    if model is PolicyChange:
        own.append(lever_row())
    return own + nested


def schema_rows() -> list[Row]:
    """Every key of a scenario file, section by section (a list table right after its section's keys)."""
    return [r for s in SECTIONS for r in rows_of(Scenario.model_fields[s].annotation, s, s)]


def paths_of_kind(kind: str) -> list[str]:
    return [r.path for r in schema_rows() if r.kind == kind]


# --- markdown ----------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ").strip()

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows])


def codes(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


def generated_note(what: str) -> str:
    return f"<!-- Generated by docs/generate_docs.py from {what}. Do not edit by hand: run {REGENERATE}. -->"


def replace_block(text: str, name: str, new: str) -> str:
    """``text`` with the block between the ``name`` markers (included) replaced by ``new``."""
    start, end = markers(name)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise SystemExit(f"generate_docs: a generated file needs exactly one {start} ... {end} pair")
    head, rest = text.split(start, 1)
    return head + new + rest.split(end, 1)[1]


# --- the tables of docs/ODD.md -----------------------------------------------------------------


def parameter_table() -> str:
    rows = [[f"`{r.path}`", r.kind.replace("_", " "), r.default, "; ".join(x for x in (r.bounds, r.rule) if x) or "—",
             r.unit, r.source, r.meaning] for r in schema_rows()]
    return "\n".join([
        table(["key path", "kind", "default", "range", "unit", "source", "meaning"], rows), "",
        "**Fitted by `bordersim calibrate`** (`PRIORS` in `simulation/experiments/calibration.py`): the parameters "
        "ABC-SMC fits, their priors, and the values the bundled scenarios use (those of `scenarios/calibrated.toml`; a "
        "key it does not set keeps its schema default):", "",
        fitted_table(), "",
        "**Where the bundled history departs from the defaults**: the keys whose value in `scenarios/history.toml` "
        "(with what it extends) differs from the schema default above, and the file that sets each one:", "",
        bundled_differences()])


def lever_table() -> str:
    levers = [row_of("policy", f"policy.{name}", name, field) for name, field in RuleSet.model_fields.items()]
    rows = [[f"`{r.key}`", type_cell(r), r.default, r.meaning, r.source] for r in levers]
    return table(["lever", "takes", "default (2004 rules)", "meaning", "legal basis / source"], rows)


def output_table() -> str:
    part_of = {c.name: [o.name for o in OUTCOMES if c.name in o.columns] for c in COLUMNS}
    if set(KEY_MEANING) != set(KEY_COLUMNS):
        raise SystemExit(f"generate_docs: KEY_MEANING must describe exactly the key columns {KEY_COLUMNS}")
    columns = [[f"`{k}`", KEY_MEANING[k], "—", "key", "—"] for k in KEY_COLUMNS]
    columns += [[f"`{c.name}`", c.label, c.unit, "flow: summed over the month's days" if c.kind == FLOW
                 else "stock: on the month's last day", codes(part_of[c.name]) or "—"] for c in COLUMNS]
    outcomes = [[f"`{o.name}`", o.label, o.unit, codes(o.columns), HOW[o.how]] for o in OUTCOMES]
    return "\n".join([
        "**Columns of `monthly.csv`** (`COLUMNS`), in file order:", "",
        table(["column", "label", "unit", "flow or stock", "in summary outcomes"], columns), "",
        "**Summary outcomes** (`OUTCOMES`): what `summary.csv` and `differences.csv` report per window, each the "
        "listed columns added month by month and then reduced over the window:", "",
        table(["outcome", "label", "unit", "columns", "over a window"], outcomes)])


def readme_columns() -> str:
    """The columns of monthly.csv for the README: each column's declared meaning, unit and kind."""
    rows = [[f"`{k}`", KEY_MEANING[k]] for k in KEY_COLUMNS]
    rows += [[f"`{c.name}`", f"{c.doc or c.label} ({c.unit}; {'flow' if c.kind == FLOW else 'stock'})"] for c in COLUMNS]
    return table(["column", "meaning (unit; flow = summed over the month, stock = on its last day)"], rows)


def fitted_table() -> str:
    from simulation.experiments.calibration import PRIORS

    path = SCENARIO_DIR / "calibrated.toml"
    raw, fitted, default = tomllib.loads(path.read_text()), load_scenario(path).to_dict(), Scenario().to_dict()
    rows = []
    for key, (lo, hi, log) in PRIORS.items():
        prior = f"{'log-uniform' if log else 'uniform'}, {lo:g} .. {hi:g}"
        if has(raw, key):
            value = f"`{value_at(fitted, key):.4g}`"
        else:
            value = f"not set: schema default `{value_at(default, key) if has(default, key) else 0.0:g}`"
        rows.append([f"`{key}`", prior, value])
    return table(["key path", "prior (ABC-SMC)", "in `scenarios/calibrated.toml`"], rows)


def value_at(d: dict, path: str):
    """The value at a dotted key path of a scenario dict; KeyError if it is not there."""
    for part in path.split("."):
        d = d[part]
    return d


def has(d: dict, path: str) -> bool:
    try:
        value_at(d, path)
        return True
    except (KeyError, TypeError):
        return False


def short(row: Row, value) -> str:
    if row.kind == DATED and isinstance(value, dict):
        return f"dated table, {len(value)} steps from {min(value)}"
    return f"`{toml_literal(value)}`"


def chain(path: Path) -> list[tuple[Path, dict]]:
    """A scenario file and the files it extends, child first, as raw TOML."""
    out = []
    while path is not None:
        raw = tomllib.loads(path.read_text())
        out.append((path, raw))
        parent = raw.get("scenario", {}).get("extends")
        path = (path.parent / parent).resolve() if parent else None
    return out


def bundled_differences(name: str = "history.toml") -> str:
    path = SCENARIO_DIR / name
    resolved, default = load_scenario(path).to_dict(), Scenario().to_dict()
    rows = []
    for r in schema_rows():
        if r.table in ("scenario", "time", "run") or "[]" in r.path or r.type == "list of tables":
            continue
        value = value_at(resolved, r.path)
        if value != value_at(default, r.path):
            where = next(p.name for p, raw in chain(path) if has(raw, r.path))
            rows.append([f"`{r.path}`", r.default, short(r, value), f"`{where}`"])
    return table(["key path", "schema default", f"in `{name}`", "set in"], rows)


# --- docs/scenarios.md -------------------------------------------------------------------------


def check_merge_claims() -> None:
    """The inheritance rules scenarios.md states, checked against the loader's merge."""
    def claim(what: str, parent: dict, child: dict, expected: dict) -> None:
        if _merge(parent, child) != expected:
            raise SystemExit(f"generate_docs: the merge no longer works as docs/scenarios.md says ({what}); update the text")

    dated = {"2017-01": 1.0, "2024-01": 3.0}
    claim("dated tables merge entry by entry", {"c": {"x": dated}}, {"c": {"x": {"2020-01": 2.0}}},
          {"c": {"x": {**dated, "2020-01": 2.0}}})
    claim("a number replaces a dated table", {"c": {"x": dated}}, {"c": {"x": 5.0}}, {"c": {"x": 5.0}})
    claim("per-group tables merge group by group", {"c": {"x": {"default": 0.1}}}, {"c": {"x": {"haiti": 0.2}}},
          {"c": {"x": {"default": 0.1, "haiti": 0.2}}})
    claim("lists are replaced", {"policy": {"exceptions": ["family", "public_interest"]}},
          {"policy": {"exceptions": ["family"]}}, {"policy": {"exceptions": ["family"]}})
    claim("named tables merge by name, keep their place, new ones are appended",
          {"policy": {"change": [{"name": "a", "from": "2020-01", "direct_back": True}, {"name": "b"}]}},
          {"policy": {"change": [{"name": "c"}, {"name": "a", "enabled": False}]}},
          {"policy": {"change": [{"name": "a", "from": "2020-01", "direct_back": True, "enabled": False},
                                 {"name": "b"}, {"name": "c"}]}})


def timeline_rows(sc: Scenario) -> list[list[str]]:
    """(date, what changes that day) for each period of distinct rules in the window."""
    out, previous = [], None
    for day, rules in sc.rule_timeline():
        if previous is None:
            out.append([str(day), "base rules (see `[policy]`)"])
        else:
            diff = [f"`{k} = {toml_literal(getattr(rules, k))}`" for k in LEVERS
                    if getattr(rules, k) != getattr(previous, k)]
            names = [c.name for c in sc.rule_changes() if day in (c.start, c.until)]
            out.append([str(day), ", ".join(diff) + (f" ({', '.join(names)})" if names else "")])
        previous = rules
    return out


def load_text(text: str, name: str) -> tuple[Scenario | None, str]:
    """Load a scenario written in the docs as if it sat in scenarios/: (scenario, error message)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text.replace('extends = "', f'extends = "{SCENARIO_DIR.as_posix()}/'))
        try:
            return load_scenario(path), ""
        except ScenarioError as e:
            return None, str(e).replace(tmp + "/", "").replace(SCENARIO_DIR.as_posix() + "/", "")


def example_section(path: Path) -> str:
    sc = load_scenario(path)
    return "\n".join([
        f"### `{path.name}`", "", EXAMPLE_NOTES.get(path.name, sc.scenario.description), "",
        "```toml", path.read_text().rstrip("\n"), "```", "",
        f"Resolved: `{sc.name}`, {sc.time.start} .. {sc.time.end}, {len(sc.rule_changes())} enabled dated changes. "
        "Rules by period (what `bordersim validate` prints):", "",
        table(["from", "rules that change"], timeline_rows(sc)), ""])


def own_example() -> str:
    sc, err = load_text(EXAMPLE_OPTION, EXAMPLE_FILE)
    if sc is None:
        raise SystemExit(f"generate_docs: the example option in the docs does not validate: {err}")
    _, bad = load_text(BAD_EXAMPLE, "typo.toml")
    if not bad:
        raise SystemExit("generate_docs: the bad example in the docs validates; pick another mistake")
    return "\n".join([
        "```toml", EXAMPLE_OPTION.rstrip("\n"), "```", "",
        f"It resolves to `pool_entry_share = {toml_literal(sc.population.pool_entry_share)}` and this rule timeline:", "",
        table(["from", "rules that change"], timeline_rows(sc)), "",
        "A typo is an error, not a silently ignored key. With `w_wiat` for `w_wait`:", "",
        "```toml", BAD_EXAMPLE.rstrip("\n"), "```", "", "```text", f"bordersim: error: {bad}", "```"])


def bundled() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.toml"))


def bundled_table() -> str:
    rows = []
    for path in bundled():
        sc, parent = load_scenario(path), tomllib.loads(path.read_text()).get("scenario", {}).get("extends")
        rows.append([f"`{path.name}`", f"`{sc.name}`", f"`{parent}`" if parent else "—",
                     f"{sc.time.start} .. {sc.time.end}", sc.scenario.policy_date or "—", sc.scenario.description])
    return table(["file", "name", "extends", "months", "policy_date", "description"], rows)


def examples() -> str:
    return "\n".join(map(example_section, bundled())).rstrip("\n")


def heading(table_name: str) -> str:
    """``[policy]``, or ``[[policy.change]]`` for a list of tables."""
    return f"[[{table_name}]]" if "." in table_name else f"[{table_name}]"


def table_names() -> str:
    return codes(heading(t) for t in dict.fromkeys(r.table for r in schema_rows()))


def groups_list() -> str:
    return "\n".join([
        f"* Groups, wherever a list or table of groups is asked for: {codes(GROUPS)}.",
        f"* Western Hemisphere groups, the only ones allowed in `policy.resettlement_groups`: {codes(WESTERN_HEMISPHERE)}.",
        f"* STCA exceptions, for `policy.exceptions`: {codes(EXCEPTIONS)}."])


def type_cell(r: Row) -> str:
    """'number in [0, 1]', 'number, or dated table ..., each value >= 0', 'text; a date'."""
    text = r.type + ((" " if r.kind == PLAIN else ", ") + r.bounds if r.bounds else "")
    return text + (f"; {r.rule}" if r.rule else "")


def key_reference() -> str:
    rows, out = schema_rows(), []
    for name in dict.fromkeys(r.table for r in rows):
        out += [f"### `{heading(name)}`", "", SECTION_INTRO[name], ""]
        body = [[f"`{r.key}`", type_cell(r), r.default, r.unit, r.meaning, r.source] for r in rows if r.table == name]
        out += [table(["key", "type", "default", "unit", "meaning", "source"], body), ""]
    return "\n".join(out[:-1])


# --- README.md: the CLI reference --------------------------------------------------------------

def argument_name(action: argparse.Action) -> str:
    if not action.option_strings:
        name = action.metavar or action.dest
        return {"+": f"{name} [{name} ...]", "?": f"[{name}]", "*": f"[{name} ...]"}.get(action.nargs, name)
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    value = "{" + ",".join(map(str, action.choices)) + "}" if action.choices else action.metavar or action.dest.upper()
    return f"{', '.join(action.option_strings)} {value}" + (f" [{value} ...]" if action.nargs == "+" else "")


def argument_help(action: argparse.Action) -> str:
    if not action.help:
        raise SystemExit(f"generate_docs: {argument_name(action)} has no help text; add help= in simulation/present/cli.py")
    text = action.help.strip()
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
    return text


def cli_reference() -> str:
    """Every subcommand of ``bordersim`` and its arguments, read from the argparse parser."""
    from simulation.present.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    out = []
    for name, parser in sub.choices.items():
        args = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
        positional = "".join(" " + argument_name(a) for a in args if not a.option_strings)
        out += [f"#### `bordersim {name}{positional}`", "", helps[name][0].upper() + helps[name][1:] + ".", "",
                table(["argument", "meaning"], [[f"`{argument_name(a)}`", argument_help(a)] for a in args]), ""]
    return "\n".join(out[:-1])


# --- the pattern table of docs/ODD.md (a model run; not part of --check) -------------------------


def git_commit() -> str:
    import subprocess

    def git(*args) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "simulation", "scenarios", "data")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (
        " plus uncommitted changes to simulation/, scenarios/ or data/" if dirty else "")


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
        return first(rcmp[(rcmp.year == year) & (rcmp.month == month) & (rcmp.province == "Quebec")
                          & (rcmp.kind == kind)], "interceptions")

    held = data.heldout("irb_rpd")  # a score only: held-out figures are never fitted to

    def pending(year, month, table=irb):
        return first(table[(table.series == "rpd_pending") & (table.year == year) & (table.month == month)], "value")

    def land_ports(year):
        return first(modes[(modes.year == year) & (modes["mode"] == "land_port")], "claims")

    sc = load_scenario(SCENARIO_DIR / "history.toml")
    result = simulate(sc)
    monthly = result.monthly
    m = monthly.set_index("month")
    year = monthly.groupby(monthly["month"].str[:4]).sum(numeric_only=True)

    def fmt(*values):
        return " / ".join("n/a" if v != v else f"{v:,.0f}" for v in values)

    q = "interceptions_quebec"
    rows = [
        ("Quebec interceptions between ports, 2017", fmt(quebec(2017)), fmt(year.loc["2017", q])),
        ("… August 2017 (peak month; Haitians after the TPS signal)", fmt(quebec(2017, 8)), fmt(m.loc["2017-08", q])),
        ("… 2019", fmt(quebec(2019)), fmt(year.loc["2019", q])),
        ("… 2021 (direct-back until 2021-11-21)", fmt(quebec(2021)), fmt(year.loc["2021", q])),
        ("… 2022 (record year)", fmt(quebec(2022)), fmt(year.loc["2022", q])),
        ("… January / February / March 2023", fmt(*(quebec(2023, k) for k in (1, 2, 3))),
         fmt(*(m.loc[f"2023-0{k}", q] for k in (1, 2, 3)))),
        ("… April / May 2023, under the Protocol", "no monthly figure in `data/`",
         fmt(*(m.loc[f"2023-0{k}", q] for k in (4, 5)))),
        ("IRB claims pending, end of 2019 / 2021", fmt(pending(2019, 12), pending(2021, 12)),
         fmt(m.loc["2019-12", "irb_backlog"], m.loc["2021-12", "irb_backlog"])),
        ("IRB claims pending, end of September 2023 / 2024 (held out)",
         fmt(pending(2023, 9, held), pending(2024, 9, held)),
         fmt(m.loc["2023-09", "irb_backlog"], m.loc["2024-09", "irb_backlog"])),
        ("claims at land ports, 2017 / 2019 / 2021 / 2022", fmt(*(land_ports(y) for y in (2017, 2019, 2021, 2022))),
         fmt(*(year.loc[str(y), "port_claims"] for y in (2017, 2019, 2021, 2022)))),
    ]
    cmd = ".venv/bin/python docs/generate_docs.py --patterns"
    start, end = markers("patterns")
    return "\n".join([
        start, f"<!-- Generated by {cmd}: one run of scenarios/history.toml. Not checked by --check. -->", "",
        table(["pattern", "observed (`data/`)", "model, one run"], [list(r) for r in rows]), "",
        f"Model: one run of `scenarios/history.toml` at its own seed ({sc.run.seed}) and scale ({sc.run.scale}), "
        f"{result.provenance['persons_simulated']:,} persons simulated, code at commit {git_commit()}; rebuilt by "
        f"`{cmd}`. Counts move in steps of {1 / sc.run.scale:,.0f} persons. Observed: Quebec rows of "
        "`rcmp_interceptions_monthly.csv`, `rpd_pending` in `irb_capacity.csv` (the first row where two sources "
        "give the same month) and `land_port` in `claims_by_mode.csv`; held-out rows from `heldout_irb_rpd.csv` (never "
        "fitted to).", "", end])


# --- main --------------------------------------------------------------------------------------

SCHEMA = "the declarations in simulation/scenario/"
#: Every generated block: file -> {block name: (what it is generated from, the function that makes it)}.
BLOCKS = {
    SCENARIOS_MD: {
        "tables": (SCHEMA, table_names),
        "dated": (SCHEMA + " (kind_of)", lambda: codes(paths_of_kind(DATED))),
        "per-group": (SCHEMA + " (kind_of)", lambda: codes(paths_of_kind(PER_GROUP))),
        "groups": ("simulation/scenario/groups.py and levers.py", groups_list),
        "bundled": ("scenarios/*.toml", bundled_table),
        "examples": ("scenarios/*.toml", examples),
        "own-example": ("the example in docs/generate_docs.py, loaded by load_scenario", own_example),
        "key-reference": (SCHEMA, key_reference),
    },
    ODD_MD: {
        "parameters": (SCHEMA + ", simulation/experiments/calibration.py and scenarios/", parameter_table),
        "levers": ("RuleSet in simulation/scenario/levers.py", lever_table),
        "outputs": ("simulation/core/columns.py", output_table),
    },
    README_MD: {"cli": ("the parser in simulation/present/cli.py", cli_reference),
                "columns": ("simulation/core/columns.py", readme_columns)},
}


def block(name: str, what: str, content: str) -> str:
    start, end = markers(name)
    return "\n".join([start, generated_note(what), "", content, "", end])


def expected_files(patterns: bool = False) -> dict[Path, str]:
    """Each file with its generated blocks rebuilt (and, with ``patterns``, the pattern table of ODD.md)."""
    check_merge_claims()
    out = {}
    for path, blocks in BLOCKS.items():
        text = path.read_text()
        for name, (what, make) in blocks.items():
            text = replace_block(text, name, block(name, what, make()))
        out[path] = text
    if patterns:
        out[ODD_MD] = replace_block(out[ODD_MD], "patterns", pattern_table())
    return out


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
        old = path.read_text()
        if old == text:
            continue
        stale.append(path.relative_to(ROOT).as_posix())
        if args.check:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), f"{stale[-1]} (on disk)", "generated",
                                        lineterm="", n=1)
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            path.write_text(text)
            print(f"wrote {stale[-1]}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run {REGENERATE.strip('`')}", file=sys.stderr)
        return 1
    if not stale:
        print("docs up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

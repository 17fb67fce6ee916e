"""Branching from a shared state gives, byte for byte, the results of independent runs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from simulation.core.model import BorderModel
from simulation.experiments import branching as B
from simulation.experiments.ensemble import run_comparison
from simulation.experiments.run import simulate
from simulation.files import to_csv_bytes
from simulation.present.cli import main
from simulation.scenario import load_scenario

from tests.conftest import SCENARIO_DIR, small_scenario

#: every bundled option: the 2023 options and the later ones (all extend protocol_2023)
OPTIONS = ("no_protocol", "protocol_without_resettlement", "suspend_stca", "roxham_designated_port",
           "protocol_enforcement_surge", "protocol_irb_capacity_doubled", "stca_struck_down", "terminate_stca",
           "canada_2025_eligibility")
#: a short window around every option's first difference (2023-03-25 .. 2026-03-26), at a small scale
WINDOW = dict(start="2022-12", end="2026-05", scale=0.002, seed=4)

DIFFERS_FROM_DAY_0 = """
[scenario]
name = "patrols_from_the_start"
extends = "{base}"

[[policy.change]]
name = "patrols_from_the_start"
from = "2022-12"
between_ports_detection = 0.5
"""


def csv(result) -> bytes:
    return to_csv_bytes(result.monthly)


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    d = tmp_path_factory.mktemp("day0")
    (d / "day0.toml").write_text(DIFFERS_FROM_DAY_0.format(base=(SCENARIO_DIR / "protocol_2023.toml").as_posix()))
    day0 = load_scenario(d / "day0.toml", seed=WINDOW["seed"], scale=WINDOW["scale"])
    from simulation.scenario.schema import TimeSpec

    day0 = day0.model_copy(update={"time": TimeSpec(start=WINDOW["start"], end=WINDOW["end"])})
    return [small_scenario(n, **WINDOW) for n in ("protocol_2023", *OPTIONS)] + [day0]


def test_every_option_branched_from_the_shared_state_is_byte_identical_to_its_own_run(scenarios):
    base, options = scenarios[0], scenarios[1:]
    days = B.branch_days(scenarios)
    first = base.time.first_day
    # the first difference is where each option's first dated change is (none of them before 2023-03-25)
    assert days[0] == B.Derived(base)["n_days"]  # the base never leaves its own path
    when = {sc.name: first + dt.timedelta(days=d) for sc, d in zip(scenarios, days)}
    assert when["no_protocol"] == when["suspend_stca"] == dt.date(2023, 3, 25)
    assert when["stca_struck_down"] == dt.date(2025, 9, 1) and when["canada_2025_eligibility"] == dt.date(2026, 3, 26)
    assert when["patrols_from_the_start"] == first  # differs from its first day
    model = BorderModel(base)
    snaps = {}
    for d in sorted(set(days[1:])):
        B.run_until(model, d)
        snaps[d] = B.Snapshot(model)
    for sc, d in zip(options, days[1:]):
        branched = simulate(sc, start=snaps[d], commit=False)
        assert csv(branched) == csv(simulate(sc, commit=False)), sc.name
        assert [str(t) for t, _ in branched.timeline] == [str(t) for t, _ in sc.rule_timeline()]
    # and the base itself, continued after its snapshots were taken
    assert csv(simulate(model=model, commit=False)) == csv(simulate(base, commit=False))


def test_a_model_branched_at_day_0_is_the_options_own_model(scenarios):
    """Attribute by attribute: whatever the model derives from its scenario is the option's after branching
    (a value derived outside BorderModel._derive would keep the base's and fail here)."""
    import mesa

    mesa_own = set(vars(mesa.Model(rng=0)))  # Mesa's own attributes (its rng, event list...): state, not derived
    base = scenarios[0]
    snap = B.Snapshot(BorderModel(base))
    for sc in scenarios[1:]:
        fresh, branched = BorderModel(sc), B.continue_as(snap, sc)
        differ = [name for name, value in vars(fresh).items()
                  if name not in mesa_own and name not in ("datacollector", "_kernel_tables")
                  and not _equal(value, getattr(branched, name))]
        assert differ == [], sc.name


def _equal(a, b) -> bool:
    """Plain data must be equal; the institutions (queues, shelters, calendar, recorder: state, with buffers
    left uninitialised past their fill) are not derived from the scenario and are checked by the runs above."""
    if type(a).__module__.startswith("simulation.core.") and not hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b)
    return B._same(a, b)


def test_an_option_cannot_continue_a_state_it_does_not_share(scenarios):
    base = scenarios[0]
    model = BorderModel(base)
    B.run_until(model, 30)  # 2023-01-01: before every bundled option's first difference, after day 0
    snap = B.Snapshot(model)
    day0 = scenarios[-1]
    with pytest.raises(B.BranchError, match="differs from 'protocol_2023' from 2022-12-01 on"):
        B.continue_as(snap, day0)
    other_behaviour = base.model_copy(update={"behaviour": base.behaviour.model_copy(update={"w_cost": 2.0})})
    assert B.first_difference_day(base, other_behaviour) == 0
    with pytest.raises(B.BranchError):
        simulate(other_behaviour, start=snap, commit=False)


def test_ensembles_branch_by_default_with_the_results_of_no_branch(short_pair, tmp_path):
    protocol, no_protocol = short_pair
    files = {}
    for label, branch in (("branch", True), ("no_branch", False)):
        out = tmp_path / label
        summary, _, result = run_comparison([no_protocol, protocol], out, reps=2, master_seed=7, scale=0.002,
                                            workers=1, branch=branch)
        assert not result.failures and result.ran == 4
        files[label] = {p.relative_to(out): p.read_bytes() for p in sorted((out / "reps").rglob("*.parquet"))}
        files[label]["summary.csv"] = (out / "summary.csv").read_bytes()
    assert files["branch"] == files["no_branch"]
    assert len(files["branch"]) == 5


def test_a_branch_plan_groups_what_may_share_a_path(scenarios):
    from simulation.experiments.ensemble import _branch_plan

    other = scenarios[0].model_copy(update={"behaviour": scenarios[0].behaviour.model_copy(update={"w_cost": 2.0})})
    plan = _branch_plan([scenarios[1], scenarios[0], other, scenarios[-1]])
    assert plan[0][0] == plan[1][0] == 0 and plan[1][1] > 0  # protocol_2023 branches from no_protocol's path
    assert plan[2] == (2, 0)  # another behaviour: on its own
    assert plan[3] == (0, 0)  # differs from day 0: in the group, but branches at day 0


def test_save_a_state_once_and_run_what_ifs_from_it(short_pair, tmp_path, capsys):
    protocol, no_protocol = short_pair
    state = tmp_path / "state.bin"
    common = ["--seed", "3", "--scale", "0.002", "--quiet", "--no-plots"]
    assert main(["run", str(protocol), "--until", "2023-03-01", "--save-state", str(state), "--seed", "3",
                 "--scale", "0.002"]) == 0
    assert "saved the state at 2023-03-01" in capsys.readouterr().out
    for option in (protocol, no_protocol):
        assert main(["run", str(option), "--from-state", str(state), "--out", str(tmp_path / option.stem),
                     "--quiet", "--no-plots"]) == 0
        assert main(["run", str(option), "--out", str(tmp_path / ("direct_" + option.stem)), *common]) == 0
        assert (tmp_path / option.stem / "monthly.csv").read_bytes() == \
            (tmp_path / ("direct_" + option.stem) / "monthly.csv").read_bytes()
    # a saved state with another seed than asked, a state of other code, a file that is no state: clean errors
    assert main(["run", str(protocol), "--from-state", str(state), "--seed", "4", "--out", str(tmp_path / "x")]) == 2
    assert "--seed 4 differs from the saved state's (3)" in capsys.readouterr().err
    (tmp_path / "junk.bin").write_bytes(b"not a state")
    assert main(["run", str(protocol), "--from-state", str(tmp_path / "junk.bin"), "--out", str(tmp_path / "y")]) == 2
    assert "not a bordersim state file" in capsys.readouterr().err


def test_a_state_saved_by_other_model_code_is_refused(short_pair, tmp_path, monkeypatch):
    protocol, _ = short_pair
    sc = load_scenario(protocol, seed=1, scale=0.002)
    snap = B.Snapshot(simulate(sc, until="2023-01-01", commit=False).model)
    snap.save(tmp_path / "s.bin")
    monkeypatch.setattr(B, "code_digest", lambda: "another")
    with pytest.raises(B.BranchError, match="another version of the model code"):
        B.Snapshot.load(tmp_path / "s.bin")


def test_restored_models_are_independent_and_share_only_read_only_arrays(short_pair):
    protocol, _ = short_pair
    sc = load_scenario(protocol, seed=1, scale=0.002)
    snap = B.Snapshot(simulate(sc, until="2023-01-01", commit=False).model)
    a, b = snap.restore(), snap.restore()
    assert a.people.group is b.people.group and not a.people.group.flags.writeable
    assert a.people.state is not b.people.state
    B.run_until(a, a.day + 40)
    assert b.day == snap.day and not np.array_equal(a.people.state, b.people.state)
    assert pd.DataFrame(a.results()).shape[0] > pd.DataFrame(b.results()).shape[0]


def test_branching_with_a_posterior_gives_the_results_of_no_branch(short_pair, tmp_path):
    """Replication i of every option uses parameter set i: the options still share their beginning."""
    protocol, no_protocol = short_pair
    post = pd.DataFrame({"behaviour.asc_roxham": [-7.0, -8.0, -6.5], "behaviour.w_cost": [1.0, 1.5, 0.8],
                         "weight": [1.0, 1.0, 1.0]})
    files = {}
    for branch in (True, False):
        out = tmp_path / f"branch_{branch}"
        _, _, result = run_comparison([no_protocol, protocol], out, reps=2, master_seed=2, scale=0.002, workers=1,
                                      posterior=post, branch=branch)
        assert not result.failures
        files[branch] = {p.relative_to(out): p.read_bytes() for p in sorted((out / "reps").rglob("*.parquet"))}
        files[branch]["summary.csv"] = (out / "summary.csv").read_bytes()
    assert files[True] == files[False] and len(files[True]) == 5

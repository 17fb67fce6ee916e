"""How bordersim's figures look: one palette and option order, numbers for people, one format per axis, policy
markers that never sit on the data or on each other, observed series that can be plugged in."""

from __future__ import annotations

import datetime as dt
import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from simulation.present import style  # noqa: E402
from simulation.present.plots import Marker, draw_markers, layout_labels, policy_markers, run_plots  # noqa: E402
from tests.conftest import small_scenario  # noqa: E402


# --- palette and order ------------------------------------------------------------------------------------------


def test_the_reference_comes_first_then_a_fixed_order():
    names = ["suspend_stca", "my_option", "protocol_2023", "no_protocol"]
    assert style.option_order(names, "protocol_2023") == ["protocol_2023", "no_protocol", "suspend_stca", "my_option"]
    assert style.option_order(names, "my_option")[0] == "my_option"


def test_each_option_keeps_its_colour_whatever_else_is_drawn():
    alone = style.colours(["protocol_2023"])["protocol_2023"]
    assert style.colours(["no_protocol", "protocol_2023", "suspend_stca"])["protocol_2023"] == alone
    assert style.colours(["suspend_stca", "protocol_2023", "x", "y"])["protocol_2023"] == alone
    mixed = style.colours(["no_protocol", "protocol_2023", "a", "b", "c"])
    assert len(set(mixed.values())) == 5  # options not bundled take colours nobody in the figure uses
    assert all(c in style.OKABE_ITO.values() or c == style.SHARED_GREY for n, c in style.colours(style.BUNDLED).items())


@pytest.mark.parametrize("vision", [None, "deuteranopia", "protanopia", "tritanopia"])
def test_bundled_options_stay_apart_for_colour_blind_readers(vision):
    options = {n: c for n, (_, c) in style.BUNDLED.items() if n != "history"}
    worst = min(style.colour_distance(options[a], options[b], vision) for a, b in itertools.combinations(options, 2))
    assert worst >= 15, worst
    # the pair the issue named: no longer alike under deuteranopia
    assert style.colour_distance(options["no_protocol"], options["suspend_stca"], "deuteranopia") > 50


def test_option_labels_are_words_and_mark_the_reference():
    assert style.option_label("no_protocol", "no_protocol") == "No Protocol (reference)"
    assert style.option_label("protocol_2023", "no_protocol") == "Protocol, as agreed"
    assert style.option_label("my_new_option") == "My new option"


# --- numbers for people -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("x, text", [(41_234, "41,200"), (2_936_197_333 / 1000, "2.94 million"), (87.4, "87"),
                                     (0.4, "fewer than 1"), (-3_140, "−3,140"), (0, "0")])
def test_persons_are_rounded_to_three_figures(x, text):
    assert style.persons(x) == text


@pytest.mark.parametrize("x, text", [(2_936_197_333, "$2.94B"), (310_400_000, "$310M"), (45_000, "$0.045M"),
                                     (-2_280_000_000, "−$2.28B")])
def test_money_is_in_millions_or_billions(x, text):
    assert style.money(x) == text


def test_signed_and_percent():
    assert style.signed(-41_234, "persons") == "−41,000"
    assert style.signed(3_140, "persons") == "+3,100"
    assert style.signed(-310_400_000, "CAD") == "−$310M"
    assert style.percent(-0.617) == "−62%" and style.percent(0.0042) == "+0.42%"
    assert style.share(0.25) == "25%"


@pytest.mark.parametrize("ticks, labels", [
    ([0, 4000, 8000, 12000], ["0", "4k", "8k", "12k"]),
    ([0, 2500, 5000, 7500], ["0", "2,500", "5,000", "7,500"]),
    ([0, 250_000, 500_000, 750_000, 1_000_000], ["0", "0.25M", "0.50M", "0.75M", "1.00M"]),
    ([-2e9, -1e9, 0, 1e9], ["−2B", "−1B", "0", "1B"]),
])
def test_one_number_format_per_axis(ticks, labels):
    f = style.AxisFormat()
    f.set_locs(ticks)
    assert [f(t) for t in ticks] == labels


def test_money_axes_carry_the_dollar_sign():
    f = style.AxisFormat(money=True)
    f.set_locs([0, 5e7, 1e8])
    assert [f(t) for t in (0, 5e7, 1e8)] == ["0", "$50M", "$100M"]


# --- policy markers ---------------------------------------------------------------------------------------------


def test_markers_are_dated_plain_words():
    history = small_scenario("history")
    markers = policy_markers(history, dt.date(2017, 1, 1), dt.date(2024, 12, 31))
    labels = [m.label for m in markers]
    assert "Additional Protocol, 25 Mar 2023" in labels
    assert "COVID-19 direct-backs end, 21 Nov 2021" in labels
    assert all("_" not in m for m in labels)
    options = [small_scenario(n) for n in ("no_protocol", "protocol_2023", "suspend_stca")]
    several = [m.label for m in policy_markers(options, dt.date(2021, 3, 1), dt.date(2025, 12, 31), dt.date(2023, 3, 25))]
    assert "Options take effect, 25 Mar 2023" in several
    assert "Humanitarian pathway (some options), 1 Jan 2024" in several
    assert not any("Additional Protocol" in m or "STCA suspended" in m for m in several)  # on the options' date


def test_a_change_without_a_label_is_named_from_its_description():
    from simulation.present.plots import short_label

    class Change:
        name, label = "x_2024", None
        description = "Canada reimposes the visa on Mexicans (eTA only for some)"

    assert short_label(Change) == "Canada reimposes the visa on Mexicans"


def _drawn(ax, fig):
    renderer = fig.canvas.get_renderer()
    top = ax.get_window_extent(renderer).y1
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    return top, boxes


HISTORY_MARKERS = ((2020, 3, 21, "COVID-19 direct-backs"), (2021, 11, 21, "COVID-19 direct-backs end"),
                   (2022, 6, 30, "Transfers out of Quebec"), (2023, 3, 25, "Additional Protocol"))


@pytest.mark.parametrize("size, last, extra", [
    ((10, 4), dt.date(2025, 1, 1), ((2023, 10, 10, "15,000 humanitarian places"), (2024, 2, 29, "Visa for Mexicans"),
                                    (2024, 10, 10, "15,000 humanitarian places end"))),
    # the backtest figure, where labels measured at 100 dpi overlapped once saved at 130 dpi
    ((11, 4.8), dt.date(2025, 8, 1), ((2024, 1, 1, "Humanitarian pathway admissions"), (2024, 2, 29, "Visa for Mexicans"))),
])
def test_marker_labels_sit_above_the_data_and_never_overlap_or_cross_a_line(size, last, extra):
    markers = [Marker(dt.date(y, m, d), text) for y, m, d, text in HISTORY_MARKERS + extra]
    fig, ax = plt.subplots(figsize=size)
    ax.plot([dt.date(2017, 1, 15), dt.date(2024, 12, 15)], [0, 1])
    ax.set_xlim(dt.date(2017, 1, 1), last)
    ax.set_ylabel("persons intercepted per month")
    ax.legend(["simulated"], loc="upper left", bbox_to_anchor=(0, -0.08))
    fig.tight_layout()
    rows = draw_markers(ax, markers)
    assert rows >= 2
    for dpi in (100, 130):  # as laid out, and as saved (save_figure writes PNGs at 130 dpi: text hints wider)
        fig.set_dpi(dpi)
        top, boxes = _drawn(ax, fig)
        assert len(boxes) == len(markers)
        assert all(b.y0 >= top for b in boxes)  # above the plotting area: never on the data
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b)
        xs = [ax.transData.transform((mdates.date2num(m.day), 0))[0] for m in markers]
        for i, j in itertools.permutations(range(len(markers)), 2):
            if boxes[i].y0 > boxes[j].y0:  # marker i's line rises past label j's row
                assert not boxes[j].x0 < xs[i] < boxes[j].x1, (dpi, markers[i].label, markers[j].label)
    # the last label ends at the right edge of the plot rather than running off it
    right = ax.get_window_extent(fig.canvas.get_renderer()).x1
    assert max(b.x1 for b in boxes) <= right + 2
    plt.close(fig)


def test_layout_rows_are_few_when_changes_are_far_apart():
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.set_xlim(dt.date(2017, 1, 1), dt.date(2025, 1, 1))
    fig.tight_layout()
    rows, _ = layout_labels(ax, [Marker(dt.date(2018, 1, 1), "A"), Marker(dt.date(2022, 1, 1), "B")])
    assert rows == [0, 0]
    plt.close(fig)


# --- series and plots -------------------------------------------------------------------------------------------


def test_quarters_are_drawn_only_when_complete():
    from simulation.present.compare_plots import series_values

    months = ["2021-03", "2021-04", "2021-05", "2021-06", "2021-07"]
    monthly = pd.DataFrame({"month": months * 2, "rep": [0] * 5 + [1] * 5, "x": [1, 2, 3, 4, 5] * 2})
    q = series_values(monthly, ["x"], "quarter")
    assert list(q.index) == ["2021-04"] and list(q.iloc[0]) == [9, 9]
    c = series_values(monthly, ["x"], "cumulative")
    assert list(c[0]) == [1, 3, 6, 10, 15]


def test_a_new_observed_series_can_be_plugged_in(tmp_path):
    from simulation.present import observed

    extra = observed.ObservedSeries("test_claims", "Test claims, Quebec", "Quebec", "test, made up",
                                    lambda: pd.Series({"2023-01": 100.0, "2023-02": 120.0}), ("claims_in_canada",))
    observed.register(extra)
    try:
        names = [s.name for s, _ in observed.available()]
        assert names[:2] == ["rcmp_quebec", "rcmp_rest_of_canada"] and "test_claims" in names
        sc = small_scenario("protocol_2023", start="2022-11", end="2023-06")
        from simulation import simulate

        monthly = simulate(sc).monthly
        written = run_plots(monthly, sc, tmp_path)
        assert {p.name for p in written} >= {"crossings_by_route.png", "irb_backlog.png", "shelters.png", "observed.png"}
    finally:
        observed.OBSERVED[:] = [s for s in observed.OBSERVED if s.name != "test_claims"]
    assert "test_claims" not in [s.name for s, _ in observed.available()]
    assert observed.fit_words("2017-01:2019-12,2021-12:2022-12") == "Jan 2017 to Dec 2019 and Dec 2021 to Dec 2022"

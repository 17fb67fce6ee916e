"""How options and numbers look, everywhere: one palette, one option order, one way to round for people.

The plots, the report, the dashboard and the notebooks all take from here:

* :func:`option_order`: the reference first, then the bundled options in a fixed
  order, then any other option in the order given;
* :func:`colours`: each option's colour, from the Okabe–Ito palette (safe for the
  common colour-vision deficiencies). A bundled option has the same colour in
  every figure whatever else is compared; another option takes the first colour
  no bundled option present uses, so no two options in one figure share one;
* :func:`option_label`: the short name shown for an option (bundled options have
  words; others are their file name, made readable);
* :func:`persons`, :func:`money`, :func:`percent`, :func:`signed`: numbers
  rounded for people (2–3 significant figures, money in $M or $B), and
  :class:`AxisFormat`, one number format for all the ticks of an axis.

What an outcome *is* (its label and unit) comes from
:mod:`simulation.core.columns`; only how it is shown is decided here.
"""

from __future__ import annotations

import math

from matplotlib.ticker import Formatter

#: The Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), in its usual order.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Grey for what all options share (the months before they differ) and for the history.
SHARED_GREY = "#777777"

#: The bundled options, in the order every table, legend and panel lists them (after the reference),
#: with their short names and colours. A colour stays with its option whichever option is the reference.
BUNDLED: dict[str, tuple[str, str]] = {
    "no_protocol": ("No Protocol", OKABE_ITO["black"]),
    "protocol_2023": ("Protocol, as agreed", OKABE_ITO["blue"]),
    "protocol_without_resettlement": ("Protocol, no humanitarian places", OKABE_ITO["sky_blue"]),
    "suspend_stca": ("STCA suspended", OKABE_ITO["vermillion"]),
    "roxham_designated_port": ("Roxham Road as a port", OKABE_ITO["bluish_green"]),
    "protocol_enforcement_surge": ("Protocol + more patrols", OKABE_ITO["reddish_purple"]),
    "protocol_irb_capacity_doubled": ("Protocol + twice the IRB capacity", OKABE_ITO["orange"]),
    "history": ("History", SHARED_GREY),
}
#: Short names of the bundled options discussed today (compared with the Protocol from 2025 on). They take their
#: colours from SPARE like any other option: Okabe-Ito has eight colours, all used by the 2023 options above.
LATER_OPTIONS: dict[str, str] = {
    "stca_struck_down": "STCA struck down (hypothetical ruling)",
    "terminate_stca": "STCA terminated (hypothetical notice)",
    "canada_2025_eligibility": "Bill C-12 eligibility bars",
}
#: Colours for options that are not bundled, taken in this order (those of the bundled options present are skipped).
SPARE = (OKABE_ITO["orange"], OKABE_ITO["reddish_purple"], OKABE_ITO["bluish_green"], OKABE_ITO["sky_blue"],
         OKABE_ITO["vermillion"], OKABE_ITO["blue"], "#8C6D31", "#5F5F5F", OKABE_ITO["yellow"])
#: Routes keep one colour in every figure that shows routes (Paul Tol's "muted" scheme, also colour-blind safe,
#: chosen apart from the option colours above).
ROUTE_COLOURS = {
    "roxham_crossings": "#882255",
    "other_irregular_crossings": "#DDCC77",
    "port_claims": "#332288",
    "port_turnbacks": "#999933",
    "air_claims": "#88CCEE",
}
#: Line styles, cycled when a figure holds more options than the palette has colours.
DASHES = ("-", "--", "-.", ":")


def option_order(names, reference: str | None = None) -> list[str]:
    """Options in display order: the reference first, then bundled options in their fixed order, then the rest as given."""
    names = list(dict.fromkeys(names))
    bundled = [n for n in BUNDLED if n in names and n != reference]
    others = [n for n in names if n not in BUNDLED and n != reference]
    return ([reference] if reference in names else []) + bundled + others


def colours(names) -> dict[str, str]:
    """A colour for each option: fixed for bundled ones; unused palette colours, in order, for the others."""
    names = list(dict.fromkeys(names))
    out = {n: BUNDLED[n][1] for n in names if n in BUNDLED}
    spare = [c for c in SPARE if c not in out.values()]
    for i, n in enumerate(n for n in names if n not in BUNDLED):
        out[n] = spare[i % len(spare)] if spare else SHARED_GREY
    return out


def colour(name: str, among=()) -> str:
    """The colour of one option (``among``: the other options in the same figure)."""
    return colours([*among, name])[name]


def dash(name: str, names) -> str:
    """A line style: solid, unless the figure has more options than colours (then the extra ones are dashed)."""
    others = [n for n in dict.fromkeys(names) if n not in BUNDLED]
    if name in BUNDLED or name not in others:
        return "-"
    free = len([c for c in SPARE if c not in {BUNDLED[n][1] for n in names if n in BUNDLED}])
    return DASHES[(others.index(name) // max(free, 1)) % len(DASHES)]


def option_label(name: str, reference: str | None = None) -> str:
    """The short name shown for an option, with '(reference)' after the reference."""
    text = BUNDLED[name][0] if name in BUNDLED else LATER_OPTIONS.get(name) or name.replace("_", " ").strip().capitalize()
    return f"{text} (reference)" if reference is not None and name == reference else text


# --- numbers for people ----------------------------------------------------------------------------------


def significant(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant figures (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def persons(x: float, digits: int = 3) -> str:
    """A count of persons: whole, to ``digits`` significant figures, with thousands separators.

    41,234 -> '41,200'; 1,234,567 -> '1.23 million'; 0.4 -> 'fewer than 1'.
    """
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1e6:
        return _minus(_strip(f"{significant(x, digits) / 1e6:,.{_decimals(x / 1e6, digits)}f}") + " million")
    if 0 < abs(x) < 1:
        return "fewer than 1" if x > 0 else "−fewer than 1"
    return _minus(f"{significant(x, digits):,.0f}")


def money(x: float, digits: int = 3) -> str:
    """An amount of dollars in $M or $B: 2,936,197,333 -> '$2.94B'; 310,400,000 -> '$310M'; 45,000 -> '$0.045M'."""
    if not math.isfinite(x):
        return "n/a"
    sign = "−" if x < 0 else ""
    x = abs(x)
    if x >= 1e9:
        return f"{sign}${_strip(f'{significant(x, digits) / 1e9:,.{_decimals(x / 1e9, digits)}f}')}B"
    if x == 0:
        return "$0"
    return f"{sign}${_strip(f'{significant(x, digits) / 1e6:,.{_decimals(x / 1e6, digits)}f}')}M"


def number(x: float, unit: str, digits: int = 3) -> str:
    """A value in its unit, rounded for people: money for CAD, one decimal for months, persons otherwise."""
    if unit == "CAD":
        return money(x, digits)
    if unit == "months":
        return "n/a" if not math.isfinite(x) else _minus(f"{x:,.1f}")
    return persons(x, digits)


def signed(x: float, unit: str, digits: int = 2) -> str:
    """A difference with its sign: '+3,100', '−41,000', '−$310M', '0'."""
    if not math.isfinite(x):
        return "n/a"
    text = number(x, unit, digits)
    if text.startswith(("−", "n/a")) or significant(x, digits) == 0:
        return text if significant(x, digits) != 0 else "0"
    return "+" + text


def percent(x: float) -> str:
    """A relative change: 0.617 -> '+62%', -0.0042 -> '−0.4%'; 2 significant figures below 10%."""
    if not math.isfinite(x):
        return "n/a"
    p = 100 * x
    if p == 0:
        return "0%"
    text = f"{p:+.0f}%" if abs(p) >= 9.5 else f"{significant(p, 2):+.{_decimals(p, 2)}f}%"
    return _minus(text)


def share(x: float) -> str:
    """A share as a percentage: 0.25 -> '25%'."""
    return f"{100 * x:.0f}%" if abs(100 * x - round(100 * x)) < 1e-9 else f"{100 * x:.1f}%"


def _decimals(v: float, digits: int) -> int:
    if v == 0:
        return 0
    return max(0, digits - 1 - int(math.floor(math.log10(abs(significant(v, digits))))))


def _strip(text: str) -> str:
    """'2.90' -> '2.9', '310' stays: no trailing zeros after a decimal point."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def _minus(text: str) -> str:
    """A true minus sign, as typeset numbers use."""
    return text.replace("-", "−")


# --- axes ------------------------------------------------------------------------------------------------


class AxisFormat(Formatter):
    """One number format for every tick of an axis: all in thousands ('12k', '8k'), all in millions, or all whole.

    A matplotlib formatter (``ax.yaxis.set_major_formatter(AxisFormat())``): the unit and the decimals are chosen
    once from all the ticks, so '12k' never stands next to '8,000'. ``money=True`` writes '$'.
    """

    def __init__(self, money: bool = False):
        self.money = money
        self.size, self.suffix, self.decimals = 1.0, "", 0

    def set_locs(self, locs):
        super().set_locs(locs)
        big = max((abs(v) for v in locs), default=0.0)
        self.size, self.suffix = ((1e9, "B") if big >= 1e9 else (1e6, "M") if big >= 1e6 else
                                  (1e3, "k") if big >= 1e4 else (1.0, ""))
        scaled = [v / self.size for v in locs]
        self.decimals = 0
        while self.decimals < 3 and any(abs(s - round(s, self.decimals)) > 1e-6 for s in scaled):
            self.decimals += 1

    def __call__(self, x, pos=None):
        if abs(x) / self.size < 0.5 * 10 ** -self.decimals:
            return "0"
        text = f"{abs(x) / self.size:,.{self.decimals}f}{self.suffix}"
        return ("−" if x < 0 and abs(x) / self.size >= 0.5 * 10 ** -self.decimals else "") + ("$" if self.money else "") + text


# --- checking colours ------------------------------------------------------------------------------------

#: Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
_CVD = {
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _lab(rgb_linear) -> tuple[float, float, float]:
    r, g, b = rgb_linear
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def seen_as(hex_colour: str, vision: str | None = None) -> tuple[float, float, float]:
    """CIELAB coordinates of a colour as seen with normal vision or a colour-vision deficiency (``vision``)."""
    h = hex_colour.lstrip("#")
    lin = [_linear(int(h[i:i + 2], 16) / 255) for i in (0, 2, 4)]
    if vision:
        m = _CVD[vision]
        lin = [min(max(sum(m[i][k] * lin[k] for k in range(3)), 0.0), 1.0) for i in range(3)]
    return _lab(lin)


def colour_distance(a: str, b: str, vision: str | None = None) -> float:
    """CIE76 colour difference between two colours as seen with ``vision`` (about 10 or more: told apart at a glance)."""
    la, lb = seen_as(a, vision), seen_as(b, vision)
    return math.dist(la, lb)

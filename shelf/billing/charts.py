"""Charts drawn on the server as SVG: this module lays them out, billing/_chart.html draws them.

No script and no library from the internet: the page works offline and under the site's content security policy
(presentation attributes and CSS classes only, no inline style). Geometry is float; values shown are the exact ones.
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 24, 44
TICKS = 4


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n that is >= value (an axis that ends on a round number)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _label(value: float, money: bool) -> str:
    if money:
        return f"{value:,.2f}" if value < 10 else f"{value:,.0f}"
    return f"{value:g}"


@dataclass
class Chart:
    title: str
    description: str
    kind: str  # "bar" or "line"
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    y_ticks: list[dict] = field(default_factory=list)
    bars: list[dict] = field(default_factory=list)
    points: list[dict] = field(default_factory=list)
    polyline: str = ""
    x_labels: list[dict] = field(default_factory=list)
    unit: str = ""
    empty: bool = True
    zero_y: float = 0.0


def chart(
    *, title: str, description: str, data: list[tuple[str, Decimal | int]], kind: str = "bar", unit: str = ""
) -> Chart:
    """Lay out `data` (label, value) as bars or a line, with a y axis of TICKS round steps and x labels that fit."""
    money = any(isinstance(v, Decimal) for _l, v in data)
    values = [float(v) for _l, v in data]
    top = nice_ceiling(max([*values, 0.0]))
    if not money:  # counts: whole-number ticks, a round step each
        top = nice_ceiling(max(1.0, -(-max([*values, 0.0]) // TICKS))) * TICKS
    bottom_value = min([*values, 0.0])
    floor = -nice_ceiling(-bottom_value) if bottom_value < 0 else 0.0  # refunds can make a month negative
    result = Chart(title=title, description=description, kind=kind, unit=unit, empty=not any(values))
    span = top - floor
    plot_h = result.plot_bottom - result.plot_top
    plot_w = result.plot_right - result.plot_left

    def y_of(value: float) -> float:
        return round(result.plot_bottom - (value - floor) / span * plot_h, 2)

    for i in range(TICKS + 1):
        value = floor + span * i / TICKS
        result.y_ticks.append({"y": y_of(value), "label": _label(value, money)})
    count = max(len(data), 1)
    slot = plot_w / count
    every = max(1, -(-count * 64 // plot_w))  # a label needs about 64 px
    zero = y_of(0.0)
    for i, (label, value) in enumerate(data):
        x_mid = round(result.plot_left + slot * (i + 0.5), 2)
        y = y_of(float(value))
        shown = f"{value:.2f}" if isinstance(value, Decimal) else str(value)
        if kind == "bar":
            result.bars.append(
                {
                    "x": round(result.plot_left + slot * i + slot * 0.15, 2),
                    "y": min(y, zero),
                    "width": round(slot * 0.7, 2),
                    "height": round(abs(zero - y), 2),
                    "label": label,
                    "value": shown,
                    "value_y": round(min(y, zero) - 4, 2),
                    "x_mid": x_mid,
                    "show_value": count <= 14 and bool(value),
                }
            )
        else:
            result.points.append({"x": x_mid, "y": y, "label": label, "value": shown})
        if i % every == 0:
            result.x_labels.append({"x": x_mid, "label": label})
    result.polyline = " ".join(f"{p['x']},{p['y']}" for p in result.points)
    result.zero_y = zero
    return result

"""The server-side chart layout: round axes, bars proportional to their values, negative months below zero."""

from decimal import Decimal

from shelf.billing.charts import chart, nice_ceiling


def test_axes_end_on_round_numbers():
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 3, 7, 11, 26, 576, 1001)] == [1, 0.5, 1, 5, 10, 20, 50, 1000, 2000]


def test_counts_have_whole_ticks_and_bars_are_proportional():
    c = chart(title="Orders", description="", data=[("a", 0), ("b", 3), ("c", 6)])
    assert [t["label"] for t in c.y_ticks] == ["0", "2", "4", "6", "8"]
    heights = [b["height"] for b in c.bars]
    assert heights[0] == 0 and abs(heights[2] - 2 * heights[1]) < 0.02
    assert all(b["y"] + b["height"] <= c.plot_bottom + 0.01 for b in c.bars)
    assert [b["value"] for b in c.bars] == ["0", "3", "6"]


def test_money_keeps_its_exact_value_and_a_refund_month_goes_below_zero():
    c = chart(title="Net", description="", data=[("2026-11", Decimal("-19.80")), ("2026-12", Decimal("79.20"))])
    assert [b["value"] for b in c.bars] == ["-19.80", "79.20"]
    negative, positive = c.bars
    assert negative["y"] == c.zero_y and positive["y"] + positive["height"] == c.zero_y
    assert c.y_ticks[0]["label"].startswith("-")


def test_an_empty_chart_says_so():
    c = chart(title="Orders", description="", data=[("a", 0)])
    assert c.empty and c.bars[0]["height"] == 0

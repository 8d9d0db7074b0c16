"""The CSV files of sales and statements, one writer each, used by the console and the API alike."""

import csv
import io
import re

from django.utils.translation import gettext as _

from shelf.billing.revenue_selectors import Sales, Statement
from shelf.errors import Violation, raise_if

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
SALES_TABLES = ("days", "months", "products")


def parse_period(raw: str, field: str = "period") -> tuple[int, int]:
    """'2026-12' -> (2026, 12), or a 422 naming the field."""
    match = PERIOD_RE.match(raw or "")
    raise_if(
        []
        if match and 2000 <= int(match[1]) <= 2999
        else [Violation(field, "invalid", _("A month is written YYYY-MM, like 2026-12."))]
    )
    return int(match[1]), int(match[2])


def _text(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _name(text: str) -> str:
    """A name that starts like a formula is prefixed, so a spreadsheet shows it instead of running it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


FIGURE_HEADER = ["gross", "server_part", "image_part", "commission", "provider_net", "currency"]


def _figures(f, currency: str) -> list:
    return [f"{f.gross:.2f}", f"{f.server_part:.2f}", f"{f.image_part:.2f}", f"{f.commission:.2f}",
            f"{f.provider_net:.2f}", currency]  # fmt: skip


def sales_csv(sales: Sales, table: str) -> str:
    if table == "days":
        return _text([["day", "orders"], *([d.isoformat(), n] for d, n in sales.days)])
    if table == "months":
        rows = [["month", "charges", *FIGURE_HEADER]]
        rows += [[m.strftime("%Y-%m"), f.count, *_figures(f, sales.currency)] for m, f in sales.months]
        rows.append(["total", sales.totals.count, *_figures(sales.totals, sales.currency)])
        return _text(rows)
    rows = [["product", "name", "orders", "charges", *FIGURE_HEADER]]
    for p in sales.top_products:
        rows.append(
            [
                str(p["product"]),
                _name(p["name"]),
                p["orders"],
                p["count"],
                *(f"{p[k]:.2f}" for k in FIGURE_HEADER[:-1]),
                sales.currency,
            ]  # fmt: skip
        )
    return _text(rows)


def statement_csv(statement: Statement) -> str:
    rows = [["organization", "period", "product", "name", "charges", *FIGURE_HEADER]]
    for line in statement.lines:
        rows.append(
            [
                statement.organization.slug,
                statement.period,
                str(line["product"] or ""),
                _name(line["name"]),
                line["count"],
                *(f"{line[k]:.2f}" for k in FIGURE_HEADER[:-1]),
                statement.currency,
            ]  # fmt: skip
        )
    rows.append(
        [
            statement.organization.slug,
            statement.period,
            "",
            "total",
            statement.totals.count,
            *_figures(statement.totals, statement.currency),
        ]  # fmt: skip
    )
    return _text(rows)

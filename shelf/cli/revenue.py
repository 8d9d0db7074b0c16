"""`shelf sales` and `shelf statement YYYY-MM [--csv]`: a provider's revenue, through the HTTP API."""

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from shelf.cli.output import api_session, out

FIGURES = ("count", "gross", "server_part", "image_part", "commission", "provider_net")
HEADERS = ("charges", "gross", "server", "image", "commission", "net")


def _params(organization: str | None) -> dict:
    return {"organization": organization} if organization else {}


def sales(
    organization: str | None = typer.Option(None, "--organization", help="Your organisation's slug (default: first)."),
):
    """Your sales: revenue per month (12 months), orders in the last 30 days, active instances, top products."""
    with api_session() as api:
        s = api.get("/provider/sales", params=_params(organization))
    out.print(
        f"[bold]{escape(s['organization'])}[/]: {s['orders_total']} orders in 30 days, "
        f"{s['active_instances']} active instances ({s['currency']})"
    )
    months = Table("month", *HEADERS, box=box.SIMPLE)
    for m in s["revenue_per_month"]:
        months.add_row(m["month"], *(str(m[k]) for k in FIGURES))
    months.add_row("[bold]total[/]", *(f"[bold]{s['totals'][k]}[/]" for k in FIGURES))
    out.print(months)
    if s["top_products"]:
        top = Table("product", "orders", *HEADERS, box=box.SIMPLE)
        for p in s["top_products"]:
            top.add_row(escape(p["name"]), str(p["orders"]), *(str(p[k]) for k in FIGURES))
        out.print(top)


def statement(
    period: str = typer.Argument(..., help="The month, YYYY-MM."),
    csv: bool = typer.Option(False, "--csv", help="Print the statement as CSV (the console's download)."),
    organization: str | None = typer.Option(None, "--organization", help="Your organisation's slug (default: first)."),
):
    """Your organisation's monthly statement: gross, commission and net, per product and in total."""
    with api_session() as api:
        if csv:
            response = api.request("GET", f"/provider/statements/{period}/csv", params=_params(organization))
            typer.echo(response.text, nl=False)
            return
        s = api.get(f"/provider/statements/{period}", params=_params(organization))
    out.print(f"[bold]Statement {s['period']}[/] of {escape(s['organization'])} ({s['currency']})")
    table = Table("product", *HEADERS, box=box.SIMPLE)
    for line in s["lines"]:
        table.add_row(escape(line["name"]), *(str(line[k]) for k in FIGURES))
    table.add_row("[bold]total[/]", *(f"[bold]{s['totals'][k]}[/]" for k in FIGURES))
    out.print(table)

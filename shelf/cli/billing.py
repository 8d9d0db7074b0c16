"""`shelf bill`, `shelf renew`, `shelf autorenew`: a buyer's terms and bills, through the HTTP API only."""

from pathlib import Path

import typer
from rich import box
from rich.table import Table

from shelf.cli.client import json_of
from shelf.cli.output import api_session, err, out


def bill(
    month: str = typer.Option(None, help="The month, YYYY-MM (default: this month)."),
    csv: Path = typer.Option(None, "--csv", help="Write the month's bill as CSV to this file ('-': print it)."),
    hours: bool = typer.Option(False, "--hours", help="Also list every settled hour of pay-by-the-hour servers."),
):
    """Your prepaid terms and the month's charges: totals, per server, per day (CSV with --csv)."""
    params = {"month": month} if month else None
    with api_session() as api:
        if csv is not None:
            text = api.request("GET", "/billing/bill.csv", params=params).text
            if str(csv) == "-":
                out.print(text, end="", markup=False, highlight=False)
            else:
                csv.write_text(text, encoding="utf-8")
                out.print(f"Bill written to {csv}.")
            return
        terms = api.get("/billing/terms")
        statement = api.get("/billing/bill", params=params)
        usage = api.get("/billing/usage", params=params) if hours else []
    live = [t for t in terms if t["state"] in ("active", "isolated")]
    if live:
        table = Table("order", "name", "expires (UTC)", "state", "auto-renew", box=box.SIMPLE, title="Prepaid terms")
        for t in live:
            table.add_row(t["order"], t["name"], t["expires_at"], t["state"], "on" if t["auto_renew"] else "off")
        out.print(table)
    totals = statement["totals"]
    out.print(
        f"[bold]{statement['month']}[/]: charged {totals['charged']} CNY, refunded {totals['refunded']} CNY, "
        f"net [bold]{totals['net']} CNY[/]"
    )
    per_instance = Table("server", "instance", "charges", "CNY", box=box.SIMPLE, title="Per server")
    for row in statement["by_instance"]:
        per_instance.add_row(row["name"], row["instance"] or "-", str(row["count"]), row["amount"])
    out.print(per_instance)
    per_day = Table("day", "server", "charges", "CNY", box=box.SIMPLE, title="Per day")
    for row in statement["by_day"]:
        per_day.add_row(row["day"], row["name"], str(row["count"]), row["amount"])
    out.print(per_day)
    if hours:
        table = Table("hour (UTC)", "instance", "seconds", "CNY", box=box.SIMPLE, title="Settled hours")
        for u in usage:
            table.add_row(u["hour"], u["instance"], str(u["billed_seconds"]), u["amount"])
        out.print(table)


def renew(
    order: str = typer.Argument(..., help="The order's id (see `shelf bill` or `shelf order list`)."),
    months: int = typer.Option(None, help="Renew for 1 to 12 months."),
    years: int = typer.Option(None, help="Renew for 1 to 3 years."),
):
    """Renew a prepaid server from your balance; the new period starts at its current expiry."""
    if (months is None) == (years is None):
        err.print("Choose one: --months N (1-12) or --years N (1-3).")
        raise typer.Exit(2)
    body = {"months": months} if months is not None else {"years": years}
    with api_session() as api:
        term = api.post(f"/billing/terms/{order}/renew", json=body)
    out.print(f"{term['name']}: renewed, now expires {term['expires_at']} (UTC), {term['state']}.")


def autorenew(
    order: str = typer.Argument(..., help="The order's id."),
    switch: str = typer.Argument(..., help="on or off"),
):
    """Turn auto-renew of a prepaid server on or off (it renews from your balance on the expiry day)."""
    if switch not in ("on", "off"):
        err.print("Say on or off.")
        raise typer.Exit(2)
    with api_session() as api:
        term = json_of(api.request("PUT", f"/billing/terms/{order}/auto-renew", json={"auto_renew": switch == "on"}))
    out.print(
        f"{term['name']}: auto-renew {'on' if term['auto_renew'] else 'off'}, expires {term['expires_at']} (UTC)."
    )

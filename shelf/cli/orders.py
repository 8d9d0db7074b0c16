"""`shelf buy`, `shelf order list|show`, `shelf balance`, `shelf topup`: buying through the HTTP API.

`buy` asks the server for the quote (the pricing function the order itself uses), shows it and asks before
charging unless --yes. It generates one Idempotency-Key per invocation and sends it again on every retry of a
request that got no answer (a timeout, a dropped connection, a 5xx), so a retry never charges twice.
"""

import time
import uuid
from pathlib import Path

import httpx
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from shelf.cli.client import ApiError
from shelf.cli.output import api_session, err, out

app = typer.Typer(help="Orders: list and show what you bought.", no_args_is_help=True)

RETRIES = 3
TERMINAL_STATES = {"running", "failed", "lost", "terminated", "stopped"}


def _term(months: int | None, years: int | None, hourly: bool) -> dict:
    given = [t for t in (months is not None, years is not None, hourly) if t]
    if len(given) != 1:
        err.print("Choose one term: --months N (1-12), --years N (1-3) or --hourly.")
        raise typer.Exit(2)
    if hourly:
        return {"hourly": True}
    return {"months": months} if months is not None else {"years": years}


def _read_key(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"Cannot read the SSH public key {escape(str(path))}: {escape(str(exc))}")
        raise typer.Exit(2) from None


def quote_table(q: dict) -> Table:
    per = "per hour" if q["per"] == "hour" else "per month"
    whole = "first hour" if q["per"] == "hour" else f"{q['term_count']} {q['term_unit']}(s)"
    table = Table(q["currency"], per, whole, box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_row(f"server {q['instance_type']}", q["server_price"], q["server_total"])
    table.add_row("image", q["image_price"], q["image_total"])
    table.add_row("[bold]total[/]", f"[bold]{q['unit_price']}[/]", f"[bold]{q['total']}[/]")
    return table


def _post_with_retries(api, path: str, *, json: dict, headers: dict) -> dict:
    """POST, retried with the same headers (the same Idempotency-Key) while no answer came back or the server erred."""
    for attempt in range(RETRIES + 1):
        try:
            return api.post(path, json=json, headers=headers)
        except httpx.TransportError:
            if attempt == RETRIES:
                raise
        except ApiError as exc:
            if exc.status < 500 or attempt == RETRIES:
                raise
        time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def buy(
    product: str = typer.Argument(..., help="The product's id."),
    region: str = typer.Option(..., "--region", help="Region code, for example ap-guangzhou."),
    instance_type: str = typer.Option(..., "--type", help="Instance type, for example S5.SMALL1."),
    months: int | None = typer.Option(None, "--months", help="Prepaid: 1 to 12 months."),
    years: int | None = typer.Option(None, "--years", help="Prepaid: 1 to 3 years."),
    hourly: bool = typer.Option(False, "--hourly", help="Postpaid: billed by the hour."),
    ssh_key: Path = typer.Option(..., "--ssh-key", help="Your OpenSSH public key file (~/.ssh/id_ed25519.pub)."),
    disk: int | None = typer.Option(None, "--disk", help="System disk in GiB (default: the smallest that fits)."),
    name: str | None = typer.Option(None, "--name", help="Server name (default: the product's name)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before charging."),
    wait: bool = typer.Option(False, "--wait", help="Wait until the server is running (or failed)."),
    timeout: float = typer.Option(600, "--timeout", help="With --wait: seconds to wait at most."),
):
    """Buy a product's image on a new server: show the price, ask, charge your balance and launch it."""
    body = {
        "product": product,
        "region": region,
        "instance_type": instance_type,
        **_term(months, years, hourly),
        "ssh_public_key": _read_key(ssh_key),
    }
    if disk is not None:
        body["disk_gib"] = disk
    if name is not None:
        body["name"] = name
    key = str(uuid.uuid4())  # once per invocation: every retry below sends it again
    with api_session() as api:
        q = api.post("/orders/quote", json=body)
        out.print(
            f"[bold]{escape(q['product_name'])}[/] on {q['instance_type']} in {q['region']}, {q['disk_gib']} GiB disk"
        )
        out.print(quote_table(q))
        if q["per"] == "hour":
            out.print(f"Billed by the hour; your balance must hold the first hour ({q['required_balance']} CNY).")
            prompt = "Place this order?"
        else:
            prompt = f"Charge {q['due_now']} {q['currency']} to your balance?"
        if not yes and not typer.confirm(prompt, default=False):
            out.print("Nothing was ordered.")
            raise typer.Exit(1)
        order = _post_with_retries(api, "/orders", json=body, headers={"Idempotency-Key": key})
        out.print(
            f"Order [bold]{order['id']}[/] placed: charged {order['charged']} {order['currency']}; "
            f"server {order['instance'] or '-'} is launching."
        )
        if wait and order.get("instance"):
            _wait(api, order["instance"], timeout)


def _wait(api, instance_id: str, timeout: float) -> None:
    deadline, state = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        instance = api.get(f"/instances/{instance_id}")
        if instance["state"] != state:
            state = instance["state"]
            out.print(f"  {state}" + (f": {escape(instance['state_reason'])}" if instance.get("state_reason") else ""))
        if state in TERMINAL_STATES:
            if state == "running" and instance.get("ssh_command"):
                out.print(f"SSH (if the image runs sshd): [bold]{escape(instance['ssh_command'])}[/]")
            if state != "running":
                raise typer.Exit(1)
            return
        time.sleep(1)
    err.print(f"The server is still {state} after {timeout:g} s.")
    raise typer.Exit(1)


def _order_rows(orders: list[dict]) -> Table:
    table = Table("id", "name", "product", "region", "type", "term", "total", "status", "placed", box=box.SIMPLE)
    for o in orders:
        table.add_row(
            o["id"][:8],
            escape(o["name"]),
            escape(o["product_name"]),
            o["region"],
            o["instance_type"],
            f"{o['term_count']} {o['term_unit']}",
            f"{o['total']} {o['currency']}",
            o["status"],
            o["created_at"][:16].replace("T", " "),
        )
    return table


@app.command("list")
def order_list():
    """Your orders, newest first (operators: everyone's)."""
    with api_session() as api:
        orders = api.get("/orders")
    if not orders:
        out.print("No orders yet.")
        return
    out.print(_order_rows(orders))


@app.command("show")
def order_show(order_id: str = typer.Argument(..., help="The order's id.")):
    """One order: what was chosen, the prices as quoted, what was charged, its server."""
    with api_session() as api:
        o = api.get(f"/orders/{order_id}")
    out.print(f"[bold]Order {o['id']}[/] {escape(o['name'])} ({o['status']})")
    rows = [
        ("product", f"{o['product_name']} (r{o['revision']})"),
        ("region", o["region"]),
        ("type", f"{o['instance_type']} · {o['vcpus']} vCPU · {o['memory_mib']} MiB"),
        ("disk", f"{o['disk_gib']} GiB"),
        ("term", f"{o['term_count']} {o['term_unit']} ({o['billing_mode']})"),
        (
            "server",
            f"{o['server_price']} per {o['term_unit'] if o['term_unit'] == 'hour' else 'month'}, {o['server_total']}",
        ),
        (
            "image",
            f"{o['image_price']} per {o['term_unit'] if o['term_unit'] == 'hour' else 'month'}, {o['image_total']}",
        ),
        ("total", f"{o['total']} {o['currency']}"),
        ("charged", f"{o['charged']} {o['currency']}"),
        ("hostname", o["hostname"]),
        ("ssh key", o["ssh_key_fingerprint"]),
        ("server id", o["instance"] or "-"),
        ("placed", o["created_at"]),
    ]
    table = Table(show_header=False, box=None)
    for label, value in rows:
        table.add_row(f"[dim]{label}[/]", escape(str(value)))
    out.print(table)


def balance(ledger: bool = typer.Option(True, "--ledger/--no-ledger", help="Also list the latest ledger rows.")):
    """Your balance (the sum of your ledger) and its latest rows."""
    with api_session() as api:
        b = api.get("/balance")
        entries = api.get("/ledger") if ledger else []
    out.print(f"Balance: [bold]{b['balance']} {b['currency']}[/]")
    if entries:
        table = Table("when", "kind", "amount", "reason", "by", "order", box=box.SIMPLE)
        for e in entries[:20]:
            table.add_row(
                e["created_at"][:16].replace("T", " "),
                e["kind"],
                e["amount"],
                escape(e["reason"]),
                e["actor"] or "system",
                (e["order"] or "")[:8],
            )
        out.print(table)


def topup(
    user: str = typer.Argument(..., help="The buyer's username."),
    amount: str = typer.Argument(..., help='Yuan, as a decimal like "100.00".'),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the ledger with your name)."),
):
    """Operators: add money to a buyer's balance."""
    with api_session() as api:
        entry = api.post("/topups", json={"user": user, "amount": amount, "reason": reason})
    out.print(f"Added {entry['amount']} CNY to {escape(entry['user'])}: balance now {entry['balance']} CNY.")

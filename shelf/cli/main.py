"""`shelf`: the provider's command-line client."""

import sys

import typer
from rich.table import Table

from shelf.cli import billing, build_servers, catalog, images, instances, orders, products, revenue, scans
from shelf.cli import config as cli_config
from shelf.cli.output import api_session, out

app = typer.Typer(help="Shelf marketplace command-line client.", no_args_is_help=True, add_completion=False)
app.add_typer(images.app, name="image")
app.command("scan")(scans.scan)
images.app.command("scan")(scans.image_scan)
app.add_typer(products.app, name="product")
app.add_typer(catalog.app, name="catalog")
app.command("buy")(orders.buy)
app.add_typer(orders.app, name="order")
app.command("balance")(orders.balance)
app.command("topup")(orders.topup)
app.add_typer(instances.app, name="instance")
app.command("bill")(billing.bill)
app.command("renew")(billing.renew)
app.command("autorenew")(billing.autorenew)
app.command("sales")(revenue.sales)
app.command("statement")(revenue.statement)
app.add_typer(build_servers.base_images, name="base-image")
app.add_typer(build_servers.build_servers, name="build-server")


@app.command()
def login(
    url: str = typer.Option(None, help="Server address, for example http://127.0.0.1:8000."),
    username: str = typer.Option(None, prompt=True),
    password: str = typer.Option(None, prompt=True, hide_input=True),
):
    """Exchange your username and password for an API token and remember it."""
    url = (url or cli_config.load().url).rstrip("/")
    with api_session(cli_config.Config(url=url, token=None), anonymous=True) as api:
        created = api.post("/auth/token", json={"username": username, "password": password, "name": "shelf CLI"})
    path = cli_config.save(url=url, token=created["token"])
    out.print(f"Logged in to {url} as [bold]{username}[/]. Token saved in {path}.")


@app.command()
def whoami():
    """Show who the token belongs to."""
    with api_session() as api:
        me = api.get("/me")
    out.print(f"[bold]{me['username']}[/] ({me['kind']}) <{me['email']}>")
    for org in me["organizations"]:
        out.print(f"  organisation {org['name']} [dim]{org['slug']}[/] ({org['role']})")


@app.command()
def regions():
    """List the regions images can be imported into."""
    with api_session() as api:
        rows = api.get("/regions")
    table = Table("code", "name", "名称")
    for r in rows:
        table.add_row(r["code"], r["name_en"], r["name_zh"])
    out.print(table)


@app.command()
def categories():
    """Show the category tree; products are filed under a leaf."""
    with api_session() as api:
        tops = api.get("/categories")
    table = Table("slug", "name", "名称")
    for top in tops:
        table.add_row(f"[bold]{top['slug']}[/]", f"[bold]{top['name_en']}[/]", f"[bold]{top['name_zh']}[/]")
        for leaf in top["children"]:
            table.add_row(f"  {leaf['slug']}", f"  {leaf['name_en']}", f"  {leaf['name_zh']}")
    out.print(table)


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()

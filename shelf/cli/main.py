"""`shelf`: the provider's command-line client."""

import sys
from contextlib import contextmanager

import httpx
import typer
from rich.console import Console
from rich.table import Table

from shelf.cli import config as cli_config
from shelf.cli.client import ApiError, Client

app = typer.Typer(help="Shelf marketplace command-line client.", no_args_is_help=True, add_completion=False)
out = Console()
err = Console(stderr=True)


def fail(exc: Exception) -> None:
    """Print an API or connection error readably and exit non-zero."""
    if isinstance(exc, ApiError):
        err.print(f"[bold red]Error {exc.status}[/]")
        for e in exc.errors:
            field = e.get("field") or "-"
            err.print(f"  [yellow]{field}[/]: {e.get('message')} [dim]({e.get('code')})[/]")
    elif isinstance(exc, httpx.HTTPError):
        err.print(f"[bold red]Cannot reach the Shelf server:[/] {exc}")
    else:
        raise exc
    raise typer.Exit(1)


@contextmanager
def api_session(conf: cli_config.Config | None = None, *, anonymous: bool = False):
    """A client for the configured server; API and connection errors end the command with a readable message."""
    conf = conf or cli_config.load()
    if not conf.token and not anonymous:
        err.print("Not logged in: run `shelf login` or set SHELF_URL and SHELF_TOKEN.")
        raise typer.Exit(2)
    try:
        with Client(conf) as api:
            yield api
    except (ApiError, httpx.HTTPError) as exc:
        fail(exc)


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

"""Console output and API-session helpers shared by every `shelf` command."""

from contextlib import contextmanager

import httpx
import typer
from rich.console import Console

from shelf.cli import config as cli_config
from shelf.cli.client import ApiError, Client
from shelf.units import human_bytes

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


def human_size(n: int | None) -> str:
    return "-" if n is None else human_bytes(n)

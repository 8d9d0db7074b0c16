"""`shelf base-image ...` and `shelf build-server ...`: make a custom image the seed's way (制作镜像), through the
HTTP API only. `shelf image capture` (in shelf.cli.images) makes the image of a stopped build server."""

import time
import uuid
from pathlib import Path

import typer
from rich.table import Table

from shelf.cli import instances
from shelf.cli.orders import _read_key
from shelf.cli.output import api_session, human_size, out

base_images = typer.Typer(help="Base images (public images) to launch build servers from.", no_args_is_help=True)
build_servers = typer.Typer(
    help="Build servers: launch one from a base image, set it up over SSH, stop it, `shelf image capture` it.",
    no_args_is_help=True,
)


@base_images.command("list")
def base_image_list(region: str = typer.Option(None, "--region", "-r", help="Only this region's.")):
    """List the published base images."""
    with api_session() as api:
        images = api.get("/base-images", params={"region": region} if region else None)
    table = Table("id", "name", "region", "os", "virtual size")
    for image in images:
        table.add_row(image["id"], image["name"], image["region"], image["os_hint"], human_size(image["virtual_size"]))
    out.print(table)


@base_images.command("publish")
def base_image_publish(image_id: str):
    """Operators: publish one of the marketplace organisation's images as a base image."""
    with api_session() as api:
        image = api.post(f"/base-images/{image_id}/publish")
    out.print(f"{image['name']} ({image['region']}): published")


@base_images.command("unpublish")
def base_image_unpublish(image_id: str):
    """Operators: withdraw a base image (running build servers keep their disks)."""
    with api_session() as api:
        image = api.post(f"/base-images/{image_id}/unpublish")
    out.print(f"{image['name']} ({image['region']}): withdrawn")


@build_servers.command("list")
def build_server_list():
    """Your organisations' build servers."""
    with api_session() as api:
        servers = api.get("/build-servers")
    table = Table("id", "name", "state", "region", "base image", "ssh")
    for s in servers:
        table.add_row(s["id"], s["name"], s["state"], s["region"], s["base_image"], s["ssh_command"])
    out.print(table)


@build_servers.command("show")
def build_server_show(server_id: str):
    """One build server: state, size, SSH command, the images captured from it."""
    with api_session() as api:
        server = api.get(f"/build-servers/{server_id}")
    instances._show(server)
    out.print(f"  base image: {server['base_image']}")
    for image_id in server["captures"]:
        out.print(f"  captured: {image_id}")


@build_servers.command("launch")
def build_server_launch(
    base_image: str = typer.Argument(..., help="A base image's id, see `shelf base-image list`."),
    name: str = typer.Option(..., "--name", "-n"),
    ssh_key: Path = typer.Option(..., "--ssh-key", help="Your OpenSSH public key file (~/.ssh/id_ed25519.pub)."),
    vcpus: int = typer.Option(1, "--vcpus"),
    memory: int = typer.Option(512, "--memory", help="MiB."),
    disk: int = typer.Option(None, "--disk", help="System disk in GiB (default: the base image's size)."),
    organization: str = typer.Option(None, help="Organisation slug, if you belong to several."),
    wait: bool = typer.Option(False, "--wait", help="Wait until it runs (or failed)."),
):
    """Launch a build server from a base image in its region (no order, no charge)."""
    body = {
        "base_image": base_image,
        "name": name,
        "ssh_public_key": _read_key(ssh_key),
        "vcpus": vcpus,
        "memory_mib": memory,
        "disk_gib": disk,
        "organization": organization,
    }
    with api_session() as api:
        # One key per invocation: a retried request inside the client never launches a second server.
        server = api.post("/build-servers", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        out.print(f"{server['name']}: {server['state']}  {server['id']}")
        while wait and server["state"] not in instances.SETTLED:
            time.sleep(1)
            server = api.get(f"/build-servers/{server['id']}")
        if wait:
            instances._show(server)
            if server["state"] == "failed":
                raise typer.Exit(1)
    out.print(server["id"])


@build_servers.command("start")
def build_server_start(server_id: str, wait: bool = instances.WAIT):
    """Boot a stopped build server again."""
    instances._act(server_id, "start", wait)


@build_servers.command("stop")
def build_server_stop(server_id: str, wait: bool = instances.WAIT):
    """Power it off before capturing it (ACPI, then hard after the timeout); the disk is kept."""
    instances._act(server_id, "stop", wait)


@build_servers.command("terminate")
def build_server_terminate(
    server_id: str, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."), wait: bool = instances.WAIT
):
    """Release it: its disk is deleted (images captured from it stay)."""
    if not yes:
        typer.confirm(f"Terminate build server {server_id}? Its disk is deleted.", abort=True)
    instances._act(server_id, "terminate", wait)

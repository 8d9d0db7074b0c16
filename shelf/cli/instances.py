"""`shelf instance list|show|start|stop|reboot|terminate|console`: a buyer's servers, through the HTTP API only."""

import sys
import time

import typer
from rich.table import Table

from shelf.cli.output import api_session, out

app = typer.Typer(help="Your instances (cloud servers): state, SSH command, console, power.", no_args_is_help=True)
SETTLED = {"running", "stopped", "terminated", "failed", "lost"}


def _show(instance: dict) -> None:
    out.print(f"[bold]{instance['name']}[/] ({instance['hostname']})  {instance['id']}")
    out.print(
        f"  state: [bold]{instance['state']}[/]"
        + (f" — {instance['state_reason']}" if instance["state_reason"] else "")
    )
    out.print(
        f"  size: {instance['vcpus']} vCPU, {instance['memory_mib']} MiB, {instance['disk_gib']} GiB  "
        f"region: {instance['region']}"
    )
    if instance["ssh_command"]:
        # Shelf forwards the port; whether anything answers there is the image's business (the boot test image
        # has no sshd), so the line does not promise a login.
        out.print(f"  SSH (if the image runs sshd): {instance['ssh_command']}")
    for guest, host in sorted(instance["forwarded_ports"].items(), key=lambda kv: int(kv[0])):
        if guest != "22":
            out.print(f"  port {guest}: {instance['ssh_host'] or '127.0.0.1'}:{host}")


@app.command("list")
def instance_list(state: str = typer.Option(None, help="Only instances in this state.")):
    """List your instances."""
    with api_session() as api:
        instances = api.get("/instances", params={"state": state} if state else None)
    table = Table("id", "name", "state", "size", "ssh")
    for i in instances:
        table.add_row(
            i["id"], i["name"], i["state"], f"{i['vcpus']}C/{i['memory_mib']}M/{i['disk_gib']}G", i["ssh_command"]
        )
    out.print(table)


@app.command("show")
def instance_show(instance_id: str):
    """One instance: state (and why), size, the SSH command, forwarded ports."""
    with api_session() as api:
        _show(api.get(f"/instances/{instance_id}"))


def _act(instance_id: str, action: str, wait: bool) -> None:
    with api_session() as api:
        instance = api.post(f"/instances/{instance_id}/{action}")
        out.print(f"{instance['name']}: {instance['state']}")
        while wait and instance["state"] not in SETTLED:
            time.sleep(1)
            instance = api.get(f"/instances/{instance_id}")
        if wait:
            _show(instance)


WAIT = typer.Option(False, "--wait", help="Wait until the instance settles (running, stopped, terminated …).")


@app.command("start")
def instance_start(instance_id: str, wait: bool = WAIT):
    """Boot a stopped instance again."""
    _act(instance_id, "start", wait)


@app.command("stop")
def instance_stop(instance_id: str, wait: bool = WAIT):
    """Power off (ACPI, then hard after the timeout); the disk is kept."""
    _act(instance_id, "stop", wait)


@app.command("reboot")
def instance_reboot(instance_id: str, wait: bool = WAIT):
    """Reset the instance."""
    _act(instance_id, "reboot", wait)


@app.command("terminate")
def instance_terminate(
    instance_id: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    wait: bool = WAIT,
):
    """Release the instance: its disk is deleted, this cannot be undone."""
    if not yes:
        typer.confirm(f"Terminate {instance_id}? Its disk is deleted.", abort=True)
    _act(instance_id, "terminate", wait)


@app.command("console")
def instance_console(
    instance_id: str,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new output until interrupted."),
    offset: int = typer.Option(0, help="Start at this byte of the console log."),
):
    """Print the serial console log."""
    with api_session() as api:
        while True:
            answer = api.get(f"/instances/{instance_id}/console", params={"offset": offset})
            sys.stdout.write(answer["text"])
            sys.stdout.flush()
            offset = answer["next_offset"]
            if not follow or (answer["state"] in ("terminated", "failed") and not answer["text"]):
                return
            if not answer["text"]:
                time.sleep(1)

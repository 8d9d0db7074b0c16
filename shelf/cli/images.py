"""`shelf image ...`: import (resumable, with progress), capture a build server, list, show, copy, delete."""

import hashlib
import json
import os
import time
from pathlib import Path

import httpx
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from shelf.cli import config as cli_config
from shelf.cli.client import ApiError
from shelf.cli.output import api_session, err, human_size, out

app = typer.Typer(help="Custom images: import, copy, list, delete.", no_args_is_help=True)

CHUNK = 32 * 1024 * 1024  # per PUT: fewer requests, each with its database round trips
READ_SIZE = 4 * 1024 * 1024  # read, hash and send in large pieces
RETRIES = 6
TERMINAL = {"available", "failed"}


def _state_path() -> Path:
    return cli_config.config_path().with_name("uploads.json")


def _load_state() -> dict:
    try:
        return json.loads(_state_path().read_text())
    except (OSError, ValueError):
        return {}


def _save_state(state: dict) -> None:
    path = _state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def _upload_key(url: str, path: Path, region: str) -> str:
    # The same file (by identity and modification time) to the same server and region resumes the same import.
    st = path.stat()
    return f"{url}|{region}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _hash_prefix(fh, upto: int, progress: Progress, task) -> "hashlib._Hash":
    digest = hashlib.sha256()
    fh.seek(0)
    left = upto
    while left:
        data = fh.read(min(READ_SIZE, left))
        if not data:
            break
        digest.update(data)
        left -= len(data)
        progress.update(task, advance=len(data))
    return digest


# What a file's name promises. ".img" and ".raw" promise nothing checkable: any content may be a raw disk.
NAMED_FORMATS = {".qcow2": "qcow2", ".qcow": "qcow2", ".vmdk": "vmdk", ".vhd": "vhd", ".vpc": "vhd", ".vhdx": "vhdx"}
LABELS = {"qcow2": "QCOW2", "raw": "raw", "vmdk": "VMDK", "vhd": "VHD", "vhdx": "VHDX"}


def _refuse_misnamed(file: Path, found: str | None, disk_format: str | None) -> None:
    """Before a byte is sent: a file whose name (or --format) says one format but whose content is another would
    upload in full only to be refused by the server, or be sold as something it is not."""
    if found not in LABELS:
        return  # empty, or a format Shelf does not take: the server's refusal says how to convert it
    content = LABELS[found]
    if disk_format is not None and disk_format != found:
        err.print(
            f"{file.name} holds a {content} image, not {LABELS.get(disk_format, disk_format)} as --format says. "
            f"Nothing was uploaded; pass --format {found}, or convert the file."
        )
        raise typer.Exit(2)
    named = NAMED_FORMATS.get(file.suffix.lower())
    if named is not None and named != found and disk_format is None:
        err.print(
            f"{file.name} is named as a {LABELS[named]} image, but its content is a {content} image. "
            f"Nothing was uploaded; rename the file, or pass --format {found} to upload it as {content}."
        )
        raise typer.Exit(2)


def _print_image(image: dict) -> None:
    table = Table(show_header=False, box=None)
    for label, key in (
        ("id", "id"),
        ("name", "name"),
        ("region", "region"),
        ("format", "format"),
        ("status", "status"),
    ):
        table.add_row(label, str(image[key]))
    table.add_row("virtual size", human_size(image["virtual_size"]))
    table.add_row("stored size", human_size(image["stored_size"]))
    table.add_row("sha256", image["sha256"] or "-")
    if image["failure_reason"]:
        table.add_row("[red]failed because[/]", f"[red]{image['failure_reason']}[/]")
    out.print(table)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The disk image file."),
    region: str = typer.Option(..., "--region", "-r", help="Region code, see `shelf regions`."),
    name: str = typer.Option(..., "--name", "-n", help="Image name shown in the console."),
    disk_format: str = typer.Option(
        None, "--format", "-f", help="qcow2, raw, vmdk, vhd or vhdx (detected from the content if omitted)."
    ),
    description: str = typer.Option("", help="Free text for your team."),
    organization: str = typer.Option(None, help="Organisation slug, if you belong to several."),
    wait: bool = typer.Option(True, help="Wait until the server has validated the image."),
):
    """Upload an image in resumable chunks; rerun the same command to resume after an interruption."""
    conf = cli_config.load()
    from shelf.images.inspection import sniff_format

    found = sniff_format(file)
    _refuse_misnamed(file, found, disk_format)
    if disk_format is None:
        disk_format = found or "raw"
        out.print(f"Detected format: [bold]{disk_format}[/]")
    size = file.stat().st_size
    key = _upload_key(conf.url, file, region)
    state = _load_state()
    with api_session(conf) as api:
        image_id, received, uploaded = _resume(api, state.get(key))
        if not image_id:
            created = api.post(
                "/images",
                json={
                    "name": name,
                    "region": region,
                    "format": disk_format,
                    "size": size,
                    "description": description,
                    "organization": organization,
                },
            )
            image_id = created["id"]
            state[key] = image_id
            _save_state(state)
        if not uploaded:
            try:
                _upload(api, file, image_id, received, size)
            except KeyboardInterrupt:
                err.print(f"\nInterrupted. Run the same command again to resume import {image_id}.")
                raise typer.Exit(130) from None
            out.print(f"Uploaded; the server is validating image [bold]{image_id}[/].")
        if wait:
            try:
                image = _wait(api, image_id)
            except KeyboardInterrupt:
                # The upload is complete: a rerun waits for this image instead of uploading the file again.
                err.print(
                    f"\nInterrupted. The server goes on validating image {image_id}; see `shelf image show {image_id}`."
                )
                raise typer.Exit(130) from None
            _forget(key)
            _print_image(image)
            if image["status"] == "failed":
                raise typer.Exit(1)
        else:
            _forget(key)
    out.print(image_id)


def _forget(key: str) -> None:
    state = _load_state()
    state.pop(key, None)
    _save_state(state)


def _resume(api, image_id: str | None) -> tuple[str | None, int, bool]:
    """What an earlier run of the same import left: (image id or None to start over, bytes held, upload done)."""
    if not image_id:
        return None, 0, False
    try:
        received = api.get(f"/images/{image_id}/upload")["received"]
    except ApiError:
        try:
            image = api.get(f"/images/{image_id}")
        except ApiError:
            return None, 0, False  # deleted, or another server: start over
        if image["status"] in ("validating", "available"):
            out.print(f"Image {image_id} was uploaded already; it is {image['status']}.")
            return image_id, 0, True
        return None, 0, False  # failed or cancelled: start over
    out.print(f"Resuming import {image_id} at {human_size(received)}.")
    return image_id, received, False


def _upload(api, file: Path, image_id: str, received: int, size: int) -> None:
    """Send the file from byte `received` on in chunks, hashing as it goes, then complete the upload."""
    upload_path = f"/images/{image_id}/upload"
    chunk = min(CHUNK, api.get(upload_path)["chunk_max"])
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=out,
        transient=False,
    )
    with progress, open(file, "rb") as fh:
        task = progress.add_task(file.name, total=size)
        digest = _hash_prefix(fh, received, progress, task)
        offset = received
        while offset < size:
            length = min(chunk, size - offset)
            received, sent_digest = _send_chunk(api, upload_path, fh, offset, length, size, digest, progress, task)
            if received == offset + length:
                digest = sent_digest
            else:
                # The server holds another amount than this chunk implies: rehash the file up to it.
                progress.reset(task, total=size)
                digest = _hash_prefix(fh, received, progress, task)
            progress.update(task, completed=received)
            offset = received
    api.post(f"{upload_path}/complete", json={"sha256": digest.hexdigest()})


def _send_chunk(api, upload_path: str, fh, offset: int, length: int, size: int, digest, progress, task):
    """PUT bytes offset..offset+length-1, streamed from the file (never held whole in memory) and hashed as
    they go; retries dropped connections and server errors. Returns (bytes the server holds, the digest
    extended by this chunk)."""
    for attempt in range(RETRIES):
        extended = digest.copy()

        def body(extended=extended):
            fh.seek(offset)
            left = length
            while left:
                data = fh.read(min(READ_SIZE, left))
                if not data:
                    raise OSError(f"{fh.name} became shorter while it was being uploaded")
                extended.update(data)
                left -= len(data)
                progress.update(task, completed=offset + length - left)
                yield data

        try:
            response = api.request(
                "PUT",
                upload_path,
                content=body(),
                headers={
                    "Content-Range": f"bytes {offset}-{offset + length - 1}/{size}",
                    "Content-Length": str(length),
                    "Content-Type": "application/octet-stream",
                },
            )
            return response.json()["received"], extended
        except (httpx.TransportError, ApiError) as exc:
            retryable = (
                isinstance(exc, httpx.TransportError)
                or exc.status >= 500
                or (exc.status == 409 and exc.errors[0].get("code") == "offset_mismatch")
            )
            if not retryable or attempt == RETRIES - 1:
                raise
            progress.update(task, completed=offset)
            time.sleep(min(2**attempt, 20))
            try:
                received = api.get(upload_path)["received"]
            except (httpx.TransportError, ApiError):
                continue
            if received != offset:
                return (
                    received,
                    None,
                )  # the chunk landed before the connection dropped, or the server wants another offset
    raise AssertionError("unreachable")


def _wait(api, image_id: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    with out.status("Validating…"):
        while True:
            image = api.get(f"/images/{image_id}")
            if image["status"] in TERMINAL or time.monotonic() > deadline:
                return image
            time.sleep(1)


@app.command("list")
def list_(region: str = typer.Option(None, "--region", "-r"), status: str = typer.Option(None)):
    """List your organisations' images."""
    params = {k: v for k, v in {"region": region, "status": status}.items() if v}
    with api_session() as api:
        images = api.get("/images", params=params)
    table = Table("id", "name", "region", "format", "status", "virtual size", "sha256")
    for image in images:
        status_text = image["status"] if image["status"] != "failed" else f"[red]failed[/]: {image['failure_reason']}"
        table.add_row(
            image["id"],
            image["name"],
            image["region"],
            image["format"],
            status_text,
            human_size(image["virtual_size"]),
            (image["sha256"] or "-")[:16],
        )
    out.print(table)


@app.command()
def show(image_id: str):
    """Show one image."""
    with api_session() as api:
        _print_image(api.get(f"/images/{image_id}"))


@app.command()
def copy(
    image_id: str,
    region: str = typer.Option(..., "--region", "-r", help="Target region."),
    wait: bool = typer.Option(True, help="Wait until the copy is available."),
):
    """Copy an available image to another region; the copy is verified by checksum."""
    with api_session() as api:
        copy = api.post(f"/images/{image_id}/copy", json={"region": region})
        out.print(f"Copying to {region} as image [bold]{copy['id']}[/].")
        if wait:
            copy = _wait(api, copy["id"])
            _print_image(copy)
            if copy["status"] == "failed":
                raise typer.Exit(1)
    out.print(copy["id"])


@app.command()
def delete(image_id: str):
    """Delete an image and its data (refused while a product sells it)."""
    with api_session() as api:
        api.request("DELETE", f"/images/{image_id}")
    out.print(f"Deleted {image_id}.")


@app.command("capture")
def capture(
    build_server: str = typer.Argument(..., help="A stopped build server's id, see `shelf build-server list`."),
    name: str = typer.Option(..., "--name", "-n", help="The new image's name."),
    description: str = typer.Option("", help="Free text for your team."),
    os_hint: str = typer.Option("", "--os", help="Operating system (default: the base image's)."),
    wait: bool = typer.Option(True, help="Wait until the server has copied and validated the image."),
):
    """Make a custom image of a stopped build server, in its region; validated and scanned like an upload."""
    with api_session() as api:
        image = api.post(
            f"/build-servers/{build_server}/capture",
            json={"name": name, "description": description, "os_hint": os_hint},
        )
        out.print(f"Capturing build server {build_server} as image [bold]{image['id']}[/].")
        if wait:
            image = _wait(api, image["id"])
            _print_image(image)
            if image["status"] == "failed":
                raise typer.Exit(1)
    out.print(image["id"])

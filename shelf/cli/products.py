"""`shelf product ...`: create and update drafts from a YAML file, validate, submit, withdraw, show, list.

`apply` is declarative per key: every key present in the file is made so on the server (a list or mapping
replaces the server's whole value, `pictures` included); keys absent from the file are left as they are.
The rules themselves live on the server (shelf.products.rules): this client only reports what the API says,
so the console, the API and the CLI list the same violations. The file's keys, how they are read and the
API fields they map to: shelf.cli.productfile.
"""

import hashlib
import json
import mimetypes
from datetime import datetime
from pathlib import Path

import httpx
import typer
from rich import box
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from shelf.cli.client import ApiError
from shelf.cli.output import api_session, err, human_size, out
from shelf.cli.productfile import FileProblem, load_product_file, product_fields

app = typer.Typer(help="Products: apply a YAML file, validate, submit, withdraw, show, list.", no_args_is_help=True)


# --------------------------------------------------------------------------- output


def violations_table(errors: list[dict], *, file_column: bool = False) -> Table:
    """Every violation, one row each. The message is the last column so a wrapped message reads on."""
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    if file_column:
        table.add_column("file", no_wrap=True)
    table.add_column("field", style="yellow", no_wrap=True)
    table.add_column("code", style="dim", no_wrap=True)
    table.add_column("message")
    for e in errors:
        cells = [Text(e.get("field") or "-"), Text(e.get("code") or ""), Text(e.get("message") or "")]
        if file_column:
            cells.insert(0, Text(e.get("file") or ""))
        table.add_row(*cells)
    return table


def print_violations(errors: list[dict], heading: str) -> None:
    out.print(f"[bold red]{escape(heading)}[/]")
    out.print(violations_table(errors))


def print_conflict(exc: ApiError) -> None:
    """A 409: the conflict itself, then (for a stale save) each field that changed since it was read, and by whom."""
    conflict, *changes = exc.errors
    err.print(
        f"[bold red]Error 409:[/] {escape(conflict.get('message') or '')} [dim]({escape(conflict.get('code') or '')})[/]"
    )
    if changes:
        err.print("Changed on the server since it was read:")
        table = Table("field", "what changed", box=box.SIMPLE, show_edge=False, pad_edge=False)
        for change in changes:
            table.add_row(Text(change.get("field") or "-"), Text(change.get("message") or ""))
        err.print(table)
        err.print("Run the same command again to apply the file on top of the current version.")


def _date(value: str | None) -> str:
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def _price_text(product: dict) -> str:
    mode = product.get("billing_mode") or ""
    currency = product.get("currency") or ""
    parts = [
        f"{label} {product[key]} {currency}"
        for key, label in (("price_yearly", "yearly"), ("price_monthly", "monthly"), ("price_hourly", "hourly"))
        if product.get(key)
    ]
    return f"{mode or 'not chosen'}: {', '.join(parts) or 'no price'}"


# --------------------------------------------------------------------------- API steps


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _lookup(api, path: str) -> dict | None:
    """A related object for display only; None if it cannot be read."""
    try:
        return api.get(path)
    except ApiError:
        return None


def _violations(api, product_id: str) -> list[dict]:
    """Every rule the draft breaks, as the API reports them ([] when it may be submitted)."""
    try:
        api.post(f"/products/{product_id}/validate")
    except ApiError as exc:
        if exc.status == 422:
            return exc.errors
        raise
    return []


def _save(api, method: str, path: str, payload: dict) -> dict:
    """POST or PATCH the draft; a refused save (422) or a conflict (409) is printed and ends the command."""
    try:
        return api.request(method, path, json=payload).json()
    except ApiError as exc:
        if exc.status == 422:
            print_violations(exc.errors, "The draft was not saved; fix these values in the file:")
            raise typer.Exit(1) from None
        if exc.status == 409:
            print_conflict(exc)
            raise typer.Exit(1) from None
        raise


def _upload(api, path: str, file: tuple[str, Path], problems: list[dict]) -> dict | None:
    shown, local = file
    content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
    try:
        with open(local, "rb") as fh:
            return api.request("POST", path, files={"file": (local.name, fh, content_type)}).json()
    except ApiError as exc:
        problems += [{"file": shown, **e} for e in exc.errors]
    except httpx.TransportError as exc:
        # The server stops reading an oversized upload and drops the connection.
        message = f"The upload did not complete ({exc}); is the file larger than 2 MB?"
        problems.append({"file": shown, "field": None, "code": "upload_failed", "message": message})
    return None


def sync_pictures(api, product: dict, files: list[tuple[str, Path]], problems: list[dict]) -> list[str]:
    """Make the product's pictures the file's list, in its order, uploading only what is not there yet."""
    product_id = product["id"]
    wanted: list[tuple[tuple[str, Path], str]] = []
    for file in files:
        sha = sha256_file(file[1])
        if any(sha == seen for _f, seen in wanted):
            err.print(
                f"[yellow]pictures: {escape(file[0])} is the same picture as one listed before; it is used once.[/]"
            )
            continue
        wanted.append((file, sha))
    wanted_shas = [sha for _f, sha in wanted]
    keep, remove, seen = [], [], set()
    for picture in product["pictures"]:
        # The server stores re-encoded pixels; what it received from us is `upload_sha256`.
        picture["sha256"] = picture.get("upload_sha256") or picture["sha256"]
        if picture["sha256"] in wanted_shas and picture["sha256"] not in seen:
            keep.append(picture)
            seen.add(picture["sha256"])
        else:
            remove.append(picture)
    # Pictures have no reorder call: keep the longest prefix already in the file's order, re-upload the rest.
    in_order = 0
    while in_order < len(keep) and keep[in_order]["sha256"] == wanted_shas[in_order]:
        in_order += 1
    remove += keep[in_order:]
    report = []
    for picture in remove:
        try:
            api.request("DELETE", f"/products/{product_id}/pictures/{picture['id']}")
        except ApiError as exc:
            problems += [{"file": f"picture {picture['id']}", **e} for e in exc.errors]
            continue
        if picture["sha256"] not in wanted_shas:
            report.append(f"removed picture {picture['id']} (not in the file)")
    for file, sha in wanted[in_order:]:
        if _upload(api, f"/products/{product_id}/pictures", file, problems) is not None:
            moved = any(p["sha256"] == sha for p in keep)
            report.append(f"re-uploaded {file[0]} (to keep the file's order)" if moved else f"uploaded {file[0]}")
    if in_order:
        report.append(f"{in_order} picture(s) already attached")
    return report


def sync_document(api, product: dict, file: tuple[str, Path], problems: list[dict]) -> list[str]:
    current = product.get("document") or {}
    if current.get("sha256") == sha256_file(file[1]):
        return [f"document {file[0]} already attached"]
    if _upload(api, f"/products/{product['id']}/document", file, problems) is None:
        return []
    return [f"uploaded document {file[0]}"]


# --------------------------------------------------------------------------- commands


@app.command()
def apply(
    file: Path = typer.Option(
        ..., "--file", "-f", exists=True, dir_okay=False, readable=True, help="The product YAML file."
    ),
    product_id: str = typer.Option(None, "--id", help="Update this product (overrides `id:` in the file)."),
):
    """Create or update a draft from a YAML file, upload its pictures and document, then check every rule.

    Keys present in the file are set (lists and mappings replace the server's value, pictures included); keys absent are left as they are.

    Without `id:` in the file (or --id) a new draft is created. Exit code 0 means the draft is ready to submit.
    """
    try:
        spec = load_product_file(file)
    except FileProblem as exc:
        err.print(f"[bold red]{escape(str(file))} cannot be applied:[/]")
        for problem in exc.problems:
            err.print(f"  {escape(problem)}")
        raise typer.Exit(2) from None
    if product_id and spec.id and product_id != spec.id:
        err.print(f"[yellow]--id {escape(product_id)} is used instead of the file's id: {escape(spec.id)}.[/]")
    product_id = product_id or spec.id
    problems: list[dict] = []
    report: list[str] = []
    with api_session() as api:
        needs_agreements = isinstance(spec.data.get("agreement"), dict)
        agreements = api.get("/agreements") if needs_agreements else []
        if product_id:
            product = api.get(f"/products/{product_id}")
            fields = product_fields(spec, current=product, agreements=agreements)
            if fields:
                payload = {**fields, "lock_version": product["lock_version"]}
                product = _save(api, "PATCH", f"/products/{product['id']}", payload)
            out.print(f"Saved draft [bold]{product['id']}[/] (revision {product['revision']}, {product['status']}).")
        else:
            fields = product_fields(spec, current=None, agreements=agreements)
            product = _save(api, "POST", "/products", fields)
            out.print(f"Created draft [bold]{product['id']}[/].")
            out.print(
                f"Add [bold]id: {product['id']}[/] to {escape(str(file))} so the next apply updates this product."
            )
        if spec.pictures is not None:
            report += sync_pictures(api, product, spec.pictures, problems)
        if spec.document is not None:
            report += sync_document(api, product, spec.document, problems)
        violations = _violations(api, product["id"])
    for line in report:
        out.print(f"  {escape(line)}")
    if problems:
        out.print(f"[bold red]{len(problems)} upload(s) refused:[/]")
        out.print(violations_table(problems, file_column=True))
    if violations:
        print_violations(violations, f"{len(violations)} rule(s) to fix before the product can be submitted:")
    elif not problems:
        out.print(f"[bold green]Ready to submit:[/] shelf product submit {product['id']}")
    if violations or problems:
        raise typer.Exit(1)


@app.command()
def validate(
    product_id: str,
    as_json: bool = typer.Option(False, "--json", help="Print the API's error list as JSON ([] when valid)."),
):
    """Check every rule without changing anything (a dry run of submit); exit code 1 if any fails."""
    with api_session() as api:
        violations = _violations(api, product_id)
    if as_json:
        typer.echo(json.dumps(violations, ensure_ascii=False, indent=2))
    elif violations:
        print_violations(violations, f"{len(violations)} rule(s) to fix before the product can be submitted:")
    else:
        out.print(f"[bold green]Ready to submit:[/] shelf product submit {product_id}")
    if violations:
        raise typer.Exit(1)


@app.command()
def submit(product_id: str):
    """Submit the draft for review (提交审核); every failing rule is listed if it is refused."""
    with api_session() as api:
        try:
            product = api.post(f"/products/{product_id}/submit")
        except ApiError as exc:
            if exc.status != 422:
                raise
            print_violations(exc.errors, f"Not submitted: {len(exc.errors)} rule(s) to fix first:")
            raise typer.Exit(1) from None
    out.print(f"Submitted [bold]{escape(product['name'])}[/]: status [bold]{product['status']}[/].")
    out.print(f"Operators aim to finish the review by {_date(product['due_at'])}.")


@app.command()
def withdraw(product_id: str):
    """Take a product back from review (撤销审核) to edit it and submit it again."""
    with api_session() as api:
        product = api.post(f"/products/{product_id}/withdraw")
    out.print(f"Withdrawn [bold]{escape(product['name'])}[/] from review: status [bold]{product['status']}[/].")


@app.command()
def revise(product_id: str):
    """Start editing a listed or delisted product: a new draft revision; the listed one stays on sale until approved."""
    with api_session() as api:
        product = api.post(f"/products/{product_id}/revisions")
    out.print(
        f"Revision r{product['revision']} of [bold]{escape(product['name'])}[/] is a draft; "
        f"r{product['listed_revision'] or '-'} stays on sale. Edit it with `shelf product apply`, then submit it."
    )


@app.command()
def delist(
    product_id: str, reason: str = typer.Option(..., "--reason", "-r", help="Why the product is taken off sale.")
):
    """Take a listed product off sale. Relisting goes through review again (`shelf product revise`)."""
    with api_session() as api:
        product = api.post(f"/products/{product_id}/delist", json={"reason": reason})
    out.print(f"Delisted [bold]{escape(product['name'])}[/]: status [bold]{product['status']}[/].")


@app.command()
def revisions(product_id: str):
    """Every revision of a product with its status and the operators' reasons for a rejection."""
    with api_session() as api:
        rows = api.get(f"/products/{product_id}/revisions")
    table = Table("revision", "status", "name", "submitted", "decided", "rejection reasons")
    for row in rows:
        reasons = "\n".join(f"{field}: {text}" for field, text in row["rejection_reasons"].items())
        table.add_row(
            f"r{row['number']}",
            row["status"],
            escape(row["name"]),
            _date(row["submitted_at"]),
            _date(row["decided_at"]),
            escape(reasons),
        )
    out.print(table)


@app.command()
def show(product_id: str):
    """Show one product: its fields, pictures, document and what still blocks submitting it."""
    with api_session() as api:
        product = api.get(f"/products/{product_id}")
        violations = _violations(api, product_id) if product["status"] in ("draft", "rejected") else None
        agreement = _lookup(api, f"/agreements/{product['agreement']}") if product["agreement"] else None
        images = {region: _lookup(api, f"/images/{image_id}") for region, image_id in product["deliveries"].items()}
    agreement_text = f"{product['agreement']} {agreement['title']}" if agreement else str(product["agreement"] or "-")
    rows = [
        ("id", product["id"]),
        ("name", product["name"] or "-"),
        ("status", f"{product['status']} (revision {product['revision']})"),
        ("organisation", product["organization"]),
        ("category", product["category"] or "-"),
        ("tags", ", ".join(product["tags"]) or "-"),
        ("software", ", ".join(product["software"]) or "-"),
        ("version", product["version"] or "-"),
        ("agreement", agreement_text),
    ]
    # One line per region sold in, then per picture: the label only on the first.
    deliveries = [
        f"{region}: {image_id}" + (f" {images[region]['name']} ({images[region]['status']})" if images[region] else "")
        for region, image_id in product["deliveries"].items()
    ]
    rows += [("deliveries" if i == 0 else "", line) for i, line in enumerate(deliveries or ["-"])]
    rows += [("ports", ", ".join(["22 (SSH)", *map(str, product.get("ports") or [])]))]
    rows += [("billing", _price_text(product)), ("summary", product["summary"] or "-")]
    pictures = [
        f"{p['width']} x {p['height']} {p['content_type']} {human_size(p['size'])} sha256 {p['sha256'][:16]}"
        for p in product["pictures"]
    ]
    rows += [("pictures" if i == 0 else "", line) for i, line in enumerate(pictures or ["none"])]
    document = product["document"]
    document_text = (
        f"{document['filename']} ({document['kind']}, {human_size(document['size'])})" if document else "none"
    )
    rows.append(("document", document_text))
    if product["submitted_at"]:
        rows.append(("submitted", _date(product["submitted_at"])))
        rows.append(("review due", _date(product["due_at"])))
    for field_name, reason in (product.get("rejection_reasons") or {}).items():
        rows.append((f"rejected: {field_name}", reason))
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(Text(label), Text(str(value)))
    out.print(table)
    if product["details"]:
        out.print("[bold]details[/]")
        out.print(Text(product["details"]), soft_wrap=True)
    if violations:
        print_violations(violations, f"{len(violations)} rule(s) to fix before the product can be submitted:")
    elif violations == []:
        out.print(f"[bold green]Ready to submit:[/] shelf product submit {product['id']}")


@app.command("list")
def list_(status: str = typer.Option(None, "--status", "-s", help="draft, in_review, listed, rejected or delisted.")):
    """List your organisations' products."""
    with api_session() as api:
        products = api.get("/products", params={"status": status} if status else None)
    table = Table(
        Column("id", no_wrap=True, min_width=36), "name", "status", "version", "category", "billing", "review due"
    )
    for product in products:
        table.add_row(
            product["id"],
            Text(product["name"] or "-"),
            product["status"],
            Text(product["version"] or "-"),
            Text(product["category"] or "-"),
            Text(_price_text(product)),
            _date(product["due_at"]) if product["due_at"] else "",
        )
    out.print(table)
    if not products:
        out.print("No products" + (f" with status {escape(status)}." if status else "."))

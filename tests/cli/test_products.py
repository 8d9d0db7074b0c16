"""`shelf product ...` against a live server: a YAML file in, the same rules out as the console and the API."""

import hashlib
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shelf.accounts.services import token_create
from shelf.audit.models import AuditEvent
from shelf.catalog.models import Agreement, Category
from shelf.products import api as products_api
from shelf.products.models import Product
from shelf.products.selectors import working_revision
from shelf.products.services import product_save_draft
from tests.products.conftest import PDF_BYTES, make_image, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_token(alice):
    return token_create(user=alice, name="cli tests")[1]


@pytest.fixture
def alice_org(alice):
    return alice.organizations.get()


def flat(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare text with the wrapping undone."""
    return " ".join(text.split())


def leaf_category() -> str:
    return Category.objects.filter(parent__isnull=False, is_active=True).first().slug


def template_agreement() -> int:
    return Agreement.objects.filter(organization__isnull=True, is_active=True).first().pk


def write_media(folder: Path) -> None:
    (folder / "cover.png").write_bytes(png_bytes())
    (folder / "manual.pdf").write_bytes(PDF_BYTES)


def product_yaml(image, *, agreement: str | None = None, extra: str = "", **fields) -> str:
    """A complete product file; prices are written as bare YAML floats on purpose."""
    values = {
        "category": leaf_category(),
        "name": "LAMP 环境（Debian 12）",
        "tags": ["web", "lamp"],
        "software": ["Apache 2.4", "MySQL 8.0", "PHP 8.2"],
        "version": "v1.0",
        "summary": "A ready LAMP stack.",
        "pictures": ["cover.png"],
        "document": "manual.pdf",
        **fields,
    }
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    lines += [
        f"agreement: {agreement or template_agreement()}",
        f"deliveries: {{{image.region.code}: {image.pk}}}",
        "billing:",
        "  mode: prepaid",
        "  yearly: 999.10",
        "  monthly: 99.5",
        "  currency: CNY",
        "details: |",
        "  ## Features",
        "",
        "  Apache, MySQL and PHP, ready to use.",
    ]
    return "\n".join(lines) + "\n" + extra


def created_id(result) -> str:
    match = re.search(r"Created draft ([0-9a-f-]{36})", result.stdout)
    assert match, result.stdout + result.stderr
    return match.group(1)


def apply(shelf_cli, token, folder: Path, text: str, *args: str):
    path = folder / "product.yaml"
    path.write_text(text, encoding="utf-8")
    return shelf_cli("product", "apply", "-f", str(path), *args, token=token)


# --------------------------------------------------------------------------- apply


def test_apply_creates_a_valid_draft_then_updates_it_idempotently(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org)
    write_media(tmp_path)
    agreement = "{title: LAMP service terms, body: 'Support 7x8 by e-mail; refunds within 7 days.'}"

    result = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, agreement=agreement))
    assert result.returncode == 0, result.stdout + result.stderr
    product_id = created_id(result)
    assert f"id: {product_id}" in result.stdout  # the hint to put the id in the file
    assert "Ready to submit" in result.stdout
    revision = working_revision(Product.objects.get(pk=product_id))
    # YAML floats reached the API as the decimal text written in the file.
    assert revision.price_monthly == Decimal("99.50") and revision.price_yearly == Decimal("999.10")
    assert revision.price_input == {"price_monthly": "99.5", "price_yearly": "999.10"}
    assert revision.name == "LAMP 环境（Debian 12）" and revision.details.startswith("## Features")
    assert revision.pictures.count() == 1 and revision.document_or_none.kind == "pdf"
    assert revision.agreement.organization == alice_org and revision.agreement.title == "LAMP service terms"
    assert api_valid(alice_token, product_id, shelf_cli)

    # The same file again: nothing uploaded twice, no second agreement.
    uploads = AuditEvent.objects.filter(action__in=["product.picture_add", "product.document_set"]).count()
    again = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, agreement=agreement), "--id", product_id)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already attached" in again.stdout
    assert AuditEvent.objects.filter(action__in=["product.picture_add", "product.document_set"]).count() == uploads
    assert revision.pictures.count() == 1
    assert Agreement.objects.filter(organization=alice_org).count() == 1

    # `id:` in the file updates that product instead of creating one.
    renamed = apply(shelf_cli, alice_token, tmp_path, f"id: {product_id}\n" + product_yaml(image, name="LAMP 2"))
    assert renamed.returncode == 0, renamed.stdout + renamed.stderr
    assert Product.objects.count() == 1
    revision = working_revision(Product.objects.get())
    assert revision.name == "LAMP 2" and revision.agreement_id == template_agreement()
    assert revision.pictures.count() == 1


def api_valid(token, product_id, shelf_cli) -> bool:
    result = shelf_cli("product", "validate", product_id, "--json", token=token)
    return result.returncode == 0 and json.loads(result.stdout) == []


def test_apply_lists_refused_uploads_and_every_rule_with_its_field(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org)
    write_media(tmp_path)
    (tmp_path / "cover.png").write_bytes(png_bytes(size=(389, 260)))

    result = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, name="n" * 81))
    assert result.returncode == 1, result.stdout + result.stderr
    text = flat(result.stdout)
    product_id = created_id(result)  # the draft is saved even though it breaks rules
    # The picture refused by the server, with its file, field and the size it has.
    assert re.search(
        r"cover\.png pictures size A picture must be exactly 390 x 260 px; this one is 389 x 260 px", text
    ), text
    # Every rule the draft breaks, each with its field: the long name and the picture still missing.
    assert "name max_length Product name is at most 80 characters; it has 81." in text
    assert "pictures required Upload at least one product picture" in text
    revision = working_revision(Product.objects.get(pk=product_id))
    assert revision.name == "n" * 81 and revision.pictures.count() == 0 and revision.document_or_none is not None


def test_apply_keeps_the_files_pictures_in_order(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org)
    write_media(tmp_path)
    colors = {"a": (200, 0, 0), "b": (0, 200, 0), "c": (0, 0, 200)}
    for name, color in colors.items():
        (tmp_path / f"{name}.png").write_bytes(png_bytes(color=color))
    shas = {name: hashlib.sha256((tmp_path / f"{name}.png").read_bytes()).hexdigest() for name in colors}

    def attached(product_id):
        return [p.upload_sha256 for p in working_revision(Product.objects.get(pk=product_id)).pictures.all()]

    product_id = created_id(apply(shelf_cli, alice_token, tmp_path, product_yaml(image, pictures=["a.png", "b.png"])))
    assert attached(product_id) == [shas["a"], shas["b"]]
    result = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, pictures=["b.png"]), "--id", product_id)
    assert result.returncode == 0, result.stdout + result.stderr
    assert attached(product_id) == [shas["b"]] and "removed picture" in result.stdout
    result = apply(
        shelf_cli, alice_token, tmp_path, product_yaml(image, pictures=["c.png", "b.png"]), "--id", product_id
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert attached(product_id) == [shas["c"], shas["b"]]


def test_unstorable_values_are_refused_and_nothing_is_created(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org)
    write_media(tmp_path)
    result = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, category="no-such-category"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not saved" in result.stdout and "category unknown" in flat(result.stdout)
    assert not Product.objects.exists()


def test_a_broken_file_is_refused_before_any_request(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org)
    text = product_yaml(image, pictures=["missing.png"], extra="sumary: typo\n")
    result = apply(shelf_cli, alice_token, tmp_path, text)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "sumary" in result.stderr and "missing.png" in result.stderr and "manual.pdf" in result.stderr
    assert not Product.objects.exists()


def test_a_save_over_someone_elses_change_prints_what_changed(
    shelf_cli, alice, alice_token, alice_org, tmp_path, monkeypatch
):
    image = make_image(alice_org)
    write_media(tmp_path)
    product_id = created_id(apply(shelf_cli, alice_token, tmp_path, product_yaml(image)))
    original = products_api.product_out
    raced = []

    def read_then_edited_in_the_console(product, revision):
        shown = original(product, revision)
        if not raced:  # someone saves the draft right after the CLI read it
            raced.append(True)
            product_save_draft(
                actor=alice,
                revision=revision,
                lock_version=revision.lock_version,
                changes={"summary": "Edited in the console."},
            )
        return shown

    monkeypatch.setattr(products_api, "product_out", read_then_edited_in_the_console)
    result = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, name="LAMP 2"), "--id", product_id)
    assert result.returncode == 1, result.stdout + result.stderr
    text = flat(result.stderr)
    assert "Error 409" in text and "saved elsewhere" in text
    assert re.search(r"summary Changed by alice at \d{4}-\d\d-\d\d", text), text
    revision = working_revision(Product.objects.get(pk=product_id))
    assert revision.summary == "Edited in the console." and revision.name != "LAMP 2"


# --------------------------------------------------------------------------- lifecycle


def test_submit_is_refused_while_the_scan_failed(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org, scan_verdict="failed")
    write_media(tmp_path)
    applied = apply(shelf_cli, alice_token, tmp_path, product_yaml(image))
    assert applied.returncode == 1 and "security.ap-guangzhou" in applied.stdout
    product_id = created_id(applied)
    result = shelf_cli("product", "submit", product_id, token=alice_token)
    assert result.returncode == 1, result.stdout + result.stderr
    text = flat(result.stdout)
    assert "Not submitted" in text and "security.ap-guangzhou scan_failed" in text and "scan" in text
    assert working_revision(Product.objects.get(pk=product_id)).status == "draft"


def test_submit_withdraw_show_and_list(shelf_cli, alice_token, alice_org, tmp_path):
    image = make_image(alice_org)
    write_media(tmp_path)
    product_id = created_id(apply(shelf_cli, alice_token, tmp_path, product_yaml(image)))

    shown = shelf_cli("product", "show", product_id, token=alice_token)
    assert shown.returncode == 0, shown.stderr
    for text in (
        "LAMP 环境（Debian 12）",
        "draft",
        "web, lamp",
        "v1.0",
        "prepaid",
        "99.50",
        "manual.pdf",
        "390 x 260",
        "Ready to submit",
    ):
        assert text in shown.stdout, text

    submitted = shelf_cli("product", "submit", product_id, token=alice_token)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    revision = working_revision(Product.objects.get(pk=product_id))
    assert revision.status == "in_review" and "in_review" in submitted.stdout
    assert re.search(r"by \d{4}-\d\d-\d\d", submitted.stdout)

    # In review the draft cannot be changed: the CLI says so and how to go on.
    blocked = apply(shelf_cli, alice_token, tmp_path, product_yaml(image, name="LAMP 2"), "--id", product_id)
    assert blocked.returncode == 1 and "Error 409" in blocked.stderr and "Withdraw" in flat(blocked.stderr)

    listed = shelf_cli("product", "list", "--status", "in_review", token=alice_token)
    assert listed.returncode == 0 and product_id in listed.stdout and "LAMP 环境（Debian 12）" in listed.stdout
    assert product_id not in shelf_cli("product", "list", "--status", "draft", token=alice_token).stdout
    assert "review due" in shelf_cli("product", "show", product_id, token=alice_token).stdout

    withdrawn = shelf_cli("product", "withdraw", product_id, token=alice_token)
    assert withdrawn.returncode == 0 and "draft" in withdrawn.stdout
    assert working_revision(Product.objects.get(pk=product_id)).status == "draft"
    assert product_id in shelf_cli("product", "list", token=alice_token).stdout


def test_another_organisation_gets_404(shelf_cli, alice_token, alice_org, bob, tmp_path):
    image = make_image(alice_org)
    write_media(tmp_path)
    product_id = created_id(apply(shelf_cli, alice_token, tmp_path, product_yaml(image)))
    bob_token = token_create(user=bob, name="cli tests")[1]
    for command in (["show"], ["validate"], ["submit"], ["withdraw"]):
        result = shelf_cli("product", *command, product_id, token=bob_token)
        assert result.returncode == 1 and "Error 404" in result.stderr, command
    result = apply(shelf_cli, bob_token, tmp_path, product_yaml(image, name="mine now"), "--id", product_id)
    assert result.returncode == 1 and "Error 404" in result.stderr
    assert product_id not in shelf_cli("product", "list", token=bob_token).stdout
    assert working_revision(Product.objects.get(pk=product_id)).name == "LAMP 环境（Debian 12）"


# --------------------------------------------------------------------------- one set of rules, three interfaces


class RuleItems(HTMLParser):
    """Collects (data-field, data-code, text) of the list items the review step renders per violation."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str, str]] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and "data-field" in attrs:
            self._open = {"field": attrs["data-field"], "code": attrs.get("data-code"), "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "li" and self._open is not None:
            self.items.append((self._open["field"], self._open["code"], self._open["text"]))
            self._open = None


def test_console_api_and_cli_report_the_same_violations(shelf_cli, api, web, alice, alice_token, alice_org):
    image = make_image(alice_org, scan_verdict="failed", name="Debian “LAMP” <12>")
    client = api(alice)
    created = client.post(
        "products",
        json={
            "name": "n" * 81,
            "tags": ["web", "Web", ""],
            "software": [],
            "version": "1.0",
            "deliveries": {"ap-guangzhou": str(image.pk)},
            "billing_mode": "prepaid",
            "price_monthly": "12.345",
            "price_hourly": "abc",
            "currency": "EUR",
            "summary": "s" * 141,
            "details": "",
        },
    )
    assert created.status_code == 201, created.json()
    product_id = created.json()["id"]

    response = client.post(f"products/{product_id}/validate")
    assert response.status_code == 422
    from_api = [(e["field"], e["code"], e["message"]) for e in response.json()["errors"]]

    result = shelf_cli("product", "validate", product_id, "--json", token=alice_token)
    assert result.returncode == 1, result.stderr
    from_cli = [(e["field"], e["code"], e["message"]) for e in json.loads(result.stdout)]

    page = web(alice).get(f"/provider/products/{product_id}/edit/review/")
    assert page.status_code == 200
    parser = RuleItems()
    parser.feed(page.content.decode())
    from_console = parser.items

    assert len(from_api) >= 12, from_api  # a draft broken in many ways, quotes and markup in its messages
    assert {code for _f, code, _m in from_api} >= {
        "max_length",
        "duplicate",
        "blank",
        "too_few",
        "format",
        "required",
        "scan_failed",
        "decimal_places",
        "invalid",
    }
    assert sorted(from_cli) == sorted(from_api)
    assert sorted(from_console) == sorted(from_api)

    # The human-readable CLI output lists each of them, with its field and code.
    table = flat(shelf_cli("product", "validate", product_id, token=alice_token).stdout)
    for field, code, message in from_api:
        assert f"{field} {code} {flat(message)}" in table, (field, code, message)

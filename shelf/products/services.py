"""Every write on products: drafts, pictures, the document, and the lifecycle transitions.

Statuses change only here. Each transition checks its guard, records the audit event and
leaves the revision consistent; a rule violation changes nothing.
"""

import contextlib
import hashlib
import uuid

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shelf.accounts.models import Organization, User
from shelf.audit.models import AuditEvent
from shelf.audit.services import audit_record
from shelf.catalog.models import Category, Region
from shelf.catalog.selectors import agreements_for_organization
from shelf.catalog.services import agreement_create
from shelf.errors import Conflict, RuleViolations, Violation, raise_if
from shelf.images.models import Image
from shelf.products import media, rules
from shelf.products.details import render_details
from shelf.products.models import Delivery, Document, Picture, Product, Revision
from shelf.products.signals import revision_left_review, revision_listing_changed
from shelf.storage import get_storage
from shelf.workdays import add_business_days

REVIEW_BUSINESS_DAYS = 7
EDITABLE = (Revision.Status.DRAFT, Revision.Status.REJECTED)
TEXT_FIELDS = ("name", "version", "summary", "details")
LIST_FIELDS = ("tags", "software")
PRICE_FIELDS = ("price_yearly", "price_monthly", "price_hourly")


def revision_set_status(
    revision: Revision, *, actor, to: str, action: str, reason: str = "", data: dict | None = None
) -> None:
    """The one place a revision's status changes (callers are services that checked the guard, inside their transaction)."""
    previous = revision.status
    revision.status = to
    revision.lock_version += 1
    revision.save()
    audit_record(
        actor=actor,
        target=revision.product,
        organization=revision.product.organization,
        action=action,
        from_status=previous,
        to_status=to,
        reason=reason,
        data={"revision": revision.number, "fields": ["status"], "lock_version": revision.lock_version, **(data or {})},
    )
    if previous == Revision.Status.IN_REVIEW and to != Revision.Status.IN_REVIEW:
        revision_left_review.send(sender=Revision, revision=revision)
    if Revision.Status.LISTED in (previous, to) and previous != to:
        revision_listing_changed.send(sender=Revision, revision=revision, previous=previous, to=to)


@transaction.atomic
def product_create(*, actor: User, organization: Organization, changes: dict | None = None) -> Revision:
    """Create a product with its first draft revision, storing whatever subset of fields was given."""
    product = Product.objects.create(organization=organization, created_by=actor)
    revision = Revision.objects.create(product=product)
    audit_record(
        actor=actor, target=product, organization=organization, action="product.create", to_status=revision.status
    )
    if changes:
        revision = _apply_changes(actor=actor, revision=revision, changes=changes)
    return revision


def _guard_editable(revision: Revision) -> None:
    if revision.status == Revision.Status.IN_REVIEW:
        raise Conflict(
            _(
                "This product is in review and cannot be edited. Withdraw it from review first (撤销审核), then edit and submit again."
            ),
            code="in_review",
        )
    if revision.status not in EDITABLE:
        raise Conflict(
            _("This revision is %(status)s and can no longer be edited.") % {"status": revision.get_status_display()},
            code="not_editable",
        )


def _check_lock(revision: Revision, lock_version) -> None:
    if lock_version is None:
        raise RuleViolations(
            [
                Violation(
                    "lock_version",
                    "required",
                    _("Send the lock_version you read, so a save cannot silently overwrite someone else's."),
                )
            ]
        )
    try:
        lock_version = int(lock_version)
    except (TypeError, ValueError):
        raise RuleViolations(
            [Violation("lock_version", "invalid", _("lock_version is the whole number you read with the product."))]
        ) from None
    if lock_version == revision.lock_version:
        return
    # Tell the user what changed since the version they edited.
    events = AuditEvent.objects.for_object(revision.product).filter(action__startswith="product.")
    changed: dict[str, AuditEvent] = {}
    for event in events.order_by("created_at"):
        if int(event.data.get("lock_version", 0)) > int(lock_version):
            for field in event.data.get("fields", []) or ["status"]:
                changed[field] = event
    errors = [
        Violation(
            field,
            "changed",
            _("Changed by %(who)s at %(when)s since you opened it.")
            % {"who": event.actor_name, "when": timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")},
        )
        for field, event in changed.items()
    ]
    raise StaleDraft(revision=revision, changes=errors)


class StaleDraft(Conflict):
    """A save based on an older lock_version (HTTP 409); `changes` says which fields changed, by whom."""

    def __init__(self, *, revision: Revision, changes: list[Violation]):
        fields = ", ".join(v.field for v in changes) or _("its status")
        super().__init__(
            _(
                "This draft was saved elsewhere since you opened it (%(fields)s changed). "
                "Reload it to see the current content, then apply your changes again."
            )
            % {"fields": fields},
            code="stale",
            field="lock_version",
        )
        self.revision = revision
        self.changes = changes


def _storable(revision: Revision, changes: dict) -> tuple[dict, list[Violation]]:
    """Turn submitted values into model values; refuse only what cannot be stored at all (or is not yours)."""
    organization = revision.product.organization
    values, violations = {}, []
    for field in TEXT_FIELDS:
        if field in changes:
            value = changes[field] or ""
            if not isinstance(value, str):
                violations.append(Violation(field, "type", _("Send text.")))
            elif "\x00" in value:
                violations.append(
                    Violation(field, "invalid_character", _("Text cannot contain NUL (\\x00) characters."))
                )
            elif len(value) > rules.STORAGE_LIMITS[field]:
                violations.append(
                    Violation(
                        field,
                        "too_long_to_store",
                        _("This is far beyond the limit (%(max)d characters); it was not saved.")
                        % {"max": rules.STORAGE_LIMITS[field]},
                    )
                )
            else:
                values[field] = value
    for field in LIST_FIELDS:
        if field in changes:
            items = changes[field] or []
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                violations.append(Violation(field, "type", _("Send a list of texts.")))
            elif any("\x00" in i for i in items):
                violations.append(
                    Violation(field, "invalid_character", _("Text cannot contain NUL (\\x00) characters."))
                )
            elif len(items) > rules.STORAGE_LIMITS["tags"] or any(len(i) > rules.STORAGE_LIMITS["tag"] for i in items):
                violations.append(
                    Violation(field, "too_long_to_store", _("Too many or too long entries; they were not saved."))
                )
            else:
                values[field] = [i.strip() for i in items]
    if "ports" in changes:
        # Enforced at save, not only at submit: a port list is short and either right or wrong.
        if port_problems := rules.ports_violations(changes["ports"]):
            violations += port_problems
        else:
            values["ports"] = rules.ports_normalized(changes["ports"])
    if "access_type" in changes:
        if changes["access_type"] not in Revision.AccessType.values:
            violations.append(Violation("access_type", "invalid", _("Choose the access type “image”.")))
        else:
            values["access_type"] = changes["access_type"]
    if "category" in changes:
        slug = changes["category"]
        category = Category.objects.filter(slug=slug, is_active=True).first() if slug else None
        if slug and category is None:
            violations.append(Violation("category", "unknown", _("There is no category “%(slug)s”.") % {"slug": slug}))
        else:
            values["category"] = category
    if "agreement" in changes:
        agreement_id = changes["agreement"]
        agreement = None
        if agreement_id not in (None, ""):
            agreement = agreements_for_organization(organization).filter(pk=agreement_id).first()
            if agreement is None:
                violations.append(Violation("agreement", "unknown", _("Pick one of the listed agreements.")))
        if agreement is not None or agreement_id in (None, ""):
            values["agreement"] = agreement
    if "billing_mode" in changes:
        mode = changes["billing_mode"] or ""
        if mode and mode not in Revision.BillingMode.values:
            violations.append(Violation("billing_mode", "invalid", _("Billing mode is prepaid or postpaid.")))
        else:
            values["billing_mode"] = mode
    if "currency" in changes:
        values["currency"] = (changes["currency"] or "CNY").upper()[:3]
    typed = dict(revision.price_input or {})
    for field in PRICE_FIELDS:
        if field in changes:
            raw = changes[field]
            if isinstance(raw, int) and not isinstance(raw, bool):
                raw = str(raw)  # a whole number is exact
            if isinstance(raw, float):
                violations.append(
                    Violation(
                        field,
                        "not_decimal",
                        _('Send prices as decimal strings like "12.50", not as floating-point numbers.'),
                    )
                )
                continue
            price, _problem = rules.parse_price(raw)
            values[field] = price
            typed[field] = "" if raw is None else str(raw)[:40]
    if any(field in changes for field in PRICE_FIELDS):
        values["price_input"] = {k: v for k, v in typed.items() if v not in ("", None)}
    if "details" in values:
        values["details_html"] = render_details(values["details"])
    return values, violations


def _deliveries(revision: Revision, deliveries) -> tuple[dict, list[Violation]]:
    """region code → image (or None to remove). Only the organisation's own images in that region are accepted."""
    if not isinstance(deliveries, dict):
        return {}, [Violation("deliveries", "type", _("Send deliveries as {region code: image id}."))]
    chosen, violations = {}, []
    for code, image_id in deliveries.items():
        region = Region.objects.filter(code=code, is_active=True).first()
        if region is None:
            violations.append(
                Violation(
                    f"deliveries.{code}", "unknown_region", _("There is no active region “%(code)s”.") % {"code": code}
                )
            )
            continue
        if image_id in (None, ""):
            chosen[region] = None
            continue
        try:
            image = Image.objects.filter(
                pk=uuid.UUID(str(image_id)), organization=revision.product.organization, region=region
            ).first()
        except ValueError:
            image = None
        if image is None:
            violations.append(
                Violation(
                    f"deliveries.{code}",
                    "unknown_image",
                    _("Choose one of your own images in %(region)s.") % {"region": code},
                )
            )
        else:
            chosen[region] = image
    return chosen, violations


def _apply_changes(*, actor: User, revision: Revision, changes: dict) -> Revision:
    values, violations = _storable(revision, changes)
    deliveries = {}
    if "deliveries" in changes:
        deliveries, delivery_violations = _deliveries(revision, changes["deliveries"] or {})
        violations += delivery_violations
    new_agreement = changes.get("new_agreement")
    if new_agreement:
        try:
            agreement = agreement_create(
                actor=actor,
                organization=revision.product.organization,
                title=new_agreement.get("title"),
                body=new_agreement.get("body"),
            )
            values["agreement"] = agreement
        except RuleViolations as exc:
            violations += [Violation(f"new_agreement.{v.field}", v.code, v.message) for v in exc.violations]
    raise_if(violations)
    changed = [
        field
        for field, value in values.items()
        if getattr(revision, field) != value and field not in ("details_html", "price_input")
    ]
    for field, value in values.items():
        setattr(revision, field, value)
    for region, image in deliveries.items():
        current = revision.deliveries.filter(region=region).first()
        if image is None and current is not None:
            current.delete()
        elif image is not None and (current is None or current.image_id != image.pk):
            Delivery.objects.update_or_create(revision=revision, region=region, defaults={"image": image})
        else:
            continue
        changed.append(f"deliveries.{region.code}")
    if "wizard_step" in changes and changes["wizard_step"] in rules.STEP_KEYS:
        revision.wizard_step = changes["wizard_step"]
    if changed:
        revision.lock_version += 1
    revision.save()
    if changed:
        audit_record(
            actor=actor,
            target=revision.product,
            organization=revision.product.organization,
            action="product.save",
            data={"fields": sorted(set(changed)), "lock_version": revision.lock_version, "revision": revision.number},
        )
    return revision


@transaction.atomic
def product_save_draft(*, actor: User, revision: Revision, lock_version, changes: dict) -> Revision:
    """Save any subset of fields, valid or not (the rules are reported, not enforced, until submit)."""
    revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision.pk)
    _guard_editable(revision)
    _check_lock(revision, lock_version)
    if revision.status == Revision.Status.REJECTED:
        revision_set_status(revision, actor=actor, to=Revision.Status.DRAFT, action="product.edit_after_rejection")
    return _apply_changes(actor=actor, revision=revision, changes=changes)


def _delete_unreferenced(key: str) -> None:
    """Revisions share picture and document objects; an object goes only when no revision uses it any more."""
    if not Picture.objects.filter(storage_key=key).exists() and not Document.objects.filter(storage_key=key).exists():
        transaction.on_commit(lambda: get_storage().delete(key))


def _store_upload(revision: Revision, fileobj, kind: str) -> tuple[str, str]:
    key = f"products/{revision.product.organization_id}/{revision.product_id}/{kind}-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    fileobj.seek(0)

    def chunks():
        while data := fileobj.read(64 * 1024):
            digest.update(data)
            yield data

    get_storage().write(key, chunks())
    return key, digest.hexdigest()


@contextlib.contextmanager
def _discard_on_failure(written: list[str]):
    """Objects stored for a change that then fails (a rule, a conflict, the database) are removed, not left orphaned."""
    try:
        yield
    except BaseException:
        for key in written:
            get_storage().delete(key)
        raise


def picture_add(*, actor: User, revision: Revision, fileobj) -> Picture:
    """Check a picture by its content (390x260 px, 72 dpi, PNG/JPEG, ≤ 2 MB) and attach its pixels, re-encoded."""
    upload_sha256 = media.sha256_of(fileobj)
    fileobj, info = media.reencode_picture(fileobj, media.check_picture(fileobj))
    written: list[str] = []
    with _discard_on_failure(written), transaction.atomic():
        revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision.pk)
        _guard_editable(revision)
        count = revision.pictures.count()
        if count >= rules.PICTURES_MAX:
            raise RuleViolations(
                [
                    Violation(
                        "pictures",
                        "too_many",
                        _("At most %(max)d pictures; delete one first.") % {"max": rules.PICTURES_MAX},
                    )
                ]
            )
        key, sha256 = _store_upload(revision, fileobj, "picture")
        written.append(key)
        picture = Picture.objects.create(
            revision=revision,
            position=count,
            storage_key=key,
            content_type=info.content_type,
            width=info.width,
            height=info.height,
            size=info.size,
            sha256=sha256,
            upload_sha256=upload_sha256,
        )
        revision.lock_version += 1
        revision.save(update_fields=["lock_version", "updated_at"])
        audit_record(
            actor=actor,
            target=revision.product,
            action="product.picture_add",
            data={"fields": ["pictures"], "lock_version": revision.lock_version, "sha256": sha256},
        )
    return picture


def picture_delete(*, actor: User, picture: Picture) -> None:
    with transaction.atomic():
        revision = (
            Revision.objects.select_for_update().select_related("product__organization").get(pk=picture.revision_id)
        )
        _guard_editable(revision)
        picture.delete()
        for position, remaining in enumerate(revision.pictures.all()):
            if remaining.position != position:
                remaining.position = position
                remaining.save(update_fields=["position"])
        revision.lock_version += 1
        revision.save(update_fields=["lock_version", "updated_at"])
        audit_record(
            actor=actor,
            target=revision.product,
            action="product.picture_delete",
            data={"fields": ["pictures"], "lock_version": revision.lock_version},
        )
        _delete_unreferenced(picture.storage_key)


def document_set(*, actor: User, revision: Revision, fileobj, filename: str) -> Document:
    """Check the document by content (PDF, Word, PowerPoint, ZIP or RAR, ≤ 2 MB) and attach it, replacing any previous one."""
    info = media.check_document(fileobj)
    # Keep the provider's name for the download, but only its base name and with the real extension.
    base = (filename or "document").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0][:150] or "document"
    written: list[str] = []
    with _discard_on_failure(written), transaction.atomic():
        revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision.pk)
        _guard_editable(revision)
        key, sha256 = _store_upload(revision, fileobj, "document")
        written.append(key)
        old = Document.objects.filter(revision=revision).first()
        if old is not None:
            old.delete()
            _delete_unreferenced(old.storage_key)
        document = Document.objects.create(
            revision=revision,
            storage_key=key,
            kind=info.kind,
            content_type=info.content_type,
            filename=f"{base}{info.extension}",
            size=info.size,
            sha256=sha256,
        )
        revision.lock_version += 1
        revision.save(update_fields=["lock_version", "updated_at"])
        audit_record(
            actor=actor,
            target=revision.product,
            action="product.document_set",
            data={"fields": ["document"], "lock_version": revision.lock_version, "kind": info.kind},
        )
    return document


def document_delete(*, actor: User, revision: Revision) -> None:
    with transaction.atomic():
        revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision.pk)
        _guard_editable(revision)
        document = revision.document_or_none
        if document is None:
            return
        document.delete()
        revision.lock_version += 1
        revision.save(update_fields=["lock_version", "updated_at"])
        audit_record(
            actor=actor,
            target=revision.product,
            action="product.document_delete",
            data={"fields": ["document"], "lock_version": revision.lock_version},
        )
        _delete_unreferenced(document.storage_key)


@transaction.atomic
def product_submit(*, actor: User, revision: Revision) -> Revision:
    """draft → in_review (提交审核), only when every rule holds; the due date is 7 business days later."""
    revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision.pk)
    if revision.status != Revision.Status.DRAFT:
        if revision.status == Revision.Status.IN_REVIEW:
            raise Conflict(_("This product is already in review."), code="in_review")
        raise Conflict(
            _("Only a draft can be submitted; this one is %(status)s.") % {"status": revision.get_status_display()},
            code="not_draft",
        )
    raise_if(rules.revision_violations(revision))
    now = timezone.now()
    revision.submitted_at = now
    revision.due_at = add_business_days(timezone.localtime(now), REVIEW_BUSINESS_DAYS)
    revision_set_status(
        revision,
        actor=actor,
        to=Revision.Status.IN_REVIEW,
        action="product.submit",
        data={"due_at": revision.due_at.isoformat()},
    )
    from shelf.notifications.services import notify_operators

    notify_operators(
        event="review.submitted",
        title=_("New submission: %(name)s") % {"name": revision.name},
        body=_("%(org)s submitted “%(name)s” for review; due %(due)s.")
        % {
            "org": revision.product.organization.name,
            "name": revision.name,
            "due": timezone.localtime(revision.due_at).date(),
        },
        url=reverse("reviews:review", kwargs={"revision_id": revision.pk}),
    )
    return revision


@transaction.atomic
def product_withdraw(*, actor: User, revision: Revision, reason: str = "") -> Revision:
    """in_review → draft (撤销审核): the provider takes it back to edit and submit again."""
    revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision.pk)
    if revision.status != Revision.Status.IN_REVIEW:
        raise Conflict(
            _("Only a product in review can be withdrawn; this one is %(status)s.")
            % {"status": revision.get_status_display()},
            code="not_in_review",
        )
    revision.submitted_at = revision.due_at = None
    revision_set_status(revision, actor=actor, to=Revision.Status.DRAFT, action="product.withdraw", reason=reason)
    return revision


CONTENT_FIELDS = (
    "access_type",
    "category",
    "name",
    "tags",
    "software",
    "version",
    "agreement",
    "ports",
    "billing_mode",
    "price_yearly",
    "price_monthly",
    "price_hourly",
    "price_input",
    "currency",
    "summary",
    "details",
    "details_html",
)


@transaction.atomic
def product_revision_new(*, actor: User, product: Product) -> Revision:
    """Editing a listed (or delisted) product: a new draft revision copying its content; the listed one stays on sale."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    latest = product.revisions.order_by("-number").first()
    if latest.status in EDITABLE or latest.status == Revision.Status.IN_REVIEW:
        raise Conflict(
            _("This product already has a revision being edited or reviewed (r%(n)d).") % {"n": latest.number},
            code="revision_open",
        )
    # lock_version keeps counting across revisions, so a version read from an older revision is always stale.
    revision = Revision.objects.create(
        product=product,
        number=latest.number + 1,
        wizard_step="basic",
        lock_version=latest.lock_version + 1,
        **{f: getattr(latest, f) for f in CONTENT_FIELDS},
    )
    for delivery in latest.deliveries.all():
        Delivery.objects.create(revision=revision, region_id=delivery.region_id, image_id=delivery.image_id)
    for picture in latest.pictures.all():
        Picture.objects.create(
            revision=revision,
            position=picture.position,
            storage_key=picture.storage_key,
            content_type=picture.content_type,
            width=picture.width,
            height=picture.height,
            size=picture.size,
            sha256=picture.sha256,
            upload_sha256=picture.upload_sha256,
        )
    document = latest.document_or_none
    if document is not None:
        Document.objects.create(
            revision=revision,
            storage_key=document.storage_key,
            kind=document.kind,
            content_type=document.content_type,
            filename=document.filename,
            size=document.size,
            sha256=document.sha256,
        )
    audit_record(
        actor=actor,
        target=product,
        action="product.revision_new",
        to_status=revision.status,
        data={"revision": revision.number, "based_on": latest.number},
    )
    return revision


@transaction.atomic
def product_delist(*, actor: User, product: Product, reason: str) -> Revision:
    """listed → delisted, by its provider or an operator, with a reason; relisting goes through review again."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolations([Violation("reason", "required", _("Say why the product is delisted."))])
    listed = Revision.objects.select_for_update().filter(product=product, status=Revision.Status.LISTED).first()
    if listed is None:
        raise Conflict(_("This product is not listed."), code="not_listed")
    revision_set_status(listed, actor=actor, to=Revision.Status.DELISTED, action="product.delist", reason=reason)
    from shelf.notifications.services import notify_organization
    from shelf.webhooks.services import emit

    notify_organization(
        organization=product.organization,
        event="product.delisted",
        title=_("“%(name)s” was delisted") % {"name": listed.name},
        body=reason,
        url=reverse("products:preview", kwargs={"product_id": product.pk}),
    )
    emit(
        organization=product.organization,
        event="product.delisted",
        data={"product": str(product.pk), "revision": listed.number, "reason": reason, "by": actor.username},
    )
    return listed

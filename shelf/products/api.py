from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from shelf.accounts.selectors import organization_for_write
from shelf.audit.models import AuditEvent
from shelf.errors import raise_if
from shelf.products import rules
from shelf.products.models import Picture, Product, Revision
from shelf.products.schemas import (
    AuditOut,
    DelistIn,
    DocumentOut,
    PictureOut,
    ProductCreateIn,
    ProductOut,
    ProductPatchIn,
    RevisionOut,
    ValidOut,
)
from shelf.products.selectors import product_list_for, products_for, products_viewable, working_revision
from shelf.products.services import (
    document_delete,
    document_set,
    picture_add,
    picture_delete,
    product_create,
    product_delist,
    product_revision_new,
    product_save_draft,
    product_submit,
    product_withdraw,
)
from shelf.storage import get_storage
from shelf.uploads import uploaded_file

router = Router(tags=["products"])


def _price(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def product_out(product: Product, revision: Revision) -> dict:
    base = f"/api/v1/products/{product.id}"
    document = revision.document_or_none
    typed = revision.price_input or {}
    return {
        "id": product.id,
        "organization": product.organization.slug,
        "revision": revision.number,
        "status": revision.status,
        "lock_version": revision.lock_version,
        "wizard_step": revision.wizard_step,
        "access_type": revision.access_type,
        "category": revision.category.slug if revision.category_id else None,
        "name": revision.name,
        "tags": revision.tags,
        "software": revision.software,
        "version": revision.version,
        "agreement": revision.agreement_id,
        "deliveries": {d.region.code: d.image_id for d in revision.deliveries.all()},
        "billing_mode": revision.billing_mode,
        # A price that could not be stored is shown as typed, so the provider sees what to fix.
        **{f: _price(getattr(revision, f)) or typed.get(f) for f in ("price_yearly", "price_monthly", "price_hourly")},
        "currency": revision.currency,
        "summary": revision.summary,
        "details": revision.details,
        "details_html": revision.details_html,
        "pictures": [
            {
                "id": p.id,
                "url": f"{base}/pictures/{p.id}",
                "width": p.width,
                "height": p.height,
                "size": p.size,
                "content_type": p.content_type,
                "sha256": p.sha256,
            }
            for p in revision.pictures.all()
        ],
        "document": None
        if document is None
        else {
            "filename": document.filename,
            "kind": document.kind,
            "size": document.size,
            "sha256": document.sha256,
            "url": f"{base}/document",
        },
        "submitted_at": revision.submitted_at,
        "due_at": revision.due_at,
        "rejection_reasons": revision.rejection_reasons or {},
        "listed_revision": _listed_number(product),
    }


def _listed_number(product: Product) -> int | None:
    if hasattr(product, "listed"):  # set by product_list_for
        return product.listed.number if product.listed else None
    return product.revisions.filter(status=Revision.Status.LISTED).values_list("number", flat=True).first()


def _own(request, product_id) -> tuple[Product, Revision]:
    product = get_object_or_404(products_for(request.user), pk=product_id)
    return product, working_revision(product)


def _changes(payload) -> dict:
    data = payload.dict(exclude_unset=True)
    data.pop("lock_version", None)
    data.pop("organization", None)
    return data


@router.post("/products", response={201: ProductOut})
def product_new(request, payload: ProductCreateIn):
    """Create a draft from any subset of the fields."""
    organization = organization_for_write(request.user, payload.organization)  # 404 unless a provider
    revision = product_create(actor=request.user, organization=organization, changes=_changes(payload))
    return Status(201, product_out(revision.product, working_revision(revision.product)))


@router.get("/products", response=list[ProductOut])
def product_list(request, status: str | None = None):
    return [product_out(p, r) for p, r in product_list_for(request.user, status=status)]


@router.get("/products/{uuid:product_id}", response=ProductOut)
def product_detail(request, product_id):
    return product_out(*_own(request, product_id))


@router.patch("/products/{uuid:product_id}", response=ProductOut)
def product_patch(request, product_id, payload: ProductPatchIn):
    """Save the draft. Send the lock_version you read: a stale one is refused with 409 and what changed."""
    product, revision = _own(request, product_id)
    product_save_draft(
        actor=request.user, revision=revision, lock_version=payload.lock_version, changes=_changes(payload)
    )
    return product_out(product, working_revision(product))


@router.post("/products/{uuid:product_id}/pictures", response={201: PictureOut})
def picture_upload(request, product_id):
    """Multipart field `file`: PNG or JPEG, exactly 390 x 260 px, 72 dpi, at most 2 MB."""
    product, revision = _own(request, product_id)
    picture = picture_add(actor=request.user, revision=revision, fileobj=uploaded_file(request, field="pictures"))
    return Status(201, product_out(product, working_revision(product))["pictures"][picture.position])


@router.get("/products/{uuid:product_id}/pictures/{int:picture_id}", response={200: None})
def picture_download(request, product_id, picture_id: int):
    product = get_object_or_404(products_viewable(request.user), pk=product_id)
    picture = get_object_or_404(Picture.objects.filter(revision__product=product), pk=picture_id)
    return FileResponse(get_storage().open(picture.storage_key), content_type=picture.content_type)


@router.delete("/products/{uuid:product_id}/pictures/{int:picture_id}", response={204: None})
def picture_remove(request, product_id, picture_id: int):
    _product, revision = _own(request, product_id)
    picture_delete(actor=request.user, picture=get_object_or_404(revision.pictures.all(), pk=picture_id))
    return Status(204, None)


@router.post("/products/{uuid:product_id}/document", response={201: DocumentOut})
def document_upload(request, product_id):
    """Multipart field `file`: PDF, Word, PowerPoint, ZIP or RAR (by content), at most 2 MB."""
    product, revision = _own(request, product_id)
    upload = uploaded_file(request, field="document")
    document_set(actor=request.user, revision=revision, fileobj=upload, filename=upload.name)
    return Status(201, product_out(product, working_revision(product))["document"])


@router.get("/products/{uuid:product_id}/document", response={200: None})
def document_download(request, product_id, revision: int | None = None):
    """The working revision's document, or a given revision's (`?revision=N`)."""
    product = get_object_or_404(products_viewable(request.user), pk=product_id)
    chosen = product.revisions.filter(number=revision).first() if revision else working_revision(product)
    document = chosen.document_or_none if chosen else None
    if document is None:
        raise Http404
    return FileResponse(
        get_storage().open(document.storage_key),
        as_attachment=True,
        filename=document.filename,
        content_type=document.content_type,
    )


@router.delete("/products/{uuid:product_id}/document", response={204: None})
def document_remove(request, product_id):
    _product, revision = _own(request, product_id)
    document_delete(actor=request.user, revision=revision)
    return Status(204, None)


@router.post("/products/{uuid:product_id}/validate", response=ValidOut)
def product_validate(request, product_id):
    """Dry run of submit: 200 {"valid": true} or 422 with every violation. Changes nothing."""
    _product, revision = _own(request, product_id)
    raise_if(rules.revision_violations(revision))
    return {"valid": True}


@router.post("/products/{uuid:product_id}/submit", response=ProductOut)
def product_submit_view(request, product_id):
    product, revision = _own(request, product_id)
    product_submit(actor=request.user, revision=revision)
    return product_out(product, working_revision(product))


@router.post("/products/{uuid:product_id}/withdraw", response=ProductOut)
def product_withdraw_view(request, product_id):
    product, revision = _own(request, product_id)
    product_withdraw(actor=request.user, revision=revision)
    return product_out(product, working_revision(product))


@router.get("/products/{uuid:product_id}/audit", response=list[AuditOut])
def product_audit(request, product_id):
    product, _revision = _own(request, product_id)
    return [
        {
            "created_at": e.created_at,
            "actor": e.actor_name,
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "reason": e.reason,
            "data": e.data,
        }
        for e in AuditEvent.objects.for_object(product)
    ]


@router.post("/products/{uuid:product_id}/revisions", response={201: ProductOut})
def product_revise(request, product_id):
    """Start editing a listed (or delisted) product: a new draft revision; the listed one stays on sale until approved."""
    product, _revision = _own(request, product_id)
    product_revision_new(actor=request.user, product=product)
    return Status(201, product_out(product, working_revision(product)))


@router.get("/products/{uuid:product_id}/revisions", response=list[RevisionOut])
def product_revisions(request, product_id):
    product, _revision = _own(request, product_id)
    return [
        {
            "number": r.number,
            "status": r.status,
            "name": r.name,
            "submitted_at": r.submitted_at,
            "decided_at": r.decided_at,
            "rejection_reasons": r.rejection_reasons or {},
        }
        for r in product.revisions.order_by("-number")
    ]


@router.post("/products/{uuid:product_id}/delist", response=ProductOut)
def product_delist_view(request, product_id, payload: DelistIn):
    """Take a listed product off sale, by its provider or an operator, with a reason."""
    product = get_object_or_404(products_viewable(request.user), pk=product_id)
    product_delist(actor=request.user, product=product, reason=payload.reason or "")
    return product_out(product, working_revision(product))

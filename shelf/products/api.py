from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from shelf.accounts.selectors import organization_for_write
from shelf.audit.models import AuditEvent
from shelf.errors import raise_if
from shelf.products import rules
from shelf.products.downloads import document_response, picture_response
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
from shelf.uploads import uploaded_file

# Uploads read the file themselves (shelf.uploads, with its limits), so ninja cannot describe the body.
MULTIPART_FILE = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}

router = Router(tags=["products"])


def product_out(product: Product, revision: Revision) -> ProductOut:
    """What the product endpoints answer: the product seen through one of its revisions (the working one)."""
    return ProductOut.from_orm(revision, context={"product": product})


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
    # Each revision's product is the one product_list_for fetched, with the listed revision already known.
    return [revision for _product, revision in product_list_for(request.user, status=status)]


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


@router.post("/products/{uuid:product_id}/pictures", response={201: PictureOut}, openapi_extra=MULTIPART_FILE)
def picture_upload(request, product_id):
    """Multipart field `file`: PNG or JPEG, exactly 390 x 260 px, 72 dpi, at most 2 MB."""
    _product, revision = _own(request, product_id)
    picture = picture_add(actor=request.user, revision=revision, fileobj=uploaded_file(request, field="pictures"))
    return Status(201, picture)


@router.get("/products/{uuid:product_id}/pictures/{int:picture_id}", response={200: None})
def picture_download(request, product_id, picture_id: int):
    product = get_object_or_404(products_viewable(request.user), pk=product_id)
    picture = get_object_or_404(Picture.objects.filter(revision__product=product), pk=picture_id)
    return picture_response(picture)


@router.delete("/products/{uuid:product_id}/pictures/{int:picture_id}", response={204: None})
def picture_remove(request, product_id, picture_id: int):
    _product, revision = _own(request, product_id)
    picture_delete(actor=request.user, picture=get_object_or_404(revision.pictures.all(), pk=picture_id))
    return Status(204, None)


@router.post("/products/{uuid:product_id}/document", response={201: DocumentOut}, openapi_extra=MULTIPART_FILE)
def document_upload(request, product_id):
    """Multipart field `file`: PDF, Word, PowerPoint, ZIP or RAR (by content), at most 2 MB."""
    _product, revision = _own(request, product_id)
    upload = uploaded_file(request, field="document")
    return Status(201, document_set(actor=request.user, revision=revision, fileobj=upload, filename=upload.name))


@router.get("/products/{uuid:product_id}/document", response={200: None})
def document_download(request, product_id, revision: int | None = None):
    """The working revision's document, or a given revision's (`?revision=N`)."""
    product = get_object_or_404(products_viewable(request.user), pk=product_id)
    chosen = product.revisions.filter(number=revision).first() if revision else working_revision(product)
    document = chosen.document_or_none if chosen else None
    if document is None:
        raise Http404
    return document_response(document)


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
    return ValidOut(valid=True)


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
    return AuditEvent.objects.for_object(product)


@router.post("/products/{uuid:product_id}/revisions", response={201: ProductOut})
def product_revise(request, product_id):
    """Start editing a listed (or delisted) product: a new draft revision; the listed one stays on sale until approved."""
    product, _revision = _own(request, product_id)
    product_revision_new(actor=request.user, product=product)
    return Status(201, product_out(product, working_revision(product)))


@router.get("/products/{uuid:product_id}/revisions", response=list[RevisionOut])
def product_revisions(request, product_id):
    product, _revision = _own(request, product_id)
    return product.revisions.order_by("-number")


@router.post("/products/{uuid:product_id}/delist", response=ProductOut)
def product_delist_view(request, product_id, payload: DelistIn):
    """Take a listed product off sale, by its provider or an operator, with a reason."""
    product = get_object_or_404(products_viewable(request.user), pk=product_id)
    product_delist(actor=request.user, product=product, reason=payload.reason or "")
    return product_out(product, working_revision(product))

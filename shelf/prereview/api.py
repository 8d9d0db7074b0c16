"""GET /api/v1/products/{id}/prereview: the automatic pre-review warnings of the product's working revision."""

from django.shortcuts import get_object_or_404
from ninja import Router

from shelf.prereview.checks import prereview
from shelf.prereview.schemas import HitOut
from shelf.products.selectors import products_for, working_revision

router = Router(tags=["products"])


@router.get("/products/{uuid:product_id}/prereview", response=list[HitOut])
def product_prereview(request, product_id):
    """Warnings against the product review standard (advertising claims, other cloud vendors, purchase links,
    pictures, missing sections, a document without text). They never block submitting. 404 unless the
    product belongs to one of your organisations."""
    product = get_object_or_404(products_for(request.user), pk=product_id)
    return prereview(working_revision(product))

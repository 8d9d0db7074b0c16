"""How a product's stored picture or document is sent, once a caller has decided the reader may have it.

The provider API, the operators' review and the public storefront all answer with these, so the bytes, the
content type and the download name are decided in one place.
"""

from django.http import FileResponse

from shelf.products.models import Document, Picture
from shelf.storage import get_storage


def picture_response(picture: Picture) -> FileResponse:
    return FileResponse(get_storage().open(picture.storage_key), content_type=picture.content_type)


def document_response(document: Document) -> FileResponse:
    return FileResponse(
        get_storage().open(document.storage_key),
        as_attachment=True,
        filename=document.filename,
        content_type=document.content_type,
    )

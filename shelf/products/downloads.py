"""How a product's stored picture or document is sent, once a caller has decided the reader may have it.

The provider API, the operators' review and the public storefront all answer with these, so the bytes, the
content type and the download name are decided in one place. On object storage that can sign URLs (S3) the
answer is a redirect to a short-lived presigned URL, so the bytes never pass through a web process.
"""

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from shelf.products.models import Document, Picture
from shelf.storage import get_storage


def _redirect(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    # The URL expires: a cache may keep the redirect for a fraction of its life only, and only for this reader.
    response["Cache-Control"] = f"private, max-age={max(settings.SHELF_S3_URL_EXPIRY // 5, 0)}"
    return response


def picture_response(picture: Picture) -> HttpResponse:
    storage = get_storage()
    if url := storage.download_url(picture.storage_key, content_type=picture.content_type):
        return _redirect(url)
    return FileResponse(storage.open(picture.storage_key), content_type=picture.content_type)


def document_response(document: Document) -> HttpResponse:
    storage = get_storage()
    url = storage.download_url(document.storage_key, content_type=document.content_type, filename=document.filename)
    if url:
        return _redirect(url)
    return FileResponse(
        storage.open(document.storage_key),
        as_attachment=True,
        filename=document.filename,
        content_type=document.content_type,
    )

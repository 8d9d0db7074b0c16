"""Object storage behind one small interface; the implementation is chosen by SHELF_STORAGE.

Callers only ever see keys (``images/ap-guangzhou/17/3f2a...``), never local paths, so the
same code runs on local files and, at scale, on an S3-compatible store. Tools that need a
real file (qemu-img, the scanner) ask for ``local_copy(key)``: a private temporary directory
holding that one object under a server-chosen name.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from shelf.storage.base import Storage


@cache
def _storage_for(backend: str, location: str) -> Storage:
    return import_string(backend)(location)


def get_storage() -> Storage:
    return _storage_for(settings.SHELF_STORAGE, str(settings.DATA_DIR / "objects"))

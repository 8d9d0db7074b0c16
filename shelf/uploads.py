"""Multipart uploads with their size limit enforced while the body streams in.

Every multipart file Shelf accepts (product pictures and documents) is at most 2 MB, so one
handler caps them all: it stops reading the request as soon as a file passes the limit, so a
50 MB "picture" costs 2 MB of reading, not 50. Disk images use the chunked PUT protocol instead.
"""

import tempfile

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _

from shelf.errors import RuleViolations, TooLarge, Violation

SPOOL_IN_MEMORY = 256 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small form fields


class LimitedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.SHELF_MULTIPART_FILE_MAX:
            self.spool.close()
            self.request.shelf_upload_too_large = True
            raise StopUpload(connection_reset=True)
        self.spool.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.spool.seek(0)
        return UploadedFile(
            file=self.spool,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )


def uploaded_file(request, *, field: str, form_field: str = "file") -> UploadedFile:
    """The one file of a multipart request, or a clear error naming the field and the limit."""
    limit = settings.SHELF_MULTIPART_FILE_MAX
    too_large = TooLarge(
        _("The file is larger than %(mb)d MB (%(bytes)s bytes); it was not accepted.")
        % {"mb": limit // (1024 * 1024), "bytes": f"{limit:,}"},
        code="too_large",
        field=field,
    )
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0  # as Django itself reads a malformed length; the streaming cap still applies
    if declared > limit + MULTIPART_OVERHEAD:
        raise too_large  # refused before a byte of the body is read
    upload = request.FILES.get(form_field)
    if getattr(request, "shelf_upload_too_large", False):
        raise too_large
    if upload is None:
        raise RuleViolations(
            [
                Violation(
                    field, "required", _("Attach the file as the multipart field “%(name)s”.") % {"name": form_field}
                )
            ]
        )
    return upload

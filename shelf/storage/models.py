from django.db import models


class StagedObject(models.Model):
    """An upload being staged in S3: its multipart upload and how many bytes the staging holds.

    The parts themselves are listed by S3 (ListParts); this row is what a web process that restarted needs to
    find them again. Local storage keeps its staged bytes in a file and needs no row.
    """

    key = models.CharField(max_length=255, unique=True)
    upload_id = models.CharField(max_length=1024, blank=True)  # empty until the first whole part is sent
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key

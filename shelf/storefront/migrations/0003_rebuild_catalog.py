"""Formerly the first catalog rebuild; it now runs in 0005, after the columns it fills exist (see there)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("storefront", "0002_search_index"),
        ("products", "0002_picture_upload_sha256"),
        ("accounts", "__first__"),
    ]

    operations = []

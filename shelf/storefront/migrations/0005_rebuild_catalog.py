"""Formerly the catalog rebuild; it now runs in 0006, after the index it fills has its final shape."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("storefront", "0004_region_key")]

    operations = []

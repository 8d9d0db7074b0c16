"""Seed the reference data (see shelf/catalog/reference.py)."""

from django.db import migrations

from shelf.catalog.reference import seed


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

"""Seed the server sizes and their offers in every region (see shelf/orders/reference.py)."""

from django.db import migrations

from shelf.orders.reference import seed


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("catalog", "0002_seed_reference_data")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

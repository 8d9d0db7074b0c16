"""Products listed before the storefront existed get their catalog entries (the same rebuild as `catalog_reindex`)."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from shelf.storefront.services import catalog_rebuild

    catalog_rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("storefront", "0002_search_index"),
        ("products", "0002_picture_upload_sha256"),
        ("accounts", "__first__"),
    ]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]

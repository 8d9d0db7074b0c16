"""Products listed before the storefront existed get their catalog entries: the same rebuild as
`manage.py catalog_reindex`, with this migration's models. It writes every CatalogEntry field, so a later
migration that adds one moves this rebuild after itself (or the field gets a default and the command is run)."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from shelf.storefront.services import catalog_rebuild

    catalog_rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("storefront", "0004_region_key")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]

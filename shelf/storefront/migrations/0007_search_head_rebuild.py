"""PostgreSQL ranks by a small name-and-body vector (`search_head`) beside the full one; then every listed product
is indexed anew, with the current tokens: the same rebuild as `manage.py catalog_reindex`, with this migration's
models. The rebuild writes every CatalogEntry field, so a later migration that adds one moves the rebuild after
itself (or gives the field a default and says to run the command)."""

from django.db import migrations


def _postgres(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


def rebuild(apps, schema_editor):
    from shelf.storefront.services import catalog_rebuild

    catalog_rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("storefront", "0006_fts_prefixes_rebuild")]

    operations = [
        migrations.RunPython(
            _postgres("ALTER TABLE storefront_catalogentry ADD COLUMN search_head tsvector NOT NULL DEFAULT ''::tsvector"),
            _postgres("ALTER TABLE storefront_catalogentry DROP COLUMN IF EXISTS search_head"),
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]

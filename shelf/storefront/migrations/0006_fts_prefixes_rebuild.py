"""The SQLite index gets prefix indexes for two- and three-character prefixes (short English prefixes merge
many words otherwise), and every listed product is indexed anew with the current tokens: the same rebuild as
`manage.py catalog_reindex`, with this migration's models. The rebuild writes every CatalogEntry field, so a
later migration that adds one moves it after itself (or gives the field a default and documents the command).
"""

from django.db import migrations

SQLITE_RECREATE = (
    "DROP TABLE IF EXISTS storefront_catalogfts",
    "CREATE VIRTUAL TABLE storefront_catalogfts USING fts5(name, body, details, tokenize = 'unicode61', prefix = '2 3')",
)
SQLITE_BACK = (
    "DROP TABLE IF EXISTS storefront_catalogfts",
    "CREATE VIRTUAL TABLE storefront_catalogfts USING fts5(name, body, details, tokenize = 'unicode61')",
)


def _recreate(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements:
                schema_editor.execute(sql)

    return run


def rebuild(apps, schema_editor):
    from shelf.storefront.services import catalog_rebuild

    catalog_rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("storefront", "0005_rebuild_catalog")]

    operations = [
        migrations.RunPython(_recreate(SQLITE_RECREATE), _recreate(SQLITE_BACK)),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]

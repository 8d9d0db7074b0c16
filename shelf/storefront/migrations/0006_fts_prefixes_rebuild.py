"""The SQLite index gets prefix indexes for two- and three-character prefixes (short English prefixes merge
many words otherwise). Migration 0007 indexes every listed product anew."""

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


class Migration(migrations.Migration):
    dependencies = [("storefront", "0005_rebuild_catalog")]

    operations = [
        migrations.RunPython(_recreate(SQLITE_RECREATE), _recreate(SQLITE_BACK)),
    ]

"""The catalog's full-text index, each database its own: an FTS5 table on SQLite, a tsvector column with a GIN
index on PostgreSQL (see shelf/storefront/search.py and docs/adr/0006-catalog-search-cjk-bigrams.md)."""

from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE storefront_catalogfts USING fts5(name, body, details, tokenize = 'unicode61')",
)
SQLITE_DROP = ("DROP TABLE IF EXISTS storefront_catalogfts",)
POSTGRES_CREATE = (
    "ALTER TABLE storefront_catalogentry ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector",
    "CREATE INDEX storefront_search ON storefront_catalogentry USING gin (search)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS storefront_search",
    "ALTER TABLE storefront_catalogentry DROP COLUMN IF EXISTS search",
)


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, ()):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("storefront", "0001_catalog")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]

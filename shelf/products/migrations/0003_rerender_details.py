"""Details stored before images from other sites were dropped are rendered again with today's sanitizer.

The renderer is imported on purpose: the point is to apply the current rule to old rows. Running it again is
harmless (a row already rendered this way is left alone).
"""

from django.db import migrations


def rerender(apps, schema_editor):
    from shelf.products.details import render_details

    Revision = apps.get_model("products", "Revision")
    rows = Revision.objects.exclude(details="").only("id", "details", "details_html").order_by("id")
    changed = []
    for revision in rows.iterator(chunk_size=500):
        html = render_details(revision.details)
        if html != revision.details_html:
            revision.details_html = html
            changed.append(revision)
    Revision.objects.bulk_update(changed, ["details_html"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("products", "0002_picture_upload_sha256")]

    operations = [migrations.RunPython(rerender, migrations.RunPython.noop)]

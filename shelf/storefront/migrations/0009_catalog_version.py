from django.db import migrations, models


def first_version(apps, schema_editor):
    apps.get_model("storefront", "CatalogVersion").objects.create(pk=1, number=1)


class Migration(migrations.Migration):
    dependencies = [("storefront", "0008_facet_indexes")]

    operations = [
        migrations.CreateModel(
            name="CatalogVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(first_version, migrations.RunPython.noop),
    ]

"""Migration 0003 re-renders details stored before off-site images were dropped."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_old_details_html_is_rendered_again_without_offsite_images():
    executor = MigrationExecutor(connection)
    executor.migrate([("products", "0002_picture_upload_sha256")])
    apps = executor.loader.project_state([("products", "0002_picture_upload_sha256")]).apps
    Organization = apps.get_model("accounts", "Organization")
    Product = apps.get_model("products", "Product")
    Revision = apps.get_model("products", "Revision")
    org = Organization.objects.create(name="Old Org", slug="old-org")
    product = Product.objects.create(organization=org)
    tracked = '<p><img src="https://tracker.example/p.gif" alt="x"></p>'
    old = Revision.objects.create(product=product, details="![x](https://tracker.example/p.gif)", details_html=tracked)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from shelf.products.models import Revision as Current

    html = Current.objects.get(pk=old.pk).details_html
    assert "tracker.example" not in html and "src=" not in html

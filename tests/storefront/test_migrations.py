"""Upgrading an installation that already has listed products: the data migration fills the catalog."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shelf.storefront import search
from shelf.storefront.models import CatalogEntry
from shelf.storefront.selectors import catalog_search
from tests.storefront.conftest import listed_product


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_indexes_products_listed_before_it(alice):
    listed_product(alice.organizations.get(), name="Legacy 镜像", regions=("ap-beijing", "ap-guangzhou"))
    CatalogEntry.objects.all().delete()
    search.index_clear()
    executor = MigrationExecutor(connection)
    executor.migrate([("storefront", "0005_rebuild_catalog")])
    executor.loader.build_graph()
    executor.migrate([("storefront", "0007_search_head_rebuild")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the rest of the upgrade: what the search reads today
    page = catalog_search(q="镜像")
    assert [e.name for e in page.items] == ["Legacy 镜像"]
    assert page.items[0].region_key == "ap-beijing ap-guangzhou"
    assert [f.value for f in page.facets["region"]] == ["ap-guangzhou", "ap-beijing"]

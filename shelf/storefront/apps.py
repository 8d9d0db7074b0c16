from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The buyers' side: the public catalog, its search index and the product pages."""

    name = "shelf.storefront"

    def ready(self):
        from shelf.storefront import receivers  # noqa: F401 - keeps the catalog in step with listings

from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    """The buyers' side: the public catalog, its search index and the product pages."""

    name = "shelf.storefront"

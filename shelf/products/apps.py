from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "shelf.products"
    verbose_name = _("Products")

    def ready(self):
        from shelf.products import receivers  # noqa: F401 - rescans what listed products sell after a vulndb update

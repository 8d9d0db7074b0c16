from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    """Server sizes and prices, the buyers' balance ledger, and orders that launch an instance."""

    name = "shelf.orders"
    verbose_name = _("Orders")

    def ready(self):
        from shelf.orders import receivers  # noqa: F401 - connects the refund of a failed instance's order

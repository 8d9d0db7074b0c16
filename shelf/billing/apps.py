from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "shelf.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from shelf.billing import (
            receivers,  # noqa: F401 - connects the revenue split to ledger_posted
            receivers_usage,  # noqa: F401 - opens and closes usage intervals
        )

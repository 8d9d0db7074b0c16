from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComputeConfig(AppConfig):
    name = "shelf.compute"
    verbose_name = _("Compute")

    def ready(self):
        from shelf.compute import receivers  # noqa: F401 - the boot check after a passing scan

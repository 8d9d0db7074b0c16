from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScanningConfig(AppConfig):
    name = "shelf.scanning"
    verbose_name = _("Host security scans")

    def ready(self):
        from shelf.scanning import tasks  # noqa: F401 - connects the scan-on-available receiver

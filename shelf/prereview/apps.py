from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrereviewConfig(AppConfig):
    name = "shelf.prereview"
    verbose_name = _("Pre-review")

    def ready(self):
        from shelf.prereview import receivers  # noqa: F401 - answers the wizard's review step

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "shelf.reviews"
    verbose_name = _("Reviews")

    def ready(self):
        from shelf.reviews import receivers  # noqa: F401 - connects the claim release

from django.contrib import admin
from django.urls import include, path

from shelf.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    # Second: the storefront is what most requests ask for, and every empty prefix below is tried in turn.
    path("", include("shelf.storefront.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("shelf.accounts.urls")),
    path("provider/images/", include("shelf.scanning.image_urls")),
    path("provider/products/", include("shelf.products.urls")),
    path("provider/webhooks/", include("shelf.webhooks.urls")),
    path("operator/prereview-words/", include("shelf.prereview.urls")),
    path("operator/base-images/", include("shelf.images.urls")),
    path("notifications/", include("shelf.notifications.urls")),
    path("buyer/billing/", include("shelf.billing.buyer_urls")),
    path("", include("shelf.orders.urls")),
    path("", include("shelf.billing.provider_urls")),
    path("operator/reviews/", include("shelf.reviews.urls")),
    path("", include("shelf.scanning.urls")),
    path("", include("shelf.compute.urls")),
    path("", include("shelf.console.urls")),
]

handler500 = "shelf.console.error_pages.server_error"

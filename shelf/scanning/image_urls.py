"""The provider's image pages under the `images` namespace: the pages (with their scans) from here, the
copy and delete actions from the images app."""

from django.urls import path

from shelf.images import views as image_views
from shelf.scanning import views

app_name = "images"

urlpatterns = [
    path("", views.image_list, name="list"),
    path("<uuid:image_id>/", views.image_detail, name="detail"),
    path("<uuid:image_id>/copy/", image_views.image_copy, name="copy"),
    path("<uuid:image_id>/delete/", image_views.image_remove, name="delete"),
]

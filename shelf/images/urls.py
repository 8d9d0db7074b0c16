"""Operators' base image pages (docs/adr/0007), mounted under /operator/base-images/."""

from django.urls import path

from shelf.images import views

app_name = "base_images"

urlpatterns = [
    path("", views.operator_base_images, name="operator"),
    path("<uuid:image_id>/<str:action>/", views.operator_base_image_action, name="action"),
]

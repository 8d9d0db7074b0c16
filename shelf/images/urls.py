from django.urls import path

from shelf.images import views

app_name = "images"

urlpatterns = [
    path("", views.image_list, name="list"),
    path("<uuid:image_id>/", views.image_detail, name="detail"),
    path("<uuid:image_id>/copy/", views.image_copy, name="copy"),
    path("<uuid:image_id>/delete/", views.image_remove, name="delete"),
]

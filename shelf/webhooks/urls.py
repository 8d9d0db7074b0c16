from django.urls import path

from shelf.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("<uuid:webhook_id>/", views.webhook_detail, name="detail"),
    path("<uuid:webhook_id>/rotate-secret/", views.webhook_rotate, name="rotate_secret"),
    path("<uuid:webhook_id>/delete/", views.webhook_remove, name="delete"),
]

from django.urls import path

from shelf.compute import views

app_name = "compute"

urlpatterns = [
    path("instances/", views.instance_list, name="list"),
    path("instances/<uuid:instance_id>/", views.instance_detail, name="detail"),
    path("instances/<uuid:instance_id>/<str:action>/", views.instance_action, name="action"),
    path("provider/images/<uuid:image_id>/boot-check/rerun/", views.boot_check_rerun, name="boot_check_rerun"),
    path("operator/instances/", views.operator_instances, name="operator"),
]

from django.urls import path

from shelf.compute import views

app_name = "compute"

urlpatterns = [
    path("instances/", views.instance_list, name="list"),
    path("instances/<uuid:instance_id>/", views.instance_detail, name="detail"),
    path("instances/<uuid:instance_id>/<str:action>/", views.instance_action, name="action"),
    path("provider/images/<uuid:image_id>/boot-check/rerun/", views.boot_check_rerun, name="boot_check_rerun"),
    path("operator/instances/", views.operator_instances, name="operator"),
    path("provider/build-servers/", views.build_servers, name="build_servers"),
    path("provider/build-servers/new/", views.build_server_new, name="build_server_new"),
    path("provider/build-servers/<uuid:instance_id>/", views.build_server_detail, name="build_server"),
    path("provider/build-servers/<uuid:instance_id>/capture/", views.build_server_capture, name="build_server_capture"),
    path(
        "provider/build-servers/<uuid:instance_id>/<str:action>/", views.build_server_action, name="build_server_action"
    ),
]

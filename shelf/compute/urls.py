from django.urls import path

from shelf.compute import views

app_name = "compute"

urlpatterns = [
    path("instances/", views.instance_list, name="list"),
    path("instances/<uuid:instance_id>/", views.instance_detail, name="detail"),
    path("instances/<uuid:instance_id>/<str:action>/", views.instance_action, name="action"),
    path("operator/instances/", views.operator_instances, name="operator"),
]

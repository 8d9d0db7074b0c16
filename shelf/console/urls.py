from django.urls import path

from shelf.console import views

app_name = "console"

urlpatterns = [
    path("console/", views.home, name="home"),
    path("provider/", views.provider_home, name="provider_home"),
    path("provider/agreements/", views.provider_agreements, name="provider_agreements"),
    path("provider/agreements/new/", views.provider_agreement_new, name="provider_agreement_new"),
    path("provider/agreements/<int:agreement_id>/", views.provider_agreement_detail, name="provider_agreement"),
    path("operator/", views.operator_home, name="operator_home"),
    path("operator/regions/", views.operator_regions, name="operator_regions"),
    path("operator/regions/new/", views.operator_region_edit, name="operator_region_new"),
    path("operator/regions/<int:region_id>/", views.operator_region_edit, name="operator_region"),
    path("operator/categories/", views.operator_categories, name="operator_categories"),
    path("operator/categories/new/", views.operator_category_edit, name="operator_category_new"),
    path("operator/categories/<int:category_id>/", views.operator_category_edit, name="operator_category"),
    path("operator/agreements/", views.operator_agreements, name="operator_agreements"),
    path("operator/agreements/new/", views.operator_agreement_edit, name="operator_agreement_new"),
    path("operator/agreements/<int:agreement_id>/", views.operator_agreement_edit, name="operator_agreement"),
    path("buyer/", views.buyer_home, name="buyer_home"),
]

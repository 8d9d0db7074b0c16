from django.urls import path

from shelf.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
    path("products/", views.product_list, name="products"),
    path("products/<uuid:product_id>/", views.product_detail, name="product"),
    path("products/<uuid:product_id>/pictures/<int:picture_id>/", views.picture, name="picture"),
    path("products/<uuid:product_id>/document/", views.document, name="document"),
    path("products/<uuid:product_id>/sbom/<slug:region>/", views.sbom, name="sbom"),
    path("operator/featured/", views.operator_featured, name="operator_featured"),
]

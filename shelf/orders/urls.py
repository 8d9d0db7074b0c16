from django.urls import path

from shelf.orders import views

app_name = "orders"

urlpatterns = [
    path("buy/<uuid:product_id>/", views.buy, name="buy"),
    path("buyer/orders/", views.order_list, name="list"),
    path("buyer/orders/<uuid:order_id>/", views.order_detail, name="detail"),
    path("buyer/balance/", views.balance, name="balance"),
    path("provider/orders/", views.provider_orders, name="provider_list"),
    path("operator/orders/", views.operator_orders, name="operator_orders"),
    path("operator/topups/", views.operator_topup, name="operator_topup"),
    path("operator/instance-types/", views.operator_sizes, name="operator_sizes"),
    path("operator/instance-types/new/", views.operator_type_edit, name="operator_type_new"),
    path("operator/instance-types/<int:type_id>/", views.operator_type_edit, name="operator_type"),
    path("operator/offers/new/", views.operator_offer_edit, name="operator_offer_new"),
    path("operator/offers/<int:offer_id>/", views.operator_offer_edit, name="operator_offer"),
]

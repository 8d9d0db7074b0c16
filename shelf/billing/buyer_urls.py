from django.urls import path

from shelf.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.home, name="home"),
    path("bill.csv", views.bill_csv, name="bill_csv"),
    path("terms/<uuid:order_id>/renew", views.term_renew, name="renew"),
    path("terms/<uuid:order_id>/auto-renew", views.term_auto_renew, name="auto_renew"),
]

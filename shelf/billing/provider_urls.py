from django.urls import path, re_path

from shelf.billing import revenue_views as views

app_name = "revenue"

urlpatterns = [
    path("provider/sales/", views.sales, name="sales"),
    path("provider/sales/<str:table>.csv", views.sales_download, name="sales_csv"),
    path("provider/statements/", views.statements, name="statements"),
    re_path(r"^provider/statements/(?P<period>\d{4}-\d{2})/$", views.statement, name="statement"),
    re_path(r"^provider/statements/(?P<period>\d{4}-\d{2})\.csv$", views.statement_download, name="statement_csv"),
    path("operator/revenue/", views.operator_revenue, name="operator"),
    path("operator/commission/", views.operator_commission, name="operator_commission"),
]

from django.urls import path

from shelf.products import views

app_name = "products"

urlpatterns = [
    path("", views.product_list, name="list"),
    path("new/", views.product_new, name="new"),
    path("<uuid:product_id>/", views.product_resume, name="resume"),
    path("<uuid:product_id>/edit/<slug:step>/", views.product_step, name="step"),
    path("<uuid:product_id>/pictures/", views.picture_upload, name="picture_upload"),
    path("<uuid:product_id>/pictures/<int:picture_id>/delete/", views.picture_remove, name="picture_delete"),
    path("<uuid:product_id>/document/", views.document_upload, name="document_upload"),
    path("<uuid:product_id>/submit/", views.product_submit_view, name="submit"),
    path("<uuid:product_id>/withdraw/", views.product_withdraw_view, name="withdraw"),
    path("<uuid:product_id>/preview/", views.product_preview, name="preview"),
    path("<uuid:product_id>/revise/", views.product_revise, name="revise"),
    path("<uuid:product_id>/delist/", views.product_delist_view, name="delist"),
]

from django.urls import path

from shelf.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("metrics/", views.metrics, name="metrics"),
    path("listed/", views.listed, name="listed"),
    path("<int:revision_id>/delist/", views.delist, name="delist"),
    path("<int:revision_id>/", views.review_page, name="review"),
    path("<int:revision_id>/claim/", views.claim, name="claim"),
    path("<int:revision_id>/release/", views.release, name="release"),
    path("<int:revision_id>/reassign/", views.reassign, name="reassign"),
    path("<int:revision_id>/approve/", views.approve, name="approve"),
    path("<int:revision_id>/reject/", views.reject, name="reject"),
    path("<int:revision_id>/images/<uuid:image_id>/boot-check/rerun/", views.boot_check_rerun, name="boot_check_rerun"),
]

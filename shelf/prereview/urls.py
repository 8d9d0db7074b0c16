from django.urls import path

from shelf.prereview import views

app_name = "prereview"

urlpatterns = [
    path("", views.words, name="words"),
    path("<int:word_id>/active/", views.word_active, name="word_active"),
]

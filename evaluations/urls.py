"""Routes of the results pages."""

from django.urls import path

from . import views, views_standards

urlpatterns = [
    path(
        "projects/<int:project_pk>/measurements/new/",
        views.measurement_new,
        name="measurement-new",
    ),
    path("measurements/review/", views.review_queue, name="review-queue"),
    path("measurements/<int:pk>/review/", views.measurement_review, name="measurement-review"),
    path("projects/<int:project_pk>/evaluations/new/", views.evaluation_new, name="evaluation-new"),
    path("standard-indicators/", views_standards.standard_list, name="standard-list"),
    path("standard-indicators/<int:pk>/", views_standards.standard_detail, name="standard-detail"),
]

"""Routes of the results pages."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "projects/<int:project_pk>/measurements/new/",
        views.measurement_new,
        name="measurement-new",
    ),
    path("measurements/review/", views.review_queue, name="review-queue"),
    path("measurements/<int:pk>/review/", views.measurement_review, name="measurement-review"),
    path("projects/<int:project_pk>/evaluations/new/", views.evaluation_new, name="evaluation-new"),
    path(
        "recommendations/<int:pk>/follow-up/",
        views.recommendation_follow_up,
        name="recommendation-follow-up",
    ),
]

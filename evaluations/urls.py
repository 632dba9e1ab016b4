"""Routes of the results pages."""

from django.urls import path

from . import views, views_standards

urlpatterns = [
    path(
        "projects/<int:project_pk>/measurements/new/",
        views.measurement_new,
        name="measurement-new",
    ),
    path("measurements/upload/", views.measurement_upload, name="measurement-upload"),
    path(
        "measurements/upload/template/",
        views.measurement_upload_template,
        name="measurement-template",
    ),
    path("measurements/review/", views.review_queue, name="review-queue"),
    path("measurements/mine/", views.returned_queue, name="returned-queue"),
    path("measurements/<int:pk>/review/", views.measurement_review, name="measurement-review"),
    path("measurements/<int:pk>/edit/", views.measurement_edit, name="measurement-edit"),
    path("measurements/<int:pk>/submit/", views.measurement_submit, name="measurement-submit"),
    path(
        "measurements/<int:pk>/supersede/",
        views.measurement_supersede,
        name="measurement-supersede",
    ),
    path("measurements/<int:pk>/comment/", views.measurement_comment, name="measurement-comment"),
    path("measurements/<int:pk>/evidence/", views.evidence_upload, name="evidence-upload"),
    path("evidence/<int:pk>/download/", views.evidence_download, name="evidence-download"),
    path(
        "recommendations/<int:pk>/follow-up/",
        views.recommendation_follow_up,
        name="recommendation-follow-up",
    ),
    path("evaluations/<int:pk>/report/", views.evaluation_report, name="evaluation-report"),
    path("projects/<int:project_pk>/evaluations/new/", views.evaluation_new, name="evaluation-new"),
    path("standard-indicators/", views_standards.standard_list, name="standard-list"),
    path("standard-indicators/<int:pk>/", views_standards.standard_detail, name="standard-detail"),
]

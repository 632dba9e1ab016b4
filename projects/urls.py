"""Routes of the project pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("projects/", views.project_list, name="project-list"),
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
]

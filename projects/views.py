"""Pages about one project."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from funding.models import LapseFlag

from .models import Project


@login_required
def project_detail(request, pk):
    project = get_object_or_404(
        Project.objects.select_related("portfolio", "implementing_partner"), pk=pk
    )
    context = {
        "project": project,
        "tranches": project.tranches.select_related("funder").order_by(
            "purpose", "covers_from", "pk"
        ),
        "open_flags": LapseFlag.objects.open().filter(project=project),
    }
    return render(request, "projects/project_detail.html", context)

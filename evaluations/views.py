"""Results pages: record a measurement, review reported ones, record an evaluation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from portfolio import access
from portfolio.decorators import reader_required
from portfolio.forms import form_status, posted
from portfolio.services import save_row
from projects.models import Project

from . import services
from .forms import EvaluationForm, MeasurementForm, RecommendationFormSet, ReviewForm
from .models import Evaluation, Measurement, MeasurementStatus


@reader_required
def measurement_new(request, project_pk):
    project = get_object_or_404(Project, pk=project_pk)
    access.check(request.user, access.ADD, Measurement)
    form = MeasurementForm(
        posted(request),
        instance=Measurement(reported_by=request.user),
        project=project,
        initial={"indicator": request.GET.get("indicator")},
    )
    if request.method == "POST" and form.is_valid():
        measurement = form.instance
        try:
            save_row(measurement, request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, _("Measurement recorded; it counts once an evaluator verifies it.")
            )
            return redirect(project)
    return render(
        request,
        "evaluations/measurement_form.html",
        {"form": form, "project": project},
        status=form_status(form),
    )


@reader_required
def review_queue(request):
    access.check(request.user, access.REVIEW, Measurement)
    reported = (
        Measurement.objects.filter(status=MeasurementStatus.REPORTED)
        .select_related("indicator__project", "reported_by")
        .order_by("period_end", "pk")
    )
    return render(request, "evaluations/review_queue.html", {"measurements": reported})


@reader_required
def measurement_review(request, pk):
    measurement = get_object_or_404(
        Measurement.objects.select_related("indicator__project", "reported_by"), pk=pk
    )
    access.check(request.user, access.REVIEW, measurement)
    form = ReviewForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == ReviewForm.VERIFY:
                services.verify_measurement(measurement, request.user)
                messages.success(request, _("Measurement verified."))
            else:
                services.reject_measurement(
                    measurement, request.user, form.cleaned_data["rejection_reason"]
                )
                messages.success(request, _("Measurement rejected."))
        except ValidationError as error:
            form.add_service_error(error)
        else:
            return redirect("review-queue")
    context = {
        "form": form,
        "measurement": measurement,
        "project": measurement.indicator.project,
        "own": measurement.reported_by_id == request.user.pk,
    }
    return render(request, "evaluations/measurement_review.html", context, status=form_status(form))


@reader_required
def evaluation_new(request, project_pk):
    project = get_object_or_404(Project, pk=project_pk)
    access.check(request.user, access.ADD, Evaluation)
    evaluation = Evaluation(project=project)
    data = request.POST if request.method == "POST" else None
    form = EvaluationForm(
        data, request.FILES if request.method == "POST" else None, instance=evaluation
    )
    formset = RecommendationFormSet(data, instance=evaluation, prefix="recommendations")
    if data is not None and form.is_valid() and formset.is_valid():
        try:
            with transaction.atomic():
                _save_evaluation(form.instance, formset, request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Evaluation recorded."))
            return redirect(project)
    return render(
        request,
        "evaluations/evaluation_form.html",
        {"form": form, "formset": formset, "project": project},
        status=form_status(form, formset),
    )


def _save_evaluation(evaluation, formset, user):
    save_row(evaluation, user)
    for recommendation in formset.save(commit=False):
        recommendation.evaluation = evaluation
        save_row(recommendation, user)

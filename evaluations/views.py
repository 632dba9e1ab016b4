"""Results pages: record a measurement, review reported ones, record an evaluation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from portfolio import access
from portfolio.decorators import reader_required
from portfolio.forms import form_status, posted
from projects.models import Project

from . import services
from .forms import EvaluationForm, MeasurementForm, RecommendationFormSet, ReviewForm
from .models import Evaluation, Measurement, MeasurementStatus, category_label, category_names


@reader_required
def measurement_new(request, project_pk):
    project = get_object_or_404(Project, pk=project_pk)
    access.check(request.user, access.ADD, Measurement)
    form = MeasurementForm(
        posted(request),
        project=project,
        initial={"indicator": request.GET.get("indicator")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.report_measurement(form.instance, request.user)
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
    reported = list(
        Measurement.objects.filter(status=MeasurementStatus.REPORTED)
        .select_related("indicator__project", "reported_by")
        .order_by("period_end", "pk")
    )
    names = category_names()
    for measurement in reported:
        measurement.may_review = access.may(request.user, access.REVIEW, measurement)
        measurement.category = category_label(measurement.disaggregation, names)
    return render(request, "evaluations/review_queue.html", {"measurements": reported})


@reader_required
def measurement_review(request, pk):
    measurement = get_object_or_404(
        Measurement.objects.select_related("indicator__project", "reported_by"), pk=pk
    )
    # Reviewers open any measurement; the decision is offered only where the role table
    # allows it (never on one's own), and the services ask it again before they write.
    access.check(request.user, access.REVIEW, Measurement)
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
        "may_review": access.may(request.user, access.REVIEW, measurement),
        "category": category_label(
            measurement.disaggregation,
            category_names(measurement.indicator.project.portfolio_id),
        ),
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
            services.save_evaluation(
                form.instance, request.user, recommendations=formset.save(commit=False)
            )
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

"""Results pages: record and revise a measurement, report many from a workbook, review it,
comment and attach evidence, the queues of what waits for each, evidence and report
downloads, record an evaluation."""

import mimetypes
from pathlib import PurePath

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portfolio import access
from portfolio.decorators import reader_required
from portfolio.forms import form_status, posted
from portfolio.views import workbook_upload, xlsx_download
from projects.models import Project

from . import measurement_import, selectors, services
from .forms import (
    CommentForm,
    EvaluationForm,
    EvidenceForm,
    FollowUpForm,
    MeasurementForm,
    RecommendationFormSet,
    ReviewForm,
    SupersedeForm,
)
from .models import (
    Evaluation,
    Evidence,
    Measurement,
    MeasurementStatus,
    Recommendation,
    category_label,
    category_names,
)


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
        submit = "save_draft" not in request.POST
        try:
            measurement = services.report_measurement(form.instance, request.user, submit=submit)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request,
                _("Measurement submitted; it counts once an independent verifier verifies it.")
                if submit
                else _("Draft saved; submit it when it is ready for review."),
            )
            return redirect("measurement-review", measurement.pk)
    return render(
        request,
        "evaluations/measurement_form.html",
        {"form": form, "project": project},
        status=form_status(form),
    )


@reader_required
def measurement_upload(request):
    """Report many measurements from a workbook: every bad cell is listed, and nothing is saved
    unless all rows are good (the import is one transaction)."""
    access.check(request.user, access.ADD, Measurement)

    def succeeded(result):
        return ngettext(
            "Workbook imported: %(created)s measurement submitted; it counts once an "
            "independent verifier verifies it.",
            "Workbook imported: %(created)s measurements submitted; they count once an "
            "independent verifier verifies them.",
            result.created,
        ) % {"created": result.created}

    return workbook_upload(
        request,
        label=_("Measurement workbook (.xlsx)"),
        run_import=measurement_import.import_measurements,
        succeeded=succeeded,
        template_name="evaluations/measurement_upload.html",
    )


@reader_required
def measurement_upload_template(request):
    access.check(request.user, access.ADD, Measurement)
    return xlsx_download(
        "measurement-template.xlsx",
        lambda out: measurement_import.measurement_template(
            out,
            selectors.indicators_to_report(request.user),
            selectors.dimensions_seen(request.user),
        ),
    )


@reader_required
def measurement_edit(request, pk):
    measurement = _visible_measurement(request, pk)
    access.check(request.user, access.CHANGE, measurement)
    if not measurement.is_open:
        messages.error(
            request, _("A decided measurement is not edited; supersede it with a reason.")
        )
        return redirect("measurement-review", measurement.pk)
    project = measurement.indicator.project
    form = MeasurementForm(posted(request), project=project, instance=measurement)
    if request.method == "POST" and form.is_valid():
        submit = "save_draft" not in request.POST
        try:
            services.report_measurement(form.instance, request.user, submit=submit)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Measurement saved."))
            return redirect("measurement-review", measurement.pk)
    return render(
        request,
        "evaluations/measurement_form.html",
        {"form": form, "project": project, "measurement": measurement},
        status=form_status(form),
    )


@reader_required
def review_queue(request):
    """What waits for this reviewer: submitted measurements they may verify, oldest first."""
    access.check(request.user, access.REVIEW, Measurement)
    waiting = (
        access.visible(request.user, Measurement.objects.filter(status=MeasurementStatus.SUBMITTED))
        .select_related("indicator__project", "reported_by")
        .order_by(F("submitted_at").asc(nulls_first=True), "reported_at", "pk")
    )
    mine = [
        each
        for each in selectors.with_review_facts(waiting)
        if access.may_verify(request.user, each)
    ]
    names = category_names()
    for measurement in mine:
        measurement.category = category_label(measurement.disaggregation, names)
    return render(request, "evaluations/review_queue.html", {"measurements": mine})


@reader_required
def returned_queue(request):
    """What waits for this reporter: returned measurements and drafts, oldest first."""
    access.check(request.user, access.ADD, Measurement)
    waiting = (
        Measurement.objects.filter(
            reported_by=request.user,
            status__in=[MeasurementStatus.RETURNED, MeasurementStatus.DRAFT],
        )
        .select_related("indicator__project")
        .prefetch_related(Prefetch("comments", to_attr="comment_list"))
        .order_by("reported_at", "pk")
    )
    return render(request, "evaluations/returned_queue.html", {"measurements": waiting})


@reader_required
def measurement_review(request, pk):
    """One measurement: its facts, evidence and comments, and the steps the user may take."""
    measurement = _visible_measurement(request, pk)
    user = request.user
    may_verify = measurement.status == MeasurementStatus.SUBMITTED and access.may_verify(
        user, measurement
    )
    may_change = access.may(user, access.CHANGE, measurement)
    # A POST here is a decision; the other steps post to their own addresses.
    form = ReviewForm(posted(request))
    if request.method == "POST":
        if not may_verify:
            _check_awaits_review_page(measurement)
            raise PermissionDenied(access.reason(user, access.REVIEW, measurement))
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            text = form.cleaned_data["rejection_reason"]
            try:
                if decision == ReviewForm.VERIFY:
                    services.verify_measurement(measurement, user, text)
                    messages.success(request, _("Measurement verified."))
                elif decision == ReviewForm.RETURN:
                    services.return_measurement(measurement, user, text)
                    messages.success(request, _("Measurement returned for revision."))
                else:
                    services.reject_measurement(measurement, user, text)
                    messages.success(request, _("Measurement rejected."))
            except ValidationError as error:
                form.add_service_error(error)
            else:
                return redirect("review-queue")
    context = {
        "form": form,
        "measurement": measurement,
        "project": measurement.indicator.project,
        "may_review": may_verify,
        "refusal": None if may_verify else access.reason(user, access.REVIEW, measurement),
        "may_change": may_change and measurement.is_open,
        "may_submit": may_change
        and measurement.status in (MeasurementStatus.DRAFT, MeasurementStatus.RETURNED),
        "may_comment": access.may(user, access.COMMENT, measurement),
        "may_supersede": may_change and measurement.status == MeasurementStatus.VERIFIED,
        "supersede_form": SupersedeForm(),
        "comment_form": CommentForm(),
        "evidence_form": EvidenceForm(),
        "evidence": measurement.evidence.all(),
        "comments": measurement.comments.select_related("author"),
        "category": category_label(
            measurement.disaggregation,
            category_names(measurement.indicator.project.portfolio_id),
        ),
    }
    return render(request, "evaluations/measurement_review.html", context, status=form_status(form))


@require_POST
@reader_required
def measurement_submit(request, pk):
    measurement = _visible_measurement(request, pk)
    try:
        services.submit_measurement(measurement, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Measurement submitted for review."))
    return redirect("measurement-review", measurement.pk)


@require_POST
@reader_required
def measurement_supersede(request, pk):
    """Correct a verified value: a new measurement goes to review with the reason kept."""
    measurement = _visible_measurement(request, pk)
    form = SupersedeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the verified value is corrected."))
        return redirect("measurement-review", measurement.pk)
    try:
        correction = services.supersede_measurement(
            measurement, request.user, form.cleaned_data["reason"], **form.changes()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("measurement-review", measurement.pk)
    messages.success(request, _("Correction submitted for review; the old value no longer counts."))
    return redirect("measurement-review", correction.pk)


@require_POST
@reader_required
def measurement_comment(request, pk):
    measurement = _visible_measurement(request, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.comment_on_measurement(measurement, request.user, form.cleaned_data["text"])
        messages.success(request, _("Comment added."))
    else:
        messages.error(request, _("Write the comment."))
    return redirect("measurement-review", measurement.pk)


@require_POST
@reader_required
def evidence_upload(request, pk):
    measurement = _visible_measurement(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attach_evidence(measurement, request.user, form.cleaned_data["file"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Evidence attached."))
    else:
        messages.error(request, _("Choose a file to attach."))
    return redirect("measurement-review", measurement.pk)


@reader_required
def evidence_download(request, pk):
    """An evidence file, for who may read its measurement; to anyone else it does not exist."""
    evidence = get_object_or_404(
        Evidence.objects.select_related("measurement__indicator__project"), pk=pk
    )
    if not access.may(request.user, access.VIEW, evidence.measurement):
        raise Http404("No such evidence.")
    return _download(evidence.file, evidence.name)


@reader_required
def evaluation_report(request, pk):
    """An evaluation's report, for who may read the evaluation (public ones also via IATI)."""
    evaluation = get_object_or_404(Evaluation.objects.select_related("project"), pk=pk)
    if not evaluation.report or not access.may(request.user, access.VIEW, evaluation):
        raise Http404("No such report.")
    return _download(evaluation.report, PurePath(evaluation.report.name).name)


@require_POST
@reader_required
def recommendation_follow_up(request, pk):
    """A follow-up note from the project page, by an evaluator or the owner organisation."""
    recommendation = get_object_or_404(
        access.visible(request.user, Recommendation.objects.select_related("evaluation__project")),
        pk=pk,
    )
    form = FollowUpForm(request.POST)
    if form.is_valid():
        services.follow_up_recommendation(
            recommendation, request.user, form.cleaned_data["text"], form.cleaned_data["status"]
        )
        messages.success(request, _("Follow-up recorded."))
    else:
        messages.error(request, _("Say what was done, and the follow-up status."))
    return redirect(recommendation.evaluation.project.get_absolute_url() + "#evaluations")


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


def _check_awaits_review_page(measurement):
    # A decision on a measurement that waits for none is a bad request, not a refusal.
    if measurement.status != MeasurementStatus.SUBMITTED:
        raise PermissionDenied(
            _("Only a submitted measurement can be reviewed; this one is %(status)s.")
            % {"status": measurement.get_status_display().lower()}
        )


def _visible_measurement(request, pk):
    return get_object_or_404(
        access.visible(
            request.user,
            Measurement.objects.select_related("indicator__project", "reported_by", "verified_by"),
        ),
        pk=pk,
    )


def _download(file, name):
    try:
        opened = file.open("rb")
    except FileNotFoundError as missing:
        raise Http404("The file is missing.") from missing
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(opened, as_attachment=True, filename=name, content_type=content_type)

"""Money pages: log or change a tranche, record a disbursement, a loan's status with its
repayments, acknowledge a lapse flag, and upload a tranche workbook. Every write goes through
the services, which check the role table."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from portfolio import access
from portfolio.decorators import reader_required
from portfolio.forms import form_status, posted
from portfolio.views import workbook_upload, xlsx_download
from projects.models import Project

from . import selectors, services, tranche_import
from .forms import (
    AcknowledgeForm,
    AllocationSharesForm,
    DisbursementForm,
    LoanTermsForm,
    RepaymentForm,
    TrancheForm,
    UndoDisbursementForm,
    UndoRepaymentForm,
)
from .models import Disbursement, Instrument, LapseFlag, LoanTerms, Purpose, Repayment, Tranche


@reader_required
def tranche_new(request, project_pk):
    project = get_object_or_404(Project, pk=project_pk)
    access.check(request.user, access.ADD, Tranche)
    return _tranche_form(request, Tranche(project=project), LoanTerms())


@reader_required
def tranche_edit(request, pk):
    tranche = get_object_or_404(Tranche.objects.select_related("project", "funder"), pk=pk)
    access.check(request.user, access.CHANGE, tranche)
    terms = getattr(tranche, "loan_terms", None) or LoanTerms()
    return _tranche_form(request, tranche, terms)


def _tranche_form(request, tranche, terms):
    data = request.POST if request.method == "POST" else None
    form = TrancheForm(data, instance=tranche, user=request.user, prefix="tranche")
    is_loan = form.is_bound and form.data.get("tranche-instrument") == Instrument.LOAN
    if is_loan or data is None:
        loan_form = LoanTermsForm(data, instance=terms, prefix="loan")
    else:
        # Not a loan: the loan terms are not checked, but whatever was typed stays.
        typed = {name: data.get(f"loan-{name}") for name in LoanTermsForm.Meta.fields}
        loan_form = LoanTermsForm(
            instance=terms, prefix="loan", initial={k: v for k, v in typed.items() if v}
        )
    lines_form = AllocationSharesForm(data, tranche=tranche, prefix="lines")
    if form.is_bound:
        # Every form is checked, so every mistake shows at once.
        valid = form.is_valid()
        valid = (loan_form.is_valid() if is_loan else True) and valid
        valid = lines_form.is_valid() and valid
        if valid:
            try:
                # Loan terms or allocations that fail take the tranche back with them.
                with transaction.atomic():
                    saved = services.save_tranche(
                        form.instance,
                        request.user,
                        loan_terms=loan_form.cleaned_data if is_loan else services.UNCHANGED,
                    )
                    if saved.purpose == Purpose.MAINTENANCE:
                        services.allocate_shares(saved, lines_form.shares(), request.user)
                    elif saved.allocations.exists():
                        raise ValidationError(
                            {"purpose": _("Take the tranche's cost lines away first.")}
                        )
            except services.LoanTermsRefused as error:
                loan_form.add_service_error(error)
            except services.AllocationRefused as error:
                lines_form.add_service_error(error)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Tranche saved."))
                return redirect(saved.project)
    context = {
        "form": form,
        "loan_form": loan_form,
        "lines_form": lines_form,
        "project": tranche.project,
        "tranche": tranche,
        "is_loan": is_loan or (not form.is_bound and tranche.instrument == Instrument.LOAN),
    }
    return render(
        request,
        "funding/tranche_form.html",
        context,
        status=form_status(form, loan_form if is_loan else None, lines_form),
    )


@reader_required
def disburse(request, pk):
    tranche = get_object_or_404(Tranche.objects.select_related("project", "funder"), pk=pk)
    access.check(request.user, access.ADD, Disbursement(tranche=tranche))
    form = DisbursementForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.disburse(
                tranche,
                data["amount"],
                data["disbursed_on"],
                reference=data["reference"],
                recorded_by=request.user,
            )
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Disbursement recorded."))
            return redirect(tranche.project)
    context = {
        "form": form,
        "tranche": tranche,
        "project": tranche.project,
        "remaining": tranche.payable_amount,
        "disbursements": tranche.disbursements.select_related("recorded_by"),
    }
    return render(request, "funding/disburse.html", context, status=form_status(form))


@reader_required
def undo_disbursement(request, pk):
    """Undo a payment recorded in error, saying why: its amount goes back to the tranche, and
    the history keeps who undid it and the reason (`services.undo_disbursement`)."""
    disbursement = get_object_or_404(
        Disbursement.objects.select_related("tranche__project", "tranche__funder", "recorded_by"),
        pk=pk,
    )
    access.check(request.user, access.DELETE, disbursement)
    tranche = disbursement.tranche
    form = UndoDisbursementForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.undo_disbursement(disbursement, request.user, form.cleaned_data["reason"])
        except services.AlreadyUndone:
            messages.info(request, _("This disbursement had already been undone."))
            return redirect(tranche.project)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Disbursement undone."))
            return redirect(tranche.project)
    context = {
        "form": form,
        "disbursement": disbursement,
        "tranche": tranche,
        "project": tranche.project,
    }
    return render(request, "funding/undo_disbursement.html", context, status=form_status(form))


def loan(request, pk):
    """A loan as its lender sees it today: disbursed, repaid, outstanding, arrears; the
    schedule of what was disbursed beside what was paid; the repayments, recorded and undone
    here by finance staff and managers."""
    tranche = get_object_or_404(
        Tranche.objects.select_related("project", "funder", "loan_terms"),
        pk=pk,
        instrument=Instrument.LOAN,
    )
    may_record = access.may(request.user, access.ADD, Repayment(tranche=tranche))
    form = RepaymentForm(posted(request), initial={"received_on": timezone.localdate()})
    if request.method == "POST":
        access.check(request.user, access.ADD, Repayment(tranche=tranche))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_repayment(
                    tranche,
                    data["received_on"],
                    data["principal"] or 0,
                    data["interest"] or 0,
                    reference=data["reference"],
                    recorded_by=request.user,
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Repayment recorded."))
                return redirect("tranche-loan", pk=tranche.pk)
    as_of = timezone.localdate()
    context = {
        "tranche": tranche,
        "project": tranche.project,
        "status": selectors.loan_statuses([tranche], as_of).get(tranche.pk),
        "as_of": as_of,
        "form": form if may_record else None,
        "may_undo": access.may(request.user, access.DELETE, Repayment(tranche=tranche)),
        "repayments": tranche.repayments.select_related("recorded_by").order_by(
            "-received_on", "-pk"
        ),
    }
    return render(request, "funding/loan.html", context, status=form_status(form))


@reader_required
def repayment_undo(request, pk):
    repayment = get_object_or_404(Repayment.objects.select_related("tranche"), pk=pk)
    access.check(request.user, access.DELETE, repayment)
    form = UndoRepaymentForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.undo_repayment(repayment, request.user, form.cleaned_data["reason"])
        except services.AlreadyUndone as gone:
            raise Http404(str(gone)) from gone
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Repayment undone."))
            return redirect("tranche-loan", pk=repayment.tranche_id)
    return render(
        request,
        "funding/repayment_undo.html",
        {"form": form, "repayment": repayment, "tranche": repayment.tranche},
        status=form_status(form),
    )


@reader_required
def acknowledge(request, pk):
    flag = get_object_or_404(LapseFlag.objects.select_related("project"), pk=pk)
    access.check(request.user, access.ACKNOWLEDGE, flag)
    form = AcknowledgeForm(posted(request), initial={"note": flag.acknowledgement_note})
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            flag.acknowledge(request.user, form.cleaned_data["note"])
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Flag acknowledged."))
            return redirect(next_url or flag.project)
    return render(
        request,
        "funding/acknowledge.html",
        {"form": form, "flag": flag, "project": flag.project, "next": next_url},
        status=form_status(form),
    )


@reader_required
def upload(request):
    """Upload a tranche workbook: every bad cell is listed, and nothing is saved unless all
    rows are good (the import is one transaction)."""
    access.check(request.user, access.ADD, Tranche)
    return workbook_upload(
        request,
        label=_("Tranche workbook (.xlsx)"),
        run_import=tranche_import.import_tranches,
        succeeded=lambda result: (
            _(
                "Workbook imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged."
            )
            % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        ),
        template_name="funding/upload.html",
    )


@reader_required
def upload_template(request):
    access.check(request.user, access.ADD, Tranche)
    return xlsx_download("tranche-template.xlsx", tranche_import.tranche_template)

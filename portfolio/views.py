"""Portfolio-wide pages: logging in, exchange rates."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from . import access, services
from .decorators import reader_required
from .forms import (
    ExchangeRateForm,
    LoginForm,
    RateFilterForm,
    RetireRateForm,
    UploadForm,
    form_status,
    posted,
)
from .models import ExchangeRate, Portfolio
from .xlsx import XLSX


class LoginView(auth_views.LoginView):
    """Django's login page, refusing with a 429 while too many logins have failed."""

    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
            response["Retry-After"] = str(form.wait_seconds)
        return response


@reader_required
def rates(request):
    """Exchange rates: everyone with a role reads them; finance staff and managers add them."""
    may_add = access.may(request.user, access.ADD, ExchangeRate)
    form = ExchangeRateForm(posted(request), initial={"to_currency": _reporting_currency()})
    if request.method == "POST":
        access.check(request.user, access.ADD, ExchangeRate)
        if form.is_valid():
            try:
                services.save_exchange_rate(form.instance, request.user)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Exchange rate saved."))
                return redirect("rates")
    shown = RateFilterForm(request.GET or None)
    page = Paginator(shown.filter(ExchangeRate.objects.all()), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "may_add": may_add,
        "may_change": access.may(request.user, access.CHANGE, ExchangeRate),
        "page": page,
        "filter_form": shown,
        "query": query.urlencode(),
    }
    return render(request, "portfolio/rates.html", context, status=form_status(form))


@reader_required
def rate_edit(request, pk):
    """Correct a wrong exchange rate, or retire it saying why; both kept in its history."""
    rate = get_object_or_404(ExchangeRate, pk=pk)
    access.check(request.user, access.CHANGE, rate)
    retiring = request.method == "POST" and "retire" in request.POST
    form = ExchangeRateForm(None if retiring else posted(request), instance=rate)
    retire = RetireRateForm(request.POST if retiring else None)
    if retiring and retire.is_valid():
        try:
            services.retire_exchange_rate(rate, request.user, retire.cleaned_data["reason"])
        except ValidationError as error:
            retire.add_service_error(error)
        else:
            messages.success(request, _("Exchange rate retired."))
            return redirect("rates")
    elif form.is_bound and form.is_valid():
        try:
            services.save_exchange_rate(form.instance, request.user)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Exchange rate corrected."))
            return redirect("rates")
    context = {"form": form, "retire_form": retire, "rate": rate}
    return render(request, "portfolio/rate_edit.html", context, status=form_status(form, retire))


def _reporting_currency():
    portfolio = Portfolio.objects.first()
    return portfolio.reporting_currency if portfolio else "USD"


def workbook_upload(request, *, label, run_import, succeeded, template_name):
    """A page that imports a workbook all rows or none: the upload form, then the import's
    answer. Every refused cell is listed with a 400 and nothing is saved; when all rows are
    good, `succeeded(result)` is said and the page comes back empty.

    `run_import(file, user)` returns the import's result (`errors`, and what it counted).
    """
    form = UploadForm(
        posted(request), request.FILES if request.method == "POST" else None, label=label
    )
    result = None
    if request.method == "POST" and form.is_valid():
        result = run_import(form.cleaned_data["workbook"], request.user)
        if not result.errors:
            messages.success(request, succeeded(result))
            return redirect(request.path)
    failed = form.errors or (result is not None and result.errors)
    return render(
        request,
        template_name,
        {"form": form, "result": result},
        status=400 if failed else 200,
    )


def xlsx_download(filename, write) -> HttpResponse:
    """A workbook as a download named `filename`, written by `write(response)`."""
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    write(response)
    return response

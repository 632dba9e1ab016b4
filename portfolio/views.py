"""Portfolio-wide pages: logging in, exchange rates."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from . import access, services
from .decorators import reader_required
from .forms import ExchangeRateForm, LoginForm, form_status, posted
from .models import ExchangeRate, Portfolio


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
    page = Paginator(ExchangeRate.objects.all(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portfolio/rates.html",
        {"form": form, "may_add": may_add, "page": page},
        status=form_status(form),
    )


def _reporting_currency():
    portfolio = Portfolio.objects.first()
    return portfolio.reporting_currency if portfolio else "USD"

"""The admin door: every page opens, money moves only through the services, history is kept."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from funding import services
from funding.models import Disbursement, LapseFlag, LapseReminder, LoanTerms, Tranche
from portfolio.models import ExchangeRate, Membership, Organisation, Portfolio
from projects.models import Project
from tests.factories import (
    ExchangeRateFactory,
    FunderFactory,
    LoanTermsFactory,
    MembershipFactory,
    ProjectFactory,
    TrancheFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
PAID_ON = date(2025, 3, 1)
MODELS = [
    Portfolio,
    Organisation,
    Membership,
    ExchangeRate,
    Project,
    Tranche,
    LoanTerms,
    Disbursement,
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every user the factories and admin_user create gets a password; hash it cheaply.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def disbursed_total(tranche):
    return Tranche.objects.values_list("disbursed_amount", flat=True).get(pk=tranche.pk)


@pytest.fixture
def project():
    """A launched project with a partly paid grant and a loan with its terms."""
    project = ProjectFactory(launched=True, code="KE-ID-01", title="Digital ID")
    MembershipFactory(organisation=FunderFactory(name="Nordic Fund"))
    ExchangeRateFactory()
    grant = TrancheFactory(
        project=project, funder=Organisation.objects.get(name="Nordic Fund"), amount=D("100000")
    )
    services.disburse(grant, D("60000.00"), PAID_ON, reference="PAY-1")
    LoanTermsFactory(tranche__project=project, tranche__amount=D("1000000.00"))
    return project


@pytest.fixture
def grant(project):
    return project.tranches.get(instrument=Tranche.Instrument.GRANT)


def add_disbursement(client, tranche, amount, **extra):
    return client.post(
        url(Disbursement, "add"),
        {
            "tranche": tranche.pk,
            "disbursed_on": PAID_ON.isoformat(),
            "amount": str(amount),
            "reference": "PAY-2",
            **extra,
        },
    )


def post_data(response):
    """What the browser would send back for the change form in `response`, unchanged."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


# --- every page opens -------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_superuser_opens_the_changelist_of_every_model(admin_client, project, model):
    assert admin_client.get(url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_superuser_opens_the_add_page_of_every_model(admin_client, project, model):
    assert admin_client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_superuser_opens_the_change_and_history_pages_of_every_model(admin_client, project, model):
    obj = model.objects.first()

    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200
    assert admin_client.get(url(model, "history", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", [LapseFlag, LapseReminder], ids=lambda m: m.__name__)
def test_lapse_flags_and_reminders_are_listed_but_never_added_by_hand(admin_client, model):
    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "add")).status_code == 403


def paid_disbursement():
    return services.disburse(TrancheFactory(), D("10.00"), PAID_ON)


@pytest.mark.parametrize(
    ("model", "add_row"),
    [
        (Project, ProjectFactory),
        (Tranche, TrancheFactory),
        (LoanTerms, LoanTermsFactory),
        (Disbursement, paid_disbursement),
        (Membership, MembershipFactory),
    ],
    ids=["Project", "Tranche", "LoanTerms", "Disbursement", "Membership"],
)
def test_changelist_queries_do_not_grow_with_the_rows(admin_client, model, add_row):
    add_row()
    admin_client.get(url(model, "changelist"))  # warm up sessions and content types
    with CaptureQueriesContext(connection) as one_row:
        admin_client.get(url(model, "changelist"))
    for _ in range(4):
        add_row()
    with CaptureQueriesContext(connection) as five_rows:
        response = admin_client.get(url(model, "changelist"))

    assert response.context["cl"].result_count == 5
    assert len(five_rows) == len(one_row)


# --- project and tranche pages ----------------------------------------------------------------


def test_project_change_page_shows_its_tranches_with_derived_totals(admin_client, project, grant):
    response = admin_client.get(url(Project, "change", project.pk))

    formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Tranche
    )
    assert {form.instance for form in formset.forms} == set(project.tranches.all())
    content = response.content.decode()
    assert 'name="tranches-TOTAL_FORMS"' in content
    assert "Nordic Fund" in content
    assert "Partly disbursed" in content
    assert url(Tranche, "change", grant.pk) in content  # show_change_link
    assert 'name="tranches-0-disbursed_amount"' not in content  # read-only, never edited


def test_project_change_page_shows_indicators_and_evaluations(admin_client, project):
    response = admin_client.get(url(Project, "change", project.pk))

    prefixes = {inline.formset.prefix for inline in response.context["inline_admin_formsets"]}
    assert {"tranches", "indicators", "evaluations"} <= prefixes


def test_project_saved_unchanged_in_the_admin_is_accepted_and_history_names_the_user(
    admin_client, admin_user, project
):
    page = admin_client.get(url(Project, "change", project.pk))
    data = post_data(page)
    data["title"] = "Digital ID for all"

    response = admin_client.post(url(Project, "change", project.pk), data)

    assert response.status_code == 302, response.context["errors"]
    project.refresh_from_db()
    assert project.title == "Digital ID for all"
    latest = project.history.first()
    assert (latest.history_user, latest.title) == (admin_user, "Digital ID for all")


def test_disallowed_status_change_in_the_admin_is_a_form_error(admin_client, project):
    data = post_data(admin_client.get(url(Project, "change", project.pk)))
    data["status"] = Project.Status.IMPLEMENTING

    response = admin_client.post(url(Project, "change", project.pk), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["status"] == [
        "A project cannot move from launched to implementing."
    ]
    project.refresh_from_db()
    assert project.status == Project.Status.LAUNCHED


def test_tranche_page_shows_disbursements_read_only_and_totals_not_editable(admin_client, grant):
    response = admin_client.get(url(Tranche, "change", grant.pk))

    content = response.content.decode()
    assert "disbursed_amount" not in response.context["adminform"].form.fields
    assert "60,000.00" in content or "60000.00" in content
    assert "PAY-1" in content
    disbursements = next(
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Disbursement
    )
    assert not disbursements.has_add_permission
    assert not disbursements.has_change_permission
    assert not disbursements.formset.can_delete


def test_tranche_reduced_below_what_was_paid_in_the_admin_is_a_form_error(admin_client, grant):
    data = post_data(admin_client.get(url(Tranche, "change", grant.pk)))
    data["amount"] = "59999.99"

    response = admin_client.post(url(Tranche, "change", grant.pk), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["amount"] == [
        "The amount cannot fall below the 60,000.00 already disbursed."
    ]
    grant.refresh_from_db()
    assert (grant.amount, grant.disbursed_amount) == (D("100000.00"), D("60000.00"))


def test_tranche_edited_in_the_admin_keeps_its_disbursed_total(admin_client, grant):
    data = post_data(admin_client.get(url(Tranche, "change", grant.pk)))
    data["amount"] = "120000.00"

    response = admin_client.post(url(Tranche, "change", grant.pk), data)

    assert response.status_code == 302, response.context["errors"]
    grant.refresh_from_db()
    assert (grant.amount, grant.disbursed_amount) == (D("120000.00"), D("60000.00"))


def test_loan_tranche_page_shows_its_terms(admin_client, project):
    loan = project.tranches.get(instrument=Tranche.Instrument.LOAN)

    response = admin_client.get(url(Tranche, "change", loan.pk))

    models = {inline.formset.model for inline in response.context["inline_admin_formsets"]}
    assert models == {LoanTerms, Disbursement}


def test_loan_terms_page_shows_the_repayment_schedule(admin_client, project):
    terms = LoanTerms.objects.get(tranche__project=project)

    response = admin_client.get(url(LoanTerms, "change", terms.pk))

    assert "130,690.29" in response.content.decode()


# --- disbursements go through the service -----------------------------------------------------


def test_disbursement_added_in_the_admin_goes_through_the_service(admin_client, admin_user, grant):
    response = add_disbursement(admin_client, grant, D("15000.00"))

    assert response.status_code == 302
    added = Disbursement.objects.get(reference="PAY-2")
    assert (added.amount, added.recorded_by) == (D("15000.00"), admin_user)
    assert disbursed_total(grant) == D("75000.00")
    assert added.history.get().history_user == admin_user


def test_disbursement_over_the_limit_in_the_admin_is_a_form_error_and_saves_nothing(
    admin_client, grant
):
    response = add_disbursement(admin_client, grant, D("40000.01"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["amount"] == [
        "Only 40,000.00 USD of this tranche remains undisbursed."
    ]
    assert "Only 40,000.00 USD of this tranche remains undisbursed." in response.content.decode()
    assert not Disbursement.objects.filter(reference="PAY-2").exists()
    assert disbursed_total(grant) == D("60000.00")


def test_disbursement_on_a_planned_tranche_in_the_admin_is_a_form_error(admin_client):
    planned = TrancheFactory(planned=True)

    response = add_disbursement(admin_client, planned, D("10.00"))

    assert response.status_code == 200
    assert "tranche" in response.context["adminform"].form.errors
    assert not Disbursement.objects.exists()


def test_disbursement_with_a_missing_field_in_the_admin_is_a_form_error(admin_client, grant):
    response = add_disbursement(admin_client, grant, "", disbursed_on="")

    assert response.status_code == 200
    assert {"amount", "disbursed_on"} <= set(response.context["adminform"].form.errors)
    assert disbursed_total(grant) == D("60000.00")


def test_recorded_disbursement_cannot_be_changed_in_the_admin(admin_client, grant):
    disbursement = grant.disbursements.get()

    response = admin_client.post(
        url(Disbursement, "change", disbursement.pk),
        {"tranche": grant.pk, "disbursed_on": "2025-03-02", "amount": "99999.00"},
    )

    assert response.status_code == 403
    disbursement.refresh_from_db()
    assert disbursement.amount == D("60000.00")


def test_deleting_a_disbursement_in_the_admin_gives_the_amount_back(admin_client, grant):
    disbursement = grant.disbursements.get()

    page = admin_client.get(url(Disbursement, "delete", disbursement.pk))
    assert 'name="reason"' in page.content.decode()

    response = admin_client.post(
        url(Disbursement, "delete", disbursement.pk), {"post": "yes", "reason": "Entered twice"}
    )

    assert response.status_code == 302
    assert not Disbursement.objects.filter(pk=disbursement.pk).exists()
    grant.refresh_from_db()
    assert grant.undisbursed_amount == D("100000.00")
    assert grant.disbursement_state == "none"
    undone = Disbursement.history.get(id=disbursement.pk, history_type="-")
    assert undone.history_change_reason == "Entered twice"


def test_undoing_a_disbursement_in_the_admin_needs_a_reason(admin_client, grant):
    disbursement = grant.disbursements.get()

    response = admin_client.post(url(Disbursement, "delete", disbursement.pk), {"post": "yes"})

    assert response.status_code == 302  # back to the confirmation, with the message
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()
    assert disbursed_total(grant) == D("60000.00")


def test_a_disbursement_undone_meanwhile_is_a_404_in_the_admin(admin_client, grant, monkeypatch):
    disbursement = grant.disbursements.get()
    undo = services.undo_disbursement

    def undone_by_someone_else_first(obj, user=None, reason=""):
        undo(Disbursement.objects.get(pk=obj.pk), reason="Undone through the API")
        return undo(obj, user, reason)

    monkeypatch.setattr(services, "undo_disbursement", undone_by_someone_else_first)

    response = admin_client.post(
        url(Disbursement, "delete", disbursement.pk), {"post": "yes", "reason": "Entered twice"}
    )

    assert response.status_code == 404
    # The request's own transaction is rolled back whole; in life the other undo has
    # committed on its own. Either way the total is the sum of the rows.
    rows = sum(grant.disbursements.values_list("amount", flat=True), D("0.00"))
    assert disbursed_total(grant) == rows


def test_disbursements_cannot_be_deleted_in_bulk(admin_client, grant):
    disbursement = grant.disbursements.get()
    changelist = admin_client.get(url(Disbursement, "changelist"))

    action_form = changelist.context["action_form"]
    assert action_form is None or "delete_selected" not in dict(
        action_form.fields["action"].choices
    )
    admin_client.post(
        url(Disbursement, "changelist"),
        {"action": "delete_selected", "_selected_action": [disbursement.pk], "post": "yes"},
    )
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()
    assert disbursed_total(grant) == D("60000.00")


@pytest.mark.parametrize("model", [Tranche, Disbursement, Project], ids=lambda m: m.__name__)
def test_history_can_be_seen_but_not_reverted(admin_client, grant, model):
    obj = {Tranche: grant, Disbursement: grant.disbursements.first(), Project: grant.project}[model]
    version = obj.history.earliest()
    history_url = url(model, "simple_history", obj.pk, version.history_id)

    assert admin_client.get(history_url).status_code == 200
    assert admin_client.post(history_url, {}).status_code == 403
    assert disbursed_total(grant) == D("60000.00")


def test_tranche_autocomplete_for_the_disbursement_form_finds_tranches_by_project(
    admin_client, grant
):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "funding",
            "model_name": "disbursement",
            "field_name": "tranche",
            "term": "KE-ID-01",
        },
    )

    assert response.status_code == 200
    assert str(grant.pk) in {result["id"] for result in response.json()["results"]}


def test_lapse_flag_is_acknowledged_from_the_admin_and_otherwise_read_only(
    admin_client, admin_user, project
):
    flag = LapseFlag.objects.create(
        project=project,
        kind=LapseFlag.Kind.LAPSED,
        gap_start=date(2026, 2, 1),
        raised_at=timezone.now(),
        last_seen_on=date(2026, 3, 1),
    )
    assert admin_client.get(url(LapseFlag, "change", flag.pk)).status_code == 200

    response = admin_client.post(
        url(LapseFlag, "changelist"), {"action": "acknowledge", "_selected_action": [flag.pk]}
    )

    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.acknowledged_by == admin_user
    assert flag.resolved_at is None


# --- tranches and loan terms go through the services ------------------------------------------


@pytest.fixture
def officer(grant):
    """A donor officer of the grant's funder who may use the admin."""
    user = UserFactory(username="nordic-officer", is_staff=True)
    MembershipFactory(user=user, organisation=grant.funder)
    return user


@pytest.fixture
def service_calls(monkeypatch):
    """Every call of services.save_tranche, as (tranche id, user, loan terms asked for)."""
    calls = []
    real = services.save_tranche

    def spy(tranche, user=None, **kwargs):
        saved = real(tranche, user, **kwargs)
        calls.append((saved.pk, user, kwargs.get("loan_terms", services.UNCHANGED)))
        return saved

    monkeypatch.setattr(services, "save_tranche", spy)
    return calls


def refusals(response):
    return response.context["adminform"].form.errors


def test_tranche_changed_in_the_admin_goes_through_the_service(
    client, officer, grant, service_calls
):
    client.force_login(officer)
    data = post_data(client.get(url(Tranche, "change", grant.pk)))
    data["amount"] = "120000.00"

    response = client.post(url(Tranche, "change", grant.pk), data)

    assert response.status_code == 302, refusals(response)
    assert service_calls == [(grant.pk, officer, services.UNCHANGED)]
    latest = Tranche.history.filter(id=grant.pk).latest("history_date")
    assert (latest.amount, latest.history_user) == (D("120000.00"), officer)


def test_tranche_added_in_the_admin_goes_through_the_service(client, officer, grant, service_calls):
    client.force_login(officer)
    data = {
        "project": grant.project_id,
        "funder": grant.funder_id,
        "funder_reference": "NF-2",
        "instrument": "grant",
        "purpose": "launch",
        "amount": "5000.00",
        "currency": "USD",
        "status": "planned",
    }

    response = client.post(url(Tranche, "add"), data)

    assert response.status_code == 302, refusals(response)
    added = Tranche.objects.get(funder_reference="NF-2")
    assert service_calls == [(added.pk, officer, services.UNCHANGED)]
    assert (added.amount, added.history.get().history_user) == (D("5000.00"), officer)


def test_officer_cannot_move_a_tranche_to_another_funder_in_the_admin(client, officer, grant):
    client.force_login(officer)
    data = post_data(client.get(url(Tranche, "change", grant.pk)))
    data["funder"] = FunderFactory(name="Other fund").pk

    response = client.post(url(Tranche, "change", grant.pk), data)

    assert response.status_code == 200
    assert refusals(response)["__all__"] == [
        "Donor officers change only their own organisation's tranches."
    ]
    assert Tranche.objects.get(pk=grant.pk).funder == officer.memberships.get().organisation


def test_officer_cannot_add_a_tranche_under_another_funder_in_the_admin(client, officer, grant):
    client.force_login(officer)
    data = {
        "project": grant.project_id,
        "funder": FunderFactory(name="Other fund").pk,
        "funder_reference": "OF-1",
        "instrument": "grant",
        "purpose": "launch",
        "amount": "5000.00",
        "currency": "USD",
        "status": "planned",
    }

    response = client.post(url(Tranche, "add"), data)

    assert response.status_code == 200
    assert refusals(response)["__all__"] == [
        "Donor officers change only their own organisation's tranches."
    ]
    assert not Tranche.objects.filter(funder_reference="OF-1").exists()


def test_officer_cannot_open_another_funders_tranche_for_change_in_the_admin(client, officer):
    client.force_login(officer)
    others = TrancheFactory()

    response = client.post(url(Tranche, "change", others.pk), {"amount": "1.00"})

    assert response.status_code == 403
    assert Tranche.objects.get(pk=others.pk).amount == D("100000.00")


def test_payment_recorded_while_the_admin_form_was_checked_is_seen_under_the_lock(
    client, officer, grant, monkeypatch
):
    """The form checks the amount against 60,000 paid; by the time the service locks the row,
    30,000 more has been paid. The service refuses, and nothing of the save is kept."""
    client.force_login(officer)
    real = services.save_tranche
    seen = []

    def paid_meanwhile(tranche, user=None, **kwargs):
        if not seen:
            seen.append(tranche.pk)
            services.disburse(Tranche.objects.get(pk=tranche.pk), D("30000.00"), PAID_ON)
        return real(tranche, user, **kwargs)

    monkeypatch.setattr(services, "save_tranche", paid_meanwhile)
    data = post_data(client.get(url(Tranche, "change", grant.pk)))
    data["amount"] = "80000.00"

    response = client.post(url(Tranche, "change", grant.pk), data)

    assert response.status_code == 200
    assert refusals(response)["amount"] == [
        "The amount cannot fall below the 90,000.00 already disbursed."
    ]
    assert 'value="80000.00"' in response.content.decode()  # what was typed is kept
    grant.refresh_from_db()
    assert (grant.amount, grant.disbursed_amount) == (D("100000.00"), D("60000.00"))


def test_loan_terms_changed_on_the_tranche_page_are_saved_with_it_by_the_service(
    admin_client, admin_user, project, service_calls
):
    loan = project.tranches.get(instrument=Tranche.Instrument.LOAN)
    data = post_data(admin_client.get(url(Tranche, "change", loan.pk)))
    data["loan_terms-0-annual_rate_percent"] = "1.250"
    data["notes"] = "Rate renegotiated."

    response = admin_client.post(url(Tranche, "change", loan.pk), data)

    assert response.status_code == 302, refusals(response)
    ((saved_pk, user, asked),) = service_calls
    assert (saved_pk, user, asked["annual_rate_percent"]) == (loan.pk, admin_user, D("1.250"))
    terms = LoanTerms.objects.get(tranche=loan)
    assert terms.annual_rate_percent == D("1.250")
    assert terms.history.latest().history_user == admin_user
    assert Tranche.objects.get(pk=loan.pk).notes == "Rate renegotiated."


def test_loan_terms_deleted_on_the_tranche_page_are_removed_by_the_service(
    admin_client, project, service_calls
):
    loan = project.tranches.get(instrument=Tranche.Instrument.LOAN)
    data = post_data(admin_client.get(url(Tranche, "change", loan.pk)))
    data["loan_terms-0-DELETE"] = "on"

    response = admin_client.post(url(Tranche, "change", loan.pk), data)

    assert response.status_code == 302, refusals(response)
    assert service_calls == [(loan.pk, service_calls[0][1], None)]
    assert not LoanTerms.objects.filter(tranche=loan).exists()


def test_officer_cannot_move_loan_terms_to_another_funders_tranche(client, officer, project):
    own = project.tranches.get(instrument=Tranche.Instrument.LOAN)
    Tranche.objects.filter(pk=own.pk).update(funder=officer.memberships.get().organisation)
    terms = LoanTerms.objects.get(tranche=own)
    others = TrancheFactory(instrument=Tranche.Instrument.LOAN)
    client.force_login(officer)
    data = post_data(client.get(url(LoanTerms, "change", terms.pk)))
    data["tranche"] = others.pk

    response = client.post(url(LoanTerms, "change", terms.pk), data)

    assert response.status_code == 200
    assert refusals(response)["__all__"] == [
        "Donor officers change only their own organisation's tranches."
    ]
    assert LoanTerms.objects.get(pk=terms.pk).tranche_id == own.pk


def test_loan_terms_changed_in_their_own_admin_page_name_the_user(client, officer, project):
    own = project.tranches.get(instrument=Tranche.Instrument.LOAN)
    Tranche.objects.filter(pk=own.pk).update(funder=officer.memberships.get().organisation)
    terms = LoanTerms.objects.get(tranche=own)
    client.force_login(officer)
    data = post_data(client.get(url(LoanTerms, "change", terms.pk)))
    data["grace_months"] = "6"

    response = client.post(url(LoanTerms, "change", terms.pk), data)

    assert response.status_code == 302, refusals(response)
    latest = LoanTerms.history.filter(id=terms.pk).latest("history_date")
    assert (latest.grace_months, latest.history_user) == (6, officer)


def test_tranche_changed_in_the_project_inline_goes_through_the_service(
    admin_client, admin_user, project, grant, service_calls
):
    data = post_data(admin_client.get(url(Project, "change", project.pk)))
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.startswith("tranches-") and key.endswith("-id") and value == grant.pk
    )
    data[f"tranches-{index}-amount"] = "110000.00"

    response = admin_client.post(url(Project, "change", project.pk), data)

    assert response.status_code == 302, response.context["errors"]
    assert service_calls == [(grant.pk, admin_user, services.UNCHANGED)]
    latest = Tranche.history.filter(id=grant.pk).latest("history_date")
    assert (latest.amount, latest.history_user) == (D("110000.00"), admin_user)


def test_tranche_the_service_refuses_in_the_project_inline_saves_nothing(
    admin_client, project, grant
):
    # The inline does not show the funder's reference, so only the service can see that the
    # new funder already uses it.
    Tranche.objects.filter(pk=grant.pk).update(funder_reference="REF-1")
    taken = TrancheFactory(funder_reference="REF-1")
    data = post_data(admin_client.get(url(Project, "change", project.pk)))
    index = next(
        key.split("-")[1]
        for key, value in data.items()
        if key.startswith("tranches-") and key.endswith("-id") and value == grant.pk
    )
    data[f"tranches-{index}-funder"] = taken.funder_id
    data["title"] = "Digital ID for all"

    response = admin_client.post(url(Project, "change", project.pk), data)

    assert response.status_code == 200
    (reason,) = response.context["adminform"].form.errors["__all__"]
    assert reason.startswith(f"{grant}: ")
    assert Tranche.objects.get(pk=grant.pk).funder_id == grant.funder_id
    assert Project.objects.get(pk=project.pk).title == "Digital ID"  # the whole save undone

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

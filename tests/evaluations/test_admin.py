"""The admin's verify and reject actions and target form go through the rules, never around them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from evaluations import services
from evaluations.models import (
    DisaggregationDimension,
    Evaluation,
    Indicator,
    Measurement,
    MeasurementStatus,
    PayoutTerms,
    StandardIndicator,
    Target,
)
from portfolio.models import Role
from tests.factories import MembershipFactory, PortfolioFactory

from .factories import (
    EvaluationFactory,
    EvaluatorFactory,
    IndicatorFactory,
    MeasurementFactory,
    PayoutTermsFactory,
    PersonFactory,
    RecommendationFactory,
    StandardIndicatorFactory,
    reported,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return PersonFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def client(client, admin_user):
    client.force_login(admin_user)
    return client


def act(client, action, measurements, reason=""):
    return client.post(
        reverse("admin:evaluations_measurement_changelist"),
        {
            "action": action,
            "_selected_action": [each.pk for each in measurements],
            "reason": reason,
        },
        follow=True,
    )


def test_every_results_page_opens(client):
    terms = PayoutTermsFactory()
    measurement = MeasurementFactory(indicator=terms.target.indicator)
    recommendation = RecommendationFactory()
    for name, obj in [
        ("indicator", terms.target.indicator),
        ("target", terms.target),
        ("measurement", measurement),
        ("evaluation", recommendation.evaluation),
        ("recommendation", recommendation),
        ("payoutterms", terms),
    ]:
        assert client.get(reverse(f"admin:evaluations_{name}_changelist")).status_code == 200
        assert (
            client.get(reverse(f"admin:evaluations_{name}_change", args=[obj.pk])).status_code
            == 200
        )
        assert (
            client.get(reverse(f"admin:evaluations_{name}_history", args=[obj.pk])).status_code
            == 200
        )


def test_verify_action_verifies_and_releases_the_payout(client):
    terms = PayoutTermsFactory(target__value=Decimal("1000"))
    measurement = MeasurementFactory(indicator=terms.target.indicator, value=Decimal("500"))

    response = act(client, "verify_selected", [measurement])

    assert response.status_code == 200
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.VERIFIED
    assert PayoutTerms.objects.get(pk=terms.pk).eligible_amount == Decimal("50000.00")


def test_verify_action_refuses_self_verification(client, admin_user):
    measurement = MeasurementFactory(reported_by=admin_user)

    response = act(client, "verify_selected", [measurement])

    assert (
        "Nobody may verify, return or reject a measurement they reported"
        in response.content.decode()
    )
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.SUBMITTED


def test_reject_action_needs_the_reason(client):
    measurement = MeasurementFactory()

    act(client, "reject_selected", [measurement])
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.SUBMITTED

    act(client, "reject_selected", [measurement], reason="Figure not in the registry extract.")
    stored = Measurement.objects.get(pk=measurement.pk)
    assert stored.status == MeasurementStatus.REJECTED
    assert stored.rejection_reason == "Figure not in the registry extract."


def test_target_form_asks_for_a_reason_before_changing_a_target(client):
    target = PayoutTermsFactory().target
    url = reverse("admin:evaluations_target_change", args=[target.pk])
    data = {
        "indicator": target.indicator_id,
        "due_on": "2026-12-31",
        "value": "1500",
        "disaggregation": "",
        "change_reason": "",
    }

    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "Say why" in response.content.decode()
    assert Target.objects.get(pk=target.pk).value == Decimal("1000")

    response = client.post(url, {**data, "change_reason": "Second province added."})
    assert response.status_code == 302
    assert target.history.first().history_change_reason == "Second province added."


def test_evaluation_inlines_open_under_an_evaluation(client):
    evaluation = EvaluationFactory(relevance=5)
    RecommendationFactory(evaluation=evaluation)
    response = client.get(reverse("admin:evaluations_evaluation_change", args=[evaluation.pk]))
    assert "Agree a maintenance budget before launch." in response.content.decode()


def test_project_page_lists_its_indicators_and_evaluations(client):
    indicator = IndicatorFactory(name="Women holding a digital ID")
    EvaluationFactory(project=indicator.project, kind="final")
    response = client.get(reverse("admin:projects_project_change", args=[indicator.project.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Women holding a digital ID" in page
    assert "Final" in page


def test_indicator_is_added_with_its_targets_through_the_rules(client):
    project = IndicatorFactory().project
    data = {
        "project": project.pk,
        "code": "OC-2",
        "name": "% of births registered online",
        "level": "outcome",
        "measure": "percentage",
        "direction": "increase",
        "aggregation": "non_cumulative",
        "baseline_value": "12",
        "baseline_date": "2025-01-01",
        "disaggregations": '["location"]',
        "targets-TOTAL_FORMS": "2",
        "targets-INITIAL_FORMS": "0",
        "targets-0-due_on": "2026-12-31",
        "targets-0-value": "60",
        "targets-0-disaggregation": "",
        "targets-1-due_on": "2026-12-31",
        "targets-1-value": "5",  # below the baseline of an increasing indicator
        "targets-1-disaggregation": "location:rural",
    }
    url = reverse("admin:evaluations_indicator_add")

    response = client.post(url, data)
    assert response.status_code == 200
    assert "must be above the baseline" in response.content.decode()
    assert not Target.objects.filter(indicator__code="OC-2").exists()

    response = client.post(url, {**data, "targets-1-value": "45"})
    assert response.status_code == 302
    assert Target.objects.filter(indicator__code="OC-2").count() == 2


def eligible(terms):
    return PayoutTerms.objects.get(pk=terms.pk).eligible_amount


def offered_actions(client):
    response = client.get(reverse("admin:evaluations_measurement_changelist"))
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is offered
    return set() if form is None else {value for value, _ in form.fields["action"].choices}


def test_review_actions_are_offered_to_those_who_may_review(client):
    reviewer = EvaluatorFactory(is_staff=True)
    finance = MembershipFactory(user=PersonFactory(is_staff=True), role=Role.FINANCE).user

    client.force_login(reviewer)
    assert {"verify_selected", "reject_selected"} <= offered_actions(client)
    client.force_login(finance)
    assert not {"verify_selected", "reject_selected"} & offered_actions(client)


def test_an_evaluator_verifies_from_the_admin_but_never_their_own(client):
    reviewer = EvaluatorFactory(is_staff=True)
    own = MeasurementFactory(reported_by=reviewer)
    others = MeasurementFactory(indicator=own.indicator, disaggregation="sex:female")
    client.force_login(reviewer)

    response = act(client, "verify_selected", [own, others])

    assert "reported or changed" in response.content.decode()
    assert Measurement.objects.get(pk=own.pk).status == MeasurementStatus.SUBMITTED
    stored = Measurement.objects.get(pk=others.pk)
    assert (stored.status, stored.verified_by) == (MeasurementStatus.VERIFIED, reviewer)


def test_a_measurement_added_in_the_admin_is_reported_by_whoever_adds_it(client, admin_user):
    indicator = IndicatorFactory()
    response = client.post(
        reverse("admin:evaluations_measurement_add"),
        {
            "indicator": indicator.pk,
            "period_start": "2025-01-01",
            "period_end": "2025-03-31",
            "value": "42",
            "disaggregation": "",
            "source": "Registry extract",
            "comment": "",
        },
    )

    assert response.status_code == 302
    stored = Measurement.objects.get(indicator=indicator)
    assert (stored.value, stored.reported_by, stored.status) == (
        Decimal("42"),
        admin_user,
        MeasurementStatus.SUBMITTED,
    )


def test_deleting_a_verified_measurement_in_the_admin_takes_back_its_payout(client, admin_user):
    terms = PayoutTermsFactory(target__value=Decimal("1000"))
    evaluator = EvaluatorFactory()
    kept = reported(terms, "300", "2025-01-01", "2025-03-31")
    deleted = reported(terms, "200", "2025-04-01", "2025-06-30")
    services.verify_measurement(kept, evaluator)
    services.verify_measurement(deleted, evaluator)
    assert eligible(terms) == Decimal("50000.00")

    response = client.post(
        reverse("admin:evaluations_measurement_delete", args=[deleted.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Measurement.objects.filter(pk=deleted.pk).exists()
    assert eligible(terms) == Decimal("30000.00")


def test_bulk_deleting_verified_measurements_in_the_admin_takes_back_their_payout(client):
    terms = PayoutTermsFactory(target__value=Decimal("1000"))
    evaluator = EvaluatorFactory()
    measurement = reported(terms, "300", "2025-01-01", "2025-03-31")
    services.verify_measurement(measurement, evaluator)

    client.post(
        reverse("admin:evaluations_measurement_changelist"),
        {"action": "delete_selected", "_selected_action": [measurement.pk], "post": "yes"},
    )

    assert not Measurement.objects.filter(pk=measurement.pk).exists()
    assert eligible(terms) == Decimal("0.00")


def test_an_indicator_changed_in_the_admin_moves_its_payouts(client):
    terms = PayoutTermsFactory(target__value=Decimal("1000"))
    services.verify_measurement(
        reported(terms, "500", "2025-01-01", "2025-03-31"), EvaluatorFactory()
    )
    indicator = terms.target.indicator
    target = terms.target

    response = client.post(
        reverse("admin:evaluations_indicator_change", args=[indicator.pk]),
        {
            "project": indicator.project_id,
            "code": indicator.code,
            "name": indicator.name,
            "level": indicator.level,
            "measure": indicator.measure,
            "direction": indicator.direction,
            "aggregation": indicator.aggregation,
            "baseline_value": "250",
            "baseline_date": "2025-01-01",
            "disaggregations": '["sex"]',
            "targets-TOTAL_FORMS": "1",
            "targets-INITIAL_FORMS": "1",
            "targets-0-id": target.pk,
            "targets-0-indicator": indicator.pk,
            "targets-0-due_on": "2026-12-31",
            "targets-0-value": "1000",
            "targets-0-disaggregation": "",
        },
    )

    assert response.status_code == 302
    assert Indicator.objects.get(pk=indicator.pk).baseline_value == Decimal("250")
    assert eligible(terms) == Decimal("33333.33")


def test_an_evaluation_added_in_the_admin_keeps_its_recommendations(client, admin_user):
    project = IndicatorFactory().project
    firm = EvaluationFactory().evaluator
    response = client.post(
        reverse("admin:evaluations_evaluation_add"),
        {
            "project": project.pk,
            "kind": "final",
            "evaluator": firm.pk,
            "completed_on": "2025-11-15",
            "relevance": "5",
            "summary": "",
            "findings": "",
            "recommendations-TOTAL_FORMS": "1",
            "recommendations-INITIAL_FORMS": "0",
            "recommendations-0-text": "Budget the upkeep before launch.",
            "recommendations-0-owner": "",
            "recommendations-0-due_on": "",
            "recommendations-0-status": "open",
        },
    )

    assert response.status_code == 302
    evaluation = Evaluation.objects.get(project=project, kind="final")
    assert evaluation.relevance == 5
    assert evaluation.history.first().history_user == admin_user
    [recommendation] = evaluation.recommendations.all()
    assert recommendation.text == "Budget the upkeep before launch."
    assert recommendation.history.first().history_user == admin_user


def test_the_admin_adds_a_standard_indicator_through_the_service(client):
    portfolio = PortfolioFactory()
    response = client.post(
        reverse("admin:evaluations_standardindicator_add"),
        {
            "portfolio": portfolio.pk,
            "code": "DPS-SUP-1",
            "title": "User-support tickets resolved",
            "definition": "Help-desk tickets closed as resolved.",
            "unit": "tickets",
            "measure": "number",
            "direction": "increase",
            "aggregation": "cumulative",
            "across_projects": "add",
            "sdg_indicator": "",
            "iati_vocabulary": "99",
            "iati_code": "",
        },
    )
    assert response.status_code == 200  # refused: the IATI code is missing
    assert "needs both the vocabulary and the code" in response.content.decode()
    assert not StandardIndicator.objects.exists()


def test_the_admin_keeps_a_disaggregation_value_results_use(client):
    indicator = IndicatorFactory()
    MeasurementFactory(indicator=indicator, disaggregation="sex:female")
    sex = DisaggregationDimension.objects.get(portfolio=indicator.project.portfolio, code="sex")
    values = list(sex.values.order_by("position"))
    data = {
        "portfolio": sex.portfolio_id,
        "code": "sex",
        "name": "Sex",
        "position": "0",
        "values-TOTAL_FORMS": str(len(values)),
        "values-INITIAL_FORMS": str(len(values)),
    }
    for index, value in enumerate(values):
        data |= {
            f"values-{index}-id": value.pk,
            f"values-{index}-dimension": sex.pk,
            f"values-{index}-code": value.code,
            f"values-{index}-name": value.name,
            f"values-{index}-position": value.position,
        }
    data["values-0-DELETE"] = "on"  # female, which a measurement names

    response = client.post(
        reverse("admin:evaluations_disaggregationdimension_change", args=[sex.pk]), data
    )

    assert response.status_code == 200
    assert "Results or targets are recorded for Female" in response.content.decode()
    assert sex.values.filter(code="female").exists()


@pytest.mark.parametrize("name", ["standardindicator", "disaggregationdimension"])
def test_the_vocabulary_pages_open(client, name):
    standard = StandardIndicatorFactory()
    row = (
        standard
        if name == "standardindicator"
        else DisaggregationDimension.objects.filter(portfolio=standard.portfolio).first()
    )
    for view, args in (
        ("changelist", []),
        ("add", []),
        ("change", [row.pk]),
        ("history", [row.pk]),
    ):
        assert client.get(reverse(f"admin:evaluations_{name}_{view}", args=args)).status_code == 200
    assert client.get(reverse("admin:evaluations_indicator_add")).status_code == 200

"""The implementer and verifier roles through the API, the pages and the admin; evidence and
report downloads refused to outsiders; evaluations' independence and participation."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from evaluations import services
from evaluations.models import Evaluation, EvaluationKind, Measurement, MeasurementStatus
from tests.factories import EvaluatorOrgFactory

from .factories import EvaluationFactory
from .verification import results_world

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path
    return results_world()


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(world, value="500"):
    return {
        "indicator": world.indicator.pk,
        "period_start": "2025-01-01",
        "period_end": "2025-03-31",
        "value": value,
        "source": "ID registry extract",
    }


# API


def test_api_implementer_reports_for_own_project_only(world):
    response = api(world.implementer).post("/api/v1/measurements/", body(world), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted"

    response = api(world.outsider).post("/api/v1/measurements/", body(world), format="json")
    assert response.status_code == 403
    assert Measurement.objects.count() == 1


def test_api_implementer_saves_a_draft(world):
    response = api(world.implementer).post(
        "/api/v1/measurements/", {**body(world), "draft": True}, format="json"
    )
    assert response.json()["status"] == "draft"
    pk = response.json()["id"]
    assert api(world.implementer).post(f"/api/v1/measurements/{pk}/submit/").json()["status"] == (
        "submitted"
    )


def test_api_outsiders_do_not_see_other_partners_results(world):
    pk = (
        api(world.implementer)
        .post("/api/v1/measurements/", body(world), format="json")
        .json()["id"]
    )
    assert api(world.outsider).get(f"/api/v1/measurements/{pk}/").status_code == 404
    assert api(world.outsider).get("/api/v1/measurements/").json()["count"] == 0
    assert api(world.implementer).get("/api/v1/measurements/").json()["count"] == 1


def test_api_offers_verification_only_where_the_rule_allows(world):
    pk = (
        api(world.implementer)
        .post("/api/v1/measurements/", body(world), format="json")
        .json()["id"]
    )
    assert api(world.verifier).get(f"/api/v1/measurements/{pk}/").json()["can_verify"] is True
    assert api(world.implementer).get(f"/api/v1/measurements/{pk}/").json()["can_verify"] is False
    assert (
        api(world.partner_verifier).get(f"/api/v1/measurements/{pk}/").json()["can_verify"] is False
    )
    refused = api(world.partner_verifier).post(f"/api/v1/measurements/{pk}/verify/")
    assert refused.status_code == 403
    assert "implementing partner" in refused.json()["detail"]


def test_api_return_resubmit_verify_changes_the_earned_amount(world):
    implementer, verifier = api(world.implementer), api(world.verifier)
    pk = implementer.post("/api/v1/measurements/", body(world), format="json").json()["id"]

    evidence = implementer.post(
        f"/api/v1/measurements/{pk}/evidence/",
        {"file": SimpleUploadedFile("extract.pdf", PDF)},
        format="multipart",
    )
    assert evidence.status_code == 200, evidence.json()
    assert [each["name"] for each in evidence.json()["evidence"]] == ["extract.pdf"]

    assert verifier.post(f"/api/v1/measurements/{pk}/return/", {}, format="json").status_code == 400
    returned = verifier.post(
        f"/api/v1/measurements/{pk}/return/", {"comment": "Q1 only, please."}, format="json"
    )
    assert returned.json()["status"] == "returned"
    changed = implementer.patch(f"/api/v1/measurements/{pk}/", {"value": "300"}, format="json")
    assert changed.json()["status"] == "submitted"
    verified = verifier.post(f"/api/v1/measurements/{pk}/verify/")
    assert verified.json()["status"] == "verified"
    world.terms.refresh_from_db()
    assert world.terms.eligible_amount == Decimal("30000.00")


def test_api_a_verified_value_is_superseded_not_patched(world):
    implementer = api(world.implementer)
    pk = implementer.post("/api/v1/measurements/", body(world), format="json").json()["id"]
    api(world.verifier).post(f"/api/v1/measurements/{pk}/verify/")

    assert (
        implementer.patch(f"/api/v1/measurements/{pk}/", {"value": "9"}, format="json").status_code
        == 400
    )
    response = implementer.post(
        f"/api/v1/measurements/{pk}/supersede/",
        {"reason": "Registry duplicates removed.", "value": "450"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["value"]) == ("submitted", "450.0000")
    assert Measurement.objects.get(pk=pk).status == MeasurementStatus.SUPERSEDED


# Pages


def evidence_for(world):
    measurement = services.report_measurement(
        Measurement(
            indicator=world.indicator,
            period_start=date(2025, 1, 1),
            period_end=date(2025, 3, 31),
            value=Decimal("500"),
            source="Extract",
        ),
        world.implementer,
    )
    return services.attach_evidence(
        measurement, world.implementer, SimpleUploadedFile("extract.pdf", PDF)
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("implementer", 200),
        ("colleague", 200),
        ("verifier", 200),
        ("outsider", 404),
    ],
)
def test_evidence_download_is_refused_to_outsiders(world, client, who, status):
    evidence = evidence_for(world)
    client.force_login(getattr(world, who))
    response = client.get(f"/evidence/{evidence.pk}/download/")
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PDF
        assert "attachment" in response["Content-Disposition"]


def test_evidence_download_needs_a_role(world, client, django_user_model):
    evidence = evidence_for(world)
    assert client.get(f"/evidence/{evidence.pk}/download/").status_code == 302  # to the login
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get(f"/evidence/{evidence.pk}/download/").status_code == 404


def test_evidence_is_not_served_as_media(world, client):
    evidence = evidence_for(world)
    client.force_login(world.implementer)
    assert evidence.file.url == ""
    assert client.get(f"/media/{evidence.file.name}").status_code == 404


def test_page_review_button_only_where_the_rule_allows(world, client):
    measurement = evidence_for(world).measurement
    for who, offered in [("verifier", True), ("partner_verifier", False), ("implementer", False)]:
        client.force_login(getattr(world, who))
        page = client.get(f"/measurements/{measurement.pk}/review/").content.decode()
        assert ('name="decision"' in page) is offered, who
    client.force_login(world.partner_verifier)
    response = client.post(
        f"/measurements/{measurement.pk}/review/", {"decision": "verify", "rejection_reason": ""}
    )
    assert response.status_code == 403


def test_page_queues_show_what_waits_for_each(world, client):
    measurement = evidence_for(world).measurement
    client.force_login(world.verifier)
    assert (
        f"/measurements/{measurement.pk}/review/"
        in client.get("/measurements/review/").content.decode()
    )
    client.force_login(world.partner_verifier)
    assert (
        f"/measurements/{measurement.pk}/review/"
        not in client.get("/measurements/review/").content.decode()
    )

    services.return_measurement(measurement, world.verifier, "Attach the Q1 extract.")
    client.force_login(world.implementer)
    page = client.get("/measurements/mine/").content.decode()
    assert "Attach the Q1 extract." in page
    assert ">My results<" in page


def test_page_implementer_records_on_own_project_only(world, client):
    client.force_login(world.outsider)
    response = client.post(
        f"/projects/{world.project.pk}/measurements/new/", {**body(world), "disaggregation": ""}
    )
    assert response.status_code == 403
    client.force_login(world.implementer)
    response = client.post(
        f"/projects/{world.project.pk}/measurements/new/", {**body(world), "disaggregation": ""}
    )
    assert response.status_code == 302
    assert Measurement.objects.get().reported_by == world.implementer


def test_admin_role_table_for_the_new_roles(world):
    assert world.implementer.has_perm("evaluations.add_measurement")
    assert not world.implementer.has_perm("evaluations.add_indicator")
    assert not world.implementer.has_perm("funding.add_tranche")
    assert not world.verifier.has_perm("evaluations.add_measurement")
    assert not world.verifier.has_perm("funding.add_disbursement")


# Evaluations


def test_an_independent_evaluation_is_not_by_the_implementing_partner(world):
    world.partner.is_evaluator = True
    world.partner.save()
    evaluation = Evaluation(
        project=world.project, kind=EvaluationKind.INDEPENDENT, evaluator=world.partner
    )
    with pytest.raises(Exception, match="implementing partner"):
        services.save_evaluation(evaluation, world.firm_colleague)
    evaluation.evaluator = EvaluatorOrgFactory()
    services.save_evaluation(evaluation, world.firm_colleague)


def test_a_participatory_evaluation_says_who_took_part_and_how(world):
    evaluation = Evaluation(
        project=world.project, kind=EvaluationKind.PARTICIPATORY, evaluator=EvaluatorOrgFactory()
    )
    with pytest.raises(Exception) as excinfo:
        services.save_evaluation(evaluation, world.firm_colleague)
    assert {"participants", "participation_method"} <= set(excinfo.value.message_dict)
    evaluation.participants = "Two women's groups"
    evaluation.participation_method = "Focus groups scoring the criteria"
    services.save_evaluation(evaluation, world.firm_colleague)


def test_an_evaluation_report_downloads_for_readers_only(world, client):
    evaluation = EvaluationFactory(project=world.project)
    evaluation.report.save("report.pdf", SimpleUploadedFile("report.pdf", PDF))
    client.force_login(world.implementer)
    response = client.get(f"/evaluations/{evaluation.pk}/report/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    client.force_login(world.outsider)
    assert client.get(f"/evaluations/{evaluation.pk}/report/").status_code == 404
    client.force_login(world.verifier)
    page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert f'href="/evaluations/{evaluation.pk}/report/"' in page


def test_page_supersedes_a_verified_value_with_a_reason(world, client):
    measurement = evidence_for(world).measurement
    services.verify_measurement(measurement, world.verifier)
    client.force_login(world.implementer)
    page = client.get(f"/measurements/{measurement.pk}/review/").content.decode()
    assert "Correct this verified value" in page
    assert f'href="/measurements/{measurement.pk}/edit/"' not in page

    response = client.post(
        f"/measurements/{measurement.pk}/supersede/",
        {"reason": "Registry duplicates removed.", "value": "450"},
    )

    correction = Measurement.objects.get(supersedes=measurement)
    assert response.url == f"/measurements/{correction.pk}/review/"
    assert (correction.status, correction.value) == (MeasurementStatus.SUBMITTED, Decimal("450"))
    assert Measurement.objects.get(pk=measurement.pk).status == MeasurementStatus.SUPERSEDED


ROW_LINK = re.compile(r"/measurements/(\d+)/review/")


def submitted(world, reporter, n, first=0):
    """`n` measurements of successive quarters from quarter `first` of 2024."""
    for quarter in range(first, first + n):
        start = date(2024 + quarter // 4, 1 + 3 * (quarter % 4), 1)
        services.report_measurement(
            Measurement(
                indicator=world.indicator,
                period_start=start,
                period_end=date(start.year, start.month + 2, 28),
                value=Decimal("100"),
                source="registry",
            ),
            reporter,
        )


def test_the_review_queue_reads_the_same_queries_for_two_rows_or_eight(
    world, client, django_assert_max_num_queries
):
    client.force_login(world.verifier)
    submitted(world, world.implementer, 1)
    submitted(world, world.colleague, 1, first=1)
    with CaptureQueriesContext(connection) as two:
        page = client.get("/measurements/review/").content.decode()
    assert len(set(ROW_LINK.findall(page))) == 2

    submitted(world, world.colleague, 6, first=2)
    with django_assert_max_num_queries(len(two.captured_queries)):
        page = client.get("/measurements/review/").content.decode()
    assert len(set(ROW_LINK.findall(page))) == 8
    # Independence still holds row by row: the partner's own verifier is offered none.
    client.force_login(world.partner_verifier)
    assert ROW_LINK.findall(client.get("/measurements/review/").content.decode()) == []

"""The measurement upload page: a template to fill in (the import's columns, how to fill them
with the portfolio's groups, the indicators one may report on), an upload that reports every
row or none and lists each bad cell, and only for who may report measurements."""

from datetime import date
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from evaluations import services
from evaluations.measurement_import import HEADERS
from evaluations.models import DisaggregationDimension, DisaggregationValue, Measurement
from portfolio.models import Role
from tests.factories import MembershipFactory, ProjectFactory

from .factories import IndicatorFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def indicators(people):
    """A number disaggregated by sex and by the portfolio's own dimension (device), and a
    percentage, on one project; another project's indicator beside them."""
    project = ProjectFactory()
    count = IndicatorFactory(project=project, code="OUT-7", disaggregations=["sex", "device"])
    share = IndicatorFactory(
        project=project,
        code="OUT-8",
        name="Share of women holding an ID",
        unit="%",
        measure="percentage",
        disaggregations=[],
    )
    elsewhere = IndicatorFactory(code="OUT-9")
    dimension = services.save_dimension(
        DisaggregationDimension(portfolio=project.portfolio, code="device", name="Device"),
        people["manager"],
    )
    services.save_dimension_value(
        DisaggregationValue(dimension=dimension, code="feature_phone", name="Feature phone"),
        people["manager"],
    )
    return {"count": count, "share": share, "elsewhere": elsewhere}


def template(client):
    response = client.get(reverse("measurement-template"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="measurement-template.xlsx"'
    return load_workbook(BytesIO(response.content))


def filled(book, *rows):
    sheet = book["Measurements"]
    for row in rows:
        sheet.append(list(row))
    out = BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "measurements.xlsx"
    return out


def nav(client):
    return client.get("/").content.decode().split("<nav", 1)[1].split("</nav>", 1)[0]


def test_the_template_has_the_import_columns_and_the_indicators_one_may_report_on(
    client, people, indicators
):
    implementer = PersonFactory()
    MembershipFactory(
        user=implementer,
        organisation=indicators["count"].project.implementing_partner,
        role=Role.IMPLEMENTER,
    )
    client.force_login(implementer)

    book = template(client)

    assert book.sheetnames == ["Measurements", "How to fill", "Indicators"]
    header = [cell.value for cell in book["Measurements"][1]]
    assert header == list(HEADERS)
    assert book["Measurements"].max_row == 1  # uploaded untouched, it reports nothing
    code = indicators["count"].project.code
    listed = [tuple(row) for row in book["Indicators"].iter_rows(min_row=2, values_only=True)]
    assert listed == [
        (code, "OUT-7", "People holding a digital ID", None, "Number", "sex, device"),
        (
            code,
            "OUT-8",
            "Share of women holding an ID",
            "%",
            "Percentage (numerator / denominator)",
            None,
        ),
    ]  # not OUT-9: another partner's project
    how = "\n".join(str(row[0].value or "") for row in book["How to fill"].iter_rows())
    assert "location:rural+sex:female" in how
    assert "device:feature_phone (Feature phone)" in how
    assert "sex:female (Female)" in how
    assert "Numerator and Denominator" in how


def test_an_evaluator_sees_every_indicator_in_the_template(client, people, indicators):
    client.force_login(people["evaluator"])

    codes = [
        row[1] for row in template(client)["Indicators"].iter_rows(min_row=2, values_only=True)
    ]

    assert sorted(codes) == ["OUT-7", "OUT-8", "OUT-9"]


def test_a_filled_in_template_reports_every_row_for_review(client, people, indicators):
    client.force_login(people["evaluator"])
    code = indicators["count"].project.code
    workbook = filled(
        template(client),
        (code, "OUT-7", date(2025, 1, 1), date(2025, 3, 31), None, 100, None, None, "Registry"),
        (code, "OUT-7", "2025-01-01", "2025-03-31", "sex:female+device:feature_phone", 25)
        + (None, None, "Survey", "Phones counted at enrolment"),
        (code, "OUT-8", date(2025, 1, 1), date(2025, 3, 31), None, None, 40, 80, "Survey"),
    )

    response = client.post(reverse("measurement-upload"), {"workbook": workbook}, follow=True)

    assert response.redirect_chain == [(reverse("measurement-upload"), 302)]
    assert "Workbook imported: 3 measurements submitted" in response.content.decode()
    saved = Measurement.objects.order_by("indicator__code", "disaggregation")
    assert [(m.indicator.code, m.disaggregation, m.value, m.status) for m in saved] == [
        ("OUT-7", "", 100, "submitted"),
        ("OUT-7", "device:feature_phone+sex:female", 25, "submitted"),
        ("OUT-8", "", 50, "submitted"),
    ]
    assert {m.reported_by for m in saved} == {people["evaluator"]}


def test_a_bad_workbook_answers_400_names_each_bad_cell_and_saves_nothing(
    client, people, indicators
):
    client.force_login(people["evaluator"])
    code = indicators["count"].project.code
    workbook = filled(
        template(client),
        (code, "OUT-7", "2025-01-01", "2025-03-31", None, 100, None, None, "Registry"),
        (code, "OUT-7", "2025-01-01", "2025-03-31", "sex:female", 120, None, None, "Registry"),
        (code, "OUT-7", "2025-04-01", "2025-06-30", "device:tablet", 5, None, None, "Survey"),
        (code, "NOPE", "2025-04-01", "2025-06-30", None, 5, None, None, "Survey"),
        (code, "OUT-8", "2025-04-01", "2025-06-30", None, 50, None, None, "Survey"),
    )

    response = client.post(reverse("measurement-upload"), {"workbook": workbook})

    assert response.status_code == 400
    errors = [(e.sheet, e.row, e.column, e.header) for e in response.context["result"].errors]
    assert errors == [
        ("Measurements", 3, "F", "Value"),
        ("Measurements", 4, "E", "Group"),
        ("Measurements", 5, "B", "Indicator"),
        ("Measurements", 6, "G", "Numerator"),
        ("Measurements", 6, "H", "Denominator"),
    ]
    body = response.content.decode()
    assert "Nothing was saved: 5 problems in the workbook" in body
    assert f"Project {code} has no indicator NOPE." in body
    assert "<td>E (Group)</td>" in body
    assert not Measurement.objects.exists()


def test_formulas_are_refused_cell_by_cell_and_nothing_is_saved(client, people, indicators):
    client.force_login(people["evaluator"])
    code = indicators["count"].project.code
    workbook = filled(
        template(client),
        (code, "OUT-7", "2025-01-01", "2025-03-31", None, 100, None, None, "Registry"),
        (code, "OUT-7", "2025-04-01", "2025-06-30", None, "=F2*2", None, None, "Registry"),
        (code, "=B2", "2025-07-01", "2025-09-30", None, 5, None, None, "Registry"),
    )

    response = client.post(reverse("measurement-upload"), {"workbook": workbook})

    assert response.status_code == 400
    errors = [(e.row, e.column, e.header, e.reason) for e in response.context["result"].errors]
    assert errors == [
        (3, "F", "Value", "Formulas are not accepted; type the value."),
        (4, "B", "Indicator", "Formulas are not accepted; type the value."),
    ]
    assert "<td>F (Value)</td>" in response.content.decode()
    assert not Measurement.objects.exists()


def test_a_file_that_is_not_a_workbook_is_refused_with_its_reason(client, people, indicators):
    client.force_login(people["evaluator"])
    upload = BytesIO(b"project,indicator\n")
    upload.name = "measurements.csv"

    response = client.post(reverse("measurement-upload"), {"workbook": upload})

    assert response.status_code == 400
    assert response.context["result"].errors
    assert not Measurement.objects.exists()


def test_who_may_not_report_measurements_gets_403_and_no_link(client, people, indicators):
    client.force_login(people["finance"])

    assert client.get(reverse("measurement-upload")).status_code == 403
    assert client.get(reverse("measurement-template")).status_code == 403
    assert client.post(reverse("measurement-upload"), {}).status_code == 403
    assert ">Upload measurements<" not in nav(client)

    client.force_login(people["evaluator"])
    assert ">Upload measurements<" in nav(client)
    assert client.get(reverse("measurement-upload")).status_code == 200

"""The measurement import: a portfolio's own dimension round-trips from the workbook to the
API and the IATI file; a bad row saves nothing and is named by sheet, row and column."""

from datetime import date
from io import BytesIO

import pytest
import xlsxwriter
from lxml import etree
from openpyxl import Workbook
from rest_framework.test import APIClient

from evaluations import services
from evaluations.models import DisaggregationDimension, DisaggregationValue, Measurement
from portfolio.models import Organisation
from reporting import iati
from tests.factories import FunderFactory

from .factories import IndicatorFactory

pytestmark = pytest.mark.django_db

HEADER = ["Project", "Indicator", "Period start", "Period end", "Group", "Value", "Source"]


def workbook(*rows, header=HEADER):
    book = Workbook()
    sheet = book.active
    sheet.title = "Measurements"
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    out = BytesIO()
    book.save(out)
    out.seek(0)
    out.name = "measurements.xlsx"
    return out


@pytest.fixture
def device(people):
    """An indicator disaggregated by sex and by a dimension its portfolio added: device."""
    indicator = IndicatorFactory(disaggregations=["sex", "device"], code="OUT-7")
    dimension = services.save_dimension(
        DisaggregationDimension(
            portfolio=indicator.project.portfolio, code="device", name="Device"
        ),
        people["manager"],
    )
    services.save_dimension_value(
        DisaggregationValue(dimension=dimension, code="feature_phone", name="Feature phone"),
        people["manager"],
    )
    return indicator


def only_error(response):
    """The one error of an upload that was refused and saved nothing."""
    assert response.status_code == 400
    assert not Measurement.objects.exists()
    (error,) = response.json()["errors"]
    return error


def upload(people, file, role="evaluator"):
    client = APIClient()
    client.force_authenticate(people[role])
    return client.post("/api/v1/measurement-imports/", {"file": file}, format="multipart")


def test_a_custom_dimension_round_trips_through_the_import_the_api_and_iati(people, device):
    code = device.project.code
    file = workbook(
        (code, "OUT-7", date(2025, 1, 1), date(2025, 3, 31), "", 100, "Registry"),
        (
            code,
            "OUT-7",
            "2025-01-01",
            "2025-03-31",
            "sex:female+device:feature_phone",
            25,
            "Survey",
        ),
    )

    response = upload(people, file)

    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    read = APIClient()
    read.force_authenticate(people["finance"])
    listed = read.get(
        "/api/v1/measurements/", {"disaggregation": "device:feature_phone+sex:female"}
    ).json()["results"]
    assert [row["value"] for row in listed] == ["25.0000"]
    assert listed[0]["status"] == "submitted"

    measurement = Measurement.objects.get(disaggregation="device:feature_phone+sex:female")
    services.verify_measurement(measurement, people["other_evaluator"])
    services.verify_measurement(
        Measurement.objects.get(disaggregation=""), people["other_evaluator"]
    )
    FunderFactory(
        iati_identifier="XM-DAC-46990", funder_type=Organisation.FunderType.MULTILATERAL_BANK
    )
    out = BytesIO()
    iati.write_activities(out, device.project.portfolio, reporting_org="XM-DAC-46990")
    root = etree.fromstring(out.getvalue())
    dimensions = root.xpath("//actual/dimension")
    assert {(d.get("name"), d.get("value")) for d in dimensions} == {
        ("device", "feature_phone"),
        ("sex", "female"),
    }


def test_a_bad_row_saves_nothing_and_is_named_by_row_and_column(people, device):
    code = device.project.code
    file = workbook(
        (code, "OUT-7", "2025-01-01", "2025-03-31", "", 100, "Registry"),
        (code, "OUT-7", "2025-01-01", "2025-03-31", "sex:female", 120, "Registry"),  # > total
        (code, "OUT-7", "2025-04-01", "2025-06-30", "device:tablet", 5, "Survey"),
        (code, "NOPE", "2025-04-01", "2025-06-30", "", 5, "Survey"),
    )

    response = upload(people, file)

    assert response.status_code == 400
    errors = [(e["row"], e["column"], e["header"]) for e in response.json()["errors"]]
    assert errors == [(3, "F", "Value"), (4, "E", "Group"), (5, "B", "Indicator")]
    assert "(120) is above Total (100)" in response.json()["errors"][0]["reason"]
    assert not Measurement.objects.exists()


def test_a_column_named_twice_is_refused_and_saves_nothing(people, device):
    # Two "Value" columns: which one is meant cannot be told, and the import used to take the
    # second without a word.
    file = workbook(
        (device.project.code, "OUT-7", "2025-01-01", "2025-03-31", "", 100, "Registry", 7),
        header=[*HEADER, "Value"],
    )

    assert only_error(upload(people, file)) == {
        "sheet": "Measurements",
        "row": 1,
        "column": "H",
        "header": "Value",
        "reason": "The column 'Value' appears twice.",
    }


def test_a_formula_is_refused_by_its_cell_though_the_file_keeps_its_value(people, device):
    # As Excel saves it: the formula and the value it last worked out (200), which the import
    # used to take without a word.
    code = device.project.code
    out = BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("Measurements")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, [code, "OUT-7", "2025-01-01", "2025-03-31", None, 100, "Registry"])
    sheet.write_row(2, 0, [code, "OUT-7", "2025-04-01", "2025-06-30"])
    sheet.write_formula(2, 5, "=F2*2", None, 200)
    sheet.write(2, 6, "Registry")
    book.close()
    out.seek(0)
    out.name = "measurements.xlsx"

    assert only_error(upload(people, out)) == {
        "sheet": "Measurements",
        "row": 3,
        "column": "F",
        "header": "Value",
        "reason": "Formulas are not accepted; type the value.",
    }


def test_only_who_records_results_imports_them(people, device):
    file = workbook((device.project.code, "OUT-7", "2025-01-01", "2025-03-31", "", 1, "R"))
    assert upload(people, file, role="finance").status_code == 403

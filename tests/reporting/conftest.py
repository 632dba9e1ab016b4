"""The IATI export's tests share the official schema and an export checked against it."""

from io import BytesIO
from pathlib import Path

import pytest
from lxml import etree

from reporting import iati

SCHEMA = (
    Path(__file__).resolve().parents[1] / "data" / "iati-schema-2.03" / "iati-activities-schema.xsd"
)


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


@pytest.fixture
def export(schema):
    """Export a portfolio, check the file against the schema and return its root element."""

    def run(portfolio, reporting_org="XM-DAC-46990"):
        out = BytesIO()
        iati.write_activities(out, portfolio, reporting_org)
        document = etree.fromstring(out.getvalue())
        assert schema.validate(document), schema.error_log
        return document

    return run

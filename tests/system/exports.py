"""Asking for an Excel export over the API, waiting for it, and checking the file is whole."""

import io

import openpyxl

from funding.models import Tranche

from .topology import wait_until

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def request_export(api):
    response = api.post("exports/", {})
    assert response.status_code == 202, response.text  # large: queued for a worker
    return response.json()


def export_status(api, job):
    response = api.get(job["status_url"])
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_export(api, job, timeout):
    seen = []

    def done():
        status = export_status(api, job)
        seen.append(status["progress"])
        assert status["status"] != "failed", status
        return status if status["status"] == "done" else None

    finished = wait_until(done, timeout, f"export {job['id']} to finish", interval=0.5)
    return finished, seen


def download_workbook(api, job):
    response = api.get(job["download_url"])
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(XLSX)
    # A truncated file is not a valid zip: openpyxl refuses it.
    return openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)


def assert_whole(workbook):
    """Every tranche in the database is a row of the Tranches sheet, between its header and
    the totals row that closes it."""
    rows = list(workbook["Tranches"].iter_rows(min_row=2, values_only=True))
    tranches = [row for row in rows if row[1] is not None]  # the Project column
    assert len(tranches) == Tranche.objects.count()
    assert "Total" in rows[-1], "the sheet ends with its totals row"

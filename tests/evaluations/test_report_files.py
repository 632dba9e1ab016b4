"""Evaluation reports: PDF or DOCX by name and by content, and no larger than allowed."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations.validators import validate_report_file

from .factories import EvaluationFactory

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def docx(*parts):
    """A minimal .docx. Its entries carry a fixed date: with the clock's, two pytest-xdist
    workers collecting a second apart saw different parameters and refused to run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part, text in [("[Content_Types].xml", "<Types/>")] + [
            (p, "<w:document/>") for p in parts
        ]:
            archive.writestr(zipfile.ZipInfo(part, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def upload(name, content):
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("report.pdf", PDF, id="pdf"),
        pytest.param("Mid-term REPORT.PDF", PDF, id="pdf-upper-case"),
        pytest.param("report.docx", docx("word/document.xml"), id="docx"),
    ],
)
def test_real_pdf_and_docx_reports_are_accepted(name, content):
    validate_report_file(upload(name, content))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("report.pdf", b"Just some text pretending to be a PDF.", id="text-named-pdf"),
        pytest.param("report.pdf", docx("word/document.xml"), id="docx-named-pdf"),
        pytest.param("report.docx", b"%PDF-1.7 not a zip", id="pdf-named-docx"),
        pytest.param("report.docx", docx("xl/workbook.xml"), id="spreadsheet-named-docx"),
        pytest.param("report.docx", docx("word/document.xml", "word/vbaProject.bin"), id="macros"),
        pytest.param("report.exe", b"MZ\x90\x00\x03", id="exe"),
        pytest.param("report.pdf.exe", PDF, id="pdf-content-named-exe"),
        pytest.param("report", PDF, id="no-extension"),
    ],
)
def test_reports_of_the_wrong_type_are_refused(name, content):
    with pytest.raises(ValidationError):
        validate_report_file(upload(name, content))


def test_a_report_larger_than_the_limit_is_refused(settings):
    settings.MAX_UPLOAD_BYTES = 1024
    validate_report_file(upload("report.pdf", PDF + b"\0" * (1024 - len(PDF))))
    with pytest.raises(ValidationError, match="at most"):
        validate_report_file(upload("report.pdf", PDF + b"\0" * 1024))


@pytest.mark.django_db
def test_evaluation_refuses_a_report_of_the_wrong_type():
    evaluation = EvaluationFactory()
    evaluation.report = upload("findings.pdf", b"MZ\x90\x00 an executable")
    with pytest.raises(ValidationError) as excinfo:
        evaluation.full_clean()
    assert "report" in excinfo.value.message_dict


@pytest.mark.django_db
def test_evaluation_keeps_a_valid_report(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    evaluation = EvaluationFactory()
    evaluation.report = upload("findings.pdf", PDF)
    evaluation.full_clean()
    evaluation.save()
    evaluation.refresh_from_db()
    evaluation.full_clean()  # a stored report is not read again
    assert evaluation.report.read() == PDF

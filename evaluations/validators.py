"""Checks on uploads: evaluation reports (PDF or DOCX) and measurement evidence (PDF, images,
spreadsheets, documents), each by name and by content, and size-limited."""

import zipfile
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

PDF_SIGNATURE = b"%PDF-"
DOCX_MAIN_PART = "word/document.xml"
# A document carrying macros is a .docm in disguise; we do not store those.
DOCX_MACRO_PART = "word/vbaProject.bin"


def validate_report_file(file):
    # A file already in storage was checked when it was uploaded, and re-reading it on
    # every later save would only cost time.
    if getattr(file, "_committed", False):
        return

    limit = settings.MAX_UPLOAD_BYTES
    if file.size is not None and file.size > limit:
        raise ValidationError(
            _("The report is %(size)s; reports may be at most %(limit)s."),
            code="file_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )

    extension = PurePath(file.name or "").suffix.lower()
    if extension == ".pdf":
        if not _looks_like_pdf(file):
            raise ValidationError(
                _("This file is named .pdf but is not a PDF document."), code="not_pdf"
            )
    elif extension == ".docx":
        problem = _docx_problem(file)
        if problem:
            raise ValidationError(problem, code="not_docx")
    else:
        raise ValidationError(
            _("A report must be a PDF or a Word (.docx) document."), code="file_type"
        )


def _looks_like_pdf(file):
    file.seek(0)
    try:
        return file.read(len(PDF_SIGNATURE)) == PDF_SIGNATURE
    finally:
        file.seek(0)


def _docx_problem(file):
    # Only the ZIP's central directory is read: nothing is decompressed or extracted,
    # so a crafted archive cannot exhaust memory or write anywhere.
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            parts = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return _("This file is named .docx but is not a Word document.")
    finally:
        file.seek(0)
    if DOCX_MAIN_PART not in parts:
        return _("This file is named .docx but is not a Word document.")
    if DOCX_MACRO_PART in parts:
        return _(
            "Word documents with macros are not accepted; save the report as .docx without macros or as PDF."
        )
    return None


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
XLSX_MAIN_PART = "xl/workbook.xml"
XLSX_MACRO_PART = "xl/vbaProject.bin"


def validate_evidence_file(file):
    """Evidence: PDF, PNG or JPEG image, .xlsx or .csv spreadsheet, or .docx document."""
    if getattr(file, "_committed", False):
        return
    limit = settings.MAX_UPLOAD_BYTES
    if file.size is not None and file.size > limit:
        raise ValidationError(
            _("The file is %(size)s; evidence may be at most %(limit)s."),
            code="file_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )
    extension = PurePath(file.name or "").suffix.lower()
    problem = {
        ".pdf": lambda: None if _looks_like_pdf(file) else _("not a PDF document"),
        ".png": lambda: None if _starts_with(file, PNG_SIGNATURE) else _("not a PNG image"),
        ".jpg": lambda: None if _starts_with(file, JPEG_SIGNATURE) else _("not a JPEG image"),
        ".jpeg": lambda: None if _starts_with(file, JPEG_SIGNATURE) else _("not a JPEG image"),
        ".xlsx": lambda: _office_problem(
            file,
            XLSX_MAIN_PART,
            XLSX_MACRO_PART,
            _("not an Excel workbook"),
            _("an Excel workbook with macros, which are not accepted"),
        ),
        ".docx": lambda: _office_problem(
            file,
            DOCX_MAIN_PART,
            DOCX_MACRO_PART,
            _("not a Word document"),
            _("a Word document with macros, which are not accepted"),
        ),
        ".csv": lambda: None if _looks_like_text(file) else _("not a text (CSV) file"),
    }.get(extension)
    if problem is None:
        raise ValidationError(
            _(
                "Evidence must be a PDF, an image (PNG, JPEG), a spreadsheet (.xlsx, .csv) or a "
                "document (.docx)."
            ),
            code="file_type",
        )
    found = problem()
    if found:
        raise ValidationError(
            _("This file is named %(extension)s but is %(problem)s."),
            code="file_content",
            params={"extension": extension, "problem": found},
        )


def _starts_with(file, signature):
    file.seek(0)
    try:
        return file.read(len(signature)) == signature
    finally:
        file.seek(0)


def _looks_like_text(file):
    file.seek(0)
    try:
        head = file.read(64 * 1024)
    finally:
        file.seek(0)
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3
    return True


def _office_problem(file, main_part, macro_part, not_this_kind, with_macros):
    # Whole phrases rather than a kind put into one: a translation words each its own way.
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            parts = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return not_this_kind
    finally:
        file.seek(0)
    if main_part not in parts:
        return not_this_kind
    if macro_part in parts:
        return with_macros
    return None

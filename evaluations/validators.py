"""Checks on evaluation report uploads: PDF or DOCX only, by name and by content, size-limited."""

import zipfile
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

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
            "The report is %(size)s; reports may be at most %(limit)s.",
            code="file_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )

    extension = PurePath(file.name or "").suffix.lower()
    if extension == ".pdf":
        if not _looks_like_pdf(file):
            raise ValidationError(
                "This file is named .pdf but is not a PDF document.", code="not_pdf"
            )
    elif extension == ".docx":
        problem = _docx_problem(file)
        if problem:
            raise ValidationError(problem, code="not_docx")
    else:
        raise ValidationError(
            "A report must be a PDF or a Word (.docx) document.", code="file_type"
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
        return "This file is named .docx but is not a Word document."
    finally:
        file.seek(0)
    if DOCX_MAIN_PART not in parts:
        return "This file is named .docx but is not a Word document."
    if DOCX_MACRO_PART in parts:
        return "Word documents with macros are not accepted; save the report as .docx without macros or as PDF."
    return None

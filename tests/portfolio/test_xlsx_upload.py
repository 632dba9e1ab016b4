"""No part of an uploaded workbook may use XML entities: `[Content_Types].xml`, the
workbook, its shared strings and its sheet each refuse a document type whose entity the
part really uses, before anything is read from it (portfolio.xlsx_upload)."""

import zipfile
from io import BytesIO

import pytest
import xlsxwriter
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from portfolio.xlsx_upload import Refused, check_upload, distrusted_sheet

REFUSED = "The workbook contains XML entity declarations, which are refused."
LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
EXTERNAL = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
PARAMETER = (
    b'<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;'
    b'<!ENTITY p "pwned">]>'
)
PAYLOADS = {"laughs": (LAUGHS, b"lol3"), "external": (EXTERNAL, b"xxe"), "param": (PARAMETER, b"p")}
# Each part, and text of it the entity replaces.
PARTS = {
    "[Content_Types].xml": b"application/xml",
    "xl/workbook.xml": b"Tranches",
    "xl/sharedStrings.xml": b"Signed in Nairobi",
    "xl/worksheets/sheet1.xml": b"125000.5",
}


def workbook() -> bytes:
    """As Excel writes it: text in the shared strings part."""
    out = BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("Tranches")
    sheet.write_row(0, 0, ["Reference", "Amount", "Notes"])
    sheet.write_row(1, 0, ["D-1", 125000.5, "Signed in Nairobi"])
    book.close()
    return out.getvalue()


def with_entity(part, payload, encoding="utf-8"):
    """The workbook with `part` declaring the payload's entity and using it in place of its
    text; the part is re-encoded when asked (a declaration in UTF-16 is one too)."""
    declaration, entity = PAYLOADS[payload]
    source = zipfile.ZipFile(BytesIO(workbook()))
    data = source.read(part)
    prolog, sep, body = data.partition(b"?>") if data.startswith(b"<?xml") else (b"", b"", data)
    assert PARTS[part] in body
    changed = prolog + sep + declaration + body.replace(PARTS[part], b"&" + entity + b";", 1)
    if encoding != "utf-8":
        changed = changed.replace(b"UTF-8", b"UTF-16").replace(b"utf-8", b"UTF-16")
        changed = changed.decode().encode(encoding)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, changed if item.filename == part else source.read(item))
    return SimpleUploadedFile("tranches.xlsx", out.getvalue())


def test_the_untouched_workbook_is_read():
    with distrusted_sheet(SimpleUploadedFile("t.xlsx", workbook()), "Tranches", 10, 10) as rows:
        cells = dict(rows)
    assert cells[2][3].value == "Signed in Nairobi"


def test_a_formula_is_read_as_one_and_refused_whatever_value_the_file_keeps():
    out = BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("Tranches")
    sheet.write_row(0, 0, ["Amount", "Notes"])
    sheet.write_formula(1, 0, "=100*2", None, 200)
    sheet.write(1, 1, "  Signed  ")
    book.close()

    with distrusted_sheet(SimpleUploadedFile("t.xlsx", out.getvalue()), "Tranches", 10, 10) as rows:
        formula, text = dict(rows)[2].values()

    assert formula == (200, True)
    with pytest.raises(ValidationError) as refused:
        formula.typed_value()
    assert refused.value.messages == ["Formulas are not accepted; type the value."]
    assert text.typed_value() == "Signed"


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("part", PARTS)
def test_every_part_refuses_an_entity_it_uses(part, payload):
    with pytest.raises(Refused) as refused:
        check_upload(with_entity(part, payload))

    assert str(refused.value) == REFUSED


@pytest.mark.parametrize("part", PARTS)
def test_a_declaration_in_utf16_is_refused_too(part):
    with pytest.raises(Refused) as refused:
        check_upload(with_entity(part, "laughs", encoding="utf-16"))

    assert str(refused.value) == REFUSED


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml"])
def test_the_streaming_reader_refuses_an_entity_even_past_the_first_check(part, monkeypatch):
    # Defence in depth: the parts are parsed with the same refusing parser, so a check
    # skipped by mistake still expands nothing.
    monkeypatch.setattr("portfolio.xlsx_upload._refuse_document_type", lambda *args: None)

    with (
        pytest.raises(Refused) as refused,
        distrusted_sheet(with_entity(part, "laughs"), "Tranches", 10, 10) as rows,
    ):
        list(rows)

    assert str(refused.value) == REFUSED

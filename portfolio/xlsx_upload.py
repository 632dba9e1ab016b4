"""Reading an uploaded workbook without trusting it, before and while it is parsed.

An .xlsx file is a zip of XML parts. Before openpyxl parses anything:

- its size, type and what its zip would unpack to are checked (a zip bomb is refused);
- every part is read up to its root element, and a part that declares a document type is
  refused: entities can only be declared there, so no part can use one (the XML of
  `[Content_Types].xml`, the workbook, styles, shared strings and sheets alike; openpyxl
  parses some of them with lxml, which does not refuse entities by itself);
- the sheet's real extent is read from its XML: the highest row and column holding data,
  whatever its `<dimension>` claims. Work stops at the first cell past the limits, so a
  sheet with a value in row 1,048,576 or column XFD is refused in milliseconds, and openpyxl
  is then asked for exactly that extent (it would otherwise pad every row to the declared
  width and yield every blank row up to the last).
"""

import zipfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from xml.parsers import expat

from defusedxml import DefusedXmlException
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

# Workbook XML compresses about tenfold; a zip entry that claims far more is a bomb.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_ABOVE = 1024 * 1024
CHUNK = 1 << 16

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"


class Refused(Exception):
    """The file as a whole cannot be read; the message says why, for the person uploading."""


@dataclass(frozen=True)
class Extent:
    rows: int  # the highest row holding data (0: none)
    columns: int  # the highest column holding data (0: none)


def check_upload(fileobj):
    """Size, type, zip bomb and XML document types, before anything is parsed."""
    name = getattr(fileobj, "name", "") or ""
    if name and not str(name).lower().endswith(".xlsx"):
        raise Refused(_("Upload an Excel workbook (.xlsx); other file types are not accepted."))
    size = getattr(fileobj, "size", None)
    if size is None:
        fileobj.seek(0, 2)
        size = fileobj.tell()
    fileobj.seek(0)
    if size > settings.MAX_UPLOAD_BYTES:
        raise Refused(
            _("The file is %(size).1f MB; the limit is %(limit).0f MB.")
            % {"size": size / 1024 / 1024, "limit": settings.MAX_UPLOAD_BYTES / 1024 / 1024}
        )
    if not zipfile.is_zipfile(fileobj):
        raise Refused(_("This is not an .xlsx workbook (an .xlsx file is a zip archive)."))
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            if "xl/workbook.xml" not in names:
                raise Refused(_("This zip archive is not an Excel workbook (.xlsx)."))
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise Refused(_("Workbooks with macros are not accepted; save it as .xlsx."))
            _check_sizes(entries)
            for entry in entries:
                _refuse_document_type(archive, entry.filename)
    except zipfile.BadZipFile as error:
        raise Refused(_("The workbook is damaged: %(error)s.") % {"error": error}) from error
    fileobj.seek(0)


def _check_sizes(entries):
    # zipfile never inflates an entry beyond the size its header states, so these sizes bound
    # what parsing can unpack.
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > settings.MAX_UPLOAD_UNCOMPRESSED_BYTES:
        raise Refused(
            _("The workbook would unpack to %(size).0f MB; the limit is %(limit).0f MB.")
            % {
                "size": unpacked / 1024 / 1024,
                "limit": settings.MAX_UPLOAD_UNCOMPRESSED_BYTES / 1024 / 1024,
            }
        )
    for entry in entries:
        if entry.file_size > RATIO_CHECKED_ABOVE and entry.file_size > MAX_COMPRESSION_RATIO * max(
            entry.compress_size, 1
        ):
            raise Refused(
                _(
                    "%(part)s is compressed more than %(ratio)d to 1, which no real workbook "
                    "is; the file is refused."
                )
                % {"part": entry.filename, "ratio": MAX_COMPRESSION_RATIO}
            )


class _Stop(Exception):
    """Raised from a parser callback to stop reading: what was wanted has been found."""


def _parser(start=None, namespaces=True):
    """An expat parser that refuses document types and entity declarations outright."""
    parser = expat.ParserCreate(namespace_separator=" " if namespaces else None)

    def refuse(*args):
        raise Refused(_("The workbook contains XML entity declarations, which are refused."))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    if start is not None:
        parser.StartElementHandler = start
    return parser


def _feed(parser, stream):
    try:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        pass


def _refuse_document_type(archive, name):
    """Read one part up to its root element: a document type before it is refused. A part
    that is not XML at all (an image) is left alone."""

    def root(name, attributes):
        raise _Stop

    # Not XML at all: openpyxl refuses it if it ever parses it.
    with archive.open(name) as stream, suppress(expat.ExpatError):
        _feed(_parser(root, namespaces=False), stream)


def _local(name):
    return name.rpartition(" ")[2]


def _attributes(archive, part, element, key):
    """{attributes[key]: attributes} of each `element` of a small XML part."""
    found = {}

    def start(name, attributes):
        if _local(name) == element:
            found[attributes.get(key)] = attributes

    with archive.open(part) as stream:
        _feed(_parser(start), stream)
    return found


def sheet_part(archive, title) -> str:
    """The zip path of the sheet called `title`, from the workbook and its relationships."""
    sheets = _attributes(archive, "xl/workbook.xml", "sheet", "name")
    if title not in sheets:
        raise Refused(
            _("The workbook has no sheet named %(title)r; start from the template.")
            % {"title": title}
        )
    relation = sheets[title].get(f"{OFFICE_RELATIONSHIPS} id")
    targets = _attributes(archive, "xl/_rels/workbook.xml.rels", "Relationship", "Id")
    target = (targets.get(relation) or {}).get("Target", "")
    path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    if not target or path not in archive.namelist():
        raise Refused(
            _("The workbook is damaged: its sheet %(title)r is missing.") % {"title": title}
        )
    return path


def _column_number(reference):
    number = 0
    for character in reference:
        if "A" <= character <= "Z":
            number = number * 26 + ord(character) - 64
        else:
            break
    return number


def _row_number(reference):
    digits = reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return int(digits) if digits.isdigit() else 0


def extent(archive, part, title, max_rows, max_columns) -> Extent:
    """The highest row and column of the sheet that hold data (a value, an inline string or
    a formula), read from its XML; refused at the first cell past either limit."""
    state = {"row": 0, "column": 0, "cell_row": 0, "cell_column": 0, "rows": 0, "columns": 0}

    def start(name, attributes):
        local = _local(name)
        if local == "c":
            reference = attributes.get("r", "")
            column = _column_number(reference) if reference else state["column"] + 1
            state["column"] = column
            state["cell_row"] = _row_number(reference) or state["row"]
            state["cell_column"] = column
        elif local in ("v", "is", "f"):
            row, column = state["cell_row"], state["cell_column"]
            if row > max_rows:
                raise Refused(
                    _(
                        "The %(title)s sheet holds data in row %(row)s; an import reads at "
                        "most %(limit)s rows."
                    )
                    % {"title": title, "row": f"{row:,}", "limit": f"{max_rows:,}"}
                )
            if column > max_columns:
                raise Refused(
                    _(
                        "The %(title)s sheet holds data in column %(column)s; an import reads "
                        "at most %(limit)d columns (up to %(last)s)."
                    )
                    % {
                        "title": title,
                        "column": get_column_letter(min(column, 18278)),
                        "limit": max_columns,
                        "last": get_column_letter(max_columns),
                    }
                )
            state["rows"] = max(state["rows"], row)
            state["columns"] = max(state["columns"], column)
        elif local == "row":
            reference = attributes.get("r", "")
            state["row"] = int(reference) if reference.isdigit() else state["row"] + 1
            state["column"] = 0

    with archive.open(part) as stream:
        try:
            _feed(_parser(start), stream)
        except expat.ExpatError as error:
            raise Refused(
                _("The workbook cannot be read: %(part)s: %(error)s")
                % {"part": part, "error": error}
            ) from error
    return Extent(state["rows"], state["columns"])


@contextmanager
def distrusted_sheet(fileobj, title, max_rows, max_columns):
    """Check the upload, then give (row number, cells) of every row of sheet `title` up to
    the last holding data, each row exactly as wide as the widest holding data."""
    check_upload(fileobj)
    with zipfile.ZipFile(fileobj) as archive:
        part = sheet_part(archive, title)
        found = extent(archive, part, title, max_rows, max_columns)
    fileobj.seek(0)
    try:
        wb = load_workbook(fileobj, read_only=True, data_only=False, keep_links=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise _refusal(error) from error
    try:
        yield _rows(wb[title], found)
    finally:
        wb.close()


def _rows(ws, found):
    if not found.rows:
        return
    lines = ws.iter_rows(min_row=1, max_row=found.rows, max_col=max(found.columns, 1))
    try:
        yield from enumerate(lines, start=1)
    except (DefusedXmlException, SyntaxError) as error:  # the sheet's XML is read lazily
        raise _refusal(error) from error


def _refusal(error) -> Refused:
    # openpyxl wraps the parser's error in its own; defusedxml's refusal is further down.
    cause = error
    while cause is not None:
        if isinstance(cause, Refused):
            return cause
        if isinstance(cause, DefusedXmlException):
            return Refused(_("The workbook contains XML entity declarations, which are refused."))
        cause = cause.__cause__ or cause.__context__
    return Refused(_("The workbook cannot be read: %(error)s") % {"error": error})

"""Reading an uploaded workbook without trusting it, before and while it is parsed.

An .xlsx file is a zip of XML parts. Before any part is parsed:

- its size, type and what its zip would unpack to are checked (a zip bomb is refused);
- every part is read up to its root element, and a part that declares a document type is
  refused: entities can only be declared there, so no part can use one (`[Content_Types].xml`,
  the workbook, its relationships, styles, shared strings and sheets alike).

The sheet is then streamed with expat, cell by cell, into plain values (shared strings,
numbers, dates by their style, and whether the cell holds a formula, which every import
refuses: `Cell.typed_value`). Its real extent is what its cells hold, whatever its
`<dimension>` claims: the first cell holding data below the row limit or right of the column
limit refuses the file there and then, so a value in row 1,048,576 or in column XFD is
refused without reading on. Rows come out as they are read; blank rows are skipped but
count, since a row's number is its place in the sheet.
"""

import zipfile
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import NamedTuple
from xml.parsers import expat

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

# Workbook XML compresses about tenfold; a zip entry that claims far more is a bomb.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_ABOVE = 1024 * 1024
CHUNK = 1 << 16

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"


class Refused(Exception):
    """The file as a whole cannot be read; the message says why, for the person uploading."""


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


_LOCAL = {}


def _local(name):
    """An element's name without its namespace ("uri c" is "c"), remembered."""
    local = name.rpartition(" ")[2]
    if len(_LOCAL) < 1000:
        _LOCAL[name] = local
    return local


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


_COLUMNS = {}


def _column_number(reference):
    """1 for "A7", 26 for "Z7", 16,384 for "XFD7"; 0 when the reference names no column."""
    letters = reference.rstrip("0123456789")
    number = _COLUMNS.get(letters)
    if number is None:
        number = 0
        for character in letters:
            if not "A" <= character <= "Z":
                return 0
            number = number * 26 + ord(character) - 64
        if len(_COLUMNS) < 20_000:
            _COLUMNS[letters] = number
    return number


def _related(archive, kind, default):
    """The path of the workbook's part of this relationship type (shared strings, styles)."""
    relations = _attributes(archive, "xl/_rels/workbook.xml.rels", "Relationship", "Id")
    for relation in relations.values():
        if relation.get("Type", "").endswith(f"/{kind}"):
            target = relation.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return default


def shared_strings(archive) -> list[str]:
    """The workbook's shared strings, in order (a rich string's runs joined; phonetic
    guides left out)."""
    part = _related(archive, "sharedStrings", "xl/sharedStrings.xml")
    if part not in archive.namelist():
        return []
    strings, text, state = [], [], {"in_t": False, "phonetic": 0}

    def start(name, attributes):
        local = _local(name)
        if local == "si":
            text.clear()
        elif local == "t" and not state["phonetic"]:
            state["in_t"] = True
        elif local == "rPh":
            state["phonetic"] += 1

    def end(name):
        local = _local(name)
        if local == "si":
            strings.append("".join(text))
        elif local == "t":
            state["in_t"] = False
        elif local == "rPh":
            state["phonetic"] -= 1

    def characters(data):
        if state["in_t"]:
            text.append(data)

    parser = _parser(start)
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.buffer_text = True
    with archive.open(part) as stream:
        _feed(parser, stream)
    return strings


def date_styles(archive) -> frozenset:
    """Indexes of the cell styles whose number format shows a date or time."""
    part = _related(archive, "styles", "xl/styles.xml")
    if part not in archive.namelist():
        return frozenset()
    formats = dict(BUILTIN_FORMATS)
    styles, state = [], {"cell_xfs": False}

    def start(name, attributes):
        local = _local(name)
        if local == "numFmt":
            formats[int(attributes.get("numFmtId", -1))] = attributes.get("formatCode", "")
        elif local == "cellXfs":
            state["cell_xfs"] = True
        elif local == "xf" and state["cell_xfs"]:
            styles.append(int(attributes.get("numFmtId", 0) or 0))

    def end(name):
        if _local(name) == "cellXfs":
            state["cell_xfs"] = False

    parser = _parser(start)
    parser.EndElementHandler = end
    with archive.open(part) as stream:
        _feed(parser, stream)
    return frozenset(
        index for index, format_id in enumerate(styles) if is_date_format(formats.get(format_id))
    )


def _epoch(archive):
    flags = _attributes(archive, "xl/workbook.xml", "workbookPr", None)
    value = next(iter(flags.values()), {}).get("date1904", "")
    return MAC_EPOCH if value.lower() in ("1", "true") else WINDOWS_EPOCH


class Cell(NamedTuple):
    value: object
    is_formula: bool = False

    def typed_value(self):
        """What was typed in the cell, text stripped and blank text None. Every import refuses
        a formula: it takes values, not recipes, and the value a workbook keeps beside a
        formula is whatever the program that last saved it worked out, or nothing."""
        if self.is_formula:
            raise ValidationError(_("Formulas are not accepted; type the value."), code="formula")
        if isinstance(self.value, str):
            return self.value.strip() or None
        return self.value

    @property
    def is_blank(self):
        """Nothing typed and no formula: the import skips a row of blank cells."""
        return not self.is_formula and self.typed_value() is None


BLANK = Cell(None)


class _SheetReader:
    """Streams a sheet's rows out of its XML with expat, converting each cell as Excel
    shows it (shared strings, numbers, dates by their style), and refusing the sheet at the
    first cell holding data past the limits."""

    def __init__(self, title, strings, dates, epoch, max_rows, max_columns):
        self.title, self.strings, self.dates, self.epoch = title, strings, dates, epoch
        self.max_rows, self.max_columns = max_rows, max_columns
        self.row_number = 0
        self.row = {}
        self.finished = []  # (row number, {column: Cell}) ready to hand out
        self.cell = None  # (column, type, style) of the cell being read
        self.value = None
        self.formula = False
        self.text = None  # the characters being collected, or None
        self.phonetic = 0
        self.column = 0

    def start(self, name, attributes):
        local = _LOCAL.get(name) or _local(name)
        if local == "c":
            reference = attributes.get("r")
            column = _column_number(reference) if reference else self.column + 1
            self.column = column
            self.cell = (column, attributes.get("t", "n"), attributes.get("s"))
            self.value, self.formula = None, False
        elif local == "v":
            self.text = []
            self._check_bounds()
        elif local == "row":
            reference = attributes.get("r", "")
            number = int(reference) if reference.isdigit() else self.row_number + 1
            self._finish_row()
            self.row_number, self.column = number, 0
        elif local == "t" and not self.phonetic and self.cell is not None:
            if self.text is None:
                self.text = []
        elif local == "f":
            self.formula = True
            self._check_bounds()
        elif local == "is":
            self.text = []
            self._check_bounds()
        elif local == "rPh":
            self.phonetic += 1

    def characters(self, data):
        if self.text is not None and not self.phonetic:
            self.text.append(data)

    def end(self, name):
        local = _LOCAL.get(name) or _local(name)
        if local == "c":
            if self.value is not None or self.formula:
                column, kind, style = self.cell
                self.row[column] = Cell(self._convert(kind, style), self.formula)
            self.cell = None
        elif local == "v":
            self.value = "".join(self.text)
            self.text = None
        elif local == "is":
            self.value = "".join(self.text or [])
            self.text = None
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "sheetData":
            self._finish_row()

    def _check_bounds(self):
        column = self.cell[0] if self.cell else 0
        if self.row_number <= self.max_rows and column <= self.max_columns:
            return
        if self.row_number > self.max_rows:
            raise Refused(
                _(
                    "The %(title)s sheet holds data in row %(row)s; an import reads at most "
                    "%(limit)s rows."
                )
                % {
                    "title": self.title,
                    "row": f"{self.row_number:,}",
                    "limit": f"{self.max_rows:,}",
                }
            )
        raise Refused(
            _(
                "The %(title)s sheet holds data in column %(column)s; an import reads at "
                "most %(limit)d columns (up to %(last)s)."
            )
            % {
                "title": self.title,
                "column": get_column_letter(min(column, 18278)),
                "limit": self.max_columns,
                "last": get_column_letter(self.max_columns),
            }
        )

    def _finish_row(self):
        if self.row:
            self.finished.append((self.row_number, self.row))
            self.row = {}

    def _convert(self, kind, style):
        value = self.value
        if value is None:
            return None
        if kind == "s":
            try:
                return self.strings[int(value)]
            except (ValueError, IndexError):
                return value
        if kind in ("inlineStr", "str", "e"):
            return value
        if kind == "b":
            return value.strip() in ("1", "true")
        if kind == "d":
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return value
        try:
            number = float(value)
        except ValueError:
            return value
        if style is not None and style.isdigit() and int(style) in self.dates:
            try:
                return from_excel(number, self.epoch)
            except (OverflowError, ValueError):
                return number
        if number.is_integer() and "." not in value and "E" not in value.upper():
            return int(value)
        return number


def read_sheet(archive, title, max_rows, max_columns):
    """(row number, {column number: Cell}) of each row of sheet `title` holding data."""
    part = sheet_part(archive, title)
    reader = _SheetReader(
        title, shared_strings(archive), date_styles(archive), _epoch(archive), max_rows, max_columns
    )
    parser = _parser(reader.start)
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.characters
    parser.buffer_text = True
    with archive.open(part) as stream:
        try:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                parser.Parse(chunk, False)
                yield from reader.finished
                reader.finished.clear()
            parser.Parse(b"", True)
        except expat.ExpatError as error:
            raise Refused(
                _("The workbook cannot be read: %(part)s: %(error)s")
                % {"part": part, "error": error}
            ) from error
    reader._finish_row()
    yield from reader.finished


@contextmanager
def distrusted_sheet(fileobj, title, max_rows, max_columns):
    """Check the upload, then give (row number, {column number: Cell}) of every row of sheet
    `title` that holds data, in order; `Refused` as soon as anything is out of bounds."""
    check_upload(fileobj)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            yield read_sheet(archive, title, max_rows, max_columns)
    except zipfile.BadZipFile as error:
        raise Refused(_("The workbook is damaged: %(error)s.") % {"error": error}) from error

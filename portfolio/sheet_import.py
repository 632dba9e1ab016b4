"""What a spreadsheet import answers (its errors by cell, its counts) and how it reads the
columns its header row names: one home for the tranche and the measurement imports."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from openpyxl.utils import get_column_letter


@dataclass(frozen=True)
class CellError:
    sheet: str
    row: int | None
    column: str  # column letter; blank when the error is about the file or a whole row
    reason: str
    header: str = ""

    def as_dict(self):
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "reason": self.reason,
        }


@dataclass
class ImportResult:
    errors: list[CellError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self):
        return not self.errors

    def as_dict(self):
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [error.as_dict() for error in self.errors],
        }


def header_columns(header, known, *, sheet, row, required, unknown, ignored=frozenset()):
    """The columns a header row names: ({field: column number}, [CellError]).

    `header` holds the row's cells by column number; `known` maps each title the import
    reads to its field; `required` are the titles that must be there; `unknown` is the
    import's own message for a title it does not read (with `%(title)r`), unless the title
    is `ignored` (a column the export writes for people to read). A blank header cell names
    no column. A title named twice is refused: which of the two columns is meant cannot be
    told, and taking either would save the other's values unread.
    """
    columns, errors = {}, []
    for column, cell in sorted(header.items()):
        title = "" if cell.value is None else str(cell.value).strip()
        if not title:
            continue
        letter = get_column_letter(column)
        if title in known:
            if known[title] in columns:
                reason = _("The column %(title)r appears twice.") % {"title": title}
                errors.append(CellError(sheet, row, letter, reason, title))
            columns[known[title]] = column
        elif title not in ignored:
            errors.append(CellError(sheet, row, letter, unknown % {"title": title}, title))
    for title in required:
        if known[title] not in columns:
            reason = _("The column %(title)r is missing.") % {"title": title}
            errors.append(CellError(sheet, row, "", reason, title))
    return columns, errors

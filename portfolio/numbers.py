"""Numbers as people type them in their language ("900,000", "12 500,50", "1.500,25"), read
into the plain form Python's Decimal and int understand. Pure: no database, no request."""

import re

# Spaces people (and the app's own display) put between groups of digits: the ordinary space,
# the no-break space (U+00A0), the narrow no-break space (U+202F, French typography), the thin
# space (U+2009), and the apostrophes Swiss users type.
GROUP_SPACES = re.compile("[ \u00a0\u202f\u2009'\u2019]")


def _grouped_by(separator, decimal_separator):
    """Digits grouped by threes with `separator` (1,234,567), a decimal part may follow."""
    return re.compile(
        r"^[-+]?\d{1,3}(?:" + re.escape(separator) + r"\d{3})+"
        r"(?:" + re.escape(decimal_separator) + r"\d*)?$"
    )


def plain_number(text: str, decimal_separator: str = ".", thousand_separator: str = ",") -> str:
    """`text` as typed in a language whose separators are given, as a plain number string with
    a "." decimal point and no grouping; what cannot be read safely comes back unchanged (but
    for its spaces), so the field still refuses it in words.

    A "." is always accepted as the decimal point (what browsers, scripts and copy-paste from
    spreadsheets send), unless the language groups with "." and the text is grouped by threes
    ("12.500" in Spanish). A comma that groups must group by threes: "5,5" in English is
    refused, not read as 55."""
    if not isinstance(text, str):
        return text
    number = GROUP_SPACES.sub("", text.strip())
    if decimal_separator == ",":
        if thousand_separator == "." and _grouped_by(".", ",").match(number):
            number = number.replace(".", "")
        if "," in number:
            if number.count(",") > 1 or "." in number:
                return number
            number = number.replace(",", ".")
        return number
    # A language with a decimal point: commas may only group thousands.
    if "," in number and _grouped_by(",", ".").match(number):
        number = number.replace(",", "")
    return number

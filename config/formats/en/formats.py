"""US English: one date style on every page ("Nov. 28, 2026"), a short one included, so a page
never mixes "Nov. 28, 2026" with "11/28/2026"."""

DATE_FORMAT = "N j, Y"
SHORT_DATE_FORMAT = "N j, Y"
DATETIME_FORMAT = "N j, Y, P"
SHORT_DATETIME_FORMAT = "N j, Y, P"

"""Spanish: "28 de noviembre de 2026" on every page, short forms included."""

SHORT_DATE_FORMAT = r"j \d\e F \d\e Y"
SHORT_DATETIME_FORMAT = r"j \d\e F \d\e Y H:i"

"""French: "28 novembre 2026" on every page, short forms included."""

SHORT_DATE_FORMAT = "j F Y"
SHORT_DATETIME_FORMAT = "j F Y H:i"

"""Date and number formats of the pages, one per language (FORMAT_MODULE_PATH)."""

"""Formats of the pages in en_GB."""

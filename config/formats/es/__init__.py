"""Formats of the pages in es."""

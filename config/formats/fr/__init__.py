"""Formats of the pages in fr."""

"""Formats of the pages in en."""

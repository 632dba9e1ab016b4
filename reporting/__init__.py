"""Reporting: the dashboard, the Excel workbook, the IATI file and exports; reads the layers below."""

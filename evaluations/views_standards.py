"""Pages of the portfolio's standard indicators: the library, and each one's results across
the portfolio with a chart (server-drawn SVG: no script, no style attribute)."""

from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from portfolio.decorators import reader_required

from . import selectors
from .models import VALUE_PLACES, StandardIndicator, plain


@reader_required
def standard_list(request):
    standards = StandardIndicator.objects.select_related("portfolio").order_by(
        "portfolio__name", "code"
    )
    return render(request, "evaluations/standard_list.html", {"standards": standards})


@reader_required
def standard_detail(request, pk):
    standard = get_object_or_404(StandardIndicator.objects.select_related("portfolio"), pk=pk)
    found = selectors.results_of(standard)
    rows = [
        {
            "label": label,
            "total": total,
            "cells": cells,
        }
        for _category, label, total, cells in found.rows()
    ]
    return render(
        request,
        "evaluations/standard_detail.html",
        {
            "standard": standard,
            "found": found,
            "projects": [each.name for each in found.values.projects],
            "rows": rows,
            "chart": chart(found),
        },
    )


def chart(found):
    """Bars to draw: the portfolio total per category where values add up; otherwise each
    project's own value for the whole (a median is shown per project, never summed)."""
    if found.values.totals:
        bars = [
            (label, total.value)
            for _category, label, total, _cells in found.rows()
            if total is not None
        ]
        title = _("Portfolio total by group")
    else:
        bars = [
            (each.name, each.cells[""].value) for each in found.values.projects if "" in each.cells
        ]
        title = _("Each project's value (not added up)")
    if not bars:
        return None
    largest = max((value for _label, value in bars), default=0) or 1
    return {
        "title": title,
        "bars": [
            {
                "label": label,
                "value": plain(value.quantize(VALUE_PLACES)),
                # Percent of the longest bar; the SVG stretches to the row's width.
                "width": round(max(float(value) / float(largest), 0) * 100, 1),
            }
            for label, value in bars
        ],
    }

"""Template words for results: a target's progress status as people read it."""

from django import template
from django.utils.translation import gettext

from evaluations import progress

register = template.Library()


@register.filter
def status_words(status):
    """'on_track' -> 'on track', in the reader's language (progress.STATUS_WORDS)."""
    return gettext(progress.STATUS_WORDS.get(status, progress.STATUS_WORDS[progress.NO_DATA]))

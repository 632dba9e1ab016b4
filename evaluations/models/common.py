"""What the results models share."""

from django.core.exceptions import ObjectDoesNotExist


def related_or_none(instance, name):
    """The related object, or None while none is chosen (an unsaved parent counts as chosen)."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None

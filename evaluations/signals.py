"""A new portfolio starts with the default disaggregation dimensions, which it may then change."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from portfolio.models import Portfolio

from .services.standards import add_default_dimensions


@receiver(post_save, sender=Portfolio)
def give_new_portfolio_default_dimensions(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        add_default_dimensions(instance)

"""Results-based payouts: the target a tranche pays for, the payout rule, what has been earned."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portfolio.fields import MoneyField
from portfolio.loading import QuickLoad

from .. import progress
from .common import related_or_none
from .indicators import Target

ZERO = Decimal("0.00")


class PayoutRule(models.TextChoices):
    ALL_OR_NOTHING = progress.ALL_OR_NOTHING, _("All or nothing (pays once the target is met)")
    PRO_RATA = progress.PRO_RATA, _("Pro rata to achievement (capped at 100%)")


class PayoutTerms(QuickLoad, models.Model):
    """How a results-based tranche is earned: the target it pays for and the payout rule.

    ``eligible_amount`` is kept by ``services.payouts.recalculate_payouts()`` and read by
    ``Tranche.disbursable_limit``.
    """

    Rule = PayoutRule

    tranche = models.OneToOneField(
        "funding.Tranche",
        on_delete=models.CASCADE,
        related_name="payout_terms",
        limit_choices_to={"instrument": "results_based"},
    )
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="payout_terms")
    rule = models.CharField(max_length=20, choices=PayoutRule.choices)
    minimum_achievement = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Pro rata only: a fraction, e.g. 0.5 – below half the target nothing is earned.",
    )
    eligible_amount = MoneyField(
        default=ZERO,
        editable=False,
        help_text="What verified results have earned; the tranche can be disbursed up to this.",
    )
    achievement = models.DecimalField(
        "achievement at last calculation",
        max_digits=12,
        decimal_places=4,
        null=True,
        editable=False,
    )
    # Reasons name the verification or target change that moved the eligible amount.
    history = HistoricalRecords(history_change_reason_field=models.TextField(null=True))

    class Meta:
        verbose_name_plural = "payout terms"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(eligible_amount__gte=0), name="payout_eligible_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(minimum_achievement__isnull=True)
                | models.Q(minimum_achievement__gte=0, minimum_achievement__lte=1, rule="pro_rata"),
                name="payout_minimum_is_pro_rata_fraction",
            ),
        ]

    def __str__(self):
        return f"Payout terms of {self.tranche}"

    def clean(self):
        errors = {}
        tranche = related_or_none(self, "tranche")
        if tranche is not None:
            if tranche.instrument != tranche.Instrument.RESULTS_BASED:
                errors["tranche"] = gettext("Payout terms belong to a results-based tranche.")
            elif self.eligible_amount > tranche.amount:
                errors["tranche"] = gettext(
                    "The tranche amount cannot fall below the %(earned)s already earned."
                ) % {"earned": f"{self.eligible_amount:,}"}
            target = related_or_none(self, "target")
            if target is not None and target.indicator.project_id != tranche.project_id:
                errors["target"] = gettext(
                    "The target must belong to an indicator of the tranche's project."
                )
        if self.minimum_achievement is not None and self.rule != PayoutRule.PRO_RATA:
            errors["minimum_achievement"] = gettext(
                "All or nothing pays only once the target is met; a minimum applies to pro rata payouts."
            )
        if errors:
            raise ValidationError(errors)

"""The portfolio's shared results vocabulary: standard indicators that project indicators
adopt, and the disaggregation dimensions (with their values) indicators may report by."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from portfolio.errors import words
from portfolio.fields import FreeTextField

from .. import portfolio_results
from .indicators import Aggregation, Direction, Measure

SDG_INDICATOR = re.compile(r"^\d{1,2}\.[0-9a-z]{1,2}\.\d{1,2}$")

# IATI's IndicatorVocabulary codelist (2.03): who defines the indicator's code.
IATI_VOCABULARY_CHOICES = [
    ("1", "WHO Registry"),
    ("2", "Sphere Handbook"),
    ("3", "US Foreign Assistance Framework"),
    ("4", "World Bank World Development Indicators"),
    ("5", "UN Millennium Development Goals Indicators"),
    ("6", "UNOCHA Humanitarian Response Indicators"),
    ("7", "HIV/AIDS Indicator Registry"),
    ("8", "Harmonized Indicators for Private Sector (HIPSO)"),
    ("9", "UN Sustainable Development Goals (SDG) Indicators"),
    ("99", "Reporting Organisation"),
]
IATI_SDG_VOCABULARY = "9"

# The dimensions every portfolio starts with, and the values of those that have fixed ones
# (regions and languages depend on the country, so the portfolio adds its own).
DEFAULT_DIMENSIONS = [
    ("sex", "Sex", [("female", "Female"), ("male", "Male")]),
    (
        "age_group",
        "Age band",
        [
            ("under_18", "Under 18"),
            ("18_to_34", "18 to 34"),
            ("35_to_59", "35 to 59"),
            ("60_plus", "60 and over"),
        ],
    ),
    (
        "disability",
        "Disability",
        [("with_disability", "With a disability"), ("without_disability", "Without a disability")],
    ),
    ("location", "Urban / rural", [("urban", "Urban"), ("rural", "Rural")]),
    ("region", "First-level administrative region", []),
    ("language", "Language", []),
    (
        "income_quintile",
        "Income quintile",
        [
            ("q1", "Poorest 20%"),
            ("q2", "Second 20%"),
            ("q3", "Middle 20%"),
            ("q4", "Fourth 20%"),
            ("q5", "Richest 20%"),
        ],
    ),
]


class AcrossProjects(models.TextChoices):
    ADD = portfolio_results.ADD, _("Add up (counts; percentages from numerators and denominators)")
    NOT_ADDED = portfolio_results.NOT_ADDED, _("Not added up (a median, an average, a score)")


class DisaggregationDimension(models.Model):
    """A way the portfolio splits a result, such as sex or urban / rural."""

    portfolio = models.ForeignKey(
        "portfolio.Portfolio", on_delete=models.CASCADE, related_name="disaggregation_dimensions"
    )
    code = models.SlugField(
        max_length=30, help_text="Short and stable, e.g. sex; measurements refer to it."
    )
    name = models.CharField(max_length=100, help_text="e.g. Sex, Urban / rural.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["portfolio", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "code"], name="disaggregation_dimension_unique"
            ),
        ]
        # The order the API offers (?ordering=code), ended by id, read a page at a time.
        indexes = [models.Index(fields=["code", "id"])]

    def __str__(self):
        return self.name


class DisaggregationValue(models.Model):
    """One value of a dimension, such as female or rural."""

    dimension = models.ForeignKey(
        DisaggregationDimension, on_delete=models.CASCADE, related_name="values"
    )
    code = models.SlugField(max_length=30, help_text="Short and stable, e.g. female.")
    name = models.CharField(max_length=100, help_text="e.g. Female.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dimension", "position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "code"], name="disaggregation_value_unique"
            ),
        ]
        indexes = [models.Index(fields=["code", "id"])]

    def __str__(self):
        return f"{self.dimension.name}: {self.name}"

    @property
    def key(self):
        return f"{self.dimension.code}:{self.code}"


class StandardIndicator(models.Model):
    """A portfolio-level definition that project indicators adopt, so results add up."""

    Measure = Measure
    Direction = Direction
    Aggregation = Aggregation
    AcrossProjects = AcrossProjects

    portfolio = models.ForeignKey(
        "portfolio.Portfolio", on_delete=models.PROTECT, related_name="standard_indicators"
    )
    code = models.CharField(max_length=40, help_text="Unique in the portfolio, e.g. DPS-ID-1.")
    title = models.CharField(max_length=200, help_text="e.g. People registered with a digital ID.")
    definition = FreeTextField(help_text="What exactly is counted, and how.")
    unit = models.CharField(max_length=40, blank=True, help_text="e.g. people, days, %.")
    measure = models.CharField(max_length=12, choices=Measure.choices, default=Measure.NUMBER)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INCREASE
    )
    aggregation = models.CharField(
        "cumulative rule",
        max_length=16,
        choices=Aggregation.choices,
        default=Aggregation.NON_CUMULATIVE,
    )
    across_projects = models.CharField(
        "portfolio total",
        max_length=8,
        choices=AcrossProjects.choices,
        default=AcrossProjects.ADD,
    )
    sdg_indicator = models.CharField(
        "SDG indicator", max_length=12, blank=True, help_text="e.g. 16.9.1."
    )
    # IATI's own names, untranslated, checked in clean() rather than offered as choices.
    iati_vocabulary = models.CharField(
        "IATI indicator vocabulary",
        max_length=2,
        blank=True,
        help_text="IATI IndicatorVocabulary code: 9 for SDG indicators, 99 for the reporting organisation's own.",
    )
    iati_code = models.CharField(
        "IATI indicator code", max_length=100, blank=True, help_text="The code in that vocabulary."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["portfolio", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "code"], name="standard_indicator_code_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(measure="qualitative", aggregation="cumulative"),
                name="standard_indicator_qualitative_not_cumulative",
            ),
            models.CheckConstraint(
                condition=~models.Q(measure="qualitative", across_projects="add"),
                name="standard_indicator_scores_not_added",
            ),
            models.CheckConstraint(
                condition=models.Q(iati_vocabulary="", iati_code="")
                | (~models.Q(iati_vocabulary="") & ~models.Q(iati_code="")),
                name="standard_indicator_iati_reference_complete",
            ),
        ]
        # Each order the API offers (?ordering=), ended by id, read a page at a time.
        indexes = [
            models.Index(fields=["code", "id"]),
            models.Index(fields=["title", "id"]),
        ]

    def __str__(self):
        return f"{self.code} – {self.title}"

    @property
    def rule(self) -> portfolio_results.Rule:
        return portfolio_results.Rule(self.measure, self.aggregation, self.across_projects)

    def references(self) -> list[tuple[str, str]]:
        """(IATI vocabulary, code) pairs, each vocabulary once, as IATI asks."""
        found = {}
        if self.iati_vocabulary and self.iati_code:
            found[self.iati_vocabulary] = self.iati_code
        if self.sdg_indicator:
            found.setdefault(IATI_SDG_VOCABULARY, self.sdg_indicator)
        return sorted(found.items(), key=lambda pair: int(pair[0]))

    def clean(self):
        errors = {}
        if self.measure == Measure.QUALITATIVE:
            if self.aggregation == Aggregation.CUMULATIVE:
                errors["aggregation"] = words("standard_indicator_qualitative_not_cumulative")
            if self.across_projects == AcrossProjects.ADD:
                errors["across_projects"] = words("standard_indicator_scores_not_added")
        if self.sdg_indicator and not SDG_INDICATOR.match(self.sdg_indicator):
            errors["sdg_indicator"] = gettext(
                "Write an SDG indicator as goal.target.number, e.g. 16.9.1."
            )
        if self.iati_vocabulary and self.iati_vocabulary not in dict(IATI_VOCABULARY_CHOICES):
            errors["iati_vocabulary"] = gettext(
                "Not a code of IATI's IndicatorVocabulary list (1 to 9, or 99)."
            )
        elif bool(self.iati_vocabulary) != bool(self.iati_code):
            field = "iati_code" if self.iati_vocabulary else "iati_vocabulary"
            errors[field] = words("standard_indicator_iati_reference_complete")
        if errors:
            raise ValidationError(errors)


def categories_of(portfolio_id) -> dict[str, list[str]]:
    """The portfolio's dimensions and their value codes: {"sex": ["female", "male"], ...}."""
    found = {
        code: []
        for code in DisaggregationDimension.objects.filter(portfolio_id=portfolio_id).values_list(
            "code", flat=True
        )
    }
    for dimension, value in DisaggregationValue.objects.filter(
        dimension__portfolio_id=portfolio_id
    ).values_list("dimension__code", "code"):
        found[dimension].append(value)
    return found


def category_names(portfolio_id=None) -> dict[str, str]:
    """Each single category key in words ("sex:female" -> "Sex: Female"), of one portfolio or all."""
    values = DisaggregationValue.objects.all()
    if portfolio_id is not None:
        values = values.filter(dimension__portfolio_id=portfolio_id)
    return {
        f"{dimension_code}:{code}": f"{dimension_name}: {name}"
        for dimension_code, code, dimension_name, name in values.values_list(
            "dimension__code", "code", "dimension__name", "name"
        )
    }

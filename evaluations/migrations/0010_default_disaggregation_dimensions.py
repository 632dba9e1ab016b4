"""Every portfolio gets the default disaggregation dimensions. The four that were a fixed list
(sex, disability, urban / rural as `location`, age bands as `age_group`) keep their codes and
values, so every indicator, target and measurement recorded by them stays valid."""

from django.db import migrations

# A copy, not an import: a migration keeps the defaults of its day.
DEFAULTS = [
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


def add_defaults(apps, schema_editor):
    Portfolio = apps.get_model("portfolio", "Portfolio")
    Dimension = apps.get_model("evaluations", "DisaggregationDimension")
    Value = apps.get_model("evaluations", "DisaggregationValue")
    for portfolio in Portfolio.objects.all():
        have = set(Dimension.objects.filter(portfolio=portfolio).values_list("code", flat=True))
        for position, (code, name, values) in enumerate(DEFAULTS):
            if code in have:
                continue
            dimension = Dimension.objects.create(
                portfolio=portfolio, code=code, name=name, position=position
            )
            Value.objects.bulk_create(
                Value(dimension=dimension, code=value, name=label, position=index)
                for index, (value, label) in enumerate(values)
            )


def remove_defaults(apps, schema_editor):
    # Going back to the fixed list: the dimensions are dropped with their table.
    apps.get_model("evaluations", "DisaggregationDimension").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0009_standard_indicators_and_dimensions"),
    ]

    operations = [migrations.RunPython(add_defaults, remove_defaults)]

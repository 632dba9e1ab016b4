"""What projects adopting one standard indicator add up to, on plain values."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluations import portfolio_results as pr
from evaluations.progress import CUMULATIVE, NON_CUMULATIVE, Observation

D = Decimal


def seen(start, end, value=None, category="", numerator=None, denominator=None):
    if value is None and denominator:
        value = D(numerator) / D(denominator) * 100
    return Observation(
        date.fromisoformat(start),
        date.fromisoformat(end),
        D(value),
        None if numerator is None else D(numerator),
        None if denominator is None else D(denominator),
        category,
    )


def test_counts_add_up_across_projects_per_category():
    rule = pr.Rule(pr.NUMBER, CUMULATIVE)
    result = pr.aggregate(
        rule,
        [
            pr.Series(
                "A",
                (
                    seen("2025-01-01", "2025-03-31", 100),
                    seen("2025-04-01", "2025-06-30", 50),
                    seen("2025-01-01", "2025-03-31", 60, "sex:female"),
                ),
            ),
            pr.Series("B", (seen("2025-01-01", "2025-06-30", 200),)),
        ],
    )
    assert result.totals[""].value == D(350)  # A's cumulative 150 + B's 200
    assert result.totals[""].projects == 2
    assert result.totals["sex:female"].value == D(60)
    assert result.totals["sex:female"].projects == 1  # women of one project, not the portfolio's
    assert result.categories == ["", "sex:female"]


def test_non_cumulative_counts_take_each_projects_latest_value():
    rule = pr.Rule(pr.NUMBER, NON_CUMULATIVE)
    result = pr.aggregate(
        rule,
        [
            pr.Series(
                "A", (seen("2025-01-01", "2025-03-31", 100), seen("2025-04-01", "2025-06-30", 80))
            ),
            pr.Series("B", (seen("2025-01-01", "2025-03-31", 20),)),
        ],
    )
    assert result.totals[""].value == D(100)


def test_percentages_are_recomputed_from_numerators_and_denominators():
    rule = pr.Rule(pr.PERCENTAGE, NON_CUMULATIVE)
    result = pr.aggregate(
        rule,
        [
            pr.Series("A", (seen("2025-01-01", "2025-03-31", numerator=90, denominator=100),)),
            pr.Series("B", (seen("2025-01-01", "2025-03-31", numerator=10, denominator=900),)),
        ],
    )
    total = result.totals[""]
    assert (total.numerator, total.denominator) == (D(100), D(1000))
    assert total.value == D(10)  # not (90% + 1.1%) / 2


def test_medians_are_not_added_up():
    rule = pr.Rule(pr.NUMBER, NON_CUMULATIVE, pr.NOT_ADDED)
    result = pr.aggregate(
        rule,
        [
            pr.Series("A", (seen("2025-01-01", "2025-03-31", 12),)),
            pr.Series("B", (seen("2025-01-01", "2025-03-31", 30),)),
        ],
    )
    assert result.totals == {}
    assert "not added up" in result.not_added
    assert [p.cells[""].value for p in result.projects] == [D(12), D(30)]
    with pytest.raises(ValueError, match="not added up"):
        pr.combine(rule, [p.cells[""] for p in result.projects])


def test_scores_are_not_added_up():
    rule = pr.Rule(pr.QUALITATIVE, NON_CUMULATIVE, pr.ADD)
    assert not rule.adds_up
    assert pr.aggregate(rule, [pr.Series("A", (seen("2025-01-01", "2025-03-31", 3),))]).totals == {}


def test_a_project_without_verified_values_adds_nothing():
    result = pr.aggregate(pr.Rule(pr.NUMBER, CUMULATIVE), [pr.Series("A", ())])
    assert result.totals == {} and result.projects[0].cells == {}


@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(1, 10_000)).filter(lambda p: p[0] <= p[1]),
        min_size=1,
        max_size=6,
    )
)
def test_a_portfolio_percentage_lies_between_the_projects_percentages(pairs):
    rule = pr.Rule(pr.PERCENTAGE, CUMULATIVE)
    series = [
        pr.Series(str(i), (seen("2025-01-01", "2025-03-31", numerator=n, denominator=d),))
        for i, (n, d) in enumerate(pairs)
    ]
    result = pr.aggregate(rule, series)
    values = [p.cells[""].value for p in result.projects]
    assert min(values) - D("1e-20") <= result.totals[""].value <= max(values) + D("1e-20")
    assert result.totals[""].numerator == sum(D(n) for n, _ in pairs)


@given(st.lists(st.integers(0, 1_000_000), min_size=1, max_size=8))
def test_a_portfolio_count_is_the_sum_of_the_projects_counts(counts):
    series = [
        pr.Series(str(i), (seen("2025-01-01", "2025-03-31", value),))
        for i, value in enumerate(counts)
    ]
    assert pr.aggregate(pr.Rule(pr.NUMBER, CUMULATIVE), series).totals[""].value == sum(counts)

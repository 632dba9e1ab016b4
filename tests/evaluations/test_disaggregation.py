"""Disaggregation keys and the parts ≤ total check, on plain values."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluations import disaggregation as d

D = Decimal
PORTFOLIO = {"sex": ["female", "male"], "location": ["urban", "rural"], "language": []}


def test_a_combination_has_one_key_whatever_the_order():
    assert d.canonical("sex:female+location:rural") == "location:rural+sex:female"
    assert d.parse("location:rural+sex:female") == (("location", "rural"), ("sex", "female"))
    assert d.parse("") == ()


@pytest.mark.parametrize("key", ["sex", "sex:", ":female", "sex:female+sex:male", "a:b++c:d"])
def test_a_malformed_key_is_refused(key):
    with pytest.raises(d.BadKey):
        d.parse(key)


@pytest.mark.parametrize(
    ("key", "chosen", "says"),
    [
        ("religion:x", ["sex"], "religion is not a disaggregation dimension"),
        ("sex:other", ["sex"], "other is not a value of the dimension sex"),
        ("location:rural", ["sex"], "not disaggregated by location"),
        ("location:rural+sex:female", ["sex"], "not disaggregated by location"),
        ("sex=female", ["sex"], "write dimension:value"),
    ],
)
def test_a_category_outside_the_portfolios_dimensions_is_named(key, chosen, says):
    assert says in d.problem(key, PORTFOLIO, chosen)


def test_a_combination_of_chosen_dimensions_is_accepted():
    assert d.problem("location:rural+sex:female", PORTFOLIO, ["sex", "location"]) is None
    assert d.problem("", PORTFOLIO, []) is None


def test_labels_come_from_the_portfolios_names():
    names = {"sex:female": "Sex: Female", "location:rural": "Urban / rural: Rural"}
    assert d.label("location:rural+sex:female", names) == "Urban / rural: Rural, Sex: Female"
    assert d.label("", names) == "Total"


def test_a_part_above_its_total_is_named():
    found = d.part_problems({"": D(100), "sex:female": D(120)})
    assert [(each.cell, each.container) for each in found] == [("sex:female", "")]
    assert "sex:female (120) is above Total (100)" in found[0].message


def test_the_values_of_one_dimension_add_up_to_at_most_the_total():
    found = d.part_problems({"": D(100), "sex:female": D(60), "sex:male": D(50)})
    assert len(found) == 1
    assert found[0].parts == ("sex:female", "sex:male")
    assert "add up to 110" in found[0].message


def test_rural_women_are_at_most_women_and_at_most_rural_people():
    cells = {"sex:female": D(40), "location:rural": D(30), "location:rural+sex:female": D(35)}
    found = d.part_problems(cells)
    assert [(each.cell, each.container) for each in found] == [
        ("location:rural+sex:female", "location:rural")
    ]


def test_cells_of_different_dimensions_may_add_up_past_the_total():
    # Women and rural people overlap: 60 + 70 > 100 is fine.
    assert d.part_problems({"": D(100), "sex:female": D(60), "location:rural": D(70)}) == []


def test_only_the_problems_about_one_cell_are_kept():
    found = d.part_problems({"": D(100), "sex:female": D(60), "sex:male": D(50)})
    assert d.problems_about("sex:male", found) == found
    assert d.problems_about("location:rural", found) == []


@given(
    total=st.integers(min_value=0, max_value=10_000),
    shares=st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=2),
)
def test_parts_split_from_a_total_never_raise_a_problem(total, shares):
    female = total * shares[0] // 100
    male = (total - female) * shares[1] // 100
    rural_women = female * shares[1] // 100
    cells = {
        "": D(total),
        "sex:female": D(female),
        "sex:male": D(male),
        "location:rural+sex:female": D(rural_women),
    }
    assert d.part_problems(cells) == []


@given(
    total=st.integers(min_value=0, max_value=10_000), extra=st.integers(min_value=1, max_value=99)
)
def test_a_part_past_the_total_is_always_found(total, extra):
    found = d.part_problems({"": D(total), "sex:female": D(total + extra)})
    assert [each.cell for each in found] == ["sex:female"]

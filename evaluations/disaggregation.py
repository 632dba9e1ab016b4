"""Disaggregation categories as plain values: how a cell is named, and the parts ≤ total check.

A cell of a measurement or target is named by a key: ``""`` for the total, ``"sex:female"``
for one value of one dimension, and ``"location:rural+sex:female"`` for a combination (rural
women), its dimensions in alphabetical order so that one combination has one key.

Values of one dimension do not overlap (a person is female or male, not both), so, for a
measure that counts (a number, or the numerator and the denominator of a percentage), the
cells of one period must nest:

- a cell is never above a cell that has one dimension fewer (rural women ≤ women, women ≤ total);
- the values of one dimension, under the same cell, add up to at most that cell
  (women + men ≤ total; rural women + urban women ≤ women).

Scores on a scale, medians and the like do not nest, so nothing is checked for them.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

TOTAL = ""
PART = ":"
JOIN = "+"


class BadKey(ValueError):
    """A key that does not follow the grammar above."""


def parse(key: str) -> tuple[tuple[str, str], ...]:
    """The (dimension, value) pairs a key names; ``()`` for the total."""
    if key == TOTAL:
        return ()
    pairs = []
    for part in key.split(JOIN):
        dimension, colon, value = part.partition(PART)
        if not colon or not dimension or not value:
            raise BadKey(f"{part!r} is not dimension:value")
        pairs.append((dimension, value))
    dimensions = [dimension for dimension, _value in pairs]
    if len(set(dimensions)) != len(dimensions):
        raise BadKey(f"{key!r} names a dimension twice")
    return tuple(sorted(pairs))


def key_of(pairs: Iterable[tuple[str, str]]) -> str:
    """The one key of a combination, whatever order its pairs come in."""
    return JOIN.join(f"{dimension}{PART}{value}" for dimension, value in sorted(pairs))


def canonical(key: str) -> str:
    """``key`` rewritten with its dimensions in order (``sex:female+location:rural`` becomes
    ``location:rural+sex:female``)."""
    return key_of(parse(key))


def problem(key: str, categories: Mapping[str, Iterable[str]], chosen: Iterable[str]) -> str | None:
    """Why ``key`` cannot be used by an indicator disaggregated by ``chosen`` dimensions, with
    ``categories`` the portfolio's values per dimension; None when it can."""
    try:
        pairs = parse(key)
    except BadKey:
        return _(
            "%(key)s is not a disaggregation category: write dimension:value, joined with + for a combination."
        ) % {"key": key}
    chosen = set(chosen)
    for dimension, value in pairs:
        if dimension not in categories:
            return _("%(dimension)s is not a disaggregation dimension of this portfolio.") % {
                "dimension": dimension
            }
        if value not in set(categories[dimension]):
            return _("%(value)s is not a value of the dimension %(dimension)s.") % {
                "value": value,
                "dimension": dimension,
            }
        if dimension not in chosen:
            return _("This indicator is not disaggregated by %(dimension)s.") % {
                "dimension": dimension
            }
    return None


def label(key: str, names: Mapping[str, str], total: str = "Total") -> str:
    """A key in words, from ``names`` of single categories (``"sex:female"`` -> ``"Sex: Female"``)."""
    if key == TOTAL:
        return total
    try:
        pairs = parse(key)
    except BadKey:
        return key
    return ", ".join(names.get(key_of([pair]), key_of([pair])) for pair in pairs)


@dataclass(frozen=True)
class PartProblem:
    """A cell above what contains it: ``cell`` is the one that is off."""

    cell: str
    container: str
    message: str
    parts: tuple[str, ...] = ()  # every cell of a sum that is too large


def part_problems(
    cells: Mapping[str, Decimal], describe: Callable[[str], str] = lambda key: key or "Total"
) -> list[PartProblem]:
    """Every place where the parts of one period exceed what contains them (see the module)."""
    found = []
    pairs_of = {key: parse(key) for key in cells}
    for key, pairs in pairs_of.items():
        for dropped in pairs:
            container = key_of(pair for pair in pairs if pair != dropped)
            if container in cells and cells[key] > cells[container]:
                found.append(
                    PartProblem(
                        key,
                        container,
                        f"{describe(key)} ({_plain(cells[key])}) is above "
                        f"{describe(container)} ({_plain(cells[container])}).",
                    )
                )
    siblings = defaultdict(list)  # (container, dimension) -> keys
    for key, pairs in pairs_of.items():
        for dropped in pairs:
            container = key_of(pair for pair in pairs if pair != dropped)
            siblings[(container, dropped[0])].append(key)
    for (container, dimension), keys in sorted(siblings.items()):
        if container not in cells or len(keys) < 2:
            continue
        together = sum((cells[key] for key in keys), Decimal(0))
        if together > cells[container]:
            named = " + ".join(describe(key) for key in sorted(keys))
            found.append(
                PartProblem(
                    sorted(keys)[-1],
                    container,
                    f"{named} add up to {_plain(together)}, above "
                    f"{describe(container)} ({_plain(cells[container])}): the values of "
                    f"{dimension} do not overlap, so together they are at most the whole.",
                    tuple(sorted(keys)),
                )
            )
    return found


def problems_about(key: str, problems: Iterable[PartProblem]) -> list[PartProblem]:
    """The problems that involve ``key``, as the part that is off or as what contains it."""
    return [each for each in problems if key in (each.container, each.cell, *each.parts)]


def _plain(number):
    return f"{Decimal(number).normalize():f}"

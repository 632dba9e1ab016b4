"""IATI activity import: an iati-activities file into a portfolio, all of it or none of it."""

# An iati-activities file creates or updates projects, their funding and implementing
# organisations and their tranches in a portfolio, all of it or none of it. One way, no cycles:
# `reading` (the file, not trusted) -> `parsing` (what it says, in plain data) -> `saving`
# (through the services, in one transaction); `results` is what each of them reports.

from django.core.exceptions import PermissionDenied

from funding.models import Tranche
from portfolio import access

from .parsing import parse
from .reading import read, size_refusal
from .results import Counts, ImportResult, Problem, Refused
from .saving import Importer

__all__ = ["ImportResult", "Problem", "import_activities", "size_refusal"]


def import_activities(fileobj, portfolio, user) -> ImportResult:
    """Read an IATI activity file into `portfolio` as `user`; all of it is saved, or none."""
    if not access.may(user, access.ADD, Tranche):
        raise PermissionDenied(access.reason(user, access.ADD, Tranche))
    result = ImportResult()
    try:
        root = read(fileobj)
        activities = parse(root, result)
    except Refused as refusal:
        result.errors.append(Problem("/", str(refusal)))
        return result
    Importer(portfolio, user, result).run(activities)
    if result.errors:
        result.projects, result.organisations = Counts(), Counts()
        result.tranches, result.disbursements = Counts(), Counts()
    return result

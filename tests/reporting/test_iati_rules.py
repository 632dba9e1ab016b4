"""The IATI Standard Ruleset over the export: no error, no warning; and the evaluator can fail."""

import json
from copy import deepcopy
from io import BytesIO

import pytest
from lxml import etree

from reporting import iati
from tests.reporting import iati_rules

pytestmark = pytest.mark.django_db


def used_kinds(rules):
    for by_kind in rules.values():
        for kind, spec in by_kind.items():
            yield kind
            if kind == "loop":
                for case in spec["cases"]:
                    yield from case["do"]


def test_every_rule_kind_the_ruleset_uses_is_implemented():
    kinds = set(used_kinds(iati_rules.ruleset()))
    assert kinds >= {"atleast_one", "date_order", "strict_sum", "startswith", "if_then"}
    missing = {kind for kind in kinds - {"loop"} if not hasattr(iati_rules.Rule, kind)}
    assert not missing


@pytest.fixture
def demo_file(demo):
    out = BytesIO()
    iati.write_activities(out, demo)
    return etree.fromstring(out.getvalue())


def test_the_demo_export_breaks_no_rule_of_the_standard_ruleset(demo_file):
    findings = iati_rules.evaluate(demo_file)
    assert findings == [], "\n".join(str(finding) for finding in findings)


def ids(root):
    return {finding.id for finding in iati_rules.evaluate(root)}


def test_the_evaluator_finds_errors_and_warnings(demo_file):
    """Each change breaks one rule; the evaluator must say which."""
    cases = [
        (lambda a: a.find("sector").set("percentage", "60"), "2.1.4"),
        (lambda a: a.find("budget/period-end").set("iso-date", "2099-12-31"), "7.5.3"),
        (lambda a: a.find("iati-identifier").__setattr__("text", "OTHER-1"), "1.1.21"),
        (lambda a: a.find("iati-identifier").__setattr__("text", " XM-DAC-46990-X"), "1.3.1"),
        (lambda a: a.find("reporting-org").set("ref", "ZZ-NOPE-1"), "1.14.8"),
        (lambda a: a.set("last-updated-datetime", "2999-01-01T00:00:00+00:00"), "11.1.1"),
        (lambda a: a.find("activity-date[@type='2']").set("iso-date", "2999-01-01"), "11.1.4"),
        (lambda a: a.find("transaction/transaction-date").set("iso-date", "2999-01-01"), "11.2.1"),
        (lambda a: a.remove(a.find("sector")), "6.2.2"),
        (
            lambda a: a.find("planned-disbursement/period-end").set("iso-date", "1999-01-01"),
            "8.6.3",
        ),
        (lambda a: a.find("participating-org").attrib.pop("ref"), None),  # still named: fine
    ]
    for change, rule in cases:
        root = deepcopy(demo_file)
        activity = next(
            a
            for a in root.findall("iati-activity")
            if a.find("activity-date[@type='2']") is not None
        )
        change(activity)
        found = ids(root)
        if rule is None:
            assert found == set(), found
        else:
            assert rule in found, (rule, found)


def test_the_evaluator_runs_loops_with_their_value_substituted(demo_file):
    root = deepcopy(demo_file)
    activity = root.find("iati-activity")
    for code in ("1", "2"):
        etree.SubElement(
            activity, "recipient-region", vocabulary="1", code=f"28{code}", percentage="30"
        )
    # The country and two regions of vocabulary 1 share 60%, not 100%.
    assert "3.4.2" in ids(root)


def test_the_evaluator_reads_the_ruleset_shipped_for_the_tests():
    with open(iati_rules.RULESET, encoding="utf-8") as f:
        assert "/iati-activities/iati-activity" in json.load(f)

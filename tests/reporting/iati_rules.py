"""A small evaluator of IATI's Standard Ruleset (tests/data/iati-rulesets/standard.json).

It follows the ruleset's specification (IATI-Rulesets SPEC.rst, as IATI's Validator reads it)
for every rule kind the ruleset applies: atleast_one, no_more_than_one, one_or_all, unique,
strict_sum, range, date_order, date_now, time_limit, between_dates, regex_matches,
startswith, if_then, no_spaces and loop. Rules read the IATI Registry's list of publishers only through
`idCondition`, which makes a rule skip an identifier that is a registered publisher's; with no
such list here every rule applies, the stricter reading. Organisation-identifier prefixes come
from the OrganisationRegistrationAgency codelist the project ships.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from reporting import iati

RULESET = Path(__file__).resolve().parents[1] / "data" / "iati-rulesets" / "standard.json"
NAMESPACES = {"xml": "http://www.w3.org/XML/1998/namespace"}


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    message: str
    where: str  # the path of the element the rule was tested on

    def __str__(self):
        return f"{self.severity} {self.id} at {self.where}: {self.message}"


def ruleset():
    with open(RULESET, encoding="utf-8") as f:
        return json.load(f)


def org_id_prefixes():
    return iati.codelist("OrganisationRegistrationAgency")


def evaluate(root, now=None, rules=None) -> list[Finding]:
    """Every rule case that fails on the document `root` (an lxml element)."""
    now = now or datetime.now(UTC)
    tree = root.getroottree()
    prefixes = org_id_prefixes()
    findings = []
    for context, by_kind in (rules or ruleset()).items():
        for element in tree.xpath(context):
            for kind, spec in by_kind.items():
                for case in spec["cases"]:
                    tested = list(_loop(element, case)) if kind == "loop" else [(kind, case)]
                    for sub_kind, sub_case in tested:
                        if Rule(element, sub_case, prefixes, now).fails(sub_kind):
                            info = sub_case.get("ruleInfo", {})
                            findings.append(
                                Finding(
                                    info.get("id", "?"),
                                    info.get("severity", "?"),
                                    info.get("message", sub_kind),
                                    tree.getpath(element),
                                )
                            )
    return findings


def _loop(element, case):
    """A loop runs its rules once per distinct value `foreach` finds, with `$1` in the keys
    named by `subs` replaced by that value."""
    values = list(dict.fromkeys(str(v) for v in _select(element, case["foreach"])))
    for kind, spec in case["do"].items():
        for sub_case in spec["cases"]:
            for value in values:
                replaced = dict(sub_case)
                for key in case.get("subs", []):
                    if key not in sub_case:
                        continue
                    if isinstance(sub_case[key], str):
                        replaced[key] = sub_case[key].replace("$1", value)
                    else:
                        replaced[key] = [each.replace("$1", value) for each in sub_case[key]]
                yield kind, replaced


def _select(element, path):
    result = element.xpath(path, namespaces=NAMESPACES)
    return result if isinstance(result, list) else [result]


def _truth(element, path) -> bool:
    """An XPath expression as a boolean, the XPath way."""
    result = element.xpath(path, namespaces=NAMESPACES)
    if isinstance(result, list):
        return bool(result)
    if isinstance(result, float):
        return result == result and result != 0  # NaN is false
    return bool(result)


def _text(match) -> str:
    if isinstance(match, str):  # an attribute's value or a text node
        return str(match)
    return "".join(match.itertext())


def _moment(text):
    """A date or a date-time as an aware date-time, or None when it is not one."""
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class Rule:
    def __init__(self, element, case, prefixes, now):
        self.element, self.case, self.prefixes, self.now = element, case, prefixes, now
        self.matches = [m for path in case.get("paths", []) for m in _select(element, path)]
        self.texts = [_text(m) for m in self.matches]

    def fails(self, kind) -> bool:
        if "condition" in self.case and not _truth(self.element, self.case["condition"]):
            return False
        # idCondition skips identifiers of registered publishers; none are known here.
        method = getattr(self, kind, None)
        if method is None:
            raise NotImplementedError(f"The ruleset uses {kind!r}, which is not implemented.")
        return method() is False

    def date(self, key):
        path = self.case.get(key)
        if path is None:
            return None
        if path == "NOW":
            return self.now
        found = _select(self.element, path)
        return _moment(_text(found[0]).strip()) if found else None

    # The rule kinds: each returns True (passed), False (failed) or None (not applicable).

    def atleast_one(self):
        return len(self.matches) >= 1

    def no_more_than_one(self):
        return len(self.matches) <= 1

    def one_or_all(self):
        if _select(self.element, self.case["one"]):
            return True
        everything = self.case["all"]
        if everything == "lang":
            return all(
                n.get(f"{{{NAMESPACES['xml']}}}lang") for n in self.element.iter("narrative")
            )
        if everything == "currency":
            return all(
                node.get("currency")
                for tag in ("value", "forecast", "loan-status")
                for node in self.element.iter(tag)
            )
        if everything == "sector":
            return all(t.find("sector") is not None for t in self.element.findall("transaction"))
        if everything == "recipient-country|recipient-region":
            return all(
                t.find("recipient-country") is not None or t.find("recipient-region") is not None
                for t in self.element.findall("transaction")
            )
        return True

    def unique(self):
        return len(self.texts) == len(set(self.texts))

    def strict_sum(self):
        try:
            total = sum((Decimal(text) for text in self.texts), Decimal(0))
        except InvalidOperation:
            return False
        return round(total, 4) == Decimal(str(self.case["sum"]))

    def range(self):
        low, high = self.case.get("min"), self.case.get("max")
        for text in self.texts:
            try:
                value = float(text)
            except ValueError:
                return False
            if (low is not None and value < low) or (high is not None and value > high):
                return False
        return True

    def date_order(self):
        less, more = self.date("less"), self.date("more")
        if less is None or more is None:
            return None
        return less <= more

    def date_now(self):
        moment = self.date("date")
        return None if moment is None else moment <= self.now

    def between_dates(self):
        moment, start, end = self.date("date"), self.date("start"), self.date("end")
        if None in (moment, start, end):
            return None
        return start <= moment <= end

    def time_limit(self):
        start, end = self.date("start"), self.date("end")
        if start is None or end is None:
            return None
        return (end - start).days <= 365

    def regex_matches(self):
        pattern = re.compile(self.case["regex"])
        return all(text == "" or pattern.search(text) for text in self.texts)

    def startswith(self):
        prefixes = self.case["prefix"]
        if prefixes in ("ORG-ID-PREFIX", ["ORG-ID-PREFIX"]):
            return all("-".join(text.split("-")[:2]) in self.prefixes for text in self.texts)
        starts = [_text(m) for path in prefixes for m in _select(self.element, path)]
        separator = self.case.get("separator", "")
        return all(
            any(text.startswith(start + separator) for start in starts) for text in self.texts
        )

    def if_then(self):
        if _truth(self.element, self.case["if"]):
            return _truth(self.element, self.case["then"])
        return True

    def no_spaces(self):
        return all(text == text.strip() for text in self.texts)

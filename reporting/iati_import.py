"""IATI activity import: an iati-activities file creates or updates projects, their funding and
implementing organisations and their tranches in a portfolio, all of it or none of it.

A donor officer uploads a funder's own IATI publication, or a portfolio's own export. Projects
are matched on their iati-identifier, tranches on their funder and the commitment's reference
(`transaction/@ref`), disbursements on their reference (else their date and amount), so the
same file imported twice changes nothing. Everything is written through the services the other
doors use (`funding.services.save_tranche`, `disburse`, `save_loan_terms`, and project saves),
inside one transaction: every problem is collected, each with the XPath of what caused it, and
if there is one, nothing is kept.

What IATI says is read as IATI means it. A file this tracker wrote also carries its extension
(iati.EXTENSION): a project's code and lifecycle, a tranche's purpose, cover period and loan
schedule; read too, so that importing a portfolio's export into an empty one gives it back.
Without it: commitments (transaction type 2 or 11) become committed tranches, disbursements
(3 or 1) are paid on the commitment of the same provider they name or, failing that, on its
earliest commitment with room left, and planned disbursements of a provider with no commitment
become planned tranches. Other transaction types, results, documents and sustainability plans
(IATI has no cost line; budgets are sums) are not imported.

The file is not trusted: its size is checked before it is read, and it is parsed by defusedxml,
which refuses any DTD, so neither entity expansion (a "billion laughs") nor external entities
can run.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from funding import services
from funding.models import Instrument, LoanTerms, Purpose, Tranche, TrancheStatus
from funding.signals import rescans_batched
from portfolio import access, errors
from portfolio.codelists import currencies
from portfolio.models import Organisation
from portfolio.services import save_row
from projects.models import PolicySignificance, Project, Status, TargetGroup

from . import iati

MAX_ACTIVITIES = 5000
CENT = Decimal("0.01")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

COMMITMENTS = {"2", "11"}  # TransactionType: Outgoing Commitment, Incoming Commitment
DISBURSEMENTS = {"3", "1"}  # TransactionType: Disbursement, Incoming Funds
FUNDER_TYPE = {
    "10": Organisation.FunderType.BILATERAL_DONOR,
    "40": Organisation.FunderType.MULTILATERAL_BANK,
    "60": Organisation.FunderType.PHILANTHROPY,
    "70": Organisation.FunderType.PRIVATE,
    "71": Organisation.FunderType.PRIVATE,
    "72": Organisation.FunderType.PRIVATE,
    "73": Organisation.FunderType.PRIVATE,
}
# ActivityStatus to a project status, for a file without this tracker's extension. Closed
# needs a launch date, which IATI does not carry; the project's own check then says so.
PROJECT_STATUS = {
    "1": Status.PIPELINE,
    "2": Status.IMPLEMENTING,
    "3": Status.IMPLEMENTING,
    "4": Status.CLOSED,
    "5": Status.CANCELLED,
}
# A new project must start in one of these; the import then takes it where the file says.
FIRST_STATUS = {Status.CLOSED: Status.LAUNCHED, Status.CANCELLED: Status.PIPELINE}
PROJECT_FIELDS = [
    "code",
    "title",
    "description",
    "country",
    "sector_code",
    "implementing_partner",
    "status",
    "planned_launch_date",
    "launch_date",
    "sustainability_months",
    "target_groups",
    "gender_marker",
    "disability_marker",
    "sdg_goals",
    "admin_regions",
]
TRANCHE_FIELDS = [
    "project_id",
    "instrument",
    "purpose",
    "status",
    "amount",
    "currency",
    "committed_on",
    "expected_disbursement_on",
    "covers_from",
    "covers_until",
    "fixed_rate",
]


@dataclass(frozen=True)
class Problem:
    xpath: str
    reason: str

    def as_dict(self):
        return {"xpath": self.xpath, "reason": self.reason}


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self):
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportResult:
    errors: list[Problem] = field(default_factory=list)
    projects: Counts = field(default_factory=Counts)
    organisations: Counts = field(default_factory=Counts)
    tranches: Counts = field(default_factory=Counts)
    disbursements: Counts = field(default_factory=Counts)

    @property
    def ok(self):
        return not self.errors

    @property
    def created(self):
        return any(
            counts.created
            for counts in (self.projects, self.organisations, self.tranches, self.disbursements)
        )

    def as_dict(self):
        return {
            "projects": self.projects.as_dict(),
            "organisations": self.organisations.as_dict(),
            "tranches": self.tranches.as_dict(),
            "disbursements": self.disbursements.as_dict(),
            "errors": [problem.as_dict() for problem in self.errors],
        }


class Refused(Exception):
    """The file as a whole cannot be read."""


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


# --- Reading, without trusting the file --------------------------------------------------


def read(fileobj):
    name = str(getattr(fileobj, "name", "") or "")
    if name and not name.lower().endswith(".xml"):
        raise Refused(_("Upload an IATI activity file (.xml); other file types are not accepted."))
    limit = settings.MAX_UPLOAD_BYTES
    size = getattr(fileobj, "size", None)
    if size is not None and size > limit:
        raise Refused(size_refusal(size, limit))
    fileobj.seek(0)
    data = fileobj.read(limit + 1)  # never more than the limit into memory
    if len(data) > limit:
        raise Refused(size_refusal(None, limit))
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise Refused(
            _(
                "The file declares a DTD or entities, which an IATI file never needs; it is "
                "refused ({error})."
            ).format(error=type(error).__name__)
        ) from error
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise Refused(
            _("The file is not well-formed XML (line {line}, column {column}).").format(
                line=line, column=column
            )
        ) from error
    if root.tag != "iati-activities":
        raise Refused(
            _(
                "The file's root element is <{tag}>; an IATI activity file has <iati-activities>."
            ).format(tag=root.tag)
        )
    version = (root.get("version") or "").strip()
    if not version.startswith("2."):
        raise Refused(
            _("This is IATI version {version}; files of version 2.01 to 2.03 are imported.").format(
                version=version or "?"
            )
        )
    return root


def size_refusal(size, limit):
    mb = 1024 * 1024
    if size is None:
        return _("The file is larger than the limit of {limit:.0f} MB.").format(limit=limit / mb)
    return _("The file is {size:.1f} MB; the limit is {limit:.0f} MB.").format(
        size=size / mb, limit=limit / mb
    )


class Node:
    """An element with its XPath from the root (/iati-activities/iati-activity[2]/...)."""

    def __init__(self, element, path):
        self.element, self.path = element, path

    def all(self, tag):
        found, seen = [], defaultdict(int)
        for child in self.element:
            if not isinstance(child.tag, str):
                continue  # a comment or processing instruction
            seen[child.tag] += 1
            if child.tag == tag:
                found.append(Node(child, f"{self.path}/{_step(tag)}[{seen[tag]}]"))
        return found

    def first(self, tag):
        found = self.all(tag)
        return found[0] if found else None

    def get(self, name, default=""):
        return (self.element.get(name) or default).strip()

    def at(self, name):
        return f"{self.path}/@{name}"

    def narrative(self):
        """The first narrative's text, preferring English."""
        narratives = self.element.findall("narrative")
        english = [n for n in narratives if n.get(XML_LANG, "en") == "en"]
        for each in english or narratives:
            text = " ".join((each.text or "").split())
            if text:
                return text
        return ""


def _step(tag):
    return tag.replace(f"{{{iati.EXTENSION}}}", "tracker:")


# --- Parsing: what the file says, in plain data ------------------------------------------


@dataclass
class OrgSaid:
    ref: str
    name: str
    type: str
    path: str

    @property
    def key(self):
        return ("ref", self.ref) if self.ref else ("name", self.name.casefold())


@dataclass
class DisbursementSaid:
    reference: str
    amount: Decimal
    disbursed_on: date
    path: str


@dataclass
class TrancheSaid:
    funder: OrgSaid
    reference: str
    path: str
    status: str = TrancheStatus.COMMITTED
    amount: Decimal | None = None
    currency: str = ""
    committed_on: date | None = None
    instrument: str = Instrument.GRANT
    purpose: str = Purpose.OTHER
    expected_disbursement_on: date | None = None
    covers_from: date | None = None
    covers_until: date | None = None
    fixed_rate: Decimal | None = None
    loan_terms: dict | None = None
    disbursements: list = field(default_factory=list)

    @property
    def key(self):
        return (self.funder.key, self.reference)


@dataclass
class ActivitySaid:
    identifier: str
    path: str
    reporter: OrgSaid | None
    where: dict  # project field -> XPath, for the project's own errors
    fields: dict  # project field -> value, as the file says
    status_code: str
    partner: OrgSaid | None
    funders: list
    tranches: list


class Parser:
    """Reads one iati-activity; problems go to the result with their XPath."""

    def __init__(self, result, currency_codes):
        self.result, self.currency_codes = result, currency_codes

    def problem(self, path, reason):
        self.result.errors.append(Problem(path, reason))

    def date(self, node, name="iso-date"):
        text = node.get(name)
        if not text:
            self.problem(node.at(name), _("A date is missing."))
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            self.problem(node.at(name), _("{text!r} is not a date (YYYY-MM-DD).").format(text=text))
            return None

    def optional_date(self, node, name):
        return self.date(node, name) if node.get(name) else None

    def money(self, value_node, default_currency):
        """(amount, currency) of a <value>, or (None, None) with a problem."""
        if value_node is None:
            return None, None
        text = (value_node.element.text or "").strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.problem(value_node.path, _("{text!r} is not an amount.").format(text=text))
            return None, None
        currency = value_node.get("currency") or default_currency
        if not amount.is_finite() or amount <= 0:
            self.problem(
                value_node.path,
                _("Only positive amounts are imported; corrections ({text}) are not.").format(
                    text=text
                ),
            )
            amount = None
        elif amount != amount.quantize(CENT) or amount >= Decimal("1e16"):
            self.problem(
                value_node.path,
                _("{text} has more than two decimal places or is too large.").format(text=text),
            )
            amount = None
        if not currency:
            self.problem(
                value_node.at("currency"),
                _("The value has no currency and the activity no default currency."),
            )
        elif currency not in self.currency_codes:
            self.problem(
                value_node.at("currency"),
                _("{currency!r} is not an ISO 4217 currency code.").format(currency=currency),
            )
            currency = None
        return (amount.quantize(CENT) if amount is not None else None), currency

    def org(self, node, fallback=None):
        if node is None:
            return fallback
        said = OrgSaid(node.get("ref"), node.narrative(), node.get("type"), node.path)
        if not said.ref and not said.name:
            if fallback is not None:
                return fallback
            self.problem(node.path, _("The organisation has neither an identifier nor a name."))
            return None
        return said

    def activity(self, node) -> ActivitySaid | None:
        before = len(self.result.errors)
        identifier_node = node.first("iati-identifier")
        identifier = (
            " ".join((identifier_node.element.text or "").split()) if identifier_node else ""
        )
        if not identifier:
            self.problem(f"{node.path}/iati-identifier", _("The activity has no identifier."))
            return None
        default_currency = node.get("default-currency")
        reporter = self.org(node.first("reporting-org"))
        extension = node.first(iati.ext("project"))
        where, fields = {}, {}

        title = node.first("title")
        where["title"] = f"{title.path if title else node.path + '/title'}/narrative"
        fields["title"] = title.narrative() if title else ""
        descriptions = [d for d in node.all("description") if d.get("type", "1") == "1"]
        if descriptions:
            where["description"] = f"{descriptions[0].path}/narrative"
            fields["description"] = descriptions[0].narrative()
        countries = node.all("recipient-country")
        if len(countries) != 1:
            self.problem(
                f"{node.path}/recipient-country",
                _("A project is in one country; the activity names {count}.").format(
                    count=len(countries)
                ),
            )
        else:
            where["country"] = countries[0].at("code")
            fields["country"] = countries[0].get("code").upper()
        sectors = [s for s in node.all("sector") if s.get("vocabulary", "1") == "1"]
        if not sectors:
            self.problem(
                f"{node.path}/sector",
                _("The activity names no OECD DAC 5-digit sector (vocabulary 1)."),
            )
        else:
            main = max(sectors, key=lambda s: _percentage(s.get("percentage")))
            where["sector_code"] = main.at("code")
            fields["sector_code"] = main.get("code")
        if extension is not None:
            fields.update(gender_marker=None, disability_marker=None, sdg_goals=[])
        self.markers(node, where, fields)
        self.tags(node, fields)
        regions = []
        for location in node.all("location"):
            kind = location.first("location-class")
            feature = location.first("feature-designation")
            if (kind is not None and kind.get("code") == iati.LOCATION_CLASS_ADMINISTRATIVE) or (
                feature is not None and feature.get("code") == iati.FEATURE_FIRST_LEVEL_REGION
            ):
                name = location.first("name")
                if name is not None and name.narrative():
                    regions.append(name.narrative())
                    where.setdefault("admin_regions", location.path)
        # A file says what it knows: an empty list is news only from this tracker's own file.
        if regions or extension is not None:
            fields["admin_regions"] = list(dict.fromkeys(regions))
        status = node.first("activity-status")
        status_code = status.get("code") if status else ""
        where["status"] = status.at("code") if status else f"{node.path}/activity-status"
        if extension is not None:
            self.extension(extension, where, fields)
        elif status_code not in PROJECT_STATUS:
            self.problem(
                where["status"],
                _("Activity status {code!r} is not one a project can have.").format(
                    code=status_code
                ),
            )

        partner, funders = None, []
        for each in node.all("participating-org"):
            role = each.get("role")
            if role == iati.ROLE_IMPLEMENTING and partner is None:
                partner = self.org(each)
            elif role == iati.ROLE_FUNDING:
                funder = self.org(each)
                if funder is not None:
                    funders.append(funder)
        if partner is None:
            self.problem(
                f"{node.path}/participating-org",
                _("The activity names no implementing organisation (participating-org role 4)."),
            )
        where["implementing_partner"] = partner.path if partner else node.path
        tranches = self.money_of(node, identifier, reporter, default_currency)
        if len(self.result.errors) > before:
            return None
        return ActivitySaid(
            identifier,
            node.path,
            reporter,
            where,
            fields,
            status_code,
            partner,
            funders,
            tranches,
        )

    def markers(self, node, where, fields):
        for marker in node.all("policy-marker"):
            if marker.get("vocabulary", iati.VOCABULARY_DAC) != iati.VOCABULARY_DAC:
                continue
            name = {
                iati.POLICY_GENDER: "gender_marker",
                iati.POLICY_DISABILITY: "disability_marker",
            }
            name = name.get(marker.get("code"))
            if name is None:
                continue
            significance = marker.get("significance")
            if significance not in {str(value) for value in PolicySignificance.values}:
                self.problem(
                    marker.at("significance"),
                    _("Significance {code!r} is not used for this marker (0, 1 or 2).").format(
                        code=significance
                    ),
                )
                continue
            where[name] = marker.at("significance")
            fields[name] = int(significance)

    def tags(self, node, fields):
        goals = []
        for tag in node.all("tag"):
            vocabulary, code = tag.get("vocabulary"), tag.get("code")
            if vocabulary == iati.TAG_SDG_GOAL and code.isdigit() and 1 <= int(code) <= 17:
                goals.append(int(code))
            elif vocabulary == iati.TAG_SDG_TARGET and code.split(".")[0].isdigit():
                goal = int(code.split(".")[0])  # a target such as 5.b serves goal 5
                if 1 <= goal <= 17:
                    goals.append(goal)
        if goals:
            fields["sdg_goals"] = sorted(set(goals))

    def extension(self, extension, where, fields):
        fields["code"] = extension.get("code")
        where["code"] = extension.at("code")
        status = extension.get("status")
        if status not in Status.values:
            self.problem(
                extension.at("status"),
                _("{status!r} is not a project status.").format(status=status),
            )
        fields["status"] = status
        where["status"] = extension.at("status")
        for name, attribute in (
            ("planned_launch_date", "planned-launch-date"),
            ("launch_date", "launch-date"),
        ):
            fields[name] = self.optional_date(extension, attribute)
            where[name] = extension.at(attribute)
        months = extension.get("sustainability-months")
        if months:
            if months.isdigit():
                fields["sustainability_months"] = int(months)
            else:
                self.problem(extension.at("sustainability-months"), _("A whole number of months."))
            where["sustainability_months"] = extension.at("sustainability-months")
        groups = extension.get("target-groups").split()
        unknown = [group for group in groups if group not in TargetGroup.values]
        if unknown:
            self.problem(
                extension.at("target-groups"),
                _("Unknown target groups: {groups}.").format(groups=", ".join(unknown)),
            )
        fields["target_groups"] = [group for group in groups if group in TargetGroup.values]
        where["target_groups"] = extension.at("target-groups")

    def money_of(self, node, identifier, reporter, default_currency):
        """The activity's tranches, each with its disbursements."""
        tranches = {}  # key -> TrancheSaid, in the order they are first met
        committing = set()  # providers (keys) with a commitment in this activity
        unreferenced = defaultdict(int)
        pending = []  # (link, DisbursementSaid, provider, transaction ref)
        default_finance = node.first("default-finance-type")
        for each in node.all("transaction"):
            kind = each.first("transaction-type")
            code = kind.get("code") if kind else ""
            if code not in COMMITMENTS | DISBURSEMENTS:
                continue
            provider = self.org(each.first("provider-org"), fallback=reporter)
            if provider is None:
                self.problem(f"{each.path}/provider-org", _("Which organisation pays is not said."))
                continue
            day_node = each.first("transaction-date")
            day = self.date(day_node) if day_node else None
            if day_node is None:
                self.problem(f"{each.path}/transaction-date", _("The transaction has no date."))
            amount, currency = self.money(each.first("value"), default_currency)
            link = each.first(iati.ext("tranche"))
            if code in COMMITMENTS:
                reference = link.get("reference") if link else ""
                reference = reference or each.get("ref")
                if not reference and day:
                    unreferenced[(provider.key, day)] += 1
                    count = unreferenced[(provider.key, day)]
                    reference = f"{identifier}/{day.isoformat()}" + (
                        f"-{count}" if count > 1 else ""
                    )
                said = TrancheSaid(provider, reference, each.path)
                said.amount, said.currency, said.committed_on = amount, currency, day
                finance = each.first("finance-type") or default_finance
                if finance is not None and finance.get("code").startswith("4"):
                    said.instrument = Instrument.LOAN
                if link is not None and link.get("instrument"):
                    self.describe(link, said)
                if said.key in tranches and tranches[said.key].status == TrancheStatus.COMMITTED:
                    earlier = tranches[said.key]  # a top-up of the same agreement
                    if None not in (earlier.amount, amount) and earlier.currency == currency:
                        earlier.amount += amount
                    else:
                        self.problem(
                            each.path,
                            _("A second commitment {reference!r} in another currency.").format(
                                reference=reference
                            ),
                        )
                    continue
                tranches[said.key] = said
                committing.add(provider.key)
            else:
                reference = each.get("ref")
                if None in (amount, day):
                    continue
                pending.append(
                    (
                        link.get("reference") if link else None,
                        DisbursementSaid(reference, amount, day, each.path),
                        provider,
                        currency,
                    )
                )
        for each in node.all("planned-disbursement"):
            link = each.first(iati.ext("tranche"))
            provider = self.org(each.first("provider-org"), fallback=reporter)
            if provider is None:
                continue
            described = link is not None and link.get("instrument")
            if link is not None and not described:
                continue  # money described elsewhere in the file (its commitment, its plan)
            if not described and provider.key in committing:
                continue  # a forecast of committed money
            start_node = each.first("period-start")
            start = self.date(start_node) if start_node else None
            if start_node is None:
                self.problem(
                    f"{each.path}/period-start", _("The planned disbursement has no start.")
                )
            amount, currency = self.money(each.first("value"), default_currency)
            if described and link.get("reference"):
                reference = link.get("reference")
            else:
                reference = f"{identifier}/{start.isoformat()}" if start else ""
            said = TrancheSaid(provider, reference, each.path, status=TrancheStatus.PLANNED)
            said.amount, said.currency = amount, currency
            if described:
                self.describe(link, said)
            else:
                said.expected_disbursement_on = start
                value = each.first("value")
                if value is not None and value.get("value-date"):
                    said.expected_disbursement_on = self.optional_date(value, "value-date")
                if said.key in tranches and each.get("type") != "2":
                    continue  # the revision of a period wins over its original plan
            tranches[said.key] = said
        for said in tranches.values():
            if not said.reference:
                self.problem(said.path, _("The tranche has no reference to match it on."))
            elif len(said.reference) > 100:
                self.problem(said.path, _("The reference is longer than 100 characters."))
        self.attach(pending, tranches, committing)
        return list(tranches.values())

    def describe(self, link, said):
        """What this tracker's extension says of a tranche."""
        said.instrument = link.get("instrument")
        said.purpose = link.get("purpose")
        if link.get("status"):
            said.status = link.get("status")
        if link.get("committed-on"):
            said.committed_on = self.optional_date(link, "committed-on")
        for name in ("expected-disbursement-on", "covers-from", "covers-until"):
            setattr(said, name.replace("-", "_"), self.optional_date(link, name))
        if link.get("fixed-rate"):
            try:
                said.fixed_rate = Decimal(link.get("fixed-rate"))
            except InvalidOperation:
                self.problem(link.at("fixed-rate"), _("Not a rate."))
        for name, choices in (
            ("instrument", Instrument.values),
            ("purpose", Purpose.values),
            ("status", TrancheStatus.values),
        ):
            if getattr(said, name) not in choices:
                self.problem(
                    link.at(name), _("{value!r} is not known.").format(value=getattr(said, name))
                )
        terms = link.first(iati.ext("loan-terms"))
        if terms is not None:
            said.loan_terms = {
                "annual_rate_percent": terms.get("annual-rate-percent"),
                "tenor_months": terms.get("tenor-months"),
                "grace_months": terms.get("grace-months"),
                "method": terms.get("method"),
                "frequency_months": terms.get("frequency-months"),
                "first_payment_date": terms.get("first-payment-date"),
                "path": terms.path,
            }

    def attach(self, pending, tranches, committing):
        """Each disbursement on its tranche: the one the file links it to, else the provider's
        commitment of the same reference, its only one, or its earliest with room left."""
        room = {key: said.amount or Decimal(0) for key, said in tranches.items()}
        for linked, disbursement, provider, currency in pending:
            candidates = [
                said
                for said in tranches.values()
                if said.funder.key == provider.key and said.status == TrancheStatus.COMMITTED
            ]
            chosen = None
            if linked:
                chosen = tranches.get((provider.key, linked))
            if chosen is None:
                same = [s for s in candidates if s.reference == disbursement.reference]
                if same:
                    chosen = same[0]
                elif len(candidates) == 1:
                    chosen = candidates[0]
                else:
                    chosen = next(
                        (s for s in candidates if room[s.key] >= disbursement.amount), None
                    )
            if chosen is None:
                self.problem(
                    disbursement.path,
                    _("No commitment of this provider in the activity can take this payment."),
                )
                continue
            if currency and chosen.currency and currency != chosen.currency:
                self.problem(
                    f"{disbursement.path}/value/@currency",
                    _("The payment is in {paid}; its commitment is in {committed}.").format(
                        paid=currency, committed=chosen.currency
                    ),
                )
                continue
            room[chosen.key] -= disbursement.amount
            chosen.disbursements.append(disbursement)


def _percentage(text):
    try:
        return Decimal(text) if text else Decimal(100)
    except InvalidOperation:
        return Decimal(0)


def parse(root, result) -> list[ActivitySaid]:
    top = Node(root, "/iati-activities")
    nodes = top.all("iati-activity")
    if not nodes:
        raise Refused(_("The file holds no iati-activity."))
    if len(nodes) > MAX_ACTIVITIES:
        raise Refused(
            _(
                "At most {limit:,} activities can be imported at once; the file holds {count:,}."
            ).format(limit=MAX_ACTIVITIES, count=len(nodes))
        )
    parser = Parser(result, currencies())
    activities, seen = [], {}
    for node in nodes:
        said = parser.activity(node)
        if said is None:
            continue
        if said.identifier in seen:
            result.errors.append(
                Problem(
                    f"{node.path}/iati-identifier",
                    _("{node} has the same identifier.").format(node=seen[said.identifier]),
                )
            )
            continue
        seen[said.identifier] = node.path
        activities.append(said)
    return activities


# --- Saving ------------------------------------------------------------------------------


class Rollback(Exception):
    """Raised to undo the whole import once every problem is known."""


class Importer:
    def __init__(self, portfolio, user, result):
        self.portfolio, self.user, self.result = portfolio, user, result
        self.manager = access.roles(user).manager
        self.organisations = {}  # OrgSaid.key -> Organisation, or None when it failed
        self.created = set()  # (model label, pk) of the rows this import created

    def problem(self, path, reason):
        self.result.errors.append(Problem(path, reason))

    def run(self, activities):
        try:
            # One rescan of the projects the file touched, inside the same transaction, so the
            # flags are current when it commits (and nothing is scanned when it rolls back).
            with rescans_batched():
                self.save_organisations(activities)
                for said in activities:
                    self.activity(said)
                if self.result.errors:
                    raise Rollback
        except Rollback:
            return

    def write(self, path, save, *args, where=None):
        """Run one save in a savepoint; a refusal becomes a problem at `path` (or, for a
        field, at where[field]) and the import goes on, so that every problem is found."""
        try:
            with transaction.atomic():
                return save(*args), True
        except (ValidationError, IntegrityError) as error:
            if isinstance(error, IntegrityError):  # a plain sentence, never the constraint's name
                error = errors.from_integrity_error(error)
            for name, messages in _messages(error):
                for message in messages:
                    self.problem((where or {}).get(name, path), message)
        except PermissionDenied as error:
            self.problem(path, str(error))
        return None, False

    def save_row(self, row):
        """Save a project or an organisation as the role table allows. The one exception: a
        donor officer's import brings in the projects and organisations its file names that
        do not exist yet (officers import their funders' publications); changing existing
        ones stays with portfolio managers."""
        is_new = row.pk is None
        ours = is_new or (row._meta.label_lower, row.pk) in self.created
        if ours and not access.may(self.user, access.ADD, row):
            row._history_user = self.user
            row.full_clean()
            row.save()
        else:
            save_row(row, self.user)
        if is_new:
            self.created.add((row._meta.label_lower, row.pk))
        return row

    # Organisations

    def save_organisations(self, activities):
        """Every organisation the file names, once, with every part it plays in the file."""
        needed = {}
        for said in activities:
            named = [(said.partner, "implementer")]
            named += [(funder, "funder") for funder in said.funders]
            named += [(tranche.funder, "funder") for tranche in said.tranches]
            for org, part in named:
                if org is not None:
                    needed.setdefault(org.key, (org, set()))[1].add(part)
        for key, (said, parts) in needed.items():
            self.organisations[key] = self.save_organisation(said, parts)

    def find_organisation(self, said):
        if said.ref:
            found = Organisation.objects.filter(iati_identifier=said.ref).first()
            if found is not None:
                return found, True
        if said.name:
            found = Organisation.objects.filter(name__iexact=said.name).first()
            if found is not None and said.ref and found.iati_identifier:
                self.problem(
                    f"{said.path}/@ref",
                    _("{name} has the IATI identifier {stored} here; the file says {ref}.").format(
                        name=found.name, stored=found.iati_identifier, ref=said.ref
                    ),
                )
                return None, False
            return found, True
        return None, True

    def save_organisation(self, said, parts):
        found, ok = self.find_organisation(said)
        if not ok:
            return None
        organisation = found or Organisation(name=(said.name or said.ref)[:200])
        changed = found is None
        if said.ref and not organisation.iati_identifier:
            organisation.iati_identifier, changed = said.ref, True
        if "implementer" in parts and not organisation.is_implementer:
            organisation.is_implementer, changed = True, True
        if "funder" in parts:
            if not organisation.is_funder:
                organisation.is_funder, changed = True, True
            funder_type = FUNDER_TYPE.get(said.type, "")
            if funder_type and not organisation.funder_type:
                organisation.funder_type, changed = funder_type, True
        if not changed:
            self.result.organisations.unchanged += 1
            return organisation
        if found is not None and not self.manager:
            self.problem(
                said.path,
                _("Only a portfolio manager changes an organisation that exists ({name}).").format(
                    name=organisation.name
                ),
            )
            return None
        saved, ok = self.write(said.path, self.save_row, organisation)
        if not ok:
            return None
        if found is None:
            self.result.organisations.created += 1
        else:
            self.result.organisations.updated += 1
        return saved

    # Projects

    def activity(self, said):
        partner = self.organisations.get(said.partner.key)
        if partner is None:
            return
        project = self.project(said, partner)
        if project is None:
            return
        for tranche_said in said.tranches:
            self.tranche(project, tranche_said)

    def code(self, said):
        if said.fields.get("code"):
            return said.fields["code"]
        prefix = f"{said.reporter.ref}-" if said.reporter and said.reporter.ref else None
        if prefix and said.identifier.startswith(prefix):
            return said.identifier[len(prefix) :]
        return said.identifier

    def project(self, said, partner):
        code = self.code(said)
        projects = Project.objects.filter(portfolio=self.portfolio)
        project = projects.filter(iati_identifier=said.identifier).first()
        project = project or projects.filter(code=code).first()
        is_new = project is None
        if is_new and len(code) > 40:
            self.problem(
                f"{said.path}/iati-identifier",
                _("{code!r} is too long for a project code (at most 40 characters).").format(
                    code=code
                ),
            )
            return None
        values = dict(said.fields, implementing_partner=partner)
        if values.get("description") == values.get("title"):
            # A description that repeats the title (as an export writes for a project without
            # one) adds nothing: a new project gets none, an existing one keeps its own.
            del values["description"]
        if is_new:
            values["code"] = code
            values.setdefault("description", "")
        if "status" not in values:
            values["status"] = PROJECT_STATUS[said.status_code]
            if not is_new and iati.ACTIVITY_STATUS[project.status] == said.status_code:
                values["status"] = project.status  # one IATI code covers both (e.g. launched)
        if not is_new:
            differs = sorted(
                name for name, value in values.items() if getattr(project, name) != value
            )
            if not differs:
                self.result.projects.unchanged += 1
                return project
            if not self.manager:
                self.problem(
                    said.where.get(differs[0], said.path),
                    _("Only a portfolio manager changes an existing project ({code}: {fields}).")
                    .format(code=project.code, fields=", ".join(differs)),
                )  # fmt: skip
                return None
        else:
            project = Project(portfolio=self.portfolio, iati_identifier=said.identifier)
        for name, value in values.items():
            setattr(project, name, value)
        final = values["status"]
        steps = [FIRST_STATUS[final], final] if is_new and final in FIRST_STATUS else [final]
        for status in steps:
            project.status = status
            _saved, ok = self.write(said.path, self.save_row, project, where=said.where)
            if not ok:
                return None
        if is_new:
            self.result.projects.created += 1
        else:
            self.result.projects.updated += 1
        return project

    # Tranches and disbursements

    def tranche(self, project, said):
        funder = self.organisations.get(said.funder.key)
        if funder is None:
            return
        stored = Tranche.objects.filter(funder=funder, funder_reference=said.reference).first()
        if stored is not None and stored.project_id != project.pk:
            self.problem(
                said.path,
                _("{funder}'s tranche {reference} belongs to the project {code}.").format(
                    funder=funder.name, reference=said.reference, code=stored.project.code
                ),
            )
            return
        values = {
            "project_id": project.pk,
            "instrument": said.instrument,
            "purpose": said.purpose,
            "status": said.status,
            "amount": said.amount,
            "currency": said.currency,
            "committed_on": said.committed_on,
            "expected_disbursement_on": said.expected_disbursement_on,
            "covers_from": said.covers_from,
            "covers_until": said.covers_until,
            "fixed_rate": said.fixed_rate,
        }
        if stored is not None and all(getattr(stored, n) == v for n, v in values.items()):
            tranche = stored
            self.result.tranches.unchanged += 1
        else:
            tranche = stored or Tranche(funder=funder, funder_reference=said.reference)
            for name, value in values.items():
                setattr(tranche, name, value)
            tranche, ok = self.write(said.path, services.save_tranche, tranche, self.user)
            if not ok:
                return
            if stored is None:
                self.result.tranches.created += 1
            else:
                self.result.tranches.updated += 1
        if said.loan_terms is not None:
            self.loan_terms(tranche, said.loan_terms)
        for disbursement in said.disbursements:
            self.disbursement(tranche, disbursement)

    def loan_terms(self, tranche, said):
        path = said["path"]
        try:
            values = {
                "annual_rate_percent": Decimal(said["annual_rate_percent"]),
                "tenor_months": int(said["tenor_months"]),
                "grace_months": int(said["grace_months"] or 0),
                "method": said["method"],
                "frequency_months": int(said["frequency_months"]),
                "first_payment_date": date.fromisoformat(said["first_payment_date"]),
            }
        except (InvalidOperation, TypeError, ValueError):
            self.problem(path, _("The loan terms are incomplete or not numbers and dates."))
            return
        terms = LoanTerms.objects.filter(tranche=tranche).first()
        if terms is not None and all(getattr(terms, n) == v for n, v in values.items()):
            return
        terms = terms or LoanTerms()
        for name, value in values.items():
            setattr(terms, name, value)
        self.write(path, services.save_loan_terms, terms, tranche, self.user)

    def disbursement(self, tranche, said):
        paid = list(tranche.disbursements.all())
        if said.reference:
            match = next((d for d in paid if d.reference == said.reference), None)
        else:
            match = next(
                (d for d in paid if (d.disbursed_on, d.amount) == (said.disbursed_on, said.amount)),
                None,
            )
        if match is not None and (match.disbursed_on, match.amount) == (
            said.disbursed_on,
            said.amount,
        ):
            self.result.disbursements.unchanged += 1
            return
        if match is not None:
            _done, ok = self.write(said.path, self.replace, tranche, match, said)
            if ok:
                self.result.disbursements.updated += 1
            return
        _done, ok = self.write(
            said.path,
            services.disburse,
            tranche,
            said.amount,
            said.disbursed_on,
            said.reference,
            self.user,
        )
        if ok:
            self.result.disbursements.created += 1

    def replace(self, tranche, stored, said):
        """A payment the funder corrected: the old record is undone and the new one recorded,
        so the tranche's running total is kept by the same service as any payment."""
        services.undo_disbursement(
            stored, self.user, reason=_("Changed by an IATI import of the funder's file")
        )
        return services.disburse(tranche, said.amount, said.disbursed_on, said.reference, self.user)


def _messages(error):
    if hasattr(error, "error_dict"):
        return error.message_dict.items()
    return [(NON_FIELD_ERRORS, error.messages)]

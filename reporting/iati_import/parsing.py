"""Parsing: what an IATI activity file says, in plain data; each problem with its XPath."""

# What IATI says is read as IATI means it. A file this tracker wrote also carries its extension
# (iati.EXTENSION): a project's code and lifecycle, a tranche's purpose, cover period and loan
# schedule; read too, so that importing a portfolio's export into an empty one gives it back.
# Without it: commitments (transaction type 2 or 11) become committed tranches, disbursements
# (3 or 1) are paid on the commitment of the same provider they name or, failing that, on its
# earliest commitment with room left, and planned disbursements of a provider with no commitment
# become planned tranches. Other transaction types, results, documents and sustainability plans
# (IATI has no cost line; budgets are sums) are not imported.

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from funding.models import Instrument, Purpose, TrancheStatus
from portfolio.codelists import currencies
from projects.models import PolicySignificance, Status, TargetGroup

from .. import iati
from .reading import Node
from .results import Problem, Refused

MAX_ACTIVITIES = 5000
CENT = Decimal("0.01")

COMMITMENTS = {"2", "11"}  # TransactionType: Outgoing Commitment, Incoming Commitment
DISBURSEMENTS = {"3", "1"}  # TransactionType: Disbursement, Incoming Funds
# ActivityStatus to a project status, for a file without this tracker's extension. Closed
# needs a launch date, which IATI does not carry; the project's own check then says so.
PROJECT_STATUS = {
    "1": Status.PIPELINE,
    "2": Status.IMPLEMENTING,
    "3": Status.IMPLEMENTING,
    "4": Status.CLOSED,
    "5": Status.CANCELLED,
}


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

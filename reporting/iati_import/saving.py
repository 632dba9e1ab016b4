"""Saving what the file says in a portfolio, through the services, all of it or none."""

# A donor officer uploads a funder's own IATI publication, or a portfolio's own export. Projects
# are matched on their iati-identifier, tranches on their funder and the commitment's reference
# (`transaction/@ref`), disbursements on their reference (else their date and amount), so the
# same file imported twice changes nothing. Everything is written through the services the other
# doors use (`funding.services.save_tranche`, `disburse`, `save_loan_terms`, and project saves),
# inside one transaction: every problem is collected, each with the XPath of what caused it, and
# if there is one, nothing is kept.

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from funding import services
from funding.models import LoanTerms, Tranche
from funding.signals import rescans_batched
from portfolio import access, errors
from portfolio.models import Organisation
from portfolio.services import save_row
from projects.models import Project, Status

from .. import iati
from .parsing import PROJECT_STATUS
from .results import Problem

FUNDER_TYPE = {
    "10": Organisation.FunderType.BILATERAL_DONOR,
    "40": Organisation.FunderType.MULTILATERAL_BANK,
    "60": Organisation.FunderType.PHILANTHROPY,
    "70": Organisation.FunderType.PRIVATE,
    "71": Organisation.FunderType.PRIVATE,
    "72": Organisation.FunderType.PRIVATE,
    "73": Organisation.FunderType.PRIVATE,
}
# A new project must start in one of these; the import then takes it where the file says.
FIRST_STATUS = {Status.CLOSED: Status.LAUNCHED, Status.CANCELLED: Status.PIPELINE}


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

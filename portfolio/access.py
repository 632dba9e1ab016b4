"""Who may read and change what: the design's role table, enforced once for the API, pages and admin.

Reading: anyone who holds a role (or is a superuser) reads the whole portfolio, because
co-funders must see each other's money to see a coverage gap; a signed-in user without a
role sees nothing, so the doors answer 404. Writing follows the role table:

- donor officers write the tranches, loan terms, payout terms and disbursements of their own
  funding organisations, and acknowledge lapse flags of projects those organisations fund;
- evaluators write indicators, targets, measurements, evaluations and recommendations, and
  verify or reject measurements; they never touch money;
- implementers (people of an implementing partner) report measurements, with evidence, for
  their own organisation's projects only, and read only those projects' results;
- the people of a recommendation's owner organisation follow it up;
- verifiers verify, return or reject measurements, and write nothing else;
- who may verify one measurement is `may_verify()`: independence, for managers too. Nobody
  verifies what they reported or changed, nor one of a project their organisation
  implements, nor one reported by somebody of their own organisation;
- finance staff read everything, write exchange rates, and record (and undo) loan
  repayments: the only money they touch; donor officers do not record repayments, since the
  lender's finance team is who sees the money arrive;
- anyone with a role exports the workbook, and downloads only the exports they asked for;
- portfolio managers (and superusers) do everything.

Doors call `visible()` to scope what they list and `check()` (or `may()`) before they write.
Rules are by model label so a door needs no import of the model to ask.
"""

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from .models import Membership, Role

VIEW = "view"
ADD = "add"
CHANGE = "change"
DELETE = "delete"
ACKNOWLEDGE = "acknowledge"
REVIEW = "review"  # verify, return or reject a measurement
COMMENT = "comment"  # write a comment on a measurement
DOWNLOAD = "download"  # see an export job's progress and download its workbook

WRITES = (ADD, CHANGE, DELETE)

# The rows of money: donor officers write their own funders' (model labels).
MONEY_MODELS = {
    "funding.tranche",
    "funding.allocation",
    "funding.loanterms",
    "funding.disbursement",
    "evaluations.payoutterms",
}
RESULTS = {
    "evaluations.indicator",
    "evaluations.target",
    "evaluations.measurement",
    "evaluations.evaluation",
    "evaluations.recommendation",
}
# What implementers write, for the projects their organisation implements.
IMPLEMENTED = {"evaluations.measurement"}
# How each results row reaches its project's implementing partner, to scope what an
# implementer reads to the projects of its own organisation.
PARTNER_PATHS = {
    "evaluations.indicator": "project__implementing_partner",
    "evaluations.target": "indicator__project__implementing_partner",
    "evaluations.measurement": "indicator__project__implementing_partner",
    "evaluations.evidence": "measurement__indicator__project__implementing_partner",
    "evaluations.measurementcomment": "measurement__indicator__project__implementing_partner",
    "evaluations.evaluation": "project__implementing_partner",
    "evaluations.recommendation": "evaluation__project__implementing_partner",
}
REVIEWERS = (Role.EVALUATOR, Role.VERIFIER)
RATES = {"portfolio.exchangerate"}
# Money received back on loans: finance staff (and managers) record it, nobody else.
REPAYMENTS = {"funding.repayment"}
# Nobody but a manager writes these: the portfolio's own set-up and its people.
SETUP = {
    "portfolio.portfolio",
    "portfolio.organisation",
    "portfolio.membership",
    "projects.project",
}
# Written only by the system (the lapse scan); people acknowledge flags, never edit them.
SYSTEM = {"funding.lapseflag", "funding.lapsereminder"}
# An export job is its requester's (and the managers'): nobody else learns it exists.
EXPORT_MODEL = "reporting.exportjob"


@dataclass(frozen=True)
class Roles:
    """The roles one user holds, read once per request."""

    manager: bool
    by_role: dict  # role -> frozenset of organisation ids

    def orgs(self, role) -> frozenset:
        return self.by_role.get(role, frozenset())

    def has(self, role) -> bool:
        return bool(self.orgs(role))

    @property
    def any(self) -> bool:
        return self.manager or bool(self.by_role)

    @property
    def funders(self) -> frozenset:
        return self.orgs(Role.DONOR_OFFICER)

    @property
    def organisations(self) -> frozenset:
        """Every organisation the user belongs to, in whatever role."""
        return frozenset().union(*self.by_role.values())

    @property
    def implementer_only(self) -> bool:
        """Reads only the results of its own organisation's projects."""
        return not self.manager and set(self.by_role) == {Role.IMPLEMENTER}

    @property
    def reviewer(self) -> bool:
        return self.manager or any(self.has(role) for role in REVIEWERS)


NOBODY = Roles(manager=False, by_role={})


def roles(user) -> Roles:
    """The user's roles, cached on the user object for the rest of the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    cached = getattr(user, "_portfolio_roles", None)
    if cached is not None:
        return cached
    memberships = Membership.objects.filter(user=user).values_list("role", "organisation_id")
    return remember_roles(user, memberships)


def remember_roles(user, memberships) -> Roles:
    """The roles that `memberships` ((role, organisation id) pairs) give an active user,
    cached on the user for the rest of the request; for a door that read them already."""
    by_role = {}
    for role, organisation_id in memberships:
        by_role.setdefault(role, set()).add(organisation_id)
    found = Roles(
        manager=user.is_superuser or Role.PORTFOLIO_MANAGER in by_role,
        by_role={role: frozenset(ids) for role, ids in by_role.items()},
    )
    user._portfolio_roles = found
    return found


def can_read(user) -> bool:
    return roles(user).any


def visible(user, queryset):
    """`queryset` as far as `user` may see it."""
    found = roles(user)
    if not found.any:
        return queryset.none()
    path = PARTNER_PATHS.get(queryset.model._meta.label_lower)
    if path and found.implementer_only:
        return queryset.filter(**{f"{path}__in": found.orgs(Role.IMPLEMENTER)})
    return queryset


def partner_of(obj):
    """The id of the implementing partner of the project a results row belongs to."""
    *steps, last = PARTNER_PATHS[_label(obj)].split("__")
    for step in steps:
        obj = getattr(obj, step, None) if obj is not None else None
    return getattr(obj, f"{last}_id", None) if obj is not None else None


def _label(subject) -> str:
    return subject._meta.label_lower


def _instance(subject):
    return None if isinstance(subject, type) else subject


def _tranche_of(label, obj):
    if label == "funding.tranche":
        return obj
    return getattr(obj, "tranche", None) if obj is not None else None


def may(user, action, subject) -> bool:
    """May `user` do `action` to `subject`, a model class (any row) or one instance?

    For a class the answer is whether the user may do it to some row: the door shows the
    button, and asks again with the instance before it writes.
    """
    found = roles(user)
    if not found.any:
        return False
    label = _label(subject)
    obj = _instance(subject)
    if action == VIEW:
        if obj is not None and label in PARTNER_PATHS and found.implementer_only:
            return partner_of(obj) in found.orgs(Role.IMPLEMENTER)
        return True
    if label == "evaluations.measurement" and action == REVIEW:
        return _review_refusal(user, found, obj) is None
    if label == "evaluations.measurement" and action == COMMENT:
        return found.reviewer or may(user, CHANGE, subject)
    if found.manager:
        return label not in SYSTEM or action == ACKNOWLEDGE
    if label in MONEY_MODELS and action in WRITES:
        if not found.funders:
            return False
        tranche = _tranche_of(label, obj)
        if tranche is None or (obj is not None and tranche.funder_id is None):
            return obj is None
        return tranche.funder_id in found.funders
    if label in RESULTS and action in WRITES:
        if found.has(Role.EVALUATOR):
            return True
        if label == "evaluations.recommendation" and action == CHANGE:
            # Its owner organisation's people follow a recommendation up.
            owner = getattr(obj, "owner_organisation_id", None)
            return obj is None or (owner is not None and owner in found.organisations)
        if label in IMPLEMENTED and found.has(Role.IMPLEMENTER):
            return obj is None or partner_of(obj) in found.orgs(Role.IMPLEMENTER)
        return False
    if label in RATES and action in WRITES:
        return found.has(Role.FINANCE)
    if label in REPAYMENTS and action in (ADD, DELETE):
        return found.has(Role.FINANCE)
    if label == "funding.lapseflag" and action == ACKNOWLEDGE:
        if not found.funders:
            return False
        # The row names its funders (LapseFlag.funder_ids), so the role table needs no import
        # of the models above it.
        return obj is None or not found.funders.isdisjoint(obj.funder_ids())
    if label == EXPORT_MODEL and action == DOWNLOAD:
        return obj is None or obj.requested_by_id == user.pk
    return False


def may_verify(user, measurement) -> bool:
    """May `user` verify, return or reject `measurement`? The one independence rule."""
    return may(user, REVIEW, measurement)


def _review_refusal(user, found, measurement):
    """Why `user` may not review `measurement` (None when they may).

    The row names its authors and its reporter's organisations, so the table needs no
    import of the model.
    """
    if not found.reviewer:
        return gettext("Only evaluators, verifiers and portfolio managers verify results.")
    if measurement is None:
        return None
    if user.pk in measurement.author_ids():
        return gettext(
            "Nobody may verify, return or reject a measurement they reported or changed."
        )
    own = found.organisations
    if partner_of(measurement) in own:
        return gettext("Nobody from the project's implementing partner verifies its results.")
    if own & measurement.reporter_organisation_ids():
        return gettext("Nobody verifies a measurement reported by their own organisation.")
    return None


def check(user, action, subject):
    """Raise PermissionDenied, with a reason a person can act on, unless `may()`."""
    if may(user, action, subject):
        return
    raise PermissionDenied(reason(user, action, subject))


def reason(user, action, subject) -> str:
    found = roles(user)
    label = _label(subject)
    if not found.any:
        return gettext("You have no role in this portfolio.")
    if action == REVIEW and label == "evaluations.measurement":
        refusal = _review_refusal(user, found, _instance(subject))
        if refusal:
            return refusal
    if label in IMPLEMENTED and found.has(Role.IMPLEMENTER):
        return gettext("Implementers report results only for their own organisation's projects.")
    if label in MONEY_MODELS:
        if found.funders:
            return gettext("Donor officers change only their own organisation's tranches.")
        return gettext(
            "Only donor officers and portfolio managers change tranches and disbursements."
        )
    if label in RESULTS or action in (REVIEW, COMMENT):
        return gettext("Only evaluators and portfolio managers change results.")
    if label in RATES:
        return gettext("Only finance staff and portfolio managers change exchange rates.")
    if label in REPAYMENTS:
        if action == CHANGE:
            return gettext("A repayment is never edited: undo it and record it again.")
        return gettext("Only finance staff and portfolio managers record loan repayments.")
    if label == "funding.lapseflag" and action == ACKNOWLEDGE:
        return gettext(
            "Only a funder of this project or a portfolio manager acknowledges its flags."
        )
    if label == EXPORT_MODEL and action == DOWNLOAD:
        return gettext("Only who asked for an export, or a portfolio manager, downloads it.")
    if label in SYSTEM:
        return gettext("Lapse flags are raised and resolved by the scan, not by hand.")
    return gettext("Only portfolio managers change this.")


class RoleBackend:
    """Answers Django's `user.has_perm()` from the role table, so the admin asks the same rules.

    It authenticates nobody; Django's ModelBackend still checks passwords.
    """

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        app_label, _, codename = perm.partition(".")
        action, _, model_name = codename.partition("_")
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            return False
        return may(user_obj, action, obj if obj is not None else model)

    def has_module_perms(self, user_obj, app_label):
        return can_read(user_obj)

"""Projects: lifecycle transitions, launch date, codes, codelists, obligation window, history."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from projects.models import TRANSITIONS, Project, TargetGroup
from tests.factories import (
    CostLineFactory,
    ImplementerFactory,
    PortfolioFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

S = Project.Status
LAUNCH = date(2025, 1, 1)


def stored_project(status, **fields):
    """A project as the admin or the API sees it: saved in `status`, then read back."""
    if status in (S.LAUNCHED, S.CLOSED):
        fields.setdefault("launch_date", LAUNCH)
    return Project.objects.get(pk=ProjectFactory(status=status, **fields).pk)


def move(project, status):
    project.status = status
    if status in (S.LAUNCHED, S.CLOSED) and not project.launch_date:
        project.launch_date = LAUNCH
    project.full_clean()


ALLOWED = sorted((old, new) for old, targets in TRANSITIONS.items() for new in targets)


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_allowed_status_transition_is_accepted(old, new):
    project = stored_project(old)

    move(project, new)
    project.save()

    assert Project.objects.get(pk=project.pk).status == new


def test_allowed_transitions_are_the_documented_lifecycle():
    documented = sorted(
        [
            (S.PIPELINE, S.APPROVED),
            (S.PIPELINE, S.CANCELLED),
            (S.APPROVED, S.IMPLEMENTING),
            (S.APPROVED, S.CANCELLED),
            (S.IMPLEMENTING, S.LAUNCHED),
            (S.IMPLEMENTING, S.CANCELLED),
            (S.LAUNCHED, S.CLOSED),
            (S.LAUNCHED, S.CANCELLED),
        ]
    )
    assert documented == ALLOWED


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.PIPELINE, S.IMPLEMENTING),  # skipping approval
        (S.PIPELINE, S.LAUNCHED),
        (S.APPROVED, S.PIPELINE),  # going back
        (S.IMPLEMENTING, S.APPROVED),
        (S.LAUNCHED, S.IMPLEMENTING),
        (S.IMPLEMENTING, S.CLOSED),  # closing what never launched
        (S.CLOSED, S.LAUNCHED),  # closed is final
        (S.CLOSED, S.CANCELLED),
        (S.CANCELLED, S.PIPELINE),  # cancelled is final
        (S.CANCELLED, S.LAUNCHED),
    ],
)
def test_disallowed_status_transition_is_refused_on_the_status(old, new):
    project = stored_project(old)

    with pytest.raises(ValidationError) as raised:
        move(project, new)

    assert raised.value.message_dict["status"] == [
        f"A project cannot move from {old.label.lower()} to {new.label.lower()}."
    ]


def test_unchanged_status_is_always_accepted():
    for status in S:
        project = stored_project(status)
        project.title = "Renamed"
        project.full_clean()


@pytest.mark.parametrize("status", [S.PIPELINE, S.APPROVED, S.IMPLEMENTING, S.LAUNCHED])
def test_new_project_may_start_before_closure(status):
    project = ProjectFactory.build(
        portfolio=PortfolioFactory(),
        implementing_partner=ImplementerFactory(),
        status=status,
        launch_date=LAUNCH if status == S.LAUNCHED else None,
    )

    project.full_clean()


@pytest.mark.parametrize("status", [S.CLOSED, S.CANCELLED])
def test_new_project_cannot_start_closed_or_cancelled(status):
    project = ProjectFactory.build(status=status, launch_date=LAUNCH)

    with pytest.raises(ValidationError) as raised:
        project.full_clean(exclude=["portfolio", "implementing_partner"])

    assert "status" in raised.value.message_dict


def test_status_transitions_follow_the_last_saved_status_on_the_same_instance():
    # Walk the whole lifecycle on one instance, saving at every step, as a script would.
    project = stored_project(S.PIPELINE)
    for status in (S.APPROVED, S.IMPLEMENTING, S.LAUNCHED, S.CLOSED):
        move(project, status)
        project.save()

    assert Project.objects.get(pk=project.pk).status == S.CLOSED


def test_created_project_cannot_go_back_to_pipeline_without_being_read_again():
    project = ProjectFactory(status=S.IMPLEMENTING)  # saved, never read back

    with pytest.raises(ValidationError) as raised:
        move(project, S.PIPELINE)

    assert "status" in raised.value.message_dict


def test_unknown_status_is_a_validation_error_not_a_crash():
    project = stored_project(S.APPROVED)
    project.status = "on_hold"

    with pytest.raises(ValidationError) as raised:
        project.full_clean()

    assert "status" in raised.value.message_dict


@pytest.mark.parametrize("status", [S.LAUNCHED, S.CLOSED])
def test_launched_project_needs_a_launch_date(status):
    project = stored_project(S.IMPLEMENTING if status == S.LAUNCHED else S.LAUNCHED)
    project.status = status
    project.launch_date = None

    with pytest.raises(ValidationError) as raised:
        project.full_clean()

    assert raised.value.message_dict["launch_date"] == [
        "A launched project needs its actual launch date."
    ]


@pytest.mark.parametrize("status", [S.LAUNCHED, S.CLOSED])
def test_database_refuses_a_launched_project_without_launch_date(status):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProjectFactory(status=status, launch_date=None)

    project = ProjectFactory(status=S.IMPLEMENTING)
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.filter(pk=project.pk).update(status=status)


def test_code_is_unique_within_a_portfolio():
    first = ProjectFactory(code="KE-ID-01")
    duplicate = ProjectFactory.build(
        code="KE-ID-01",
        portfolio=first.portfolio,
        implementing_partner=first.implementing_partner,
    )

    with pytest.raises(ValidationError) as raised:
        duplicate.full_clean()
    assert raised.value.messages
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_code_may_be_reused_in_another_portfolio():
    first = ProjectFactory(code="KE-ID-01")
    other = ProjectFactory.build(
        code="KE-ID-01",
        portfolio=PortfolioFactory(),
        implementing_partner=first.implementing_partner,
    )

    other.full_clean()
    other.save()

    assert Project.objects.filter(code="KE-ID-01").count() == 2


@pytest.mark.parametrize("code", ["22040", "15110", "11110"])
def test_dac_purpose_code_is_accepted(code):
    project = stored_project(S.PIPELINE)
    project.sector_code = code

    project.full_clean()


@pytest.mark.parametrize("code", ["99999", "22", "220400", "ICT", ""])
def test_sector_must_be_a_dac_purpose_code(code):
    project = stored_project(S.PIPELINE)
    project.sector_code = code

    with pytest.raises(ValidationError) as raised:
        project.full_clean()

    assert "sector_code" in raised.value.message_dict


def test_sector_name_comes_from_the_codelist():
    assert ProjectFactory.build(sector_code="22040").sector_name == (
        "Information and communication technology (ICT)"
    )


# What a service costs to run is its plan's cost lines (the project holds no cost of its own).


def cost_line(**fields):
    return CostLineFactory.build(project=stored_project(S.LAUNCHED), **fields)


@pytest.mark.parametrize("currency", ["EUR", "KES", "USD"])
def test_iso_4217_cost_line_currency_is_accepted(currency):
    cost_line(currency=currency).full_clean()


@pytest.mark.parametrize("currency", ["ABC", "eur", "BYR"])  # BYR was withdrawn in 2016
def test_cost_line_currency_must_be_iso_4217(currency):
    with pytest.raises(ValidationError) as raised:
        cost_line(currency=currency).full_clean()

    assert "currency" in raised.value.message_dict


def test_a_cost_line_needs_its_currency():
    line = cost_line(currency="")

    with pytest.raises(ValidationError) as raised:
        line.full_clean()
    assert "currency" in raised.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


@pytest.mark.parametrize("cost", [Decimal("0"), Decimal("-1.00")])
def test_a_cost_line_costs_more_than_nothing(cost):
    line = cost_line(annual_cost=cost)

    with pytest.raises(ValidationError) as raised:
        line.full_clean()
    assert "annual_cost" in raised.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


@pytest.mark.parametrize(
    "groups", [[], ["women"], ["women", "disability", "rural"], list(TargetGroup.values)]
)
def test_target_groups_from_the_list_are_accepted(groups):
    project = stored_project(S.PIPELINE)
    project.target_groups = groups

    project.full_clean()


@pytest.mark.parametrize(
    "groups",
    [
        ["aliens"],
        ["women", "Women"],
        "women",  # a string, not a list
        {"women": True},
        [None],
        [["women"]],  # unhashable items must be refused, not crash
        [{"group": "women"}],
    ],
)
def test_target_groups_outside_the_list_are_refused(groups):
    project = stored_project(S.PIPELINE)
    project.target_groups = groups

    with pytest.raises(ValidationError) as raised:
        project.full_clean()

    assert "target_groups" in raised.value.message_dict


@pytest.mark.parametrize(
    ("launch_date", "months", "obligation_end"),
    [
        (date(2025, 1, 1), 36, date(2027, 12, 31)),
        (date(2025, 3, 15), 12, date(2026, 3, 14)),
        (date(2025, 1, 1), 1, date(2025, 1, 31)),
        # A launch day the last month lacks: that month's last day, then the day before.
        (date(2025, 1, 31), 1, date(2025, 2, 27)),
        (date(2024, 1, 31), 1, date(2024, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 27)),
        (date(2025, 11, 30), 15, date(2027, 2, 27)),
    ],
)
def test_obligation_ends_the_day_before_launch_plus_sustainability_months(
    launch_date, months, obligation_end
):
    project = ProjectFactory.build(launch_date=launch_date, sustainability_months=months)

    assert project.obligation_end == obligation_end


def test_obligation_window_defaults_to_36_months():
    project = ProjectFactory(launched=True)

    assert project.sustainability_months == 36
    assert project.obligation_end == date(2027, 12, 31)


def test_no_obligation_before_launch():
    assert ProjectFactory.build(launch_date=None).obligation_end is None


def test_database_refuses_zero_sustainability_months():
    with pytest.raises(IntegrityError), transaction.atomic():
        ProjectFactory(sustainability_months=0)


def test_history_records_who_changed_what_and_why():
    officer = UserFactory(username="officer")
    project = stored_project(S.IMPLEMENTING)

    project.status = S.LAUNCHED
    project.launch_date = date(2025, 6, 1)
    project._history_user = officer
    project._change_reason = "Service went live"
    project.save()

    assert project.history.count() == 2
    latest, created = project.history.all()[:2]
    assert created.history_type == "+"
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~",
        officer,
        "Service went live",
    )
    assert (latest.status, latest.launch_date) == (S.LAUNCHED, date(2025, 6, 1))
    assert created.status == S.IMPLEMENTING
    delta = latest.diff_against(created, excluded_fields=["updated_at"])
    assert sorted(delta.changed_fields) == ["launch_date", "status"]
    assert {(c.field, c.old, c.new) for c in delta.changes} == {
        ("status", S.IMPLEMENTING, S.LAUNCHED),
        ("launch_date", None, date(2025, 6, 1)),
    }


def test_history_keeps_the_state_before_deletion():
    project = ProjectFactory(title="Digital ID pilot")
    pk = project.pk

    project.delete()

    deleted = Project.history.filter(id=pk).first()
    assert (deleted.history_type, deleted.title) == ("-", "Digital ID pilot")

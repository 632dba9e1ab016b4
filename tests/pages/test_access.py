"""Every page for every role: 200 where the role may, 403 where it may not, 404 without a
role, and the login page for anonymous visitors."""

import pytest

pytestmark = pytest.mark.django_db

ROLES = ["officer", "other_officer", "evaluator", "finance", "manager", "no_role"]

# page -> the roles that may open it (all others with a role get 403; "no_role" gets 404)
PAGES = {
    "dashboard": set(ROLES),  # a user without a role is told so, on a 200 page
    "projects": set(ROLES) - {"no_role"},
    "project": set(ROLES) - {"no_role"},
    "rates": set(ROLES) - {"no_role"},
    "tranche_new": {"officer", "other_officer", "manager"},
    "tranche_edit": {"officer", "manager"},
    "disburse": {"officer", "manager"},
    "acknowledge": {"officer", "other_officer", "manager"},  # both funders fund the project
    "measurement_new": {"evaluator", "manager"},
    "measurement_upload": {"evaluator", "manager"},
    "review_queue": {"evaluator", "manager"},
    # Every reader opens a measurement's page; only reviewers post a decision on it.
    "review": set(ROLES) - {"no_role"},
    "evaluation_new": {"evaluator", "manager"},
}


# Everyone with a role reads the exchange rates; only these add one.
POSTS = {**PAGES, "rates": {"finance", "manager"}, "review": {"evaluator", "manager"}}


def url(world, page):
    p = world.project.pk
    return {
        "dashboard": "/",
        "projects": "/projects/",
        "project": f"/projects/{p}/",
        "rates": "/rates/",
        "tranche_new": f"/projects/{p}/tranches/new/",
        "tranche_edit": f"/tranches/{world.maintenance.pk}/edit/",
        "disburse": f"/tranches/{world.maintenance.pk}/disburse/",
        "acknowledge": f"/flags/{world.flag.pk}/acknowledge/",
        "measurement_new": f"/projects/{p}/measurements/new/",
        "measurement_upload": "/measurements/upload/",
        "review_queue": "/measurements/review/",
        "review": f"/measurements/{world.measurement.pk}/review/",
        "evaluation_new": f"/projects/{p}/evaluations/new/",
    }[page]


def expected(page, role):
    if role in PAGES[page]:
        return 200
    return 404 if role == "no_role" else 403


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_page_answers_by_role(world, client, page, role):
    client.force_login(world.users[role])
    assert client.get(url(world, page)).status_code == expected(page, role)


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_go_to_the_login_page(world, client, page):
    response = client.get(url(world, page))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p not in ("dashboard", "projects", "project")]
)
@pytest.mark.parametrize("role", ROLES)
def test_posts_are_checked_as_well(world, client, page, role):
    """A forbidden POST never reaches a form; a role that may gets its empty form back, refused
    (400), except on the review queue, which has no form and shows the queue."""
    client.force_login(world.users[role])
    status = client.post(url(world, page), {}).status_code
    if role in POSTS[page]:
        assert status == (200 if page == "review_queue" else 400)
    else:
        assert status == (404 if role == "no_role" else 403)


def test_forbidden_page_says_why(world, client):
    client.force_login(world.users["finance"])
    response = client.get(url(world, "tranche_new"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "Only donor officers and portfolio managers change tranches" in response.content.decode()


def test_navigation_shows_each_role_what_it_can_do(world, client):
    links = {
        "officer": {"Projects", "Exchange rates"},
        "evaluator": {"Results to review", "Upload measurements"},
        "finance": {"Exchange rates"},
        "manager": {"Results to review", "Upload measurements", "Admin"},
    }
    hidden = {
        "officer": {"Results to review", "Upload measurements", "Admin"},
        "evaluator": {"Admin"},
        "finance": {"Results to review", "Upload measurements", "Admin"},
        "manager": set(),
    }
    for role in links:
        client.force_login(world.users[role])
        nav = client.get("/").content.decode().split("<nav", 1)[1].split("</nav>", 1)[0]
        assert all(f">{text}<" in nav for text in links[role]), role
        assert not any(f">{text}<" in nav for text in hidden[role]), role


def test_project_page_offers_only_allowed_actions(world, client):
    client.force_login(world.users["other_officer"])
    body = client.get(url(world, "project")).content.decode()
    assert f"/tranches/{world.other.pk}/edit/" in body
    assert f"/tranches/{world.maintenance.pk}/edit/" not in body
    assert "Record a measurement" not in body
    client.force_login(world.users["evaluator"])
    body = client.get(url(world, "project")).content.decode()
    assert "/edit/" not in body and "Record a measurement" in body


def test_user_without_a_role_sees_no_data(world, client):
    client.force_login(world.users["no_role"])
    body = client.get("/").content.decode()
    assert "no role" in body and "KE-ID-01" not in body

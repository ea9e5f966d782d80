"""The browse pages (issue 12, part 4): the users list (search, filters, the dashboard's course
and status links, pages, counts), a user's page (every section, the operations with their undo
links), the courses list and a course's page; scope; "act on these"; a fixed number of queries
whatever the data size."""

import re
from datetime import date, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.catalogue.models import (
    Category,
    CertificateTemplate,
    ClassroomSession,
    CreditType,
    Folder,
)
from registrar.directory.models import Audience, UserAudience
from registrar.learning.models import (
    Certificate,
    CourseAssignment,
    CourseRecord,
    CreditAward,
    CurriculumAssignment,
    CurriculumRecord,
    ExternalTraining,
    Seat,
)
from registrar.portal import browse_users

from . import factories as f
from .portal_fixtures import BOTH
from .test_portal import PASSWORDS, signed_in

pytestmark = pytest.mark.django_db(databases=BOTH)

TODAY = timezone.localdate()
PAST, FUTURE = TODAY - timedelta(days=10), TODAY + timedelta(days=30)


def assign(u, course, target=None, status=None, when=None):
    CourseAssignment.objects.create(user=u, course=course, target_date=target)
    if status:
        CourseRecord.objects.create(
            user=u, course=course, status=status, status_date=when or timezone.now()
        )


@pytest.fixture
def data(world):
    """On SAFE-101: eve overdue (past target, not started), sam completed (past target: not
    overdue), bob in progress, ann assigned and not started (future target); zoe (disabled)
    overdue; carl completed it without an assignment (he counts as assigned, as in the
    completion report). Eve is in audience Sales."""
    w = world
    bob = f.user("bob", w.eu, extid="EMP-77", first_name="Robert", last_name="Durand")
    ann = f.user("ann", w.us, email="ann.lee@corp.example", last_name="Lee")
    zoe = f.user("zoe", w.eu, disabled=True)
    carl = f.user("carl", w.eu)
    sales = Audience.objects.create(name="Sales")
    UserAudience.objects.create(user=w.eve, audience=sales)
    c = w.course
    assign(w.eve, c, PAST)
    assign(w.sam, c, PAST, "C")
    assign(bob, c, FUTURE, "I")
    assign(ann, c, FUTURE)
    assign(zoe, c, PAST)
    CourseRecord.objects.create(user=carl, course=c, status="C", status_date=timezone.now())
    return SimpleNamespace(**vars(w), bob=bob, ann=ann, zoe=zoe, carl=carl, sales=sales)


def page(c, url, params=None, status=200):
    r = c.get(url, params or {})
    assert r.status_code == status, r.content.decode()[:2000]
    return r.content.decode()


def logins(html: str) -> set[str]:
    """The logins of the users list's rows."""
    return set(re.findall(r'href="/users/([^/"]+)/"', html))


def listed(c, **params) -> set[str]:
    return logins(page(c, "/users/", params))


# -- the users list --------------------------------------------------------------------------


def test_users_search_matches_login_names_email_and_extid(data):
    c = signed_in("admin")
    assert listed(c, q="bob") == {"bob"}
    assert listed(c, q="durand") == {"bob"}  # last name, any case
    assert listed(c, q="Robert") == {"bob"}  # first name
    assert listed(c, q="corp.example") == {"ann"}  # email
    assert listed(c, q="EMP-77") == {"bob"}  # external id


def test_users_search_words_must_each_match(data):
    c = signed_in("admin")
    assert listed(c, q="robert durand") == {"bob"}
    assert listed(c, q="robert lee") == set()


def test_users_filter_by_organisation_includes_its_subtree(data):
    c = signed_in("admin")
    assert listed(c, org="ACME-US") == {"us.admin", "sam", "ann"}
    everyone = listed(c, org="ACME")
    assert {"admin", "eve", "sam", "bob", "ann"} <= everyone and "zoe" not in everyone


def test_users_filter_by_audience(data):
    assert listed(signed_in("admin"), audience="Sales") == {"eve"}


@pytest.mark.parametrize(
    "status,expected",
    [
        ("assigned", {"eve", "sam", "bob", "ann", "carl"}),
        ("not_started", {"eve", "ann"}),
        ("in_progress", {"bob"}),
        ("completed", {"sam", "carl"}),
        ("overdue", {"eve"}),
    ],
)
def test_users_filter_by_course_and_status_as_the_dashboard_links(data, status, expected):
    c = signed_in("admin")
    assert listed(c, org="ACME", course="SAFE-101", status=status) == expected


def test_users_overdue_is_past_target_and_not_completed(data):
    c = signed_in("admin")
    assert listed(c, course="SAFE-101", status="overdue") == {"eve"}
    assert listed(c, course="SAFE-101", status="overdue", disabled="include") == {"eve", "zoe"}


def test_users_course_alone_lists_assigned_and_recorded_learners(data):
    c = signed_in("admin")
    assert listed(c, course="SAFE-101") == {"eve", "sam", "bob", "ann", "carl"}


def test_users_status_without_a_course_means_on_any_course(data):
    other = f.course("FIRE-101")
    assign(data.ann, other, PAST)
    c = signed_in("admin")
    assert listed(c, status="overdue") == {"eve", "ann"}
    assert listed(c, org="ACME-US", status="overdue") == {"ann"}


def test_users_disabled_left_out_unless_included_or_alone(data):
    c = signed_in("admin")
    assert "zoe" not in listed(c)
    html = page(c, "/users/", {"q": "zoe", "disabled": "include"})
    assert logins(html) == {"zoe"} and "is-disabled" in html
    assert listed(c, disabled="only") == {"zoe"}


def test_users_count_and_pages(data, monkeypatch):
    monkeypatch.setattr("registrar.portal.browse.PAGE_SIZE", 3)
    c = signed_in("admin")
    first = page(c, "/users/", {"org": "ACME-EU"})
    # ACME-EU: eu.admin, eve, bob, carl (zoe is disabled)
    assert "4 users" in first and "1–3 of 4" in first
    second = page(c, "/users/", {"org": "ACME-EU", "page": "2"})
    assert len(logins(first)) == 3 and len(logins(second)) == 1
    assert not logins(first) & logins(second)
    assert 'href="?org=ACME-EU&page=2"' in first


def test_users_row_counts_per_user(data):
    html = page(signed_in("admin"), "/users/", {"q": "eve"})
    row = re.search(r"<tr>\s*<td><a href=\"/users/eve/\".*?</tr>", html, re.S)[0]
    assert re.findall(r'<td class="num">(?:<span class="error">)?(\d+)', row) == ["1", "0", "1"]


@pytest.mark.parametrize(
    "params,key",
    [
        ({"org": "NOPE"}, "org"),
        ({"audience": "Nobody"}, "audience"),
        ({"course": "NOPE-1"}, "course"),
        ({"status": "lost"}, "status"),
        ({"disabled": "maybe"}, "disabled"),
        ({"q": "x" * 101}, "q"),
        ({"q": "a b c d e f"}, "q"),
        ({"page": "zero"}, "page"),
    ],
)
def test_users_bad_value_is_a_400_naming_its_key(data, params, key):
    html = page(signed_in("admin"), "/users/", params, status=400)
    assert f"{key}:" in html


# -- scope -------------------------------------------------------------------------------------


def test_scoped_administrator_lists_only_their_subtree(data):
    c = signed_in("eu.admin")
    mine = {"eu.admin", "eve", "bob", "carl"}
    assert listed(c) == mine
    assert listed(c, course="SAFE-101", status="assigned") == {"eve", "bob", "carl"}
    assert listed(c, org="ACME") == mine  # the part of it that is theirs


def test_scoped_administrator_cannot_name_another_organisation(data):
    html = page(signed_in("eu.admin"), "/users/", {"org": "ACME-US"}, status=400)
    assert "org:" in html


def test_user_outside_the_scope_is_a_404(data):
    c = signed_in("eu.admin")
    page(c, "/users/sam/", status=404)
    page(c, f"/users/{data.sam.pk}/", status=404)
    assert "Workplace safety" in page(c, "/users/eve/")


def test_a_role_without_people_may_see_the_catalogue_but_no_user(data):
    content = f.user("content", data.root)
    content.set_password("content-pass")
    content.save()
    f.grant(content, "Content administrator")
    PASSWORDS["content"] = "content-pass"
    c = signed_in("content")
    page(c, "/users/", status=403)
    page(c, "/users/eve/", status=403)
    html = page(c, "/courses/SAFE-101/")
    assert "Workplace safety" in html and 'data-testid="learners"' not in html
    assert 'data-testid="assignments"' not in html


def test_anonymous_visitor_is_sent_to_sign_in(data):
    from django.test import Client

    r = Client().get("/users/")
    assert r.status_code == 302 and "/login/" in r.url


# -- a user's page -----------------------------------------------------------------------------


@pytest.fixture
def rich(data, act):
    """Eve with a manager and an alternate, a role, a curriculum, a credit, a certificate, an
    external training, and a course assigned by an action (an operation in the journal)."""
    eve = data.eve
    eve.manager, eve.alternate_manager = data.bob, data.carl
    eve.save()
    f.grant(eve, "Organisation administrator", data.eu)
    cur = f.curriculum("PATH-1", [data.course], title="Safety path")
    CurriculumAssignment.objects.create(user=eve, curriculum=cur, target_date=FUTURE)
    CurriculumRecord.objects.create(user=eve, curriculum=cur, status="I")
    ct = CreditType.objects.create(name="CPD hours")
    CreditAward.objects.create(
        user=eve, course=data.course, credit_type=ct, amount=3, awarded_on=date(2024, 5, 1)
    )
    tpl = CertificateTemplate.objects.create(name="Safety certificate", version=2)
    Certificate.objects.create(user=eve, course=data.course, template=tpl, template_version=2)
    ExternalTraining.objects.create(
        user=eve,
        course_name="First aid at the Red Cross",
        start_date=date(2024, 1, 8),
        end_date=date(2024, 1, 9),
        provider="Red Cross",
    )
    f.course("ETH-201", "Business ethics")
    report = act(
        "users.assign-courses",
        {"courses": ["ETH-201"], "option": "mandatory"},
        ids=["eve"],
        actor=data.admin,
    )
    return SimpleNamespace(**vars(data), op=report.operation, curriculum=cur)


def test_user_page_shows_every_section(rich):
    html = page(signed_in("admin"), "/users/eve/")
    facts = html.split('data-testid="user-facts"')[1].split("</section>")[0]
    assert "Acme Europe" in facts and "ACME-EU" in facts
    assert "Sales" in facts
    assert "Organisation administrator" in facts and "ACME-EU" in facts
    assert "Robert Durand" in facts.split('data-testid="manager"')[1]
    assert "/users/carl/" in facts.split('data-testid="alternate-manager"')[1]
    courses = html.split('data-testid="courses"')[1].split("</section>")[0]
    assert "SAFE-101" in courses and "ETH-201" in courses
    assert "overdue" in courses  # SAFE-101's target is past
    assert "PATH-1" in html.split('data-testid="curricula"')[1].split("</section>")[0]
    assert "CPD hours" in html.split('data-testid="credits"')[1].split("</section>")[0]
    assert "Safety certificate" in html.split('data-testid="certificates"')[1]
    assert "First aid at the Red Cross" in html.split('data-testid="external-trainings"')[1]


def test_user_page_by_id(rich):
    assert "First aid at the Red Cross" in page(signed_in("admin"), f"/users/{rich.eve.pk}/")


def test_user_page_lists_the_operations_that_wrote_their_rows_with_undo_links(rich):
    html = page(signed_in("admin"), "/users/eve/")
    ops = html.split('data-testid="operations"')[1].split("</section>")[0]
    assert f'href="/history/{rich.op.pk}/"' in ops
    assert f'data-testid="undo-{rich.op.pk}"' in ops
    other = page(signed_in("admin"), "/users/sam/")
    assert f"/history/{rich.op.pk}/" not in other.split('data-testid="operations"')[1]


def test_operations_another_administrator_may_not_see_are_not_listed(rich):
    # The action ran platform-wide: a scoped administrator does not see it in the history.
    html = page(signed_in("eu.admin"), "/users/eve/")
    assert f"/history/{rich.op.pk}/" not in html


def test_operation_ids_are_the_last_writers_of_the_users_rows(rich):
    ids = browse_users.operation_ids(rich.eve)
    assert rich.op.pk in ids
    assert browse_users.operation_ids(rich.sam) == []


# -- courses -----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(data):
    safety = Category.objects.create(name="Safety")
    hr = Folder.objects.create(name="HR", path="HR")
    onboarding = Folder.objects.create(name="Onboarding", parent=hr, path="HR/Onboarding")
    c = data.course
    c.category, c.folder = safety, onboarding
    c.save()
    f.course("HR-100", "Welcome", folder=hr)
    f.course("DRAFT-1", "Draft course", published=False)
    f.course("OLD-1", "Old course", disabled=True)
    f.lesson("SAFE-101-L1", c, title="Hazards", position=1)
    f.lesson("SAFE-101-L2", c, "T", title="Drill", position=2)
    s = ClassroomSession.objects.create(
        course=c, extid="SESS-1", start=timezone.now(), max_participants=12
    )
    Seat.objects.create(session=s, user=data.eve)
    Seat.objects.create(session=s, user=data.sam)
    return data


def codes(html: str) -> set[str]:
    return set(re.findall(r'href="/courses/([^/"]+)/"', html))


def test_courses_search_and_filters(catalogue):
    c = signed_in("admin")
    assert codes(page(c, "/courses/", {"q": "safety"})) == {"SAFE-101"}
    assert codes(page(c, "/courses/", {"q": "hr-1"})) == {"HR-100"}
    assert codes(page(c, "/courses/", {"category": "Safety"})) == {"SAFE-101"}
    assert codes(page(c, "/courses/", {"folder": "HR"})) == {"SAFE-101", "HR-100"}
    assert codes(page(c, "/courses/", {"folder": "HR/Onboarding/"})) == {"SAFE-101"}
    assert codes(page(c, "/courses/", {"published": "no"})) == {"DRAFT-1"}
    assert "OLD-1" not in codes(page(c, "/courses/"))
    assert "OLD-1" in codes(page(c, "/courses/", {"disabled": "include"}))
    assert codes(page(c, "/courses/", {"disabled": "only"})) == {"OLD-1"}
    assert "folder:" in page(c, "/courses/", {"folder": "Nope"}, status=400)


def test_courses_list_counts_lessons_and_links_to_the_learners_inside_the_scope(catalogue):
    row = r'href="/courses/SAFE-101/">SAFE-101</a></td>.*?</tr>'
    for who, learners in (
        ("admin", {"eve", "sam", "bob", "ann", "carl"}),
        ("eu.admin", {"eve", "bob", "carl"}),
    ):
        c = signed_in(who)
        cells = re.search(row, page(c, "/courses/"), re.S)[0]
        assert re.findall(r'<td class="num">(\d+)</td>', cells) == ["2"]  # its lessons
        link = re.search(r'href="(/users/\?course=SAFE-101)"', cells)[1]
        assert logins(page(c, link)) == learners


def test_course_page_counts_learners_lessons_and_sessions(catalogue):
    c = signed_in("admin")
    html = page(c, "/courses/SAFE-101/")
    counts = html.split('data-testid="status-counts"')[1].split("</table>")[0]
    found = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', counts))
    assert found == {
        "assigned": "5",
        "not_started": "2",
        "in_progress": "1",
        "completed": "2",
        "overdue": "1",
    }
    assert "Hazards" in html and "Drill" in html and "SESS-1" in html
    overdue = page(c, "/courses/SAFE-101/", {"status": "overdue"})
    learners = overdue.split('data-testid="learners"')[1].split("</table>")[0]
    assert set(re.findall(r'href="/users/([^/"]+)/"', learners)) == {"eve"}
    link = re.search(r'href="(/users/\?course=SAFE-101[^"]*)"', overdue)[1].replace("&amp;", "&")
    assert logins(page(c, link)) == {"eve"}  # the users list shows the same learners


def test_course_page_of_a_scoped_administrator_counts_their_learners_only(catalogue):
    html = page(signed_in("us.admin"), "/courses/SAFE-101/")
    counts = html.split('data-testid="status-counts"')[1].split("</table>")[0]
    assert dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', counts))["assigned"] == "2"
    learners = html.split('data-testid="learners"')[1].split("</table>")[0]
    assert set(re.findall(r'href="/users/([^/"]+)/"', learners)) == {"sam", "ann"}
    seats = html.split('data-testid="sessions"')[1].split("</table>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', seats)[:2] == ["12", "1"]  # sam's seat


def test_unknown_course_is_a_404(catalogue):
    page(signed_in("admin"), "/courses/NOPE/", status=404)


# -- act on these ------------------------------------------------------------------------------


def act_url(c, **params) -> str:
    html = page(c, "/users/", params)
    m = re.search(r'href="([^"]+)" data-testid="act-on-these"', html)
    assert m, html.split('data-testid="users"')[1][:800]
    return m[1].replace("&amp;", "&")


def selected_by(c, url: str) -> tuple[int, set[str]]:
    """What the assistant's selection page selects from the link: its count and logins."""
    html = page(c, url)
    count = int(re.search(r"(\d+) items? selected", html)[1])
    return count, set(re.findall(r'name="drop" value="([^"]+)"', html))


@pytest.mark.parametrize(
    "params",
    [
        {"org": "ACME-EU"},
        {"org": "ACME", "audience": "Sales"},
        {"q": "durand"},
        {"q": "e", "disabled": "include"},
        {"org": "ACME", "disabled": "include"},
        {"disabled": "only"},
        {"q": "robert durand"},
        {"q": "e", "org": "ACME-EU"},
        {"org": "ACME", "course": "SAFE-101", "status": "overdue"},
        {"course": "SAFE-101", "status": "completed"},
        {"course": "SAFE-101"},
    ],
)
def test_act_on_these_selects_the_same_users(data, params):
    c = signed_in("admin")
    assert selected_by(c, act_url(c, **params)) == (
        len(listed(c, **params)),
        listed(c, **params),
    )


def test_act_on_these_of_a_scoped_administrator_selects_the_same_users(data):
    c = signed_in("eu.admin")
    for params in ({}, {"q": "e"}, {"course": "SAFE-101", "status": "assigned"}):
        assert selected_by(c, act_url(c, **params))[1] == listed(c, **params)


def test_act_on_these_uses_criteria_when_the_selection_has_them(data):
    url = act_url(signed_in("admin"), org="ACME", audience="Sales")
    q = parse_qs(urlparse(url).query)
    assert q["f"] == ["org", "audience"] and q["v"] == ["ACME", "Sales"] and "ids" not in q


def test_act_on_these_carries_logins_for_a_course_status(data):
    url = act_url(signed_in("admin"), course="SAFE-101", status="in_progress")
    assert parse_qs(urlparse(url).query)["ids"] == ["bob"]


def test_act_on_these_past_the_bound_says_to_narrow_the_list(data, monkeypatch):
    monkeypatch.setattr(browse_users, "ACT_IDS_MAX", 1)
    html = page(signed_in("admin"), "/users/", {"course": "SAFE-101", "status": "assigned"})
    assert 'data-testid="act-on-these"' not in html and 'data-testid="act-note"' in html


@pytest.mark.parametrize(
    "params", [{"folder": "HR"}, {"q": "course"}, {"disabled": "only"}, {"published": "no"}]
)
def test_act_on_these_courses_selects_the_same_courses(catalogue, params):
    c = signed_in("admin")
    html = page(c, "/courses/", params)
    m = re.search(r'href="([^"]+)" data-testid="act-on-these"', html)
    assert m, html.split('data-testid="courses"')[1][:600]
    shown = codes(html)
    count = int(re.search(r"(\d+) items? selected", page(c, m[1].replace("&amp;", "&")))[1])
    q = parse_qs(urlparse(m[1].replace("&amp;", "&")).query)
    assert "/assistants/courses/" in m[1] and set(q["ids"][0].split("\n")) == shown
    assert count == len(shown) > 0


# -- a fixed number of queries -----------------------------------------------------------------


def more_learners(data, n: int, start: int = 0):
    """n more learners in ACME-EU, each assigned SAFE-101 and FIRE-101 with a record."""
    fire = f.course(f"FIRE-{start}")
    for i in range(start, start + n):
        u = f.user(f"more{i:03d}", data.eu)
        UserAudience.objects.create(user=u, audience=data.sales)
        assign(u, data.course, PAST, "I")
        assign(u, fire, FUTURE, "C")
        CreditAward.objects.create(
            user=u,
            course=data.course,
            credit_type=CreditType.objects.get_or_create(name="CPD")[0],
            amount=1,
            awarded_on=date(2024, 1, 1),
        )


URLS = [
    ("/users/", {}),
    ("/users/", {"q": "more", "org": "ACME-EU", "audience": "Sales"}),
    ("/users/", {"org": "ACME", "course": "SAFE-101", "status": "overdue"}),
    ("/users/more000/", {}),
    ("/courses/", {}),
    ("/courses/SAFE-101/", {"status": "in_progress"}),
]


def count_queries(c, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        page(c, url, params)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["admin", "eu.admin"])
def test_each_page_makes_the_same_number_of_queries_whatever_the_data_size(data, who):
    more_learners(data, 3)
    c = signed_in(who)
    small = [count_queries(c, u, p) for u, p in URLS]
    more_learners(data, 40, start=100)
    large = [count_queries(c, u, p) for u, p in URLS]
    assert small == large
    assert max(large) <= 25


def test_pages_speak_french(data):
    data.admin.culture = "fr-FR"
    data.admin.save()
    html = page(signed_in("admin"), "/users/", {"q": "eve"})
    assert '<html lang="fr">' in html and "Identifiant" in html


def test_the_selection_shows_yes_and_no_not_python_booleans(catalogue):
    html = page(signed_in("admin"), "/assistants/courses/", {"go": "1", "ids": "SAFE-101"})
    rows = html.split('data-testid="selection-rows"')[1].split("</table>")[0]
    assert "<td>yes</td>" in rows and "True" not in rows and "False" not in rows

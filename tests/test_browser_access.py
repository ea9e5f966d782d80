"""The course assistant's access property in a real browser (SPEC §5, seed 003 "Ajouter une
propriété d'accès aux cours"), on the demo data served by `registrar serve`: select a course,
add an access property for a list with member assignment (option, target date as a delay from
the day each member entered), verify, run; the list's members are assigned, and a user who
enters the list afterwards (a static-lists import) is assigned too. In English and in French, at
a phone's width (390 px). Screenshots go to tests/artifacts/."""

import json

import pytest

from .test_browser import CHROMIUM, Shots, browser, registrar, sign_in, site, wait_done  # noqa: F401

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)

COUNT = (
    "import json; from registrar.learning.models import CourseAssignment as A; "
    "print(json.dumps(sorted(A.objects.filter(course__code={code!r}, source='list')"
    ".values_list('user__login', 'option'))))"
)


def shell(s, code: str) -> str:
    return registrar("shell", "-c", code, env=s["env"], cwd=s["work"]).stdout


def list_assigned(s, course: str) -> list:
    return json.loads(shell(s, COUNT.format(code=course)).strip().splitlines()[-1])


def add_access_property(page, url, shot, course: str, list_name: str, words: dict) -> None:
    """Courses assistant → the course by code → add an access property → verify → run."""
    page.goto(url + "/assistants/")
    page.click("[data-testid=assistant-courses]")
    page.wait_for_url("**/assistants/courses/**")
    page.fill("#ids", course)
    page.click("[data-testid=show-selection]")
    page.wait_for_selector("[data-testid=selection-rows]")
    assert course in page.inner_text("[data-testid=selection-rows]")
    shot("selection")
    page.click("[data-testid=action-add-access-property]")
    page.wait_for_url("**/assistants/courses/add-access-property/**")
    page.fill("#p_lists", list_name)
    page.select_option("#p_assign_members", "yes")
    page.select_option("#p_option", "mandatory")
    page.fill("#p_target_delay_days", "30")
    shot("parameters")
    page.click("[data-testid=verify]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    shot("verified")
    page.click("[data-testid=run-now]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert words["done"] in page.inner_text("[data-testid=job-status]")
    text = page.inner_text("main")
    assert "members_assigned" in text and list_name in text
    shot("done")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def later_entrant_is_assigned(s, course: str, list_name: str, login: str) -> None:
    """A static-lists import adds `login` to the list: the property assigns them."""
    before = {u for u, _ in list_assigned(s, course)}
    assert before and login not in before
    path = s["work"] / f"enter-{login}.csv"
    path.write_text(f"USER;LIST_NAME\r\n{login};{list_name}\r\n", encoding="utf-8")
    registrar(
        "import",
        "static-lists",
        str(path),
        "--set",
        "match_on=login",
        env=s["env"],
        cwd=s["work"],
    )
    after = dict(list_assigned(s, course))
    assert after[login] == "mandatory" and set(after) == before | {login}


def learner_not_in(s, list_name: str) -> str:
    code = (
        "from registrar.directory.models import User; "
        "print(User.objects.filter(disabled=False, training_access=True, is_superuser=False)"
        f".exclude(listmember__user_list__name={list_name!r}).order_by('login')"
        ".values_list('login', flat=True).first())"
    )
    return shell(s, code).strip().splitlines()[-1]


def test_access_property_with_member_assignment_in_english_at_a_phone_width(site, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    sign_in(page, site["url"], "admin", "admin")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    words = {"done": "Done"}
    shot = Shots(page, "access-en-phone")
    add_access_property(page, site["url"], shot, "SAFE-301", "Fire wardens", words)
    later_entrant_is_assigned(
        site, "SAFE-301", "Fire wardens", learner_not_in(site, "Fire wardens")
    )
    context.close()


def test_access_property_with_member_assignment_in_french_at_a_phone_width(site, browser):  # noqa: F811
    shell(
        site,
        "from registrar.directory.models import Organisation, User; "
        "from registrar.directory.models import Role, RoleGrant; "
        "u = User.objects.create_user('accesfr', password='acces-pass', last_name='Acces', "
        "first_name='Anne', organisation=Organisation.objects.get(extid='ACME'), "
        "culture='fr-FR'); RoleGrant.objects.create(user=u, "
        "role=Role.objects.get(name='Site administrator'))",
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    sign_in(page, site["url"], "accesfr", "acces-pass")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    assert page.get_attribute("html", "lang") == "fr"
    shot = Shots(page, "access-fr-phone")
    add_access_property(page, site["url"], shot, "LANG-102", "Newcomers", {"done": "Terminé"})
    later_entrant_is_assigned(site, "LANG-102", "Newcomers", learner_not_in(site, "Newcomers"))
    context.close()

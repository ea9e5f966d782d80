"""Merging two users in a real browser (SPEC §7), on the demo data served by `registrar serve`:
choose the two users, read both summaries, verify, read the plan, confirm, run, read what
moved; in English and in French, at a phone's width (390 px). Screenshots go to tests/artifacts/."""

import pytest

from .test_browser import CHROMIUM, Shots, browser, registrar, sign_in, site  # noqa: F401

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)

MAKE_PAIR = (
    "from django.utils import timezone; "
    "from registrar.catalogue.models import Course; "
    "from registrar.directory.models import Organisation, User; "
    "from registrar.learning.models import CourseRecord; "
    "org = Organisation.objects.get(extid='ACME'); "
    "c1, c2 = Course.objects.order_by('code')[:2]; "
    "a = User.objects.create_user('{a}', password='x-pass', last_name='Dupont', first_name='Ana', "
    "organisation=org, email='ana@example.com'); "
    "z = User.objects.create_user('{z}', password='x-pass', last_name='Dupont', first_name='Ana', "
    "organisation=org, email='ANA@example.com'); "
    "CourseRecord.objects.create(user=a, course=c1, status='I', status_date=timezone.now()); "
    "CourseRecord.objects.create(user=z, course=c1, status='C', status_date=timezone.now(), score=80); "
    "CourseRecord.objects.create(user=z, course=c2, status='C', status_date=timezone.now())"
)


def make_pair(served: dict, a: str, z: str) -> None:
    registrar("shell", "-c", MAKE_PAIR.format(a=a, z=z), env=served["env"], cwd=served["work"])


def wait_job(page) -> str:
    page.wait_for_selector(
        "[data-testid=merge-job][data-status=done], [data-testid=merge-job][data-status=failed]",
        timeout=120_000,
    )
    return page.get_attribute("[data-testid=merge-job]", "data-status")


def merge_journey(page, url: str, shot, a: str, z: str, words: dict) -> None:
    page.goto(url + "/assistants/")
    page.click("[data-testid=merge-link]")
    page.fill("[data-testid=remove]", z)
    page.fill("[data-testid=keep]", a)
    shot("choose")
    page.click("[data-testid=show]")
    page.wait_for_selector("[data-testid=summary-z]")
    assert "2" in page.inner_text("[data-testid=summary-z]")  # Z's two records
    shot("summaries")
    page.click("[data-testid=verify]")
    assert wait_job(page) == "done"
    assert words["verified"] in page.inner_text("[data-testid=merge-status]").lower()
    plan = page.inner_text("[data-testid=plan]")
    assert page.locator("[data-testid=plan] tr").count() == 4  # heading, 2 records, Z
    assert words["why"] in plan
    shot("plan")
    page.click("[data-testid=run]")  # not confirmed: refused, nothing runs
    page.wait_for_selector("[data-testid=error]")
    shot("confirm-needed")
    page.check("[data-testid=confirm]")
    shot("confirm")
    page.click("[data-testid=run]")
    assert wait_job(page) == "done"
    page.wait_for_selector("[data-testid=history-link]")
    assert words["done"] in page.inner_text("[data-testid=merge-status]").lower()
    assert page.locator("[data-testid=plan] tr").count() == 4
    shot("result")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_merge_with_its_confirmation_in_english_at_a_phone_width(site, browser):  # noqa: F811
    make_pair(site, "ana.dupont", "ana.dupont2")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    sign_in(page, site["url"], "admin", "admin")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    words = {
        "verified": "nothing was written",
        "why": "completed over in progress",
        "done": "moved",
    }
    merge_journey(
        page, site["url"], Shots(page, "merge-en-phone"), "ana.dupont", "ana.dupont2", words
    )
    context.close()


def test_merge_with_its_confirmation_in_french_at_a_phone_width(site, browser):  # noqa: F811
    registrar(
        "shell",
        "-c",
        "from registrar.directory.models import Organisation, User, Role, RoleGrant; "
        "u = User.objects.create_user('mergefr', password='merge-pass', last_name='Fusion', "
        "first_name='Flore', organisation=Organisation.objects.get(extid='ACME'), "
        "culture='fr-FR'); RoleGrant.objects.create(user=u, "
        "role=Role.objects.get(name='Site administrator'))",
        env=site["env"],
        cwd=site["work"],
    )
    make_pair(site, "ana.martin", "ana.martin2")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    sign_in(page, site["url"], "mergefr", "merge-pass")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    words = {"verified": "rien n'a été écrit", "why": "terminé", "done": "déplacé"}
    merge_journey(
        page, site["url"], Shots(page, "merge-fr-phone"), "ana.martin", "ana.martin2", words
    )
    assert page.get_attribute("html", "lang") == "fr"
    context.close()

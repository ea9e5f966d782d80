"""The browse pages in a real browser (Playwright driving Debian's Chromium) against `registrar
serve` on the demo data: the users list, a user's page in English at 1280 px and in French at a
phone's width (390 px, nothing wider than the screen), the courses list and a course's page, and
"act on these" landing on the assistant with the same users. Screenshots go where
tests/test_browser.py puts its own (tests/artifacts/<database>/)."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .test_browser import (
    CHROMIUM,
    PG,
    Shots,
    free_port,
    fresh_pg_database,
    registrar,
    sign_in,
)

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)
ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "src" / "registrar" / "locale" / "fr" / "LC_MESSAGES" / "django.po"
# Until the browse pages' French fragment is merged into the project's catalogue, the test
# serves it from a locale folder of its own (put first in LOCALE_PATHS).
FRAGMENT = Path("/tmp/team/browse.po")
LEARNER = (
    "from registrar.learning.models import CourseRecord, CreditAward, Certificate;"
    "ids = set(CreditAward.objects.values_list('user_id', flat=True))"
    " & set(Certificate.objects.values_list('user_id', flat=True));"
    "from registrar.directory.models import User;"
    "u = User.objects.filter(pk__in=ids, disabled=False, manager__isnull=False).order_by('login').first()"
    " or User.objects.filter(pk__in=ids, disabled=False).order_by('login').first();"
    "print(u.login)"
)


def french_settings(work: Path, env: dict) -> None:
    """Serve the fragment's translations when the project's catalogue does not have them yet."""
    if 'msgid "Act on these"' in CATALOGUE.read_text(encoding="utf-8") or not FRAGMENT.exists():
        return
    locale = work / "locale" / "fr" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    subprocess.run(["msgfmt", "-o", str(locale / "django.mo"), str(FRAGMENT)], check=True)
    (work / "browse_test_settings.py").write_text(
        "from registrar.settings import *  # noqa: F403\n"
        f"LOCALE_PATHS = [{str(work / 'locale')!r}, *LOCALE_PATHS]  # noqa: F405\n"
    )
    env["DJANGO_SETTINGS_MODULE"] = "browse_test_settings"
    env["PYTHONPATH"] = os.pathsep.join([str(work), env.get("PYTHONPATH", "")])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`registrar init && registrar demo && registrar serve --worker` in a fresh folder, with a
    French-speaking site administrator."""
    work = tmp_path_factory.mktemp("browse-site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["REGISTRAR_DATA"] = str(work / "data")
    env["REGISTRAR_DB"] = str(work / "registrar.sqlite3")
    if PG:
        env["DATABASE_URL"] = fresh_pg_database(PG, "browser_browse")
    french_settings(work, env)
    registrar("init", env=env, cwd=work)
    registrar("demo", env=env, cwd=work)
    registrar(
        "shell",
        "-c",
        "from registrar.directory.models import Organisation, User, Role, RoleGrant; "
        "u = User.objects.create_user('chef', password='chef-pass', last_name='Chef', "
        "first_name='Claire', organisation=Organisation.objects.get(extid='ACME'), "
        "culture='fr-FR'); RoleGrant.objects.create(user=u, "
        "role=Role.objects.get(name='Site administrator'))",
        env=env,
        cwd=work,
    )
    learner = registrar("shell", "-c", LEARNER, env=env, cwd=work).stdout.strip().splitlines()[-1]
    port = free_port()
    log = open(work / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "registrar.cli", "serve", "--port", str(port), "--no-worker"],
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError((work / "serve.log").read_text())
    yield {"url": url, "work": work, "env": env, "learner": learner}
    os.killpg(proc.pid, 15)
    proc.wait(20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def signed_in(page, url, login, password) -> None:
    sign_in(page, url, login, password)
    page.wait_for_url(lambda u: "/login/" not in u)


def no_sideways_scroll(page) -> None:
    """The page is no wider than the window (wide tables scroll inside their own box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_users_list_and_a_users_page_in_english(site, browser):
    url, learner = site["url"], site["learner"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shot = Shots(page, "browse-en")
    signed_in(page, url, "admin", "admin")
    page.click("nav.mainnav a:has-text('Users')")
    page.wait_for_url(url + "/users/")
    assert "users" in page.inner_text("[data-testid=user-count]")
    shot("users")
    page.fill("#q", learner)
    page.click("[data-testid=user-filters] button.primary")
    page.wait_for_selector(f"[data-testid=user-rows] a[href='/users/{learner}/']")
    shot("users-searched")
    page.click(f"[data-testid=user-rows] a[href='/users/{learner}/']")
    page.wait_for_url(f"{url}/users/{learner}/")
    for section in ("user-facts", "courses", "credits", "certificates", "operations"):
        assert page.locator(f"[data-testid={section}]").count() == 1, section
    assert page.locator("[data-testid=courses] tbody tr").count() >= 1
    assert page.locator("[data-testid=operations] tbody tr").count() >= 1
    assert "Manager" in page.inner_text("[data-testid=user-facts]")
    shot("user")
    page.click("[data-testid=operations] tbody tr:first-child td:first-child a")
    page.wait_for_url("**/history/**")
    page.close()


def test_a_users_page_in_french_at_a_phone_width(site, browser):
    url, learner = site["url"], site["learner"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    shot = Shots(page, "browse-fr-phone")
    signed_in(page, url, "chef", "chef-pass")
    page.goto(f"{url}/users/{learner}/")
    assert page.get_attribute("html", "lang") == "fr"
    facts = page.inner_text("[data-testid=user-facts]")
    assert "Responsable" in facts and "Organisation" in facts
    assert "Opérations" in page.inner_text("[data-testid=operations]")
    shot("user")
    no_sideways_scroll(page)
    page.goto(url + "/users/")
    assert "utilisateurs" in page.inner_text("[data-testid=user-count]")
    shot("users")
    no_sideways_scroll(page)
    context.close()


def test_courses_and_a_course_page(site, browser):
    url = site["url"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shot = Shots(page, "browse-courses")
    signed_in(page, url, "admin", "admin")
    page.goto(url + "/courses/")
    assert "courses" in page.inner_text("[data-testid=course-count]")
    shot("courses")
    page.click("[data-testid=course-rows] tbody tr:first-child td:first-child a")
    page.wait_for_url("**/courses/*/")
    assert page.locator("[data-testid=status-counts]").count() == 1
    assert page.locator("[data-testid=lessons]").count() == 1
    shot("course")
    page.close()


def test_act_on_these_opens_the_assistant_with_the_same_users(site, browser):
    url = site["url"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    signed_in(page, url, "admin", "admin")
    page.goto(url + "/users/?org=ACME-EU")
    listed = page.inner_text("[data-testid=user-count]").split()[0]
    page.click("[data-testid=act-on-these]")
    page.wait_for_url("**/assistants/users/**")
    assert f"{listed} items selected" in page.inner_text("[data-testid=selection]")
    Shots(page, "browse-act")("assistant")
    page.close()

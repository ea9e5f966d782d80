"""The portal in a real browser (Playwright driving Debian's Chromium), against `registrar serve`
started as a user starts it, on the demo data: sign in, import a file through every step, see a
rejected row, download the results, undo, and check that a scoped administrator sees nothing of
another organisation. Screenshots of each step go to tests/artifacts/<database>/ (git-ignored)."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

playwright = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PG = os.environ.get("DATABASE_URL")
ARTIFACTS = ROOT / "tests" / "artifacts" / ("postgresql" if PG else "sqlite")
SCOPED = ("lmorris", "scoped-pass")  # the demo's training manager of ACME-CA

if not CHROMIUM and os.environ.get("REGISTRAR_BROWSER_REQUIRED"):
    raise RuntimeError("Chromium is required (CI): apt-get install -y chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)

GOOD_AND_BAD = (
    "course_id;user_email;completion_date\r\n"
    "SAFE-101;alice.martin@example.com;2024-06-15\r\n"
    "SAFE-102;bob.durand@example.com;2024-06-16\r\n"
    "NOPE-999;alice.martin@example.com;2024-06-17\r\n"
)


def registrar(*args, env, cwd, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "registrar.cli", *args],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fresh_pg_database(url: str, suffix: str) -> str:
    """An empty database named after the test run's (two runs on one server do not collide)."""
    import psycopg

    u = urlparse(url)
    name = f"{u.path.strip('/') or 'registrar'}_{suffix}"
    admin = urlunparse(u._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(u._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`registrar init && registrar demo && registrar serve --worker` in a fresh folder."""
    work = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["REGISTRAR_DATA"] = str(work / "data")
    env["REGISTRAR_DB"] = str(work / "registrar.sqlite3")
    if PG:
        env["DATABASE_URL"] = fresh_pg_database(PG, "browser")
    registrar("init", env=env, cwd=work)
    registrar("demo", env=env, cwd=work)
    registrar(
        "shell",
        "-c",
        f"from registrar.directory.models import User; u = User.objects.get(login={SCOPED[0]!r}); "
        f"u.set_password({SCOPED[1]!r}); u.culture = 'en-GB'; u.save()",
        env=env,
        cwd=work,
    )
    port = free_port()
    log = open(work / "serve.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "registrar.cli", "serve", "--port", str(port), "--worker"],
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
    (work / "completions.csv").write_text(GOOD_AND_BAD, encoding="utf-8")
    yield {"url": url, "work": work, "env": env}
    os.killpg(proc.pid, 15)
    proc.wait(20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Shots:
    """Numbered screenshots of one journey."""

    def __init__(self, page, prefix: str):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page, self.prefix, self.n = page, prefix, 0

    def __call__(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(
            path=ARTIFACTS / f"{self.prefix}-{self.n:02d}-{name}.png", full_page=True
        )


def sign_in(page, url, login, password):
    page.goto(url + "/login/")
    page.fill("#id_username", login)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def wait_done(page) -> str:
    """Wait for the job on the page to end (htmx polls it); its final status."""
    page.wait_for_selector(
        "[data-testid=job-status][data-status=done], [data-testid=job-status][data-status=failed]",
        timeout=120_000,
    )
    return page.get_attribute("[data-testid=job-status]", "data-status")


def test_import_through_every_step_then_undo(site, browser, tmp_path):
    url = site["url"]
    page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    shot = Shots(page, "admin")
    page.goto(url + "/")
    assert page.url.startswith(url + "/login/")
    shot("sign-in")
    sign_in(page, url, "admin", "admin")
    page.wait_for_url(url + "/")  # the home is the dashboard (issue 12)
    page.goto(url + "/imports/")
    assert page.locator("a.kind-title", has_text="Course completions").count() == 1
    shot("imports")

    page.click("a.kind-title:has-text('Course completions')")
    page.wait_for_url(url + "/imports/completions/")
    assert "user_email" in page.inner_text("table.grid")
    shot("kind")

    page.set_input_files("#file", str(site["work"] / "completions.csv"))
    page.click("button.primary")
    page.wait_for_url("**/uploads/**")
    preview = page.inner_text("[data-testid=preview]")
    assert "SAFE-101" in preview and "alice.martin@example.com" in preview
    shot("first-row-and-options")

    page.click("button[value=verify]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert "Verified" in page.inner_text("[data-testid=job-status]")
    rejected = page.inner_text("[data-testid=rejected]")
    assert "course_not_found" in rejected and "4" in rejected
    shot("verified")

    page.click("button:has-text('Import now')")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    status = page.inner_text("[data-testid=job-status]")
    assert "Imported" in status
    assert page.inner_text("[data-testid=counts] td.c-rejected") == "1"
    shot("imported")

    with page.expect_download() as dl:
        page.click("a:has-text('results')")
    results = tmp_path / "results.csv"
    dl.value.save_as(results)
    text = results.read_text(encoding="utf-8-sig")
    assert "course_not_found" in text and "rejected" in text

    page.click("a:has-text('See in the history')")
    page.wait_for_url("**/history/**")
    shot("operation")
    page.click("button:has-text('Check the undo')")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert "Undo checked" in page.inner_text("[data-testid=job-status]")
    shot("undo-checked")
    page.click("button:has-text('Undo now')")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert "Undone" in page.inner_text("[data-testid=job-status]")
    shot("undone")

    page.goto(url + "/history/")
    history = page.inner_text("[data-testid=history]")
    assert "undo #" in history and "completions" in history
    shot("history")
    page.close()


def test_scoped_administrator_sees_only_their_organisation(site, browser):
    url = site["url"]
    # An unscoped operation by the site administrator, which the scoped one must not see.
    admin = browser.new_page()
    sign_in(admin, url, "admin", "admin")
    admin.goto(url + "/history/")
    first = admin.locator("[data-testid=history] tbody tr td a").first
    admin_op = first.inner_text()
    admin.close()

    page = browser.new_page(viewport={"width": 1280, "height": 860})
    shot = Shots(page, "scoped")
    sign_in(page, url, *SCOPED)
    page.wait_for_url(url + "/")  # the home is the dashboard (issue 12)
    page.goto(url + "/imports/")
    kinds = page.inner_text("main")
    assert "Course completions" in kinds
    assert "Catalogue" not in [t.strip() for t in page.locator("h2").all_inner_texts()]
    shot("imports")

    page.goto(url + "/history/")
    ops = page.locator("[data-testid=history] tbody tr td:first-child a").all_inner_texts()
    assert admin_op not in ops
    shot("history")
    response = page.goto(url + f"/history/{admin_op}/")
    assert response.status == 404
    shot("other-organisation-refused")

    # Alice and Bob belong to ACME-EU: from ACME-CA, their rows are out of scope.
    page.goto(url + "/imports/completions/")
    page.set_input_files("#file", str(site["work"] / "completions.csv"))
    page.click("button.primary")
    page.wait_for_url("**/uploads/**")
    page.click("button[value=verify]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    rejected = page.inner_text("[data-testid=rejected]")
    assert rejected.count("out_of_scope") == 3  # the third row is also out of scope
    shot("out-of-scope")
    page.close()


def test_forgot_and_set_password_pages_in_french_at_a_phone_width(site, browser):
    """Issue 10, item 13: the pages a mailed link leads to exist, in the portal's style, in the
    reader's language; a link that does not work says so and offers a new one."""
    url = site["url"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    shot = Shots(page, "password")
    page.goto(url + "/login/")
    page.click("a[href='/forgot-password/']")
    page.wait_for_url(url + "/forgot-password/")
    assert "Mot de passe oublié" in page.inner_text("h1")
    shot("forgot-fr-phone")
    page.fill("#id_email", "nobody@example.com")
    page.click("button[type=submit]")
    page.wait_for_url(url + "/forgot-password/sent/")
    assert page.locator("[data-testid=reset-sent]").count() == 1
    shot("sent-fr-phone")
    page.goto(url + "/set-password/MQ/not-a-token/")
    text = page.inner_text("main")
    assert "Ce lien ne fonctionne pas" in text and "Demander un nouveau lien" in text
    shot("bad-link-fr-phone")
    context.close()


def walk_the_assistant(page, url, shot, words) -> None:
    """Select by organisation → assign courses → verify → run → per-user results → undo."""
    page.goto(url + "/assistants/")
    shot("assistants")
    page.click("[data-testid=assistant-users]")
    page.wait_for_url("**/assistants/users/**")
    page.select_option("select[name=f] >> nth=0", "org")
    page.select_option("select[name=o] >> nth=0", "in")
    page.fill("input[name=v] >> nth=0", "ACME-EU")
    page.click("[data-testid=show-selection]")
    page.wait_for_selector("[data-testid=selection-rows]")
    assert words["selected"] in page.inner_text("[data-testid=selection]")
    shot("selection")
    page.click("[data-testid=action-assign-courses]")
    page.wait_for_url("**/assistants/users/assign-courses/**")
    page.fill("#p_courses", "ETH-201")
    page.select_option("#p_option", "mandatory")
    page.fill("#p_target_date", "2027-03-31")
    shot("parameters")
    page.click("[data-testid=verify]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    results = page.inner_text("[data-testid=item-results]")
    assert "ETH-201" in results and words["created"] in results
    shot("verified")
    page.click("[data-testid=run-now]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert words["done"] in page.inner_text("[data-testid=job-status]")
    shot("done")
    page.click("[data-testid=undo]")  # checked first: what the undo will do
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    shot("undo-checked")
    page.click("[data-testid=undo-now]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert words["undone"] in page.inner_text("[data-testid=job-status]")
    shot("undone")


def test_assistant_assigns_a_course_to_an_organisation_then_undoes_it(site, browser):
    """Issue 11: the wizard, select → action → parameters → verify → run → results → undo."""
    url = site["url"]
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    sign_in(page, url, "admin", "admin")
    page.wait_for_url(url + "/")  # the home is the dashboard (issue 12)
    page.goto(url + "/imports/")
    words = {"selected": "selected", "created": "created", "done": "Done", "undone": "Undone"}
    walk_the_assistant(page, url, Shots(page, "assistant"), words)
    page.close()


def test_assistant_in_french_at_a_phone_width(site, browser):
    url = site["url"]
    registrar(
        "shell",
        "-c",
        "from registrar.directory.models import Organisation, User; "
        "from registrar.directory.models import Role, RoleGrant; "
        "u = User.objects.create_user('chef', password='chef-pass', last_name='Chef', "
        "first_name='Claire', organisation=Organisation.objects.get(extid='ACME'), "
        "culture='fr-FR'); RoleGrant.objects.create(user=u, "
        "role=Role.objects.get(name='Site administrator'))",
        env=site["env"],
        cwd=site["work"],
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    sign_in(page, url, "chef", "chef-pass")
    page.wait_for_url(url + "/")  # the home is the dashboard (issue 12)
    page.goto(url + "/imports/")
    words = {
        "selected": "sélectionn",
        "created": "créé",
        "done": "Terminé",
        "undone": "Annulation effectuée",
    }
    walk_the_assistant(page, url, Shots(page, "assistant-fr-phone"), words)
    context.close()

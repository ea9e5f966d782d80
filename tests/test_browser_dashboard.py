"""The completion dashboard in a real browser (Playwright driving Debian's Chromium), against
`registrar serve` on the demo data: the home page after sign-in, its charts drawn from the local
Chart.js, a filter applied, the accreditation view, a link down to the learners; in English at
1280 px and in French at a phone's width (390 px), with no sideways scrolling of the page.
Screenshots go to tests/artifacts/<database>/ (git-ignored), beside test_browser.py's."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .test_browser import ARTIFACTS, CHROMIUM, PG, free_port, fresh_pg_database, registrar

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)
SCOPED = ("lmorris", "scoped-pass")  # the demo's training manager of ACME-CA


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`registrar init && registrar demo && registrar serve` in a fresh folder."""
    work = tmp_path_factory.mktemp("dashboard-site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["REGISTRAR_DATA"] = str(work / "data")
    env["REGISTRAR_DB"] = str(work / "registrar.sqlite3")
    if PG:
        env["DATABASE_URL"] = fresh_pg_database(PG, "browser_dashboard")
    registrar("init", env=env, cwd=work)
    registrar("demo", env=env, cwd=work)
    registrar(
        "shell",
        "-c",
        f"from registrar.directory.models import User; u = User.objects.get(login={SCOPED[0]!r}); "
        f"u.set_password({SCOPED[1]!r}); u.culture = 'fr-FR'; u.save()",
        env=env,
        cwd=work,
    )
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


def shot(page, name: str, screens: int = 0) -> None:
    """The whole page, and its first `screens` screenfuls one by one (legible at a phone's
    width, where the whole page is a long strip)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"dashboard-{name}.png", full_page=True)
    height = page.viewport_size["height"]
    for i in range(screens):
        page.evaluate(f"() => window.scrollTo(0, {i * height})")
        page.screenshot(path=ARTIFACTS / f"dashboard-{name}-screen{i + 1}.png")
    page.evaluate("() => window.scrollTo(0, 0)")


def sign_in(page, url, login, password):
    page.goto(url + "/login/")
    page.fill("#id_username", login)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def charts_drawn(page) -> bool:
    """Whether Chart.js (from the static files) drew both charts."""
    return page.evaluate(
        "() => typeof Chart !== 'undefined' && !!Chart.getChart('chart-courses')"
        " && !!Chart.getChart('chart-orgs')"
    )


def test_dashboard_in_english_at_desktop_width(site, browser):
    url = site["url"]
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, url, "admin", "admin")
    page.wait_for_function("() => typeof Chart !== 'undefined' && Chart.getChart('chart-orgs')")
    assert charts_drawn(page)
    assert all(r.startswith(url) for r in requests), "everything comes from the site itself"
    assert page.text_content("h1") == "Dashboard"
    assigned = int(page.text_content("[data-testid=total-assigned]"))
    rows = page.locator("[data-testid=course-table] tbody tr").count()
    assert assigned > 0 and rows > 5
    shot(page, "en-1280")
    # A course filter narrows the figures; the accreditation view leaves legacy records out.
    code = page.get_attribute("[data-testid=course-table] tbody tr:first-child", "data-course")
    page.fill("#f-course", code)
    page.check("[data-testid=accreditation]")
    page.click(".filter-actions button[type=submit]")
    page.wait_for_selector("[data-testid=accreditation-note]")
    assert page.locator("[data-testid=course-table] tbody tr").count() == 1
    assert int(page.text_content("[data-testid=total-assigned]")) <= assigned
    shot(page, "en-1280-filtered")
    link = page.get_attribute(
        f"[data-testid=course-table] tr[data-course='{code}'] a[data-status=completed]", "href"
    )
    assert link == f"/users/?course={code}&status=completed"
    page.close()


def test_dashboard_in_french_at_a_phone_width(site, browser):
    url = site["url"]
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR")
    sign_in(page, url, *SCOPED)
    page.wait_for_function("() => typeof Chart !== 'undefined' && Chart.getChart('chart-orgs')")
    assert page.get_attribute("html", "lang") == "fr"
    # The page itself never scrolls sideways (wide tables scroll inside their box).
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide"
    orgs = page.locator("[data-testid=org-table] tbody tr")
    assert orgs.first.get_attribute("data-org") == "ACME-CA"  # the scope's top, not the root
    assert "," in page.text_content("[data-testid=total-rate]") or "0 %" in page.text_content(
        "[data-testid=total-rate]"
    )
    shot(page, "fr-390", screens=4)
    page.close()

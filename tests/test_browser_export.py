"""The export assistant in a real browser (SPEC §6), on the demo data served by `registrar serve`:
build an export from the groups, preview it, run it as a job, download the file and read it; in
English and in French, at a phone's width (390 px). Screenshots go to tests/artifacts/."""

import csv
import io

import pytest

from .test_browser import CHROMIUM, Shots, browser, registrar, sign_in, site, wait_done  # noqa: F401

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)


def build_and_download(page, url, shot, tmp_path) -> list[list[str]]:
    """Tick course columns, preview, export, wait for the job, download: the file's rows."""
    page.goto(url + "/export/")
    shot("form")
    page.click("[data-testid=group-courses] summary")
    page.check("input[name=columns][value=course_code]")
    page.check("input[name=columns][value=course_status]")
    page.check("input[name=status][value=C]")
    page.check("input[name=delimiter][value=',']")
    page.click("[data-testid=export-preview]")
    page.wait_for_selector("[data-testid=export-preview-rows]")
    shot("preview")
    assert page.locator("[data-testid=export-preview-rows] tbody tr").count() > 0
    page.click("[data-testid=export-start]")
    assert wait_done(page) == "done"
    shot("done")
    with page.expect_download() as d:
        page.click("[data-testid=export-download]")
    path = tmp_path / d.value.suggested_filename
    d.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def check_file(rows: list[list[str]]) -> None:
    assert rows[0] == [
        "user_login",
        "user_lname",
        "user_fname",
        "org_extid",
        "course_code",
        "course_status",
    ]
    assert len(rows) > 1 and all(r[5] == "C" for r in rows[1:])


def test_export_in_english_at_a_phone_width(site, browser, tmp_path):  # noqa: F811
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="en-GB", accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, site["url"], "admin", "admin")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    rows = build_and_download(page, site["url"], Shots(page, "export-en-phone"), tmp_path)
    check_file(rows)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def test_export_in_french_at_a_phone_width(site, browser, tmp_path):  # noqa: F811
    registrar(
        "shell",
        "-c",
        "from registrar.directory.models import Organisation, User; "
        "from registrar.directory.models import Role, RoleGrant; "
        "u = User.objects.create_user('exportfr', password='export-pass', last_name='Export', "
        "first_name='Elise', organisation=Organisation.objects.get(extid='ACME'), "
        "culture='fr-FR'); RoleGrant.objects.create(user=u, "
        "role=Role.objects.get(name='Site administrator'))",
        env=site["env"],
        cwd=site["work"],
    )
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="fr-FR", accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, site["url"], "exportfr", "export-pass")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    rows = build_and_download(page, site["url"], Shots(page, "export-fr-phone"), tmp_path)
    check_file(rows)
    assert page.get_attribute("html", "lang") == "fr"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()

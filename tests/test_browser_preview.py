"""The import preview in a real browser (issue 14, item 5), on the demo served by `registrar
serve`: a CSV and an .xlsx show several rows, the row count and their real format (no CSV
options for the workbook), readable values; a file missing a column is refused with no run
button. In English and in French, at a phone's width (390 px). Screenshots: tests/artifacts/."""

import pytest

from registrar.bulk.io.writers import TableWriter

from .test_browser import CHROMIUM, Shots, browser, registrar, sign_in, site  # noqa: F401

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)

HEADER = ["user_lname", "user_fname", "user_login", "org_extid", "user_audiences"]
HEADER += ["training_access", "birth_date"]
ROWS = [
    [f"Preview{i}", "Ann", f"preview{i}", "ACME", "Managers||Sales", "1", "1985/04/12"]
    for i in range(8)
]


def files(work) -> dict[str, str]:
    """The CSV, the same rows as .xlsx, and a CSV missing required columns."""
    out = {}
    for name, rows in (("users.csv", [HEADER, *ROWS]), ("users.xlsx", [HEADER, *ROWS])):
        path = str(work / name)
        w = TableWriter(path, "xlsx" if name.endswith("xlsx") else "csv", delimiter=";")
        for r in rows:
            w.write(r)
        w.close()
        out[name] = path
    (work / "refused.csv").write_text("user_lname;user_fname\r\nMartin;Ann\r\n", encoding="utf-8")
    out["refused.csv"] = str(work / "refused.csv")
    return out


def upload(page, url, path):
    page.goto(url + "/imports/users/")
    page.set_input_files("#file", path)
    page.click("button.primary")
    page.wait_for_url("**/uploads/**")


def walk(page, url, work, shot, words) -> None:
    """Upload the three files; check each preview page."""
    paths = files(work)
    upload(page, url, paths["users.csv"])
    table = page.inner_text("[data-testid=preview]")
    assert all(f"preview{i}" in table for i in range(5)) and "preview5" not in table
    assert "Managers||Sales" in table and words["yes"] in table and "1985-04-12" in table
    assert "[" not in table and "True" not in table
    assert words["rows"] in page.inner_text("[data-testid=row-count]")
    assert "CSV" in page.inner_text("[data-testid=format]")
    assert page.locator("[data-testid=run]").count() == 1
    assert page.locator("#opt_delimiter").count() == 1
    shot("csv")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    upload(page, url, paths["users.xlsx"])
    fmt = page.inner_text("[data-testid=format]")
    assert ".xlsx" in fmt and ";" not in fmt and "utf-8" not in fmt
    assert words["rows"] in page.inner_text("[data-testid=row-count]")
    assert page.locator("#opt_delimiter").count() == 0
    assert page.locator("#opt_encoding").count() == 0
    assert "preview4" in page.inner_text("[data-testid=preview]")
    shot("xlsx")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    upload(page, url, paths["refused.csv"])
    assert "user_login" in page.inner_text("[data-testid=refused]")
    assert page.locator("[data-testid=run]").count() == 0
    assert page.locator("[data-testid=verify]").count() == 0
    page.click("[data-testid=check-again]")  # the options posted: still refused, no job
    page.wait_for_selector("[data-testid=refused]")
    assert "/uploads/" in page.url and page.locator("[data-testid=run]").count() == 0
    shot("refused")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_preview_in_english_at_a_phone_width(site, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    sign_in(page, site["url"], "admin", "admin")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    words = {"yes": "yes", "rows": "8 data rows"}
    walk(page, site["url"], site["work"], Shots(page, "preview-en-phone"), words)
    context.close()


def test_preview_in_french_at_a_phone_width(site, browser):  # noqa: F811
    registrar(
        "shell",
        "-c",
        "from registrar.directory.models import Organisation, User; "
        "from registrar.directory.models import Role, RoleGrant; "
        "u = User.objects.create_user('previewfr', password='preview-pass', last_name='Apercu', "
        "first_name='Elise', organisation=Organisation.objects.get(extid='ACME'), "
        "culture='fr-FR'); RoleGrant.objects.create(user=u, "
        "role=Role.objects.get(name='Site administrator'))",
        env=site["env"],
        cwd=site["work"],
    )
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    sign_in(page, site["url"], "previewfr", "preview-pass")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    words = {"yes": "oui", "rows": "8"}  # the sentence's French comes with the lead's .po merge
    walk(page, site["url"], site["work"], Shots(page, "preview-fr-phone"), words)
    assert page.get_attribute("html", "lang") == "fr"
    context.close()

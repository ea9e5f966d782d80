"""The statistics assistant in a real browser (SPEC §5, seed 003 "L'Assistant Statistiques"), on
the demo served by `registrar serve`: no selection step; one user, one course, one lesson; verify,
run, undo. At a phone's width (390 px). Screenshots go to tests/artifacts/."""

import pytest

from .test_browser import CHROMIUM, Shots, browser, sign_in, site, wait_done  # noqa: F401

pytestmark = pytest.mark.skipif(
    not CHROMIUM, reason="Chromium is not installed: apt-get install -y chromium"
)


def test_statistics_assistant_sets_a_lesson_then_undoes_it(site, browser):  # noqa: F811
    url = site["url"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    shot = Shots(page, "statistics-phone")
    sign_in(page, url, "admin", "admin")
    page.wait_for_url(lambda u: "/login/" not in u, timeout=60_000)
    page.goto(url + "/assistants/")
    page.click("[data-testid=assistant-statistics]")
    page.wait_for_url("**/assistants/statistics/set/")  # no selection step
    page.fill("#p_user", "amartin")
    page.fill("#p_course", "SAFE-201")
    page.fill("#p_lesson", "SAFE-201-L1")
    page.select_option("#p_status", "C")
    page.fill("#p_time", "1260")
    shot("parameters")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("[data-testid=verify]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    results = page.inner_text("[data-testid=item-results]")
    assert "amartin" in results and "SAFE-201-L1" in results and "created" in results
    shot("verified")
    page.click("[data-testid=run-now]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert "Done" in page.inner_text("[data-testid=job-status]")
    shot("done")
    page.click("[data-testid=undo]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    page.click("[data-testid=undo-now]")
    page.wait_for_url("**/jobs/**")
    assert wait_done(page) == "done"
    assert "Undone" in page.inner_text("[data-testid=job-status]")
    shot("undone")
    context.close()

"""Issue 14, item 3: at a phone's width every header link stays inside the dark bar and no page is
wider than the screen (wide tables scroll inside their box), in English and in French."""

import re

import pytest

from .test_browser import CHROMIUM, Shots, browser, sign_in, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="Chromium is not installed")

PAGES = (
    "/",
    "/imports/",
    "/assistants/",
    "/assistants/courses/?go=1&ids=SAFE-101",
    "/users/",
    "/courses/",
    "/export/",
    "/history/",
)

# Every header link's box, the bar's box, and how wide the page is against the window.
MEASURE = """() => {
  const bar = document.querySelector('header.topbar').getBoundingClientRect();
  const links = [...document.querySelectorAll('header.topbar a, header.topbar button')]
    .filter(a => a.offsetParent !== null)
    .map(a => { const r = a.getBoundingClientRect();
      return {text: a.textContent.trim(), top: r.top, bottom: r.bottom, left: r.left,
              right: r.right}; });
  return {bar: {top: bar.top, bottom: bar.bottom, left: bar.left, right: bar.right},
          links, width: document.documentElement.scrollWidth, window: window.innerWidth};
}"""


@pytest.mark.parametrize("language", ["en", "fr"])
def test_at_a_phones_width_the_header_and_every_page_fit_the_screen(site, browser, language):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    shot = Shots(page, f"layout-390-{language}")
    sign_in(page, site["url"], "admin", "admin")
    page.wait_for_selector("[data-testid=who]")  # signed in
    if language == "fr":
        page.click(f"[data-testid=language-switch] button[value={language}]")
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang") == "fr"
    for path in PAGES:
        page.goto(site["url"] + path)
        m = page.evaluate(MEASURE)
        bar = m["bar"]
        for link in m["links"]:
            inside = (
                link["top"] >= bar["top"] - 1
                and link["bottom"] <= bar["bottom"] + 1
                and link["left"] >= bar["left"] - 1
                and link["right"] <= bar["right"] + 1
            )
            assert inside, (path, link, bar)
        assert m["width"] <= m["window"] + 1, (path, m["width"])
        shot(re.sub(r"[^a-z0-9]+", "-", path.split("?")[0]).strip("-") or "home")
    context.close()

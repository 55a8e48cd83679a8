"""The HTML report in a real browser: headless Chromium loads it without console errors and draws every figure;
every contents link lands on its section, no Markdown is left unrendered, and no code is broken mid-token.

Needs Debian's ``chromium`` and ``chromium-driver`` (CI installs them, see .ci/run) and selenium
(the dev extra). Without them the test is skipped locally; under CI (``CI`` set) it fails instead,
so CI can never pass without having run it.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

#: What the page must show: every figure image decoded with a non-zero size, every MathML statement laid out.
MEASURE = """
const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
return {
  images: [...document.querySelectorAll('img')].map(e => ({alt: e.alt, complete: e.complete,
                                                          natural: [e.naturalWidth, e.naturalHeight], box: box(e)})),
  svgs: [...document.querySelectorAll('svg')].map(e => ({box: box(e)})),
  maths: [...document.querySelectorAll('math')].map(e => ({box: box(e)})),
  title: document.title,
};
"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or DRIVER is None:
        reason = "headless Chromium not installed (Debian packages chromium and chromium-driver; .ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason + ", but CI must run the browser test")
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


def test_report_renders_in_chromium(browser, mini_report):
    out, report, _ = mini_report
    browser.get((out / "report.html").resolve().as_uri())
    page = browser.execute_script(MEASURE)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert page["title"] == f"decdiff report ({report['suite']['name']})"
    assert len(page["images"]) == len(list((out / "figures").glob("*.png"))) >= 4
    for image in page["images"]:
        assert image["complete"] and min(image["natural"]) > 0 and min(image["box"]) > 0, image
        assert image["box"][0] >= image["natural"][0] - 1, image     # shown at natural size: no text shrinks
    for svg in page["svgs"]:
        assert min(svg["box"]) > 0, svg
    assert len(page["maths"]) == len(report["claims"])
    assert all(min(m["box"]) > 0 for m in page["maths"])


#: Every section heading, every contents link, every Summary link, and each code element's layout.
LAYOUT = """
const headings = [...document.querySelectorAll('h2, h3')].filter(h => !h.closest('nav'));
return {
  headings: headings.map(h => h.id),
  contents: [...document.querySelectorAll('nav#contents a')].map(a => a.getAttribute('href')),
  summary: [...document.querySelectorAll('#summary-table td:first-child a')].map(a => a.getAttribute('href')),
  text: document.body.innerText,
  codes: [...document.querySelectorAll('code')].map(c => ({text: c.textContent, lines: c.getClientRects().length,
    overflow: getComputedStyle(c).overflowX, scrolls: c.scrollWidth > c.clientWidth + 1,
    whiteSpace: getComputedStyle(c).whiteSpace})),
};
"""

#: Markdown that a renderer would have turned into markup: strong or emphasis markers, code spans, links.
RAW_MARKDOWN = re.compile(r"\*\*|__|`|\]\(")


def _lands(browser, href: str) -> tuple[float, bool]:
    """Click the link to `href` (scrolled to first) and return where its target's top then is, and whether
    the page is scrolled to its end (a target near the end cannot reach the top of the window)."""
    browser.execute_script("window.scrollTo(0, 0)")
    link = browser.find_element("css selector", f'nav#contents a[href="{href}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    return browser.execute_script(
        "const t = document.getElementById(arguments[0]).getBoundingClientRect().top;"
        "return [t, window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1];",
        href[1:])


def test_navigation_links_land_on_every_section_and_no_markdown_is_left_raw(browser, mini_report):
    out, report, _ = mini_report
    browser.get((out / "report.html").resolve().as_uri())
    page = browser.execute_script(LAYOUT)
    assert all(page["headings"]), "every section heading has an id"
    assert page["contents"] == [f"#{h}" for h in page["headings"]]
    assert len(page["summary"]) == len(report["summary"]) and set(page["summary"]) <= set(page["contents"])
    for claim in report["claims"]:
        assert f"#{claim['name'].lower().replace(' ', '-')}" in page["contents"]
    for href in page["contents"]:
        top, at_end = _lands(browser, href)
        assert abs(top) <= 2 or (at_end and 0 <= top < browser.execute_script("return window.innerHeight")), href
    raw = [m.group() + ": " + page["text"][max(0, m.start() - 40):m.end() + 40]
           for m in RAW_MARKDOWN.finditer(page["text"])]
    assert raw == []
    for code in page["codes"]:
        assert code["lines"] == 1 and code["whiteSpace"] in ("nowrap", "pre"), code    # never broken mid-token
        assert not code["scrolls"] or code["overflow"] == "auto", code                   # long commands scroll

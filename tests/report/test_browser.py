"""The HTML report in a real browser: headless Chromium loads it without console errors and draws every figure.

Needs Debian's ``chromium`` and ``chromium-driver`` (CI installs them, see .ci/run) and selenium
(the dev extra). Without them the test is skipped locally; under CI (``CI`` set) it fails instead,
so CI can never pass without having run it.
"""

from __future__ import annotations

import os
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
    for svg in page["svgs"]:
        assert min(svg["box"]) > 0, svg
    assert len(page["maths"]) == len(report["claims"])
    assert all(min(m["box"]) > 0 for m in page["maths"])

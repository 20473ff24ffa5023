"""report.html in a real headless Chromium: every figure decodes, every claim is there.

Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them);
no browser is downloaded at run time. The screenshot is kept next to the
report (set ``VIRTSIM_SCREENSHOT`` to a path to keep a copy elsewhere).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from virtsim import reproduce
from virtsim.claims import CLAIM_IDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed "
           "(apt-get install chromium chromium-driver; .ci/run does this)")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole reproduction at tiny size: every experiment, every figure."""
    out = tmp_path_factory.mktemp("browser")
    result = reproduce.reproduce(out, size="tiny", seed=1, workers=2, progress=False, log=False)
    return result.report_html


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1800", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def test_every_figure_decodes_and_every_claim_is_present(report: Path, browser: Any) -> None:
    browser.get(report.as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
    assert len(images) > 6 + len(CLAIM_IDS)  # stack diagrams plus figures
    broken = [alt for alt, complete, width in images if not complete or width <= 0]
    assert not broken, f"figures that did not decode: {broken}"
    sections = browser.execute_script(
        "return Array.from(document.querySelectorAll('section.claim'))"
        ".map(s => [s.id, s.dataset.verdict, s.querySelector('h2').innerText]);")
    assert [s[0] for s in sections] == list(CLAIM_IDS)
    assert all(verdict for _, verdict, _ in sections)
    summary = browser.execute_script(
        "return document.querySelectorAll('table.summary tbody tr').length;")
    assert summary == len(CLAIM_IDS)


OVERLAPS = """
const boxes = (selector) => Array.from(document.querySelectorAll(selector)).map(e => {
  const r = e.getBoundingClientRect();
  return {name: e.closest('figure') ? e.closest('figure').id : e.tagName,
          top: r.top + window.scrollY, bottom: r.bottom + window.scrollY,
          left: r.left, right: r.right};
});
const images = boxes('figure img'), captions = boxes('figcaption');
const hits = [];
for (const c of captions) for (const i of images) {
  const h = Math.min(c.right, i.right) - Math.max(c.left, i.left);
  const v = Math.min(c.bottom, i.bottom) - Math.max(c.top, i.top);
  if (h > 1 && v > 1) hits.push(c.name + ' caption over ' + i.name + ' image');
}
return [images.length, captions.length, hits];
"""


@pytest.mark.parametrize("width", [1400, 900])
def test_no_caption_overlaps_a_figure(report: Path, browser: Any, width: int) -> None:
    browser.set_window_size(width, 1800)
    browser.get(report.as_uri())
    browser.execute_script("return Promise.all(Array.from(document.images).map(i => "
                           "i.complete ? 1 : new Promise(r => { i.onload = i.onerror = r; })));")
    images, captions, hits = browser.execute_script(OVERLAPS)
    assert images == captions > 6 + len(CLAIM_IDS)
    assert not hits, hits
    shot = report.parent / f"report-{width}px.png"
    assert browser.save_screenshot(str(shot))


def test_summary_shows_every_statement_uncut(report: Path, browser: Any) -> None:
    import csv

    browser.set_window_size(1400, 1800)
    browser.get(report.as_uri())
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.summary tbody tr')).map(tr => "
        "[tr.cells[0].innerText, Array.from(tr.querySelectorAll('ul.statements li'))"
        ".map(li => li.innerText), tr.cells[3].scrollWidth <= tr.cells[3].clientWidth + 1]);")
    with (report.parent / "findings.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["statement"]]
    for claim_id, items, fits in shown:
        expected = [f"{r['verdict']}: {r['statement']}" for r in rows if r["claim"] == claim_id]
        assert items == expected, claim_id
        assert fits, f"{claim_id}: the statements cell is cut off"


def test_screenshot_of_the_rendered_report(report: Path, browser: Any) -> None:
    browser.get(report.as_uri())
    shot = report.parent / "report-screenshot.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    browser.execute_script("document.getElementById('C13').scrollIntoView();")
    second = report.parent / "report-c13-screenshot.png"
    assert browser.save_screenshot(str(second))
    keep = os.environ.get("VIRTSIM_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
        shutil.copy(second, Path(keep).with_name(Path(keep).stem + "-c13.png"))

"""The HTML report in a real headless browser: Debian's chromium driven by selenium through the
system chromedriver (no driver download). Skips, saying why, when chromium, chromedriver or
selenium is missing. Install: ``apt-get install -y chromium chromium-driver`` and
``pip install selenium -c constraints.txt``; run with ``-m browser``."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from helpers import run_cli

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SWEEP = REPO / "results" / "ashnets"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1366, 900  # a laptop's screen


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    if not Path(CHROMEDRIVER).is_file():
        pytest.skip(f"{CHROMEDRIVER} is missing (apt-get install -y chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def small_results(folder: Path) -> Path:
    """A results folder of a few real runs (two configurations, two seeds each) and one profile."""
    folder.mkdir()
    with (SWEEP / "runs.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        axis = "axis:arm" if "axis:arm" in fields else "axis:mode"
        rows = [r for r in reader if r[axis] in ("ann", "hybrid")][:4]
    with (folder / "runs.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    doc = json.loads((SWEEP / "ashnet_default_profile.json").read_text())
    (folder / "ashnet_default_profile.json").write_text(json.dumps(doc))
    return folder


def _page_checks(driver, html: Path, shot: Path) -> None:
    driver.get(html.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    sizes = driver.execute_script("""
        const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
        return {svg: [...document.querySelectorAll('figure svg')].map(box),
                table: [...document.querySelectorAll('table')].map(box),
                overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                sections: [...document.querySelectorAll('section')].map(s => s.id)};""")
    assert sizes["svg"] and sizes["table"]
    assert all(w > 50 and h > 50 for w, h in sizes["svg"]), sizes["svg"]
    assert all(w > 0 and h > 0 for w, h in sizes["table"]), sizes["table"]
    assert all(w <= WIDTH for w, _ in sizes["svg"]), "a figure is wider than the window"
    assert sizes["overflow"] <= 0, "the page scrolls sideways (wide tables must scroll in their own box)"
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(height + 200, 12000))
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    driver.set_window_size(WIDTH, HEIGHT)
    return sizes


def test_results_report_renders_in_chromium(browser, tmp_path):
    folder = small_results(tmp_path / "sweep")
    out = tmp_path / "report.html"
    result = run_cli("report", folder, "-o", out)
    assert result.exit_code == 0, result.output
    sizes = _page_checks(browser, out, tmp_path / "report.png")
    assert sizes["sections"] == ["comparison", "accuracy-vs-energy", "energy-breakdown", "sparsity", "assumptions"]


def test_profile_report_renders_in_chromium(browser, tmp_path):
    out = tmp_path / "profile.html"
    result = run_cli("report", SWEEP / "ashnet_default_profile.json", "-o", out)
    assert result.exit_code == 0, result.output
    sizes = _page_checks(browser, out, tmp_path / "profile.png")
    assert sizes["sections"] == ["tables", "sparsity", "assumptions"]


def test_narrow_screen_scrolls_tables_not_the_page(browser, tmp_path):
    folder = small_results(tmp_path / "sweep")
    out = tmp_path / "report.html"
    assert run_cli("report", folder, "-o", out).exit_code == 0
    browser.set_window_size(420, 900)
    try:
        browser.get(out.as_uri())
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        browser.save_screenshot(str(tmp_path / "narrow.png"))
    finally:
        browser.set_window_size(WIDTH, HEIGHT)

"""The "PIM images" page in a real Airflow UI, in headless Chromium (Selenium), against
``make airflow``'s script (``scripts/airflow_ui.py``: ``airflow standalone`` on free ports, a
configured admin password) with three run reports in its staging base.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). A screenshot of
the page is kept under the test's tmp folder; its path is printed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from run_reports import write_runs
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from services import free_port

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "system-test-pw-7"
#: Seconds for the sandbox and `airflow standalone` (a fresh SQLite database) to serve the UI.
STARTUP = 180


@dataclass
class Airflow:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    run_ids: list[str]


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    home = tmp_path_factory.mktemp("airflow-ui") / "home"
    run_ids = write_runs(home / "pim_images")
    port = free_port()
    log = home.parent / "airflow-ui.log"
    env = {
        **os.environ,
        "AIRFLOW_UI_HOME": str(home),
        "AIRFLOW_PORT": str(port),
        "AIRFLOW_ADMIN_PASSWORD": PASSWORD,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "airflow_ui.py")],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://localhost:{port}"
    running = Airflow(url=url, process=process, log=log, run_ids=run_ids)
    try:
        _wait_for_page(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_for_page(airflow: Airflow) -> None:
    """Until the API server answers for the plugin's page (401: it is there, and asks for a login)."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if airflow.process.poll() is not None:
            pytest.fail(f"make airflow's script exited: {airflow.log.read_text()[-3000:]}")
        try:
            if httpx.get(airflow.url + "/pim-images/", timeout=5).status_code == 401:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"the Airflow UI did not come up in {STARTUP} s: {airflow.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: install Debian's packages with "
            "`apt-get install -y chromium chromium-driver` (.ci/run does)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"pim-images-chromium-{os.getpid()}"
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_the_page_is_refused_without_a_login(airflow: Airflow) -> None:
    assert httpx.get(airflow.url + "/pim-images/").status_code == 401
    assert httpx.get(airflow.url + f"/pim-images/runs/{airflow.run_ids[0]}/").status_code == 401


def test_the_ui_shows_the_runs_page_from_its_navigation(
    airflow: Airflow, browser: webdriver.Chrome, tmp_path_factory: pytest.TempPathFactory
) -> None:
    wait = WebDriverWait(browser, 60)
    browser.get(airflow.url + "/")
    wait.until(expected_conditions.presence_of_element_located((By.NAME, "username")))
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    entry = wait.until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "a[href$='plugin/pim-images']"))
    )
    entry.click()
    frame = wait.until(expected_conditions.presence_of_element_located((By.TAG_NAME, "iframe")))
    browser.switch_to.frame(frame)
    wait.until(expected_conditions.presence_of_element_located((By.ID, "runs")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#runs tr.run")
    assert [row.get_attribute("data-run-id") for row in rows] == list(reversed(airflow.run_ids))
    assert browser.find_elements(By.CSS_SELECTOR, "svg.trend rect.images")
    browser.switch_to.default_content()
    time.sleep(1)  # the iframe's page drawn
    screenshot = tmp_path_factory.mktemp("screenshots") / "pim-images-page.png"
    browser.save_screenshot(str(screenshot))
    print(f"\nscreenshot of the PIM images page: {screenshot}")
    assert screenshot.stat().st_size > 10_000


def test_a_runs_report_opens_from_the_page(airflow: Airflow, browser: webdriver.Chrome) -> None:
    browser.get(airflow.url + "/pim-images/")  # logged in: the session cookie
    try:
        link = WebDriverWait(browser, 60).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, "#runs tr.run a"))
        )
    except TimeoutException:
        pytest.fail(f"no run's link on {browser.current_url}: {browser.page_source[:3000]}")
    link.click()
    assert "sftp.example.com refused the upload" in browser.page_source


def test_sigterm_stops_airflow_and_every_process_it_started(airflow: Airflow) -> None:
    standalone = subprocess.run(
        ["pgrep", "-P", str(airflow.process.pid), "-f", "airflow standalone"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert standalone, "no airflow standalone under make airflow's script"
    group = int(standalone[0])
    airflow.process.send_signal(signal.SIGTERM)
    assert airflow.process.wait(timeout=90) == 0
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)

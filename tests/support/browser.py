"""Headless Debian Chromium for browser tests: no network beyond what the page asks for."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@contextmanager
def chromium(
    profile: Path, window: str = "1400,900", insecure_certs: bool = False
) -> Iterator[webdriver.Chrome]:
    """A started headless Chromium; fails (never skips) with the fix when it is missing."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (path.exists() and shutil.which(str(path))):
            pytest.fail(
                f"{path} is missing: apt-get install chromium chromium-driver", pytrace=False
            )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    if insecure_certs:  # a proxy's self-signed certificate
        options.add_argument("--ignore-certificate-errors")
        options.set_capability("acceptInsecureCerts", True)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except WebDriverException as exc:
        pytest.fail(f"headless Chromium did not start: {exc.msg}", pytrace=False)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def save_png(driver: webdriver.Chrome, path: Path) -> Path:
    """A screenshot of the window as a PNG at `path` (its folder is made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    assert path.read_bytes().startswith(PNG_SIGNATURE), f"{path} is not a PNG"
    return path


def sign_in_at_proxy(driver: webdriver.Chrome, base_url: str, password: str) -> None:
    """Sign in as admin on cryptolabs-proxy's login page; returns on the landing page."""
    driver.get(f"{base_url}/")
    assert "/login" in driver.current_url, "anonymous visitors are sent to the login page"
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(password)
    old = driver.find_element(By.TAG_NAME, "body")
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    WebDriverWait(driver, 15).until(ec.staleness_of(old))
    WebDriverWait(driver, 15).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#services[data-last-refresh]"))
    )

"""The landing page in headless Chromium, through the real proxy (nginx + gunicorn)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.proxy.support import Stack
from tests.support.browser import chromium, save_png, sign_in_at_proxy

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium-profile", insecure_certs=True) as driver:
        yield driver


def card(driver: webdriver.Chrome, name: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"article[data-service='{name}']")


def field(element: WebElement, name: str) -> WebElement:
    return element.find_element(By.CSS_SELECTOR, f"[data-field='{name}']")


def keep_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """A PNG in the test's tmp dir and, with DC_OVERVIEW_ARTIFACTS set, a copy there."""
    save_png(driver, path)
    artifacts = os.environ.get("DC_OVERVIEW_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(artifacts) / path.name)


def sign_in(driver: webdriver.Chrome, stack: Stack) -> None:
    sign_in_at_proxy(driver, stack.proxy.url, stack.proxy.admin_password)


def test_landing_page_cards_links_and_live_status(
    browser: webdriver.Chrome, stack: Stack, tmp_path: Path
) -> None:
    sign_in(browser, stack)
    assert browser.find_element(By.ID, "site-name").text == "Lab 7"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Lab 7"
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)", "the stylesheet is served by the proxy, no CDN"

    dc = card(browser, "dc-overview")
    assert "status-running" in dc.get_attribute("class")
    assert field(dc, "open").is_displayed()
    assert field(dc, "open").get_attribute("href") == f"{stack.proxy.url}/dc/"
    assert not field(dc, "get").is_displayed()
    assert field(dc, "version").text.startswith("version ")
    assert "status-running" in card(browser, "prometheus").get_attribute("class")

    ipmi = card(browser, "ipmi-monitor")
    assert "status-not_installed" in ipmi.get_attribute("class")
    assert field(ipmi, "status").text.lower() == "not installed"
    assert not field(ipmi, "open").is_displayed()
    get_link = ipmi.find_element(By.CSS_SELECTOR, "a.get-link")
    assert get_link.is_displayed() and get_link.text == "Get IPMI Monitor"
    assert get_link.get_attribute("href") == "https://github.com/cryptolabsza/ipmi-monitor"
    docs = ipmi.find_element(By.CSS_SELECTOR, "a.docs-link")
    assert docs.get_attribute("href").startswith("https://github.com/cryptolabsza/ipmi-monitor")
    assert "status-not_installed" in card(browser, "grafana").get_attribute("class")
    keep_screenshot(browser, tmp_path / "proxy-landing.png")

    stack.app.daemon.stop()  # the page notices by itself (fetch of /api/services)
    WebDriverWait(browser, 20).until(
        lambda d: "status-not_installed" in card(d, "dc-overview").get_attribute("class")
    )
    dc = card(browser, "dc-overview")
    assert not field(dc, "open").is_displayed()
    get_dc = dc.find_element(By.CSS_SELECTOR, "a.get-link")
    assert get_dc.is_displayed() and get_dc.text == "Get DC Overview"
    assert get_dc.get_attribute("href") == "https://github.com/cryptolabsza/dc-overview"
    keep_screenshot(browser, tmp_path / "proxy-landing-dc-stopped.png")

    stack.restart_app()
    WebDriverWait(browser, 20).until(
        lambda d: "status-running" in card(d, "dc-overview").get_attribute("class")
    )
    field(card(browser, "dc-overview"), "open").click()
    WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/dc/"))
    who = browser.find_element(By.CSS_SELECTOR, ".who").text
    assert who.startswith("admin"), "dc-overview shows the user the proxy signed in"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not [e for e in errors if "/api/services" not in e["message"]], errors

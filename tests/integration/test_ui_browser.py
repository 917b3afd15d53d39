"""The UI in a real headless Chromium against `dc-overview serve` (gunicorn) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from dc_overview.services import build_services
from tests.support.browser import PNG_SIGNATURE, chromium
from tests.support.stack import LiveServer

pytestmark = pytest.mark.integration

PAGE_BACKGROUND = "rgb(15, 20, 25)"  # --bg in style.css: proves the stylesheet was served


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium-profile", window="1400,1000") as driver:
        yield driver


def wait_for(driver: webdriver.Chrome, css: str, timeout: float = 15) -> WebElement:
    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def fill(driver: webdriver.Chrome, name: str, value: str) -> None:
    field = driver.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def submit(driver: webdriver.Chrome, form_css: str) -> None:
    """Click the form's submit button and wait for the next page to replace this one."""
    old_body = driver.find_element(By.TAG_NAME, "body")
    driver.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]").click()
    WebDriverWait(driver, 15).until(ec.staleness_of(old_body))


def sign_in(driver: webdriver.Chrome, server: LiveServer) -> None:
    driver.get(f"{server.url}/")
    assert "/login" in driver.current_url, "anonymous visitors are sent to the login page"
    fill(driver, "username", "admin")
    fill(driver, "password", server.admin_password)
    submit(driver, "form[action$='/login']")
    wait_for(driver, ".flash-info")
    assert "Signed in as admin." in driver.page_source


def error_next_to(driver: webdriver.Chrome, name: str) -> str:
    """The message shown in the same form field as input `name`."""
    field = driver.find_element(By.CSS_SELECTOR, f".field.has-error [name='{name}']")
    assert field.get_attribute("aria-invalid") == "true"
    container = field.find_element(By.XPATH, "ancestor::div[contains(@class, 'field')][1]")
    return container.find_element(By.CSS_SELECTOR, ".field-error").text


def save_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE), f"{path} is not a PNG"


def severe_console_errors(driver: webdriver.Chrome) -> list[str]:
    """Console errors, less the expected 422 answer to the invalid form."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "status of 422" not in entry["message"]
    ]


def test_add_server_and_see_validation_errors(
    browser: webdriver.Chrome, live_server: LiveServer, tmp_path: Path
) -> None:
    sign_in(browser, live_server)
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == PAGE_BACKGROUND
    assert "Prometheus is not reachable at" in browser.find_element(By.CSS_SELECTOR, ".banner").text

    browser.find_element(By.ID, "add-server").click()
    wait_for(browser, "#server-form")
    fill(browser, "name", "gpu-01")
    fill(browser, "server_ip", "10.0.0.11")
    fill(browser, "labels", "rack=a1")
    browser.find_element(By.ID, "has_gpu").click()
    assert browser.find_element(By.ID, "dc-enabled").is_selected(), "app.js ticks dc-exporter"
    submit(browser, "#server-form")
    row = wait_for(browser, "tr[data-server='gpu-01']")
    assert "root@10.0.0.11" in row.text and "rack=a1" in row.text
    assert "Server gpu-01 added." in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    save_screenshot(browser, tmp_path / "dashboard.png")

    browser.find_element(By.ID, "add-server").click()
    wait_for(browser, "#server-form")
    fill(browser, "name", "gpu-02")
    fill(browser, "server_ip", "10.0.0.12")
    fill(browser, "ssh_port", "99999")
    fill(browser, "labels", "not a label line")
    submit(browser, "#server-form")
    wait_for(browser, ".banner-error")
    assert "less than or equal to 65535" in error_next_to(browser, "ssh_port")
    assert "is not key=value" in error_next_to(browser, "labels")
    assert browser.find_element(By.NAME, "name").get_attribute("value") == "gpu-02"
    assert browser.find_element(By.NAME, "ssh_port").get_attribute("value") == "99999"
    save_screenshot(browser, tmp_path / "server-form-errors.png")

    services = build_services(live_server.settings)
    try:
        servers = services.fleet.list_servers()
    finally:
        services.close()
    assert [s.name for s in servers] == ["gpu-01"]
    assert servers[0].has_gpu and servers[0].exporter("dc").enabled
    assert servers[0].labels == {"rack": "a1"}
    assert severe_console_errors(browser) == []


def test_delete_asks_for_confirmation(browser: webdriver.Chrome, live_server: LiveServer) -> None:
    services = build_services(live_server.settings)
    try:
        services.fleet.create({"name": "gpu-01", "server_ip": "10.0.0.11"})
    finally:
        services.close()
    sign_in(browser, live_server)
    delete = "tr[data-server='gpu-01'] form[data-confirm] button"

    browser.find_element(By.CSS_SELECTOR, delete).click()
    WebDriverWait(browser, 5).until(ec.alert_is_present())
    assert "Remove server gpu-01" in browser.switch_to.alert.text
    browser.switch_to.alert.dismiss()
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-server='gpu-01']")

    browser.find_element(By.CSS_SELECTOR, delete).click()
    WebDriverWait(browser, 5).until(ec.alert_is_present())
    browser.switch_to.alert.accept()
    wait_for(browser, ".card.empty")
    assert "Server gpu-01 removed." in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert severe_console_errors(browser) == []

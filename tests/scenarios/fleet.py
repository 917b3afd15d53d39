"""Scenario helpers: systemd workers on a quickstart stack's network, added and deployed through
the proxy by the app in the stack, as an operator would."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.remote.lab import Lab, worker_image
from tests.support.browser import save_png
from tests.support.quickstart import QuickstartRun, app_csrf

# (name, BMC address or None, fake GPU): gpu-03 has no BMC address yet (asked for in scenario 3).
WORKERS = (("gpu-01", "10.77.0.11", True), ("gpu-02", "10.77.0.12", False),
           ("gpu-03", None, False))  # fmt: skip
# The README's screenshots, overwritten by every run so that they stay current.
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def start_workers(run: QuickstartRun, public_key: str) -> Lab:
    """Three systemd + sshd workers on the stack's own network, each trusting `public_key`."""
    image = worker_image()
    lab = Lab(prefix=f"{run.project}-w")
    lab.use_network(run.network, run.subnet)
    try:
        for name, _, _ in WORKERS:
            lab.start(name, image, public_key)
        for worker in lab.workers:
            lab.wait_ready(worker)
        for worker, (_, _, gpu) in zip(lab.workers, WORKERS, strict=True):
            if gpu:
                worker.give_fake_gpu()
    except BaseException:
        lab.destroy()
        raise
    return lab


def api(session: requests.Session, run: QuickstartRun, method: str, path: str, **kw) -> dict:
    """A JSON call to the app through the proxy; writes carry the CSRF header."""
    headers = app_csrf(session, run) if method != "GET" else {}
    answer = session.request(method, f"{run.base_url}/dc/api/{path}", headers=headers,
                             timeout=30, **kw)  # fmt: skip
    assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def add_servers(session: requests.Session, run: QuickstartRun, lab: Lab, key_id: int) -> None:
    for worker, (name, bmc_ip, _) in zip(lab.workers, WORKERS, strict=True):
        body = {"name": name, "server_ip": worker.ip, "ssh_key_id": key_id,
                **({"bmc_ip": bmc_ip} if bmc_ip else {})}  # fmt: skip
        api(session, run, "POST", "servers", json=body)


def deploy_all(session: requests.Session, run: QuickstartRun, timeout: float = 300) -> dict:
    """POST /api/exporters/install for every server, then poll the job until it has finished."""
    started = api(session, run, "POST", "exporters/install", json={"all": True})
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        job = api(session, run, "GET", f"jobs/{started['job_id']}")
        if job["finished"]:
            return job
        time.sleep(2)
    raise AssertionError(f"deploy job not finished within {timeout}s: {job}")


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """The page as docs/images/<name>.png (the README shows it)."""
    driver.execute_script("window.scrollTo(0, 0)")
    return save_png(driver, IMAGES / f"{name}.png")


def dashboard_rows(driver: webdriver.Chrome) -> dict[str, list[str]]:
    """Server name -> the exporter states on the app's fleet dashboard."""
    rows = driver.find_elements(By.CSS_SELECTOR, "table#servers tbody tr[data-server]")
    return {
        row.get_attribute("data-server"): [
            badge.text for badge in row.find_elements(By.CSS_SELECTOR, "td.center .badge")
        ]
        for row in rows
    }

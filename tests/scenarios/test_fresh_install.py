"""Scenario 1, a fresh install, and scenario 3, IPMI Monitor installed after DC Overview, on one
real stack.

1. `dc-overview quickstart --config FILE --yes --no-pull` on an engine with no stack: proxy, app
   and Prometheus come up healthy (Grafana's image cannot exist here; `status` says so). The
   landing page lists DC Overview running and IPMI Monitor "not installed" with its Get link.
   Three systemd workers on the stack's network are added through the proxy and deployed by the
   app in the stack (POST /api/exporters/install: SSH from the container, host keys trusted on
   first use, node_exporter from the app image, dc-exporter built there). Every exporter target
   is up in the stack's Prometheus and the fleet dashboard shows the three servers. The two
   README screenshots are taken here. A re-run keeps servers and passwords; no secret is in the
   compose file or a container's environment.
3. IPMI Monitor's side (`ipmi_side`) finds that installation through its config dir, reads the
   servers and key paths, and the BMC prompt flow, answered here, completes every record.
The stack, the workers and their volumes are gone at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dc_overview.deploy.compose import ComposeProject
from dc_overview.deploy.config import ImagesConfig
from dc_overview.deploy.engine import docker
from dc_overview.deploy.health import container_status
from dc_overview.interop import ipmi_side
from dc_overview.prometheus.targets import JOB_BY_EXPORTER
from tests.remote.lab import Lab
from tests.scenarios.fleet import (
    WORKERS,
    add_servers,
    api,
    dashboard_rows,
    deploy_all,
    screenshot,
    start_workers,
)
from tests.support.browser import chromium, sign_in_at_proxy
from tests.support.processes import wait_until
from tests.support.quickstart import (
    QuickstartRun,
    leftovers,
    new_run,
    prepare_engine,
    proxy_session,
    services_status,
    target_health,
    volume_names,
)

pytestmark = pytest.mark.docker
ADMIN_PASSWORD = "scenario-admin-password-1"
NAMES = [name for name, _, _ in WORKERS]
GPU_WORKER = next(name for name, _, gpu in WORKERS if gpu)


@dataclass
class Fleet:
    run: QuickstartRun
    lab: Lab
    session: requests.Session
    key: dict
    job: dict


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    prepare_engine()
    volumes_before = volume_names()
    run = new_run(tmp_path_factory.mktemp("fresh-install"), ADMIN_PASSWORD)
    run.configure(site_name="Example GPU datacenter")
    lab = None
    try:
        result, seconds = run.quickstart()
        assert result.returncode == 0, result.stdout + result.stderr
        print(f"quickstart to healthy stack: {seconds:.1f} s")
        session = proxy_session(run)
        key = api(session, run, "POST", "ssh-keys", json={"name": "fleet"})
        lab = start_workers(run, key["public_key"])
        add_servers(session, run, lab, key["id"])
        yield Fleet(run, lab, session, key, deploy_all(session, run))
    finally:
        if lab is not None:
            lab.destroy()
        down = run.cli("down", "--volumes")
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(run.project) == []
        assert volume_names() - volumes_before == set(), "no volume left, anonymous ones too"
        workers = docker(["ps", "-a", "--filter", f"name={run.project}", "--format", "{{.Names}}"])
        networks = docker(["network", "ls", "--filter", f"name={run.network}", "-q"])
        assert (workers.split(), networks.split()) == ([], [])


def test_stack_is_healthy_and_says_grafana_is_unavailable(fleet: Fleet) -> None:
    for name in ("dc-overview", "prometheus", "cryptolabs-proxy"):
        assert container_status(name) == "healthy", name
    status = fleet.run.cli("status")
    assert "not available" in status.stdout  # Grafana: no image can be pulled or built here


def test_app_in_the_stack_deployed_every_worker(fleet: Fleet) -> None:
    hosts = {host["server"]: host for host in fleet.job["hosts"]}
    assert sorted(hosts) == NAMES
    for host in hosts.values():
        assert host["stage"] == "done", host
        assert host["exporters"]["node"].startswith("installed 1.5.0"), host  # Debian's build
        assert host["host_key"].startswith("SHA256:"), "host key trusted on first use"
    assert hosts[GPU_WORKER]["exporters"]["dc"].startswith("installed"), hosts[GPU_WORKER]
    servers = {s["name"]: s for s in api(fleet.session, fleet.run, "GET", "servers")}
    assert servers[GPU_WORKER]["has_gpu"] is True


def test_every_exporter_target_is_up_in_prometheus(fleet: Fleet) -> None:
    expected = {("node", name) for name in NAMES} | {(JOB_BY_EXPORTER["dc"], GPU_WORKER)}

    def exporters_up() -> bool:
        health = target_health(fleet.session, fleet.run)
        return all(health.get(target) == "up" for target in expected)

    wait_until(exporters_up, 90, f"{sorted(expected)} up in the stack's Prometheus")
    query = {"query": 'up{job="node"}'}
    answer = fleet.session.get(f"{fleet.run.base_url}/prometheus/api/v1/query", params=query,
                               timeout=10).json()  # fmt: skip
    assert sorted(r["metric"]["instance"] for r in answer["data"]["result"]) == NAMES


def test_landing_page_and_dashboard_in_a_browser(fleet: Fleet, tmp_path: Path) -> None:
    run = fleet.run
    status = services_status(fleet.session, run)
    assert (status["dc-overview"], status["prometheus"]) == ("running", "running")
    assert status["ipmi-monitor"] == "not_installed"
    with chromium(tmp_path / "profile", insecure_certs=True) as driver:
        sign_in_at_proxy(driver, run.base_url, run.secret("admin_password"))
        dc = driver.find_element(By.CSS_SELECTOR, "article[data-service='dc-overview']")
        assert "status-running" in dc.get_attribute("class")
        ipmi = driver.find_element(By.CSS_SELECTOR, "article[data-service='ipmi-monitor']")
        assert "status-not_installed" in ipmi.get_attribute("class")
        get_link = ipmi.find_element(By.CSS_SELECTOR, "a.get-link")
        assert get_link.is_displayed() and get_link.text == "Get IPMI Monitor"
        screenshot(driver, "landing")

        def all_up(_) -> bool:
            driver.get(f"{run.base_url}/dc/")
            rows = dashboard_rows(driver)
            return sorted(rows) == NAMES and all("up" in states for states in rows.values())

        WebDriverWait(driver, 60, poll_frequency=3).until(all_up)
        assert dashboard_rows(driver)[GPU_WORKER].count("up") == 2  # node and dc
        healthy = driver.find_elements(By.CSS_SELECTOR, "table#servers tbody .badge.health-up")
        assert len(healthy) == 3, "each server's status: every scraped exporter up"
        summary = driver.find_element(By.CSS_SELECTOR, ".stats .stat-value").text
        assert summary == "3", "three servers on the fleet dashboard"
        screenshot(driver, "dashboard")


def test_no_secret_in_compose_file_or_container_environment(fleet: Fleet) -> None:
    secrets_dir = fleet.run.config_dir / "secrets"
    values = [p.read_text().strip() for p in secrets_dir.rglob("*") if p.is_file()]
    assert len(values) >= 5
    compose = (fleet.run.config_dir / "docker-compose.yml").read_text()
    environments = docker(["inspect", "--format", "{{json .Config.Env}}", "dc-overview",
                           "prometheus", "cryptolabs-proxy"])  # fmt: skip
    for value in values:
        assert value not in compose
        assert value not in environments
    for path in [*secrets_dir.rglob("*"), *(fleet.run.config_dir / "ssh_keys").glob("*")]:
        if path.is_file() and not path.name.endswith(".pub"):
            assert (path.stat().st_mode & 0o077) == 0, f"{path} is readable by others"


def test_rerun_keeps_servers_and_passwords(fleet: Fleet) -> None:
    run = fleet.run
    before = {n: run.secret(n) for n in ("admin_password", "grafana_admin_password")}
    result, seconds = run.quickstart()
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"quickstart re-run: {seconds:.1f} s")
    assert {n: run.secret(n) for n in before} == before
    assert before["admin_password"] == ADMIN_PASSWORD
    servers = api(proxy_session(run), run, "GET", "servers")
    assert sorted(s["name"] for s in servers) == NAMES


def test_host_cli_works_on_the_stack_inventory(fleet: Fleet, tmp_path: Path) -> None:
    """`dc-overview servers …`/`deploy` on the master act on the app container's inventory
    (never on a second, empty database on the host)."""
    run = fleet.run
    listed = run.cli("servers", "list", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert sorted(s["name"] for s in json.loads(listed.stdout)) == NAMES
    again = run.cli("deploy", NAMES[1], "--exporters", "node")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "unchanged" in again.stdout, again.stdout  # same version: nothing reinstalled
    outside = tmp_path / "node_exporter"
    outside.write_text("#!/bin/sh\n")
    refused = run.cli("deploy", NAMES[1], "--node-exporter", str(outside))
    assert refused.returncode == 1
    assert f"{run.config_dir}/artifacts" in " ".join(refused.stderr.split())
    assert not (run.root / "data").exists() and not list(run.config_dir.glob("*.db"))


def test_upgrade_moves_an_older_stack_to_the_installed_version(fleet: Fleet) -> None:
    """A stack still running an older version's app image (its compose file names it) is moved
    to the installed version's image by `dc-overview upgrade`; the fleet is kept."""
    run, current = fleet.run, ImagesConfig().dc_overview
    saved = yaml.safe_load((run.config_dir / "quickstart.yaml").read_text())
    assert "dc_overview" not in saved.get("images", {}), "default images must not be pinned"
    older = current.rsplit(":", 1)[0] + ":0.0.1"
    docker(["tag", current, older])
    try:
        compose = ComposeProject(run.project, run.config_dir / "docker-compose.yml")
        compose.file.write_text(compose.file.read_text().replace(current, older))
        compose.run("up", "-d", "dc-overview")
        assert running_image("dc-overview") == older
        result = run.cli("upgrade", "--no-pull")
        assert result.returncode == 0, result.stdout + result.stderr
        assert running_image("dc-overview") == current
        assert container_status("dc-overview") == "healthy"
        servers = api(proxy_session(run), run, "GET", "servers")
        assert sorted(s["name"] for s in servers) == NAMES
    finally:
        docker(["rmi", "-f", older])


def running_image(container: str) -> str:
    return docker(["inspect", "--format", "{{.Config.Image}}", container]).strip()


# Scenario 3: IPMI Monitor, installed after DC Overview, reads its fleet.


def test_ipmi_side_finds_the_installation_and_reads_servers_and_keys(fleet: Fleet) -> None:
    found = ipmi_side.detect_dc_overview(fleet.run.config_dir)
    assert found is not None and found["ssh_keys_dir"] == fleet.run.config_dir / "ssh_keys"
    ssh_keys, servers = ipmi_side.import_dc_overview_config(found)
    key_path = f"/etc/dc-overview/ssh_keys/{Path(ssh_keys[0]['path']).name}"
    assert ssh_keys == [{"name": Path(key_path).name, "path": key_path}]
    assert (found["ssh_keys_dir"] / Path(key_path).name).is_file()
    ips = {worker.name: worker.ip for worker in fleet.lab.workers}
    assert [(s["name"], s["server_ip"], s["bmc_ip"]) for s in servers] == [
        (name, ips[name], bmc) for name, bmc, _ in WORKERS
    ]
    assert {(s["ssh_user"], s["ssh_port"], s["ssh_key"]) for s in servers} == {
        ("root", 22, key_path)
    }


def test_bmc_prompt_flow_yields_complete_records(fleet: Fleet) -> None:
    _, servers = ipmi_side.import_dc_overview_config(
        ipmi_side.detect_dc_overview(fleet.run.config_dir)
    )
    own_ip = next(s["server_ip"] for s in servers if s["bmc_ip"] is None)
    answers = iter([own_ip, "10.77.0.11", "10.77.0.13"])  # own address, taken, then good
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return next(answers)

    linked, skipped = ipmi_side.ask_bmc_ips(servers, prompt)
    assert skipped == []
    assert "is the server's own OS address" in asked[1] and "already another" in asked[2]
    assert [(s["name"], s["bmc_ip"]) for s in linked] == [
        ("gpu-01", "10.77.0.11"), ("gpu-02", "10.77.0.12"), ("gpu-03", "10.77.0.13")
    ]  # fmt: skip
    for record in linked:
        assert all(record[field] for field in ("name", "server_ip", "bmc_ip", "ssh_user",
                                               "ssh_port", "ssh_key")), record  # fmt: skip
    assert json.dumps(linked)  # plain data IPMI Monitor can store

"""Scenario 2, DC Overview installed after IPMI Monitor, on a real Docker engine.

IPMI Monitor 1.2.0 runs first as container `ipmi-monitor` on the shared network (a test-unique
name for `cryptolabs`), its volume holding a database written by its own models. The quickstart
with `import_from_ipmi: true` detects it, mounts its volume read-only into the app and imports
its servers and SSH keys there, reuses the network (no second network, no second proxy), and
the landing page shows both products running behind one proxy. Nothing is left at the end.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from selenium.webdriver.common.by import By

from dc_overview.deploy.detect import PROJECT_LABEL
from dc_overview.deploy.engine import docker
from dc_overview.interop.detect import CONTAINER, DATA_VOLUME, MOUNTED_DATA
from tests.scenarios import ipmi
from tests.scenarios.fleet import api
from tests.support.browser import chromium, sign_in_at_proxy
from tests.support.processes import wait_until
from tests.support.quickstart import (
    QuickstartRun,
    leftovers,
    new_run,
    prepare_engine,
    proxy_session,
    services_status,
    volume_names,
)

pytestmark = pytest.mark.docker
ACTIVE = [(n, ip, bmc) for n, bmc, ip, status in ipmi.SERVERS if status == "active"]


@dataclass
class Installed:
    run: QuickstartRun
    output: str
    public_key: str
    session: requests.Session


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    prepare_engine()
    volumes_before = volume_names()
    ipmi.remove_stale()
    run = new_run(tmp_path_factory.mktemp("after-ipmi"))
    run.configure(import_from_ipmi=True)
    private_key, public_key = ipmi.new_key()
    try:
        ipmi.install(run.network, run.subnet, private_key)
        result, seconds = run.quickstart()
        assert result.returncode == 0, result.stdout + result.stderr
        print(f"quickstart next to IPMI Monitor: {seconds:.1f} s")
        yield Installed(run, " ".join(result.stdout.split()), public_key, proxy_session(run))
    finally:
        down = run.cli("down", "--volumes")
        left = ipmi.uninstall(run.network)
        assert down.returncode == 0, down.stdout + down.stderr
        assert leftovers(run.project) == [] and left == []
        assert volume_names() - volumes_before == set(), "no volume left, anonymous ones too"


def test_quickstart_detected_ipmi_monitor_and_imported_servers_and_keys(
    installed: Installed,
) -> None:
    out = installed.output
    assert f"{installed.run.network} (existing)" in out, out
    assert "IPMI Monitor found" in out and "IPMI Monitor import: 4 imported, 1 skipped" in out
    assert "server ipmi-retired skipped: deprecated in IPMI Monitor" in out
    servers = api(installed.session, installed.run, "GET", "servers")
    assert [(s["name"], s["server_ip"], s["bmc_ip"]) for s in servers] == ACTIVE
    keys = api(installed.session, installed.run, "GET", "ssh-keys")
    assert [(k["name"], k["public_key"].split()[:2]) for k in keys] == [
        (ipmi.KEY_NAME, installed.public_key.split()[:2])
    ]
    assert {s["ssh_key_id"] for s in servers} == {keys[0]["id"]}


def test_one_network_and_one_proxy_for_both_products(installed: Installed) -> None:
    run = installed.run
    attached = json.loads(docker(["network", "inspect", run.network]))[0]["Containers"]
    assert sorted(c["Name"] for c in attached.values()) == [
        "cryptolabs-proxy", "dc-overview", CONTAINER, "prometheus"
    ]  # fmt: skip
    for container in ("dc-overview", "prometheus", "cryptolabs-proxy"):
        networks = json.loads(docker(["inspect", "--format", "{{json .NetworkSettings.Networks}}",
                                      container]))  # fmt: skip
        assert list(networks) == [run.network], container
    made_by_compose = docker(["network", "ls", "--filter", f"label={PROJECT_LABEL}={run.project}",
                              "--format", "{{.Name}}"])  # fmt: skip
    assert made_by_compose.split() == []
    proxies = docker(["ps", "-a", "--filter", "name=proxy", "--format", "{{.Names}}"]).split()
    assert proxies == ["cryptolabs-proxy"]


def test_landing_page_shows_both_products_running(installed: Installed, tmp_path: Path) -> None:
    run, session = installed.run, installed.session
    wait_until(lambda: services_status(session, run).get("ipmi-monitor") == "running", 120,
               "IPMI Monitor reported running by the proxy")  # fmt: skip
    assert services_status(session, run)["dc-overview"] == "running"
    login = session.get(f"{run.base_url}/ipmi/login", timeout=30)
    assert login.status_code == 200 and 'name="password"' in login.text
    with chromium(tmp_path / "profile", insecure_certs=True) as driver:
        sign_in_at_proxy(driver, run.base_url, run.secret("admin_password"))
        for name in ("dc-overview", "ipmi-monitor"):
            card = driver.find_element(By.CSS_SELECTOR, f"article[data-service='{name}']")
            assert "status-running" in card.get_attribute("class"), name


def test_volume_is_mounted_read_only_and_keys_are_private(installed: Installed) -> None:
    mounts = json.loads(docker(["inspect", "--format", "{{json .Mounts}}", "dc-overview"]))
    [data] = [m for m in mounts if m["Destination"] == MOUNTED_DATA]
    assert (data["Name"], data["RW"]) == (DATA_VOLUME, False)
    keys = sorted((installed.run.config_dir / "ssh_keys").iterdir())
    assert [k.name for k in keys] == [ipmi.KEY_NAME]
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    export = yaml.safe_load((installed.run.config_dir / "fleet_config.yaml").read_text())
    assert export["ssh"]["key_path"] == f"/etc/dc-overview/ssh_keys/{ipmi.KEY_NAME}"
    assert [s["name"] for s in export["servers"]] == [name for name, _, _ in ACTIVE]


def test_a_second_import_in_the_app_changes_nothing(installed: Installed) -> None:
    report = json.loads(
        docker(["exec", "dc-overview", "dc-overview", "import", "ipmi-monitor", "--json"])
    )
    assert report["source"] == f"{MOUNTED_DATA}/ipmi_events.db"
    assert report["counts"]["unchanged"] == 4
    assert report["counts"]["imported"] == report["counts"]["updated"] == 0

"""The server-rendered UI through Flask's test client: pages, forms, roles and the /dc prefix."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask
from flask.testing import FlaskClient

from dc_overview.inventory.models import EXPORTER_KINDS, Exporter, Server
from dc_overview.inventory.views import bump_revision
from dc_overview.web.dashboard import GPU_COUNT_QUERY, GPU_HOTTEST_QUERY, UP_QUERY, ServerRow
from tests.conftest import CSRF_RE, login, services_of
from tests.support.snapshot import inventory_snapshot

VIEWER = ("watcher", "viewer-password-1")


def server_form(**changes: str) -> dict[str, str]:
    """A complete add/edit form as a browser posts it (unchecked checkboxes are absent)."""
    form = {
        "name": "gpu-01",
        "server_ip": "10.0.0.11",
        "ssh_user": "root",
        "ssh_port": "22",
        "ssh_key_id": "",
        "bmc_ip": "",
        "labels": "",
        "exporters.node.enabled": "1",
    }
    form |= {f"exporters.{kind}.port": str(port) for kind, port in EXPORTER_KINDS.items()}
    return form | changes


def csrf_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def error_after_input(page: str, name: str) -> str | None:
    """The field error printed right after input `name`, before the next form control."""
    start = page.find(f'name="{name}"')
    assert start >= 0, f"no input named {name}"
    following = re.search(r"<(input|select|textarea)\b", page[start + 1 :])
    end = start + 1 + following.start() if following else len(page)
    error = re.search(r'<p class="field-error"[^>]*>([^<]*)</p>', page[start:end])
    return unescape(error.group(1)) if error else None


def typed_value(page: str, name: str) -> str:
    """The value the form shows again in input or textarea `name`."""
    field = re.escape(name)
    match = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<textarea[^>]*name="{field}"[^>]*>([^<]*)</textarea>', page
    )
    assert match, f"no input or textarea named {name}"
    return unescape(match.group(1))


def every_page(server_id: int) -> list[str]:
    return ["/", "/servers/new", f"/servers/{server_id}/edit", "/targets", "/keys", "/grafana"]


def add_server(app: Flask, name: str, ip: str, **fields: object) -> Server:
    return services_of(app).fleet.create({"name": name, "server_ip": ip, **fields})


@pytest.fixture
def admin(client: FlaskClient, admin_password: str) -> FlaskClient:
    login(client, "admin", admin_password)
    return client


@pytest.fixture
def viewer(app: Flask, client: FlaskClient) -> FlaskClient:
    services_of(app).accounts.create_user(
        {"username": VIEWER[0], "password": VIEWER[1], "role": "viewer"}
    )
    login(client, *VIEWER)
    return client


class RecordingPrometheus:
    """Answers the dashboard's three queries from fixed samples and records every query."""

    def __init__(self, answers: dict[str, list[dict]]) -> None:
        self.answers = answers
        self.queries: list[str] = []

    def query(self, expr: str) -> list[dict]:
        self.queries.append(expr)
        return self.answers[expr]


# Login and access


def test_login_page_renders_a_csrf_protected_form(client: FlaskClient) -> None:
    response = client.get("/login?next=/targets")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form method="post" action="/login"' in page
    for field in ("username", "password", "next", "csrf_token"):
        assert f'name="{field}"' in page
    assert 'name="next" value="/targets"' in page
    assert 'href="/static/style.css"' in page
    assert "Log out" not in page  # nobody is signed in


def test_anonymous_dashboard_redirects_to_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=/")


def test_wrong_password_shows_the_error_and_keeps_the_name(client: FlaskClient) -> None:
    csrf = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": "admin", "password": "wrong", "csrf_token": csrf}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Wrong user name or password." in page
    assert 'name="username" value="admin"' in page


def test_login_lands_on_dashboard_listing_servers(
    app: Flask, client: FlaskClient, admin_password: str
) -> None:
    add_server(app, "gpu-01", "10.0.0.11", labels={"rack": "a1"})
    add_server(app, "gpu-02", "10.0.0.12", ssh_port=2222)
    login(client, "admin", admin_password)
    page = client.get("/").get_data(as_text=True)
    assert "Signed in as admin." in page
    assert 'data-server="gpu-01"' in page and 'data-server="gpu-02"' in page
    assert "root@10.0.0.12:2222" in page
    assert "rack=a1" in page
    assert 'action="/logout"' in page
    # The conftest points Prometheus at a closed port: a banner, and the fleet still listed.
    assert "Prometheus is not reachable at" in page and "statuses unknown" in page


def test_every_page_renders_for_admin(app: Flask, admin: FlaskClient) -> None:
    server = add_server(app, "gpu-01", "10.0.0.11")
    for path in every_page(server.id):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert "<nav" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(app: Flask, admin: FlaskClient) -> None:
    before = inventory_snapshot(services_of(app))
    response = admin.post("/servers/new", data=server_form())
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert inventory_snapshot(services_of(app)) == before


# Server forms


def test_add_server_through_the_form(app: Flask, admin: FlaskClient) -> None:
    csrf = csrf_of(admin.get("/servers/new").get_data(as_text=True))
    form = server_form(
        csrf_token=csrf,
        bmc_ip="10.1.0.11",
        has_gpu="1",
        labels="rack = a1\n\n# comment\nowner=ml",
        **{"exporters.dc.enabled": "1", "exporters.dc.installed": "1", "exporters.dc.port": "9836"},
    )
    response = admin.post("/servers/new", data=form)
    assert response.status_code == 302 and response.location == "/"
    assert "Server gpu-01 added." in admin.get("/").get_data(as_text=True)
    server = services_of(app).fleet.find_by_name("gpu-01")
    assert (server.server_ip, server.ssh_port, server.bmc_ip, server.has_gpu) == (
        "10.0.0.11", 22, "10.1.0.11", True,
    )  # fmt: skip
    assert server.labels == {"rack": "a1", "owner": "ml"}
    dc = server.exporter("dc")
    assert (dc.enabled, dc.installed, dc.port) == (True, True, 9836)
    assert server.exporter("node").enabled and not server.exporter("vastai").enabled
    assert "10.0.0.11:9836" in services_of(app).targets.file_for("dc-exporter").read_text()


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"ssh_port": "abc"}, "ssh_port", "valid integer"),
        ({"ssh_port": "70000"}, "ssh_port", "less than or equal to 65535"),
        ({"name": "gpu 01"}, "name", "letters, digits"),
        ({"server_ip": "10.0.0.300"}, "server_ip", "not a valid"),
        ({"bmc_ip": "nope..x"}, "bmc_ip", "not a valid"),
        ({"exporters.node.port": "0"}, "exporters.node.port", "greater than or equal to 1"),
        ({"labels": "rack=a1\nno equals sign"}, "labels", "line 2"),
        ({"labels": "job=x"}, "labels", "reserved"),
        ({"ssh_key_id": "99"}, "ssh_key_id", "no SSH key with id 99"),
    ],
)
def test_invalid_form_shows_error_next_to_field_and_saves_nothing(
    app: Flask, admin: FlaskClient, changes: dict, field: str, message: str
) -> None:
    csrf = csrf_of(admin.get("/servers/new").get_data(as_text=True))
    before = inventory_snapshot(services_of(app))
    response = admin.post("/servers/new", data=server_form(csrf_token=csrf, **changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was saved" in page
    error = error_after_input(page, field)
    assert error is not None and message in error, (field, error)
    if field != "ssh_key_id":  # a <select> of existing keys
        assert typed_value(page, field) == changes[field]
    assert inventory_snapshot(services_of(app)) == before


def test_conversion_and_service_errors_are_shown_together(admin: FlaskClient) -> None:
    csrf = csrf_of(admin.get("/servers/new").get_data(as_text=True))
    form = server_form(csrf_token=csrf, labels="junk", ssh_port="x", name="bad name")
    page = admin.post("/servers/new", data=form).get_data(as_text=True)
    assert error_after_input(page, "labels")
    assert error_after_input(page, "ssh_port")
    assert error_after_input(page, "name")


def test_duplicate_name_is_a_field_error(app: Flask, admin: FlaskClient) -> None:
    add_server(app, "gpu-01", "10.0.0.99")
    csrf = csrf_of(admin.get("/servers/new").get_data(as_text=True))
    response = admin.post("/servers/new", data=server_form(csrf_token=csrf))
    assert response.status_code == 422
    assert "already exists" in error_after_input(response.get_data(as_text=True), "name")


def test_edit_form_is_prefilled_and_saves(app: Flask, admin: FlaskClient) -> None:
    key = services_of(app).keys.generate({"name": "fleet"})
    server = add_server(app, "gpu-01", "10.0.0.11", labels={"rack": "a1"}, bmc_ip="10.1.0.1")
    page = admin.get(f"/servers/{server.id}/edit").get_data(as_text=True)
    assert 'name="name" type="text" value="gpu-01"' in page
    assert 'name="bmc_ip" type="text" value="10.1.0.1"' in page
    assert ">rack=a1</textarea>" in page
    form = server_form(
        csrf_token=csrf_of(page), ssh_port="2222", ssh_key_id=str(key.id), labels="", bmc_ip=""
    )
    response = admin.post(f"/servers/{server.id}/edit", data=form)
    assert response.status_code == 302
    saved = services_of(app).fleet.get(server.id)
    assert (saved.ssh_port, saved.ssh_key_id, saved.labels, saved.bmc_ip) == (
        2222, key.id, {}, None,
    )  # fmt: skip
    edit = admin.get(f"/servers/{server.id}/edit").get_data(as_text=True)
    assert f'<option value="{key.id}" selected>' in edit


def test_invalid_edit_keeps_the_stored_server(app: Flask, admin: FlaskClient) -> None:
    server = add_server(app, "gpu-01", "10.0.0.11")
    csrf = csrf_of(admin.get(f"/servers/{server.id}/edit").get_data(as_text=True))
    before = inventory_snapshot(services_of(app))
    response = admin.post(
        f"/servers/{server.id}/edit", data=server_form(csrf_token=csrf, ssh_port="0")
    )
    assert response.status_code == 422
    assert error_after_input(response.get_data(as_text=True), "ssh_port")
    assert inventory_snapshot(services_of(app)) == before


def test_delete_server(app: Flask, admin: FlaskClient) -> None:
    server = add_server(app, "gpu-01", "10.0.0.11")
    page = admin.get("/").get_data(as_text=True)
    assert f'action="/servers/{server.id}/delete"' in page and "data-confirm=" in page
    response = admin.post(f"/servers/{server.id}/delete", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302
    assert services_of(app).fleet.list_servers() == []
    assert "Server gpu-01 removed." in admin.get("/").get_data(as_text=True)


def test_unknown_server_is_a_404_page(admin: FlaskClient) -> None:
    response = admin.get("/servers/42/edit")
    assert response.status_code == 404
    assert "no server with id 42" in response.get_data(as_text=True)


# Viewers


def test_viewer_sees_no_write_controls_and_cannot_post(app: Flask, viewer: FlaskClient) -> None:
    server = add_server(app, "gpu-01", "10.0.0.11")
    services_of(app).keys.generate({"name": "fleet"})
    dashboard = viewer.get("/").get_data(as_text=True)
    assert 'data-server="gpu-01"' in dashboard
    assert "Add server" not in dashboard and "/servers/new" not in dashboard
    assert "/delete" not in dashboard and "/edit" not in dashboard
    keys = viewer.get("/keys").get_data(as_text=True)
    assert 'data-key="fleet"' in keys
    assert "/keys/generate" not in keys and "/keys/upload" not in keys and "/delete" not in keys
    assert viewer.get("/servers/new").status_code == 403
    before = inventory_snapshot(services_of(app))
    csrf = csrf_of(dashboard)  # the logout form's token: a valid one for this session
    assert viewer.post("/servers/new", data=server_form(csrf_token=csrf)).status_code == 403
    assert viewer.post(f"/servers/{server.id}/delete", data={"csrf_token": csrf}).status_code == 403
    assert viewer.post("/keys/generate", data={"csrf_token": csrf, "name": "x"}).status_code == 403
    assert inventory_snapshot(services_of(app)) == before


# Dashboard figures


def test_dashboard_joins_prometheus_answers_without_per_server_queries(
    app: Flask, admin: FlaskClient
) -> None:
    services = services_of(app)
    with services.db.session() as session:
        for number in range(1000):
            exporters = [
                Exporter(kind=kind, enabled=kind in ("node", "dc"), installed=True, port=port)
                for kind, port in EXPORTER_KINDS.items()
            ]
            session.add(
                Server(name=f"gpu-{number:04}", server_ip=f"10.{number // 250}.{number % 250}.1",
                       has_gpu=True, labels={}, exporters=exporters)
            )  # fmt: skip
        bump_revision(session)  # rows written behind the service's back: tell its cache
    prometheus = RecordingPrometheus(
        {
            UP_QUERY: [
                {"instance": "gpu-0000", "job": "node", "value": 1.0},
                {"instance": "gpu-0000", "job": "dc-exporter", "value": 1.0},
                {"instance": "gpu-0001", "job": "node", "value": 0.0},
            ],
            GPU_COUNT_QUERY: [{"instance": "gpu-0000", "value": 8.0}],
            GPU_HOTTEST_QUERY: [{"instance": "gpu-0000", "value": 87.4}],
        }
    )
    services.prometheus = prometheus  # type: ignore[assignment]
    started = time.perf_counter()
    response = admin.get("/")
    elapsed = time.perf_counter() - started
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sorted(prometheus.queries) == sorted([UP_QUERY, GPU_COUNT_QUERY, GPU_HOTTEST_QUERY])
    assert page.count("<tr data-server=") == 1000
    first = row_of(page, "gpu-0000")
    assert first.count(">up</span>") == 3 and ">8<" in first and "87 °C" in first
    assert 'class="badge health-up">up<' in first  # every scraped exporter up
    second = row_of(page, "gpu-0001")
    assert ">down</span>" in second and ">no data</span>" in second
    assert 'class="badge health-down">down<' in second
    third = row_of(page, "gpu-0002")  # nothing in Prometheus for it yet
    assert 'class="badge health-no-data">no data<' in third
    assert "not reachable" not in page
    print(f"dashboard with 1,000 servers: {elapsed:.2f} s")  # figures: benchmarks/api_latency


def row_of(page: str, server: str) -> str:
    start = page.index(f'<tr data-server="{server}"')
    return page[start : page.index("</tr>", start)]


def test_dashboard_shows_dash_for_unscraped_exporters(app: Flask, admin: FlaskClient) -> None:
    add_server(app, "cpu-01", "10.0.0.11")  # node enabled but not installed: not scraped
    row = row_of(admin.get("/").get_data(as_text=True), "cpu-01")
    assert row.count("—") >= 6  # four jobs, GPU count, hottest GPU
    assert 'class="badge health-not-monitored">not monitored<' in row


# Targets, keys, Grafana


def test_targets_page_lists_told_targets_with_unknown_health(
    app: Flask, admin: FlaskClient
) -> None:
    add_server(app, "gpu-01", "10.0.0.11", exporters={"node": {"installed": True}})
    page = admin.get("/targets").get_data(as_text=True)
    assert "10.0.0.11:9100" in page and "gpu-01" in page
    assert "health-unknown" in page
    assert "Prometheus is not reachable at" in page


def test_keys_generate_list_and_never_show_private_keys(app: Flask, admin: FlaskClient) -> None:
    csrf = csrf_of(admin.get("/keys").get_data(as_text=True))
    response = admin.post("/keys/generate", data={"csrf_token": csrf, "name": "fleet"})
    assert response.status_code == 302
    key = services_of(app).keys.list_keys()[0]
    page = admin.get("/keys").get_data(as_text=True)
    assert "SSH key fleet generated" in page
    assert key.fingerprint in page and key.public_key in page
    assert "<textarea readonly" in page
    private_lines = Path(key.private_key_path).read_text().splitlines()[1:-1]
    assert private_lines and not any(line in page for line in private_lines)


def test_key_upload_errors_stay_on_the_form_without_echoing_the_key(
    app: Flask, admin: FlaskClient
) -> None:
    csrf = csrf_of(admin.get("/keys").get_data(as_text=True))
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-really-a-key-but-secret\n"
    response = admin.post(
        "/keys/upload", data={"csrf_token": csrf, "name": "imported", "private_key": secret}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not an OpenSSH or PEM private key" in page
    assert "not-really-a-key-but-secret" not in page
    assert 'id="upload-name" name="name" value="imported"' in page
    assert services_of(app).keys.list_keys() == []


def test_key_upload_stores_a_real_key(app: Flask, admin: FlaskClient) -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    csrf = csrf_of(admin.get("/keys").get_data(as_text=True))
    response = admin.post(
        "/keys/upload", data={"csrf_token": csrf, "name": "imported", "private_key": pem}
    )
    assert response.status_code == 302
    page = admin.get("/keys").get_data(as_text=True)
    assert 'data-key="imported"' in page
    assert pem.splitlines()[1] not in page


def test_deleting_a_key_in_use_is_an_error_flash(app: Flask, admin: FlaskClient) -> None:
    key = services_of(app).keys.generate({"name": "fleet"})
    add_server(app, "gpu-01", "10.0.0.11", ssh_key_id=key.id)
    csrf = csrf_of(admin.get("/keys").get_data(as_text=True))
    response = admin.post(
        f"/keys/{key.id}/delete", data={"csrf_token": csrf}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert 'class="flash flash-error"' in page and "used by 1 server(s)" in page
    assert len(services_of(app).keys.list_keys()) == 1
    services_of(app).fleet.delete(services_of(app).fleet.find_by_name("gpu-01").id)
    admin.post(f"/keys/{key.id}/delete", data={"csrf_token": csrf})
    assert services_of(app).keys.list_keys() == []


def test_grafana_page_explains_why_it_is_unavailable(admin: FlaskClient) -> None:
    page = admin.get("/grafana").get_data(as_text=True)
    assert "Grafana is not available" in page
    assert "ConnectionError" in page


# Behind the proxy


def test_links_carry_the_proxy_prefix(app: Flask, client: FlaskClient, admin_password: str) -> None:
    prefix = {"X-Forwarded-Prefix": "/dc"}
    server = add_server(app, "gpu-01", "10.0.0.11")
    assert client.get("/", headers=prefix).location.startswith("/dc/login")
    csrf = csrf_of(client.get("/login", headers=prefix).get_data(as_text=True))
    response = client.post(
        "/login",
        headers=prefix,
        data={"username": "admin", "password": admin_password, "csrf_token": csrf},
    )
    assert response.location == "/dc/"
    for path in every_page(server.id):
        page = client.get(path, headers=prefix).get_data(as_text=True)
        links = re.findall(r'(?:href|action|src)="([^"#]*)"', page)
        assert links, path
        assert all(link.startswith("/dc/") for link in links), (path, links)


def test_dashboard_shows_deploy_jobs_per_host(app: Flask, admin: FlaskClient) -> None:
    from dc_overview.remote.jobs import Job
    from dc_overview.remote.service import job_store

    store = job_store(services_of(app))
    job = store.attach(Job.create("install", ["gpu-a", "gpu-b"]))
    job.update("gpu-a", "done", "node 1.5.0 installed")
    job.update("gpu-b", "failed", "port 9835 is busy")
    page = admin.get("/").get_data(as_text=True)
    assert f'data-job="{job.id}"' in page
    assert "<strong>gpu-a</strong>: done · node 1.5.0 installed" in page
    assert "<strong>gpu-b</strong>: failed · port 9835 is busy" in page
    assert "running" in page  # not finished yet


@pytest.mark.parametrize(
    ("states", "health"),
    [
        (["up", "up", None], "up"),
        (["up", "down"], "degraded"),
        (["up", "no data"], "degraded"),
        (["down", "no data"], "down"),
        (["unknown", "unknown"], "unknown"),
        (["no data"], "no data"),
        ([None, None], "not monitored"),
    ],
)
def test_server_health_summarises_its_scraped_exporters(
    states: list[str | None], health: str
) -> None:
    row = ServerRow(server=None, jobs=dict(enumerate(states)), gpu_count=None, gpu_hottest=None)
    assert row.health == health


def test_dashboard_points_vastai_hosts_at_the_exporter_until_it_is_scraped(
    app: Flask, admin: FlaskClient
) -> None:
    services = services_of(app)
    add_server(app, "cpu-01", "10.0.0.11")
    assert 'id="vastai-hint"' not in admin.get("/").get_data(as_text=True)
    add_server(app, "vast-01", "10.0.0.12", vastai_host=True)
    page = admin.get("/").get_data(as_text=True)
    assert 'id="vastai-hint"' in page and "vast-01 runs the Vast.ai host daemon" in page
    assert "vastai.api_keys_file" in page and "cpu-01 run" not in page
    stack_file = services.settings.targets_dir / "vastai.stack.json"  # the stack's exporter
    stack_file.write_text('[{"targets": ["vastai-exporter:8622"], "labels": {}}]\n')
    assert 'id="vastai-hint"' not in admin.get("/").get_data(as_text=True)

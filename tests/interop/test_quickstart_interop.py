"""The quickstart's side: the config key, the wizard question, the mount and the import step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from dc_overview.deploy import quickstart, wizard
from dc_overview.deploy.compose import ComposeProject, StackShape, render_compose, write_compose
from dc_overview.deploy.config import QuickstartConfig, load_config_file, parse_config
from dc_overview.deploy.detect import Detection
from dc_overview.deploy.engine import DockerError
from dc_overview.deploy.quickstart import Plan, plan_ipmi_import
from dc_overview.deploy.secrets import SecretsReport
from dc_overview.inventory.errors import ValidationFailed

QUESTION = "IPMI Monitor detected. Import SSH keys and server IPs?"


def test_config_key(tmp_path: Path) -> None:
    assert QuickstartConfig().import_from_ipmi is False
    path = tmp_path / "quickstart.yaml"
    path.write_text("site_name: X\nimport_from_ipmi: true\n")
    config = load_config_file(path)
    assert config.import_from_ipmi is True
    assert config.without_secrets()["import_from_ipmi"] is True
    with pytest.raises(ValidationFailed) as caught:
        parse_config({"import_from_ipmi": "yes"})
    assert "import_from_ipmi" in caught.value.fields()


class FakeQuestion:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def ask(self) -> Any:
        return self.answer


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """questionary answered with defaults (yes to the IPMI question, no to remote_write)."""
    questions: list[str] = []

    def record(answer_for):
        def question(message: str, **kwargs: Any) -> FakeQuestion:
            questions.append(message)
            return FakeQuestion(answer_for(message, kwargs))

        return question

    fake = type("questionary", (), {
        "text": staticmethod(record(lambda m, kw: kw.get("default", ""))),
        "password": staticmethod(record(lambda m, kw: "")),
        "select": staticmethod(record(lambda m, kw: kw["default"])),
        "path": staticmethod(record(lambda m, kw: "")),
        "confirm": staticmethod(record(lambda m, kw: m == QUESTION)),
    })  # fmt: skip
    monkeypatch.setattr(wizard, "questionary", fake)
    return questions


def test_wizard_asks_only_when_ipmi_monitor_is_detected(asked: list[str]) -> None:
    plain = parse_config(wizard.ask_config(QuickstartConfig()))
    assert QUESTION not in asked and plain.import_from_ipmi is False
    asked.clear()
    offered = parse_config(wizard.ask_config(QuickstartConfig(), ipmi_monitor=True))
    assert asked[0] == QUESTION
    assert offered.import_from_ipmi is True


def test_compose_mounts_the_volume_read_only(tmp_path: Path) -> None:
    shape = StackShape(ipmi_monitor_data="ipmi-monitor-data")
    stack = yaml.safe_load(render_compose(QuickstartConfig(), tmp_path, shape))
    assert "ipmi-monitor-data:/ipmi-monitor-data:ro" in stack["services"]["dc-overview"]["volumes"]
    assert stack["volumes"]["ipmi-monitor-data"] == {"name": "ipmi-monitor-data", "external": True}
    for name, service in stack["services"].items():
        if name != "dc-overview":
            assert not any("ipmi" in str(v) for v in service.get("volumes", [])), name
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "grafana_admin_password").write_text("x\n")
    ComposeProject("dco-unit", write_compose(QuickstartConfig(), tmp_path, shape)).validate()


def test_compose_binds_a_native_data_folder(tmp_path: Path) -> None:
    shape = StackShape(ipmi_monitor_data="/var/lib/ipmi-monitor")
    stack = yaml.safe_load(render_compose(QuickstartConfig(), tmp_path, shape))
    volumes = stack["services"]["dc-overview"]["volumes"]
    assert "/var/lib/ipmi-monitor:/ipmi-monitor-data:ro" in volumes
    assert "ipmi-monitor-data" not in stack["volumes"]
    plain = yaml.safe_load(render_compose(QuickstartConfig(), tmp_path, StackShape()))
    assert not any("ipmi" in v for v in plain["services"]["dc-overview"]["volumes"])


def _plan(tmp_path: Path, **config: Any) -> Plan:
    return Plan(parse_config(config), tmp_path, Detection(), StackShape())


def test_plan_mounts_what_was_found(tmp_path: Path) -> None:
    plan = _plan(tmp_path, import_from_ipmi=True)
    plan_ipmi_import(plan, "ipmi-monitor-data")
    assert plan.shape.ipmi_monitor_data == "ipmi-monitor-data"
    assert any("will be imported" in note for note in plan.notes)
    nothing = _plan(tmp_path, import_from_ipmi=True)
    plan_ipmi_import(nothing, None)
    assert nothing.shape.ipmi_monitor_data is None
    assert any("no IPMI Monitor database" in note for note in nothing.notes)


def test_apply_imports_inside_the_app_after_the_stack_is_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[Any] = []
    report = {
        "counts": {"imported": 3, "skipped": 1, "held": 0},
        "outcomes": [
            {"kind": "server", "name": "gpu-node-03", "result": "skipped", "reason": "deprecated"}
        ],
    }

    def fake_docker(args: list[str], timeout: float | None = None) -> str:
        steps.append(("docker", *args))
        return json.dumps(report)

    monkeypatch.setattr(quickstart, "_build_missing", lambda plan, say: None)
    monkeypatch.setattr(quickstart, "provision_secrets", lambda config, d: SecretsReport())
    monkeypatch.setattr(quickstart, "_write_files", lambda plan: None)
    monkeypatch.setattr(quickstart, "apply_ownership", lambda d: False)
    monkeypatch.setattr(ComposeProject, "run", lambda self, *a, **k: steps.append("up"))
    monkeypatch.setattr(quickstart, "wait_healthy", lambda names, progress: steps.append("ok"))
    monkeypatch.setattr(quickstart, "docker", fake_docker)
    plan = _plan(tmp_path, import_from_ipmi=True)
    plan_ipmi_import(plan, "ipmi-monitor-data")

    notes = quickstart.apply(plan, say=lambda text: None).notes

    exec_import = ("docker", "exec", "dc-overview", "dc-overview", "import", "ipmi-monitor",
                   "--db", "/ipmi-monitor-data/ipmi_events.db", "--json")  # fmt: skip
    assert steps.count(exec_import) == 1
    assert steps.index("up") < steps.index("ok") < steps.index(exec_import)
    assert notes == ["IPMI Monitor import: 3 imported, 1 skipped",
                     "server gpu-node-03 skipped: deprecated"]  # fmt: skip


def test_a_failed_import_is_a_note_not_a_failed_quickstart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing(args: list[str], timeout: float | None = None) -> str:
        raise DockerError("docker exec dc-overview: container not running")

    monkeypatch.setattr(quickstart, "docker", failing)
    [note] = quickstart.import_from_ipmi_monitor(lambda text: None)
    assert "import from IPMI Monitor failed" in note
    assert "docker exec dc-overview dc-overview import ipmi-monitor --db" in note

"""/api/import/ipmi-monitor: import IPMI Monitor's servers and SSH keys (admins only)."""

from __future__ import annotations

from pathlib import Path

from flask import jsonify, request

from dc_overview.interop.detect import detect_ipmi_monitor
from dc_overview.interop.importer import import_ipmi_config
from dc_overview.interop.source import IpmiSourceError
from dc_overview.inventory.errors import NotFound, ValidationFailed
from dc_overview.inventory.validation import StrictModel, parse
from dc_overview.web.api import bp
from dc_overview.web.api.body import json_body
from dc_overview.web.context import services

# Settings.extra key: the folder that stands for `/` when looking for IPMI Monitor (tests).
ROOT_SETTING = "ipmi_monitor_root"


class IpmiImportOptions(StrictModel):
    dry_run: bool = False
    include_disabled: bool = False


@bp.post("/import/ipmi-monitor")
def import_ipmi_monitor():
    """Body (optional): `{"dry_run": bool, "include_disabled": bool}`; answers the report."""
    options = parse(IpmiImportOptions, json_body() if request.get_data(cache=True) else {})
    found = services()
    installation = detect_ipmi_monitor(Path(found.settings.extra.get(ROOT_SETTING, "/")))
    if installation is None:
        raise NotFound(
            "IPMI Monitor was not found where this app can see it; run the quickstart with "
            "import_from_ipmi: true (it mounts IPMI Monitor's data), or use "
            "`dc-overview import ipmi-monitor --db PATH` on the host"
        )
    try:
        report = import_ipmi_config(
            found,
            installation=installation,
            dry_run=options.dry_run,
            include_disabled=options.include_disabled,
        )
    except IpmiSourceError as exc:
        raise ValidationFailed.single("ipmi_monitor", str(exc)) from None
    return jsonify(report.as_dict())

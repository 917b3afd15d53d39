"""Wiring: builds every service from the settings. The CLI and the web app both start here."""

from __future__ import annotations

from dataclasses import dataclass

from dc_overview.grafana.status import GrafanaClient
from dc_overview.interop.export import FleetConfigExport
from dc_overview.inventory.accounts import AccountService
from dc_overview.inventory.db import Database
from dc_overview.inventory.fleet import FleetService
from dc_overview.inventory.hostkeys import HostKeyStore
from dc_overview.inventory.keys import KeyService
from dc_overview.prometheus.client import PrometheusClient
from dc_overview.prometheus.targets import TargetPublisher
from dc_overview.settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    fleet: FleetService
    keys: KeyService
    accounts: AccountService
    host_keys: HostKeyStore
    targets: TargetPublisher
    prometheus: PrometheusClient
    grafana: GrafanaClient
    fleet_export: FleetConfigExport

    def close(self) -> None:
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    db = Database(settings.database)
    fleet = FleetService(db)
    targets = TargetPublisher(fleet.list_servers, settings.targets_dir)
    fleet.listeners.append(targets.publish)
    keys = KeyService(db, settings.ssh_keys_dir)
    # IPMI Monitor reads our fleet from fleet_config.yaml, rewritten after every change.
    fleet_export = FleetConfigExport.for_services(fleet.list_servers, keys, settings.config_dir)
    fleet.listeners.append(fleet_export.write)
    return Services(
        settings=settings,
        db=db,
        fleet=fleet,
        keys=keys,
        accounts=AccountService(db),
        host_keys=HostKeyStore(db),
        targets=targets,
        prometheus=PrometheusClient(settings.prometheus_url),
        grafana=GrafanaClient(
            settings.grafana_url,
            password_file=settings.secret_file("grafana_admin_password"),
            dashboards_dir=settings.config_dir / "grafana" / "dashboards",
        ),
        fleet_export=fleet_export,
    )

"""Whether Grafana is there, which version, and which dashboards it has provisioned."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests


@dataclass
class GrafanaClient:
    base_url: str
    password_file: Path
    dashboards_dir: Path
    admin_user: str = "admin"
    timeout: float = 3.0

    def status(self) -> dict:
        """`available` false with a reason when Grafana is absent; never raises."""
        url = self.base_url.rstrip("/")
        try:
            health = requests.get(f"{url}/api/health", timeout=self.timeout)
            health.raise_for_status()
            info = health.json()
        except (requests.RequestException, ValueError) as exc:
            return {
                "available": False,
                "reason": f"Grafana is not available at {url} ({type(exc).__name__})",
                "dashboards": self._provisioned_files(),
            }
        return {
            "available": True,
            "version": info.get("version"),
            "database": info.get("database"),
            "dashboards": self._dashboards(url),
        }

    def _dashboards(self, url: str) -> list[dict]:
        try:
            password = self.password_file.read_text().strip()
        except OSError:
            return self._provisioned_files()
        try:
            response = requests.get(
                f"{url}/api/search",
                params={"type": "dash-db"},
                auth=(self.admin_user, password),
                timeout=self.timeout,
            )
            response.raise_for_status()
            return [{"uid": d.get("uid"), "title": d.get("title")} for d in response.json()]
        except (requests.RequestException, ValueError):
            return self._provisioned_files()

    def _provisioned_files(self) -> list[dict]:
        if not self.dashboards_dir.is_dir():
            return []
        return [{"uid": None, "title": p.stem} for p in sorted(self.dashboards_dir.glob("*.json"))]

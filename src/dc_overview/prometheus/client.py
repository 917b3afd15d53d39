"""A small client for Prometheus's HTTP API (queries, targets, readiness, reload)."""

from __future__ import annotations

from dataclasses import dataclass

import requests


class PrometheusUnavailable(RuntimeError):
    """Prometheus could not be reached or answered with an error."""


@dataclass
class PrometheusClient:
    base_url: str
    timeout: float = 3.0

    def _get(self, path: str, **params: str) -> dict:
        url = self.base_url.rstrip("/") + path
        try:
            response = requests.get(url, params=params, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise PrometheusUnavailable(f"Prometheus at {self.base_url}: {exc}") from exc

    def ready(self) -> None:
        url = self.base_url.rstrip("/") + "/-/ready"
        try:
            response = requests.get(url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PrometheusUnavailable(f"Prometheus at {self.base_url}: {exc}") from exc
        if response.status_code != 200:
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} not ready (HTTP {response.status_code})"
            )

    def active_targets(self) -> list[dict]:
        return self._get("/api/v1/targets", state="active")["data"]["activeTargets"]

    def query(self, expr: str) -> list[dict]:
        """An instant query; returns the result vector (label sets with `value`)."""
        data = self._get("/api/v1/query", query=expr)["data"]
        return [
            {**sample["metric"], "value": float(sample["value"][1])} for sample in data["result"]
        ]

    def reload(self) -> None:
        """Ask Prometheus to re-read prometheus.yml (needs --web.enable-lifecycle)."""
        url = self.base_url.rstrip("/") + "/-/reload"
        try:
            requests.post(url, timeout=self.timeout).raise_for_status()
        except requests.RequestException as exc:
            raise PrometheusUnavailable(f"reload of Prometheus failed: {exc}") from exc

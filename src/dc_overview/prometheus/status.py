"""What Prometheus is told (the target files) joined with what it reports about each target."""

from __future__ import annotations

from dc_overview.prometheus.client import PrometheusClient, PrometheusUnavailable


def targets_with_health(told: dict[str, list[dict]], client: PrometheusClient) -> dict:
    try:
        active = client.active_targets()
        reachable, error = True, None
    except PrometheusUnavailable as exc:
        active, reachable, error = [], False, str(exc)
    health = {(t["labels"].get("job"), t["discoveredLabels"].get("__address__")): t for t in active}
    targets = []
    for job, groups in told.items():
        for group in groups:
            for address in group["targets"]:
                seen = health.get((job, address), {})
                targets.append(
                    {
                        "job": job,
                        "server": group["labels"].get("instance"),
                        "address": address,
                        "labels": group["labels"],
                        "health": seen.get("health", "unknown"),
                        "last_error": seen.get("lastError") or None,
                        "last_scrape": seen.get("lastScrape"),
                    }
                )
    return {"prometheus": {"reachable": reachable, "error": error}, "targets": targets}

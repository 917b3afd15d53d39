"""Prometheus: target files, prometheus.yml, and the query client."""

"""Grafana: status, and (later) datasource and dashboard provisioning."""

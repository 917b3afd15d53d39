"""Alertmanager: receivers from the quickstart config, rendered with secrets as files."""

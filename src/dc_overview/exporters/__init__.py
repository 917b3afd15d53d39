"""Small standalone exporters that run on the workers (prometheus_client, no Flask)."""
